"""Figures that say how good a talking-head video is, from its per-frame measures.

Every figure is something a viewer could check by eye; each function says how it is taken.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..measure import score_lipsync
from ..types import Phone, Portrait
from .measures import VideoMeasures, loudness_per_frame

MAX_LAG = 0.6
"""Lags searched, in seconds each way."""
BLINK_DEPTH = 0.55
"""An eye counts as shut below this share of its median openness."""


def lipsync(measures: VideoMeasures, phones: list[Phone]) -> dict[str, float]:
    def gap_at(index: int) -> float | None:
        if 0 <= index < measures.n_frames and measures.found[index]:
            return float(measures.lip_gap[index])
        return None

    scores = score_lipsync(gap_at, phones, measures.fps)
    return {
        "bilabials": len(scores.bilabial_gaps),
        "bilabial_closure_rate": scores.closure_rate,
        "open_closed_ratio": scores.open_closed_ratio,
    }


def audio_to_mouth_lag(measures: VideoMeasures) -> float:
    """Milliseconds by which the mouth follows the sound: the shift of the lip gap that best
    correlates with the audio's loudness. Positive: the mouth lags the audio; negative: it
    leads (real speakers lead by 0-40 ms). Each shift is scored by the Pearson correlation
    of just the frames the two overlap on, so a shift is not favoured for overlapping more
    of the speech; sub-frame by a parabola through the peak. Shifts up to ``MAX_LAG``."""
    loud = loudness_per_frame(measures)
    gap = np.nan_to_num(measures.lip_gap, nan=float(np.nanmedian(measures.lip_gap)))
    if loud.std() == 0 or gap.std() == 0:
        return float("nan")
    steps = int(round(MAX_LAG * measures.fps))
    shifts = np.arange(-steps, steps + 1)
    scores = np.array([_correlation(loud, gap, s) for s in shifts])
    best = int(np.nanargmax(scores))
    offset = 0.0
    if 0 < best < len(scores) - 1:
        left, middle, right = scores[best - 1 : best + 2]
        curvature = left - 2 * middle + right
        offset = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
    return float((shifts[best] + offset) / measures.fps * 1000)


def _correlation(loud: np.ndarray, gap: np.ndarray, shift: int) -> float:
    """Pearson correlation of loudness at t with the lip gap at t + shift frames."""
    if shift >= 0:
        a, b = loud[: len(loud) - shift], gap[shift:]
    else:
        a, b = loud[-shift:], gap[: len(gap) + shift]
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return -np.inf
    return float(np.corrcoef(a, b)[0, 1])


def blinks(measures: VideoMeasures) -> dict[str, float]:
    """Blink count, rate per minute and mean duration, from both eyes' openness."""
    openness = np.nanmean(measures.eyes_open, axis=1)
    shut = openness < BLINK_DEPTH * np.nanmedian(openness)
    edges = np.diff(np.concatenate([[0], shut.astype(int), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    minutes = measures.n_frames / measures.fps / 60
    durations = (ends - starts) / measures.fps * 1000
    return {
        "blinks": int(len(starts)),
        "blinks_per_minute": float(len(starts) / minutes) if minutes else 0.0,
        "blink_ms_mean": float(durations.mean()) if len(durations) else 0.0,
    }


def blink_spans(measures: VideoMeasures) -> list[tuple[float, float]]:
    openness = np.nanmean(measures.eyes_open, axis=1)
    shut = openness < BLINK_DEPTH * np.nanmedian(openness)
    edges = np.diff(np.concatenate([[0], shut.astype(int), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(s / measures.fps, e / measures.fps) for s, e in zip(starts, ends, strict=True)]


def head_motion(measures: VideoMeasures) -> dict[str, float]:
    """Range of each angle (degrees) and jerk: RMS third derivative (degrees/s³), which
    is large for shaky, robotic motion and small for smooth drift."""
    result = {}
    for i, name in enumerate(("yaw", "pitch", "roll")):
        angle = measures.angles[:, i]
        angle = angle[~np.isnan(angle)]
        result[f"{name}_range_deg"] = float(np.ptp(angle)) if len(angle) else float("nan")
    smooth = np.nan_to_num(measures.angles)
    jerk = np.diff(smooth, n=3, axis=0) * measures.fps**3
    result["head_jerk_deg_s3"] = float(np.sqrt(np.mean(jerk**2))) if len(jerk) else 0.0
    return result


def landmark_jitter(measures: VideoMeasures) -> float:
    """Frame-to-frame shake of rigid landmarks, in % of the eye distance: how far each point
    sits from the midpoint of its neighbours in time (smooth motion scores ~0)."""
    anchors = measures.anchors
    wobble = anchors[1:-1] - 0.5 * (anchors[:-2] + anchors[2:])
    distance = np.linalg.norm(wobble, axis=-1)
    return float(np.nanmedian(distance) * 100) if np.isfinite(distance).any() else float("nan")


def background_psnr(
    measures: VideoMeasures,
    portrait: Portrait,
    frames: dict[int, np.ndarray],
    landmarks: dict[int, np.ndarray | None],
) -> float:
    """PSNR (dB) of the video against the source photo outside the head (median over the
    sampled frames). The photo is placed on each frame by the face's rigid landmarks, then
    the placement is refined on the background itself (ECC), so sub-pixel misalignment is
    not mistaken for damage. ``portrait`` is the source photo with its face found."""
    rigid = _rigid_points()
    values = []
    for index, frame in frames.items():
        marks = landmarks.get(index)
        if marks is None:
            continue
        guess, _ = cv2.estimateAffinePartial2D(portrait.landmarks[rigid, :2], marks[rigid, :2])
        if guess is None:
            continue
        background = ~_head_region(marks, frame.shape)
        transform = _refine(portrait.image, frame, guess, background)
        height, width = frame.shape[:2]
        aligned = cv2.warpAffine(portrait.image, transform, (width, height), flags=cv2.INTER_LINEAR)
        inside = cv2.warpAffine(
            np.full(portrait.image.shape[:2], 255, np.uint8),
            transform,
            (width, height),
            flags=cv2.INTER_NEAREST,
        )
        keep = (inside == 255) & background
        keep = cv2.erode(keep.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        error = np.mean((aligned[keep].astype(float) - frame[keep].astype(float)) ** 2)
        values.append(10 * np.log10(255**2 / max(error, 1e-9)))
    return float(np.median(values)) if values else float("nan")


def _rigid_points() -> list[int]:
    from ..face.geometry import face_parts

    parts = face_parts()
    return [
        parts.eyes[0].upper[0],
        parts.eyes[0].upper[-1],
        parts.eyes[1].upper[0],
        parts.eyes[1].upper[-1],
        *parts.nose,
    ]


def _refine(
    photo: np.ndarray, frame: np.ndarray, guess: np.ndarray, mask: np.ndarray
) -> np.ndarray:
    """Affine placement of ``photo`` on ``frame`` maximising their agreement on ``mask``."""
    height, width = frame.shape[:2]
    moved = cv2.warpAffine(photo, guess, (width, height), flags=cv2.INTER_LINEAR)
    target = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
    template = cv2.cvtColor(moved, cv2.COLOR_RGB2GRAY).astype(np.float32)
    warp = np.eye(2, 3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)
    try:
        _, warp = cv2.findTransformECC(
            template, target, warp, cv2.MOTION_AFFINE, criteria, mask.astype(np.uint8), 5
        )
    except cv2.error:
        return guess
    # ECC's warp takes the placed photo's coordinates to the frame's: apply it after the guess.
    return (np.vstack([warp, [0, 0, 1]]) @ np.vstack([guess, [0, 0, 1]]))[:2].astype(np.float64)


def _head_region(landmarks: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Face outline grown 1.7× about its centre: face, hair and the edge where motion fades."""
    from ..face.geometry import face_parts

    oval = landmarks[list(face_parts().oval), :2]
    centre = oval.mean(axis=0)
    grown = centre + (oval - centre) * 1.7
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(grown).astype(np.int32)], 1)
    return mask.astype(bool)
