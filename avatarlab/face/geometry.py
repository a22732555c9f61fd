"""Where the parts of a face are among MediaPipe's 478 landmarks, and measures on them.

The index groups come from MediaPipe's own connection tables (lips, eyes, brows, oval),
chained into ordered contours and split into upper/lower halves geometrically, so no
landmark numbers are typed here. Measures are normalised by the distance between the eye
centres, which makes them independent of face size, and taken along the face's own axes,
which makes them independent of head roll. The renderer and the tests that judge its
output share these functions.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Contour:
    """A lip or eye outline split at its corners; both halves run from one corner to the other."""

    upper: tuple[int, ...]
    lower: tuple[int, ...]

    @property
    def all(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys(self.upper + self.lower))

    @property
    def loop(self) -> list[int]:
        """The whole outline as one closed polygon: the upper half, then the lower one
        back (each corner once)."""
        return list(self.upper) + list(self.lower[1:-1][::-1])


def outline(landmarks: np.ndarray, contour: Contour) -> np.ndarray:
    """The contour's closed polygon in pixels (see ``Contour.loop``)."""
    return landmarks[contour.loop, :2]


@dataclass(frozen=True)
class FaceParts:
    outer_lips: Contour
    inner_lips: Contour
    eyes: tuple[Contour, Contour]
    """Image-left eye first."""
    irises: tuple[tuple[int, ...], tuple[int, ...]]
    brows: tuple[tuple[int, ...], tuple[int, ...]]
    oval: tuple[int, ...]
    """The face outline, closed, in order."""
    nose: tuple[int, ...]


@dataclass(frozen=True)
class FaceFrame:
    """The face's own axes: origin between the eyes, x towards the image-right eye, y down."""

    origin: np.ndarray
    x_axis: np.ndarray
    y_axis: np.ndarray
    eye_distance: float

    def to_face(self, points: np.ndarray) -> np.ndarray:
        """Pixel (x, y) → face units (eye distances) along the face's axes."""
        rel = points[..., :2] - self.origin
        return np.stack([rel @ self.x_axis, rel @ self.y_axis], axis=-1) / self.eye_distance

    def to_pixels(self, offsets: np.ndarray) -> np.ndarray:
        """A displacement in face units → a displacement in pixels."""
        return self.eye_distance * (
            offsets[..., :1] * self.x_axis + offsets[..., 1:2] * self.y_axis
        )


def _chains(edges: frozenset[tuple[int, int]]) -> list[list[int]]:
    """Order a set of undirected edges into its paths and loops."""
    neighbours: dict[int, list[int]] = defaultdict(list)
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    unvisited = set(neighbours)
    chains = []
    while unvisited:
        ends = [n for n in unvisited if len(neighbours[n]) == 1]
        start = min(ends) if ends else min(unvisited)
        chain = [start]
        unvisited.discard(start)
        while True:
            nxt = [n for n in neighbours[chain[-1]] if n in unvisited]
            if not nxt:
                break
            chain.append(min(nxt))
            unvisited.discard(chain[-1])
        chains.append(chain)
    return chains


# MediaPipe's documented anchor points: the corners where each outline is split, and one
# point known to lie on the upper half. Everything else comes from the connection tables.
_MOUTH_CORNERS_INNER, _UPPER_INNER_LIP = (78, 308), 13
_MOUTH_CORNERS_OUTER, _UPPER_OUTER_LIP = (61, 291), 0
_IMAGE_LEFT_EYE_CORNERS, _IMAGE_LEFT_UPPER_LID = (33, 133), 159
_IMAGE_RIGHT_EYE_CORNERS, _IMAGE_RIGHT_UPPER_LID = (362, 263), 386


def _split_loop(loop: list[int], corners: tuple[int, int], on_upper: int) -> Contour:
    """Split a closed outline at two corners into halves that both start at the first."""
    start = loop.index(corners[0])
    rolled = loop[start:] + loop[:start]
    cut = rolled.index(corners[1])
    first = rolled[: cut + 1]
    second = [rolled[0]] + rolled[cut:][::-1]
    if on_upper not in first:
        first, second = second, first
    return Contour(upper=tuple(first), lower=tuple(second))


def _loop_with(loops: list[list[int]], member: int) -> list[int]:
    return next(loop for loop in loops if member in loop)


