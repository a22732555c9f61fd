"""The fallback rig's mouth colours, taken from the clip's own open mouths.

The rig that draws shapes the clip never shows is built on one photo-like frame, and the
photo renderer guesses the teeth from that frame's skin highlights. A clip knows better: its
open mouths show how light its teeth and how dark its interior really are (teeth in shadow
in a dim room, a black cavity under studio light). Drawn teeth brighter than any the clip
shows read as a pasted block next to the clip's own mouths.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from ..face.geometry import face_parts
from ..render.mouth import MouthLook, lab_to_rgb, rgb_to_lab
from .store import FrameStore

OPEN_SHARE = 0.6
"""Frames whose lip gap is at least this share of the clip's 95th percentile are sampled."""
MIN_OPEN_GAP = 0.15
"""A clip whose 95th-percentile lip gap (eye distances) is under this never opens enough
to show its inside."""
SAMPLED_FRAMES = 12
MIN_PIXELS = 200
"""Fewer pixels inside the open mouths than this, and the frame's own guess is kept."""
BRIGHTEST, DARKEST = 0.15, 0.3
"""Shares of the pixels inside the open mouths that stand for the teeth and the cavity."""


def clip_mouth_look(
    look: MouthLook, frames: FrameStore, landmarks: np.ndarray, gap: np.ndarray
) -> MouthLook:
    """``look`` with its teeth and cavity no lighter than the clip's open mouths show them.
    Only lightness is taken, the hues stay the frame's guess: the brightest pixels of a
    mouth without visible teeth are lip, and red teeth would be worse than pale ones."""
    pixels = _open_mouth_pixels(frames, landmarks, gap)
    if len(pixels) < MIN_PIXELS:
        return look
    lightness = np.sort(cv2.cvtColor(pixels[None], cv2.COLOR_RGB2LAB)[0][:, 0] * (100 / 255))
    bright = float(np.median(lightness[-max(1, int(BRIGHTEST * len(lightness))) :]))
    dark = float(np.median(lightness[: max(1, int(DARKEST * len(lightness)))]))
    return dataclasses.replace(
        look, teeth=_no_lighter(look.teeth, bright), cavity=_no_lighter(look.cavity, dark)
    )


def _no_lighter(colour: np.ndarray, lightness: float) -> np.ndarray:
    lab = rgb_to_lab(colour)
    lab[0] = min(lab[0], lightness)
    return lab_to_rgb(lab)


def _open_mouth_pixels(frames: FrameStore, landmarks: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """n×3 RGB pixels inside the inner lips of the clip's most open frames."""
    found = ~np.isnan(gap)
    if not found.any():
        return np.zeros((0, 3), np.uint8)
    widest = float(np.nanpercentile(gap, 95))
    if widest < MIN_OPEN_GAP:  # the lips hardly part: inside them is lip
        return np.zeros((0, 3), np.uint8)
    wide = np.flatnonzero(found & (gap >= OPEN_SHARE * widest))
    chosen = wide[np.linspace(0, len(wide) - 1, min(SAMPLED_FRAMES, len(wide))).astype(int)]
    loop = face_parts().inner_lips.loop
    pixels = []
    for index in chosen:
        frame = frames[int(index)]
        mask = np.zeros(frame.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(landmarks[index][loop, :2]).astype(np.int32)], 1)
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8))  # off the lips' inner edge
        pixels.append(frame[mask.astype(bool)])
    return np.concatenate(pixels)
