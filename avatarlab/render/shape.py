"""The geometry of one face that motion acts on: which landmarks move and how far they can.

Everything here is in face units (eye distances) along the face's own axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..face.geometry import FaceFrame, FaceParts, face_frame, face_parts


@dataclass(frozen=True)
class LipLayout:
    """Where each lip point sits across the mouth, for shaping openings and widths."""

    across: np.ndarray
    """Per control point of the lips: -1 at the image-left corner, 0 mid, +1 right corner."""
    rest_gap: np.ndarray
    """Per inner-lip point: rest distance to the opposite lip (face units)."""


@dataclass(frozen=True)
class FaceShape:
    landmarks: np.ndarray
    """478×3 pixel landmarks the shape was built from."""
    frame: FaceFrame
    controls: np.ndarray
    """Landmark indices that drive the warp, in the order of the warp operator's columns."""
    rest: np.ndarray
    """k×3 control positions in face units (x, y along the face axes; z depth)."""
    lips: LipLayout
    groups: dict[str, np.ndarray]
    """Control columns of each moving part: "upper_inner", "lower_lids", "brows", ..."""
    lid_travel: np.ndarray
    """Per control: how far (face units) an upper-lid or iris point must drop to reach the
    lower lid; 0 for the others."""
    rest_gap: float
    """The portrait's own inner-lip gap at the mouth's middle (face units)."""

    @property
    def unit(self) -> float:
        return self.frame.eye_distance

    def pixels(self, columns: np.ndarray | None = None) -> np.ndarray:
        """Rest pixel positions of the controls (or of some of their columns)."""
        points = self.landmarks[self.controls, :2]
        return points if columns is None else points[columns]


def build_shape(landmarks: np.ndarray, controls: np.ndarray | None = None) -> FaceShape:
    parts = face_parts()
    frame = face_frame(landmarks)
    if controls is None:
        controls = _control_indices(parts, landmarks)
    rest = np.concatenate(
        [frame.to_face(landmarks[controls]), landmarks[controls, 2:3] / frame.eye_distance], axis=1
    )
    lips = _lip_layout(rest, controls, parts)
    groups = _groups(controls, parts)
    return FaceShape(
        landmarks=landmarks.astype(np.float32),
        frame=frame,
        controls=controls,
        rest=rest,
        lips=lips,
        groups=groups,
        lid_travel=_lid_travel(rest, controls, parts),
        rest_gap=float(np.max(lips.rest_gap[groups["upper_inner"]])),
    )


def _control_indices(parts: FaceParts, landmarks: np.ndarray, extra: int = 40) -> np.ndarray:
    groups = [
        parts.outer_lips.all,
        parts.inner_lips.all,
        *(e.all for e in parts.eyes),
        *parts.irises,
        *parts.brows,
        parts.oval,
        parts.nose,
    ]
    chosen = list(dict.fromkeys(i for g in groups for i in g))
    # Spread a few more points over cheeks and forehead so the skin between the features
    # is held where it should be (farthest-point sampling over the remaining landmarks).
    others = np.setdiff1d(np.arange(468), chosen)
    picked = np.asarray(chosen)
    for _ in range(extra):
        dist = np.min(
            np.linalg.norm(landmarks[others, None, :2] - landmarks[None, picked, :2], axis=-1),
            axis=1,
        )
        best = others[int(np.argmax(dist))]
        picked = np.append(picked, best)
        others = others[others != best]
    return picked.astype(int)


def _lip_layout(rest: np.ndarray, controls: np.ndarray, parts: FaceParts) -> LipLayout:
    position = {int(c): i for i, c in enumerate(controls)}
    across = np.zeros(len(controls), np.float32)
    for contour in (parts.inner_lips, parts.outer_lips):
        left, right = rest[position[contour.upper[0]], 0], rest[position[contour.upper[-1]], 0]
        middle, half = 0.5 * (left + right), 0.5 * (right - left)
        for i in contour.all:
            across[position[i]] = np.clip((rest[position[i], 0] - middle) / half, -1, 1)
    rest_gap = np.zeros(len(controls), np.float32)
    upper = rest[[position[i] for i in parts.inner_lips.upper]]
    lower = rest[[position[i] for i in parts.inner_lips.lower]]
    for mine, other, sign in (
        (parts.inner_lips.upper, lower, 1),
        (parts.inner_lips.lower, upper, -1),
    ):
        order = np.argsort(other[:, 0])
        for i in mine:
            x, y = rest[position[i], :2]
            opposite = np.interp(x, other[order, 0], other[order, 1])
            rest_gap[position[i]] = max(0.0, sign * (opposite - y))
    return LipLayout(across=across, rest_gap=rest_gap)


def _groups(controls: np.ndarray, parts: FaceParts) -> dict[str, np.ndarray]:
    position = {int(c): i for i, c in enumerate(controls)}

    def cols(indices) -> np.ndarray:
        return np.array([position[i] for i in dict.fromkeys(indices)], dtype=int)

    eyes = parts.eyes
    return {
        "upper_inner": cols(parts.inner_lips.upper),
        "lower_inner": cols(parts.inner_lips.lower),
        "upper_outer": cols(parts.outer_lips.upper),
        "lower_outer": cols(parts.outer_lips.lower),
        "lips": cols(parts.inner_lips.all + parts.outer_lips.all),
        "upper_lids": cols(eyes[0].upper[1:-1] + eyes[1].upper[1:-1]),
        "lower_lids": cols(eyes[0].lower[1:-1] + eyes[1].lower[1:-1]),
        "irises": cols(parts.irises[0] + parts.irises[1]),
        "brows": cols(parts.brows[0] + parts.brows[1]),
        "oval": cols(parts.oval),
        "upper_lid_left": cols(eyes[0].upper),
        "lower_lid_left": cols(eyes[0].lower),
        "upper_lid_right": cols(eyes[1].upper),
        "lower_lid_right": cols(eyes[1].lower),
    }


def _lid_travel(rest: np.ndarray, controls: np.ndarray, parts: FaceParts) -> np.ndarray:
    position = {int(c): i for i, c in enumerate(controls)}
    travel = np.zeros(len(controls), np.float32)
    for eye, iris in zip(parts.eyes, parts.irises, strict=True):
        lower = rest[[position[i] for i in eye.lower], :2]
        order = np.argsort(lower[:, 0])
        for i in eye.upper[1:-1] + iris:
            x, y = rest[position[i], :2]
            travel[position[i]] = max(0.0, np.interp(x, lower[order, 0], lower[order, 1]) - y)
    return travel