@functools.lru_cache(maxsize=1)
def face_parts() -> FaceParts:
    """The landmark groups, derived once from MediaPipe's connection tables."""
    import mediapipe as mp

    tables = mp.solutions.face_mesh_connections
    lips = _chains(tables.FACEMESH_LIPS)
    # MediaPipe names eyes from the subject's side: its RIGHT eye is on the image's left.
    return FaceParts(
        inner_lips=_split_loop(
            _loop_with(lips, _UPPER_INNER_LIP), _MOUTH_CORNERS_INNER, _UPPER_INNER_LIP
        ),
        outer_lips=_split_loop(
            _loop_with(lips, _UPPER_OUTER_LIP), _MOUTH_CORNERS_OUTER, _UPPER_OUTER_LIP
        ),
        eyes=(
            _split_loop(
                _chains(tables.FACEMESH_RIGHT_EYE)[0],
                _IMAGE_LEFT_EYE_CORNERS,
                _IMAGE_LEFT_UPPER_LID,
            ),
            _split_loop(
                _chains(tables.FACEMESH_LEFT_EYE)[0],
                _IMAGE_RIGHT_EYE_CORNERS,
                _IMAGE_RIGHT_UPPER_LID,
            ),
        ),
        irises=(_iris(tables.FACEMESH_RIGHT_IRIS), _iris(tables.FACEMESH_LEFT_IRIS)),
        brows=(
            _path_points(tables.FACEMESH_RIGHT_EYEBROW),
            _path_points(tables.FACEMESH_LEFT_EYEBROW),
        ),
        oval=tuple(_chains(tables.FACEMESH_FACE_OVAL)[0]),
        nose=tuple(sorted({i for e in tables.FACEMESH_NOSE for i in e})),
    )


def _path_points(edges: frozenset[tuple[int, int]]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(i for chain in _chains(edges) for i in chain))


def _iris(edges: frozenset[tuple[int, int]]) -> tuple[int, ...]:
    ring = sorted({i for e in edges for i in e})
    return (min(ring) - 1, *ring)  # MediaPipe numbers each iris centre just before its ring


def face_frame(landmarks: np.ndarray) -> FaceFrame:
    parts = face_parts()
    left = landmarks[list(parts.eyes[0].all), :2].mean(axis=0)
    right = landmarks[list(parts.eyes[1].all), :2].mean(axis=0)
    span = right - left
    distance = float(np.hypot(*span))
    x_axis = span / distance
    y_axis = np.array([-x_axis[1], x_axis[0]])
    return FaceFrame((left + right) / 2, x_axis, y_axis, distance)


def _centre_gap(upper: np.ndarray, lower: np.ndarray) -> float:
    """Vertical distance between two lip curves at the mouth's middle, in face units."""
    xs = np.concatenate([upper[:, 0], lower[:, 0]])
    middle = 0.5 * (xs.min() + xs.max())
    order_u, order_l = np.argsort(upper[:, 0]), np.argsort(lower[:, 0])
    top = np.interp(middle, upper[order_u, 0], upper[order_u, 1])
    bottom = np.interp(middle, lower[order_l, 0], lower[order_l, 1])
    return float(bottom - top)


def lip_gap(landmarks: np.ndarray) -> float:
    """Inner-lip opening at the middle of the mouth, in eye distances (0 = lips touching)."""
    frame, lips = face_frame(landmarks), face_parts().inner_lips
    upper = frame.to_face(landmarks[list(lips.upper)])
    lower = frame.to_face(landmarks[list(lips.lower)])
    return max(0.0, _centre_gap(upper, lower))


def mouth_width(landmarks: np.ndarray) -> float:
    """Corner-to-corner width of the outer lips, in eye distances."""
    frame, lips = face_frame(landmarks), face_parts().outer_lips
    corners = frame.to_face(landmarks[[lips.upper[0], lips.upper[-1]]])
    return float(abs(corners[1, 0] - corners[0, 0]))


def eye_openness(landmarks: np.ndarray) -> tuple[float, float]:
    """Lid-to-lid height over eye width, image-left eye first (about 0.25-0.35 open, <0.1 shut)."""
    frame = face_frame(landmarks)
    result = []
    for eye in face_parts().eyes:
        upper = frame.to_face(landmarks[list(eye.upper)])
        lower = frame.to_face(landmarks[list(eye.lower)])
        width = float(np.ptp(np.concatenate([upper[:, 0], lower[:, 0]])))
        result.append(_centre_gap(upper, lower) / width)
    return result[0], result[1]


def head_angles(landmarks: np.ndarray) -> tuple[float, float, float]:
    """Approximate (yaw, pitch, roll) in degrees from the landmarks' depth, with the
    renderer's conventions: + yaw turns towards the image's left, + pitch nods down, + roll
    tilts clockwise. A frontal face reads near 0; use differences between frames."""
    parts, frame = face_parts(), face_frame(landmarks)
    outer_left, outer_right = landmarks[parts.eyes[0].upper[0]], landmarks[parts.eyes[1].upper[-1]]
    across = float(np.hypot(*(outer_right[:2] - outer_left[:2])))
    yaw = np.degrees(np.arctan2(outer_left[2] - outer_right[2], across))
    oval = landmarks[list(parts.oval)]
    down = frame.to_face(oval)[:, 1]
    top, bottom = oval[int(np.argmin(down))], oval[int(np.argmax(down))]
    length = float(np.hypot(*(bottom[:2] - top[:2])))
    pitch = np.degrees(np.arctan2(bottom[2] - top[2], length))
    roll = np.degrees(np.arctan2(frame.x_axis[1], frame.x_axis[0]))
    return float(yaw), float(pitch), float(roll)
