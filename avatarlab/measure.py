"""Measuring what a video shows: the face's landmarks found again on its frames.

The renderer's own tests use these (what a viewer would see, not what the renderer meant),
and so will ``avatarlab inspect``. Works on any talking-head video, not only ours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .face import detect_landmarks
from .face.geometry import eye_openness, lip_gap, mouth_width
from .motion.visemes import viseme_for
from .types import Phone
from .video import read_frames

CLOSED_GAP = 0.08
"""Lip gap (eye distances) under which the lips count as closed. MediaPipe's lip points on
a shut mouth scatter between 0 and about 0.065 (measured on our own frames, worst on small
or grey portraits); the bundled portrait's resting smile, teeth apart, measures 0.16 and
open vowels 0.19-0.35. 0.08 sits half way between shut and that smile."""
OPEN_VOWELS = frozenset({"aa", "oh", "E"})


@dataclass(frozen=True)
class FaceMeasures:
    lip_gap: float
    mouth_width: float
    eyes_open: tuple[float, float]


def measure_face(frame: np.ndarray) -> FaceMeasures | None:
    """Mouth and eye measures of the largest face in one RGB frame (None: no face seen)."""
    faces = detect_landmarks(frame)
    if not faces:
        return None
    landmarks = faces[0]
    return FaceMeasures(lip_gap(landmarks), mouth_width(landmarks), eye_openness(landmarks))


def frames_at(video: str | Path, indices: Iterable[int]) -> dict[int, np.ndarray]:
    """The frames with these indices, decoded in one pass."""
    wanted = set(indices)
    found: dict[int, np.ndarray] = {}
    for index, frame in enumerate(read_frames(video)):
        if index in wanted:
            found[index] = frame
        if len(found) == len(wanted):
            break
    return found


@dataclass(frozen=True)
class LipsyncFigures:
    bilabial_gaps: tuple[float, ...]
    """Lip gap on the frame shown at the middle of each p/b/m."""
    open_vowel_gaps: tuple[float, ...]
    closure_rate: float
    """Share of bilabials whose middle frame shows closed lips."""
    open_closed_ratio: float
    """Median gap on open vowels over median gap on bilabials."""


def bilabials_and_open_vowels(phones: Iterable[Phone]) -> tuple[list[Phone], list[Phone]]:
    """The phones lip-sync is judged on: every p/b/m, and open vowels of 70 ms or more."""
    phones = list(phones)
    bilabials = [p for p in phones if viseme_for(p.symbol) == "PP"]
    vowels = [p for p in phones if viseme_for(p.symbol) in OPEN_VOWELS and p.end - p.start >= 0.07]
    return bilabials, vowels


def score_lipsync(
    gap_at: Callable[[int], float | None], phones: Iterable[Phone], fps: float
) -> LipsyncFigures:
    """Lip-sync figures from a lip gap per frame index (None: no face on that frame)."""
    bilabials, vowels = bilabials_and_open_vowels(phones)

    def gaps(group: list[Phone]) -> tuple[float, ...]:
        measured = (gap_at(int(p.middle * fps)) for p in group)
        return tuple(float("nan") if g is None else g for g in measured)

    closed, opened = gaps(bilabials), gaps(vowels)
    closure = float(np.mean([g < CLOSED_GAP for g in closed])) if closed else float("nan")
    ratio = (
        float(np.nanmedian(opened) / max(float(np.nanmedian(closed)), 0.01))
        if closed and opened
        else float("nan")
    )
    return LipsyncFigures(closed, opened, closure, ratio)


def lipsync_figures(video: str | Path, phones: Iterable[Phone], fps: float) -> LipsyncFigures:
    """Judge a video's lip-sync against a phone timeline, finding the face on each frame
    that matters afresh (no tracking: every judged frame stands on its own)."""
    phones = list(phones)
    bilabials, vowels = bilabials_and_open_vowels(phones)
    frames = frames_at(video, (int(p.middle * fps) for p in bilabials + vowels))

    def gap_at(index: int) -> float | None:
        measures = measure_face(frames[index]) if index in frames else None
        return None if measures is None else measures.lip_gap

    return score_lipsync(gap_at, phones, fps)
