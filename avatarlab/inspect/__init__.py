"""`avatarlab inspect`: measure any talking-head video and draw what was found.

>>> inspection = inspect_video("talk.mp4", text="the words spoken")  # doctest: +SKIP
>>> inspection.figures["bilabial_closure_rate"], inspection.figures["lag_ms"]  # doctest: +SKIP
>>> write_report(inspection, "talk.report.png", "talk.report.json")  # doctest: +SKIP

Phones come, in order of preference, from the caller, from forced alignment of ``text``
against the audio, or from phone recognition; the figures say which.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import InputError
from ..face import detect_landmarks
from ..files import write_atomic, write_text_atomic
from ..measure import CLOSED_GAP, bilabials_and_open_vowels, frames_at
from ..types import Phone
from . import figures as fig
from .artifacts import edge_repeat, skin_figures, skin_reference, typical
from .measures import VideoMeasures, measure_video
from .render_check import OPEN_GAP
from .report import draw_report

SHEET_SIZE = 8
PSNR_SAMPLES = 12
SKIN_SAMPLES = 32
WIDEST_SAMPLES = 8


@dataclass(frozen=True)
class Inspection:
    measures: VideoMeasures
    phones: tuple[Phone, ...]
    figures: dict[str, float | int | str] = field(default_factory=dict)


def inspect_video(
    video: str | Path,
    *,
    text: str | None = None,
    source: str | Path | None = None,
    phones: tuple[Phone, ...] | None = None,
) -> Inspection:
    """Measure ``video``; ``source`` (the portrait it was made from) adds background figures."""
    video = Path(video)
    if not video.is_file():
        raise InputError(f"video not found: {video}")
    measures = measure_video(video)
    if not measures.found.any():
        raise InputError(f"no face found in any frame of {video}")
    phones, method = _phones(measures, text, phones)
    figures: dict[str, float | int | str] = {
        "frames": measures.n_frames,
        "fps": measures.fps,
        "face_found_share": float(measures.found.mean()),
        "av_length_gap_s": measures.audio_duration - measures.video_duration,
        "phones_from": method,
        "lag_ms": fig.audio_to_mouth_lag(measures),
        "landmark_jitter_pct": fig.landmark_jitter(measures),
        **fig.lipsync(measures, list(phones)),
        **fig.blinks(measures),
        **fig.head_motion(measures),
    }
    figures["edge_repeat"] = _edge_repeat(video)
    if source is not None:
        figures.update(_against_source(measures, video, source))
    return Inspection(measures=measures, phones=tuple(phones), figures=figures)


def _phones(
    measures: VideoMeasures, text: str | None, given: tuple[Phone, ...] | None
) -> tuple[tuple[Phone, ...], str]:
    if given is not None:
        return given, "given"
    if not measures.sample_rate:
        return (), "none (no audio)"
    from ..align import recognize

    alignment = recognize(measures.audio, measures.sample_rate, text)
    return alignment.utterance.phones, alignment.method


def _edge_repeat(video: Path) -> int:
    """Border lines of the first frame that repeat their neighbour (streaks)."""
    first = frames_at(video, [0])
    return edge_repeat(first[0]) if 0 in first else 0


def _against_source(measures: VideoMeasures, video: Path, source: str | Path) -> dict:
    """Background PSNR and the lower-face artifact figures against the source photo, on
    frames spread over the video and the ones where the mouth is widest open (each figure
    as ``artifacts.typical`` takes it)."""
    from ..face import find_face

    portrait = find_face(source)
    step = max(1, measures.n_frames // SKIN_SAMPLES)
    spread = list(range(0, measures.n_frames, step))
    gaps = np.nan_to_num(measures.lip_gap, nan=-1.0)
    widest = [int(i) for i in np.argsort(gaps)[::-1][:WIDEST_SAMPLES]]
    frames = frames_at(video, spread + widest)
    landmarks = {}
    for index, frame in frames.items():
        found = detect_landmarks(frame)
        landmarks[index] = found[0] if found else None
    reference = skin_reference(portrait.image, portrait.landmarks)
    measured = {
        i: skin_figures(frames[i], marks, reference)
        for i, marks in landmarks.items()
        if marks is not None
    }
    gaps_at = np.array([measures.lip_gap[i] for i in measured])
    every = max(1, len(spread) // PSNR_SAMPLES)
    spread_frames = {i: frames[i] for i in spread[::every] if i in frames}
    result: dict[str, float] = {
        "background_psnr_db": fig.background_psnr(measures, portrait, spread_frames, landmarks)
    }
    for name in ("new_edges", "skin_change", "lip_like_share", "foreign_share"):
        values = np.array([getattr(s, name) for s in measured.values()])
        result[name] = typical(values, gaps_at, OPEN_GAP, CLOSED_GAP)
    return result


def contact_sheet(inspection: Inspection) -> list[tuple[str, np.ndarray]]:
    """The face at the middle of bilabials and open vowels spread over the video, labelled."""
    bilabials, vowels = bilabials_and_open_vowels(inspection.phones)
    chosen = sorted(
        _spread(bilabials, SHEET_SIZE // 2) + _spread(vowels, SHEET_SIZE // 2),
        key=lambda p: p.start,
    )
    measures = inspection.measures
    frames = frames_at(measures.path, (int(p.middle * measures.fps) for p in chosen))
    sheet = []
    for phone in chosen:
        index = int(phone.middle * measures.fps)
        if index in frames:
            sheet.append(
                (
                    f"{phone.symbol} @ {phone.middle:.2f}s",
                    _face_crop(frames[index], measures.face_boxes[index]),
                )
            )
    return sheet


def _spread(phones: list[Phone], count: int) -> list[Phone]:
    if len(phones) <= count:
        return phones
    return [phones[round(i)] for i in np.linspace(0, len(phones) - 1, count)]


def _face_crop(frame: np.ndarray, box: np.ndarray, side: int = 200) -> np.ndarray:
    """A square around the face (the whole frame if none was found), ``side`` pixels."""
    if np.isfinite(box).all():
        (x0, y0, x1, y1), height, width = box, *frame.shape[:2]
        half = 0.75 * max(x1 - x0, y1 - y0)
        cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
        frame = frame[
            max(0, int(cy - half)) : min(height, int(cy + half)),
            max(0, int(cx - half)) : min(width, int(cx + half)),
        ]
    scale = side / max(frame.shape[:2])
    return cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def write_report(
    inspection: Inspection, png: str | Path | None, json_path: str | Path | None
) -> None:
    """Write the PNG and/or JSON report, each atomically (a temporary file, then a rename)."""
    if png is not None:
        write_atomic(
            Path(png),
            lambda tmp: draw_report(
                inspection.measures,
                list(inspection.phones),
                inspection.figures,
                contact_sheet(inspection),
                tmp,
            ),
        )
    if json_path is not None:
        text = to_json(inspection)
        write_text_atomic(json_path, text)


def to_json(inspection: Inspection) -> str:
    def clean(value):
        if isinstance(value, float) and not np.isfinite(value):
            return None
        return value

    body = {
        "video": str(inspection.measures.path),
        "figures": {k: clean(v) for k, v in inspection.figures.items()},
    }
    return json.dumps(body, indent=2)


__all__ = ["Inspection", "inspect_video", "to_json", "write_report"]
