"""Subtitle cues burned into the video frames, for players and platforms without subtitles.

Each cue's caption (white text on a dark translucent box) is drawn once with Pillow as a
multiply-and-add pair of arrays; every frame showing it then costs one blend of the box's
pixels, so captions add little to a render.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .subtitles import Cue

BOX_OPACITY = 0.6
TEXT_HEIGHT = 1 / 18
"""Font size as a fraction of the frame height."""
MAX_WIDTH = 0.92
"""The box never gets wider than this fraction of the frame: longer lines use a smaller font."""


@dataclass(frozen=True)
class _Caption:
    """A cue drawn for one frame size: ``frame[top:, left:] * keep + ink`` shows it."""

    top: int
    left: int
    keep: np.ndarray
    """H×W×1 float32: how much of the frame shows through."""
    ink: np.ndarray
    """H×W×1 float32: the white text's contribution, 0 to 255."""


def caption_frames(
    frames: Iterator[np.ndarray], cues: Sequence[Cue], fps: float
) -> Iterator[np.ndarray]:
    """The frames with the cue showing at each frame's moment ((i + 0.5) / fps) drawn at the
    bottom centre; frames with no cue showing are passed on as they are (the same arrays).
    Frames are RGB uint8; captioned ones are new arrays, the input is never modified."""
    ordered = sorted(cues, key=lambda cue: cue.start)
    drawn: dict[tuple[int, tuple[int, ...]], _Caption] = {}
    current = 0
    for index, frame in enumerate(frames):
        moment = (index + 0.5) / fps
        while current < len(ordered) and ordered[current].end <= moment:
            current += 1
        if current == len(ordered) or ordered[current].start > moment:
            yield frame
            continue
        key = (current, frame.shape)
        if key not in drawn:
            drawn.clear()  # cues go by in order: only the one showing is worth keeping
            drawn[key] = _draw(ordered[current].text, frame.shape[0], frame.shape[1])
        yield _blend(frame, drawn[key])


def _draw(text: str, height: int, width: int) -> _Caption:
    size = max(8, round(height * TEXT_HEIGHT))
    mask = _text_mask(text, size)
    if mask.width > MAX_WIDTH * width:
        size = max(6, int(size * MAX_WIDTH * width / mask.width))
        mask = _text_mask(text, size)
    mask = mask.crop((0, 0, min(mask.width, width), min(mask.height, height)))
    coverage = np.asarray(mask, dtype=np.float32)[:, :, None] / 255.0
    keep = (1.0 - BOX_OPACITY) * (1.0 - coverage)
    margin = max(2, height // 24)
    top = max(0, height - margin - mask.height)
    left = (width - mask.width) // 2
    return _Caption(top, left, keep, 255.0 * coverage)


def _text_mask(text: str, size: int) -> Image.Image:
    """The text, centred line by line, on a box with padding around it: 255 where ink is."""
    font = ImageFont.load_default(size=size)
    spacing, pad = size // 4, size // 2
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = probe.multiline_textbbox(
        (0, 0), text, font=font, spacing=spacing, align="center"
    )
    mask = Image.new("L", (int(right - left) + 2 * pad, int(bottom - top) + 2 * pad), 0)
    ImageDraw.Draw(mask).multiline_text(
        (pad - left, pad - top), text, fill=255, font=font, spacing=spacing, align="center"
    )
    return mask


def _blend(frame: np.ndarray, caption: _Caption) -> np.ndarray:
    out = frame.copy()
    rows, cols = caption.keep.shape[:2]
    region = out[caption.top : caption.top + rows, caption.left : caption.left + cols]
    blended = region * caption.keep + caption.ink
    region[...] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return out
