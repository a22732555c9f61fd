"""The mouth atlas: every frame of a clip described by its mouth's shape.

Each frame where the face was tracked gets the figures the chooser matches against a
viseme track (lip gap, width, jaw drop, lower-lip thickness for the f/v tuck, how much
teeth show), the head's pose (a mouth is only placed on a background frame in a similar
pose) and a small grey thumbnail of the mouth in a canonical pose (consecutive choices
should look alike). Units are eye distances, as in ``face.geometry``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import cv2
import numpy as np

from ..face.geometry import face_frame, face_parts, head_angles, lip_gap, mouth_width

THUMB_SIZE = (24, 16)
"""Width, height of the mouth thumbnails."""
_THUMB_SPAN = ((-0.9, 0.9), (0.55, 1.75))
"""Canonical mouth region, eye distances from the eyes' midpoint: x range, y range."""
_CHIN = 152
_OUTER_LOWER_MIDDLE, _INNER_LOWER_MIDDLE = 17, 14


@dataclass(frozen=True)
class MouthAtlas:
    """Per-frame figures (NaN where the face was lost), one row per clip frame."""

    gap: np.ndarray
    width: np.ndarray
    jaw: np.ndarray
    lower_lip: np.ndarray
    """Lower lip's visible thickness: it thins as the lip tucks under the teeth (f, v)."""
    teeth: np.ndarray
    """Share of the mouth's opening that is teeth-bright (0 closed or dark)."""
    yaw: np.ndarray
    pitch: np.ndarray
    roll: np.ndarray
    thumbs: np.ndarray
    """n×16×24 float32, each zero-mean and unit-norm (a correlation is a dot product)."""

    @property
    def found(self) -> np.ndarray:
        return ~np.isnan(self.gap)

    def save(self, path: Path) -> None:
        np.savez(path, **{f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def load(cls, path: Path) -> MouthAtlas:
        with np.load(path) as stored:
            return cls(**{f.name: stored[f.name] for f in fields(cls)})


def mouth_row(frame: np.ndarray, landmarks: np.ndarray | None) -> dict[str, np.ndarray | float]:
    """One frame's atlas row."""
    if landmarks is None:
        nan = float("nan")
        names = ("gap", "width", "jaw", "lower_lip", "teeth", "yaw", "pitch", "roll")
        return {**dict.fromkeys(names, nan), "thumbs": np.zeros(THUMB_SIZE[::-1], np.float32)}
    face = face_frame(landmarks)
    in_face = face.to_face(landmarks)
    yaw, pitch, roll = head_angles(landmarks)
    return {
        "gap": lip_gap(landmarks),
        "width": mouth_width(landmarks),
        "jaw": float(in_face[_CHIN, 1]),
        "lower_lip": float(in_face[_OUTER_LOWER_MIDDLE, 1] - in_face[_INNER_LOWER_MIDDLE, 1]),
        "teeth": teeth_share(frame, landmarks),
        "yaw": yaw,
        "pitch": pitch,
        "roll": roll,
        "thumbs": mouth_thumbnail(frame, landmarks),
    }


def build_atlas(rows: list[dict]) -> MouthAtlas:
    return MouthAtlas(
        **{
            f.name: np.array([row[f.name] for row in rows], dtype=np.float32)
            for f in fields(MouthAtlas)
        }
    )


def canonical_affine(landmarks: np.ndarray, span, size: tuple[int, int]) -> np.ndarray:
    """2×3 matrix from image pixels to a ``size`` image of the face-unit ``span``."""
    face = face_frame(landmarks)
    (x_lo, x_hi), (y_lo, y_hi) = span
    sx, sy = size[0] / (x_hi - x_lo), size[1] / (y_hi - y_lo)
    rotation = np.stack([face.x_axis, face.y_axis]) / face.eye_distance
    scale = np.array([[sx], [sy]])
    linear = rotation * scale
    offset = -linear @ face.origin - np.array([x_lo * sx, y_lo * sy])
    return np.hstack([linear, offset[:, None]]).astype(np.float32)


def mouth_thumbnail(frame: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    matrix = canonical_affine(landmarks, _THUMB_SPAN, THUMB_SIZE)
    grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
    small = cv2.warpAffine(grey, matrix, THUMB_SIZE, flags=cv2.INTER_AREA).astype(np.float32)
    small -= small.mean()
    return small / max(float(np.linalg.norm(small)), 1e-6)


def teeth_share(frame: np.ndarray, landmarks: np.ndarray) -> float:
    """Share of the inner-lip opening that is bright and unsaturated, as teeth are and the
    mouth's dark inside, tongue and lips are not."""
    polygon = landmarks[face_parts().inner_lips.loop, :2]
    x0, y0 = np.floor(polygon.min(axis=0)).astype(int)
    x1, y1 = np.ceil(polygon.max(axis=0)).astype(int) + 1
    x0, y0 = max(x0, 0), max(y0, 0)
    patch = frame[y0:y1, x0:x1]
    if patch.size == 0:
        return 0.0
    mask = np.zeros(patch.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(polygon - (x0, y0)).astype(np.int32)], 1)
    inside = mask.astype(bool)
    if inside.sum() < 4:
        return 0.0
    hsv = cv2.cvtColor(patch, cv2.COLOR_RGB2HSV)[inside].astype(np.float32)
    lips_value = float(np.median(cv2.cvtColor(frame, cv2.COLOR_RGB2HSV)[y0:y1, x0:x1, 2]))
    bright = (hsv[:, 2] > max(lips_value * 1.15, 110)) & (hsv[:, 1] < 90)
    return float(bright.mean())
