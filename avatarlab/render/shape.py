"""The geometry of one face that motion acts on: which landmarks move and how far they can.

Everything here is in face units (eye distances) along the face's own axes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face.geometry import FaceFrame, FaceParts, face_frame, face_parts

MIN_SPACING = 0.035
"""Landmarks closer than this (face units) to one already kept are left out of the mesh:
on a turned face MediaPipe places hidden points right beside visible ones, and two such
points moving differently would fold the picture between them."""
NOSE_TIP = 1
"""MediaPipe's nose tip landmark (documented in its canonical face model)."""
LIP_CLEARANCE = 0.07
"""Skin landmarks closer than this (face units) to the outer lips are left out of the mesh."""
CORNER_REACH = 0.12
"""Distance (face units) from a mouth corner within which the lips' vertical motion fades."""
MIN_LIP_GAP = 0.012
"""Lips that touch (or, by a landmark's error, overlap) at rest are set this far apart, so
the mouth between them is a thin region rather than a crossed one."""


@dataclass(frozen=True)
class LipLayout:
    """Where each lip point sits across the mouth, for shaping openings and widths."""

    across: np.ndarray
    """Per control point of the lips: -1 at the image-left corner, 0 mid, +1 right corner."""
    rest_gap: np.ndarray
    """Per inner-lip point: rest distance to the opposite lip (face units)."""
    half_width: float
    """Half the distance between the outer corners (face units)."""
    spread: np.ndarray
    """Per lip point: where it sits between the outer corners, -1 to +1 (one scale for all
    four outlines, so that widening or rounding the mouth moves them all alike)."""
    corner_fade: np.ndarray
    """Per control: 0 at the mouth's outer corners, easing to 1 at ``CORNER_REACH`` from
    them (1 for every point farther away)."""


@dataclass(frozen=True)
class FaceShape:
    landmarks: np.ndarray
    """478×3 pixel landmarks the shape was built from (lips set apart where they cross)."""
    frame: FaceFrame
    controls: np.ndarray
    """Landmark indices that are vertices of the warp's mesh, in the mesh's order."""
    rest: np.ndarray
    """k×3 control positions in face units (x, y along the face axes; z depth, smoothed
    so that neighbours on the picture are neighbours in depth too)."""
    lips: LipLayout
    groups: dict[str, np.ndarray]
    """Control columns of each moving part: "upper_inner", "lower_lids", "brows", ..."""
    rest_gap: float
    """The portrait's own inner-lip gap at the mouth's middle (face units)."""
    iris_reach: np.ndarray
    """Per iris control: how far (face units) it may move, half its distance to the eye's
    outline, so the eye's triangles around it never turn over."""

    @property
    def unit(self) -> float:
        return self.frame.eye_distance

    def pixels(self, columns: np.ndarray | None = None) -> np.ndarray:
        """Rest pixel positions of the controls (or of some of their columns)."""
        points = self.landmarks[self.controls, :2]
        return points if columns is None else points[columns]


def build_shape(landmarks: np.ndarray) -> FaceShape:
    parts = face_parts()
    frame = face_frame(landmarks)
    landmarks = _lips_apart(landmarks.astype(np.float64), frame, parts)
    controls = _control_indices(parts, landmarks, frame)
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
        rest_gap=float(np.max(lips.rest_gap[groups["upper_inner"]])),
        iris_reach=_iris_reach(landmarks, controls[groups["irises"]], parts, frame),
    )


def _lips_apart(landmarks: np.ndarray, frame: FaceFrame, parts: FaceParts) -> np.ndarray:
    """The lips' four outlines in order from top to bottom, each at least ``MIN_LIP_GAP``
    from the next: the inner lips split the difference where they cross, and an outer
    outline that strays inside its lip's inner one (a thin lip near the corners) is moved
    back out. The eyes' two lids likewise. Corners stay where they are."""
    result = landmarks.copy()
    inner_upper, inner_lower = parts.inner_lips.upper[1:-1], parts.inner_lips.lower[1:-1]
    outer_upper, outer_lower = parts.outer_lips.upper[1:-1], parts.outer_lips.lower[1:-1]
    _keep_below(result, frame, inner_lower, inner_upper, share=0.5)
    _keep_below(result, frame, inner_upper, inner_lower, share=0.5, upwards=True)
    _keep_below(result, frame, outer_upper, inner_upper, share=1.0, upwards=True)
    _keep_below(result, frame, outer_lower, inner_lower, share=1.0)
    # Shut eyes: the lids' two outlines touch, and must not cross either.
    for eye in parts.eyes:
        _keep_below(result, frame, eye.lower[1:-1], eye.upper, share=0.5)
        _keep_below(result, frame, eye.upper[1:-1], eye.lower, share=0.5, upwards=True)
    return result


def _keep_below(
    landmarks: np.ndarray,
    frame: FaceFrame,
    movers: tuple[int, ...],
    reference: tuple[int, ...],
    share: float,
    upwards: bool = False,
) -> None:
    """Move each ``movers`` point (in place) down (or up, ``upwards``) by ``share`` of what
    it lacks to be ``MIN_LIP_GAP`` below (above) the ``reference`` outline at its x."""
    face = frame.to_face(landmarks)
    ref = list(reference)
    order = np.argsort(face[ref, 0])
    sign = -1.0 if upwards else 1.0
    for i in movers:
        x, y = face[i]
        other = np.interp(x, face[ref][order, 0], face[ref][order, 1])
        short = MIN_LIP_GAP - sign * (y - other)
        if short > 0:
            landmarks[i, :2] += frame.to_pixels(np.array([0.0, sign * share * short]))


def _control_indices(parts: FaceParts, landmarks: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """The moving parts' landmarks, then the nose's and the others nearest the camera first,
    each of those kept only if it is ``MIN_SPACING`` from every point kept so far and
    ``LIP_CLEARANCE`` from the lips. Iris centres are kept where they sit well inside their
    eye (the mesh fills each eye around its centre). On a turned face, hidden points that
    fall inside an eye or the mouth are left out, whatever part they belong to."""
    eyes = [eye.loop for eye in parts.eyes]
    mouth, lips = parts.inner_lips.loop, parts.outer_lips.loop
    own = {
        "eyes": set(parts.eyes[0].all + parts.eyes[1].all),
        "lips": set(parts.inner_lips.all + parts.outer_lips.all),
    }
    hidden = (_inside(landmarks, eyes[0]) | _inside(landmarks, eyes[1])) & ~_member(own["eyes"])
    hidden |= _inside(landmarks, mouth) & ~_member(own["lips"])
    required = [
        *parts.inner_lips.all,
        *parts.outer_lips.all,
        *(i for eye in parts.eyes for i in eye.all),
        *(i for brow in parts.brows for i in brow),
        *parts.oval,
    ]
    face = frame.to_face(landmarks)
    chosen: list[int] = []
    for i in dict.fromkeys(required):  # in order of importance: lips, eyes, brows, outline
        close = chosen and np.min(np.hypot(*(face[chosen] - face[i]).T)) < MIN_SPACING
        if not hidden[i] and not (close and i not in own["lips"] | own["eyes"]):
            chosen.append(i)
    chosen += [
        iris[0]
        for eye, iris in zip(parts.eyes, parts.irises, strict=True)
        if _well_inside(landmarks, eye, iris[0])
    ]
    # Skin right against the lips (or on them, between their outlines) would be a sliver
    # between two contours that move almost alike: the lip's triangles span past it.
    near_lips = _inside(landmarks, lips) | (_distance_to(face, face[lips]) < LIP_CLEARANCE)
    nearest_first = [int(i) for i in np.argsort(landmarks[:468, 2])]
    others = [
        i
        for i in dict.fromkeys([NOSE_TIP, *parts.nose, *nearest_first])
        if i not in set(chosen) and not near_lips[i] and not hidden[i]
    ]
    kept = face[chosen]
    for i in others:
        if np.min(np.hypot(*(kept - face[i]).T)) >= MIN_SPACING:
            chosen.append(int(i))
            kept = np.vstack([kept, face[i]])
    return np.array(chosen, dtype=int)


def _member(indices: set[int]) -> np.ndarray:
    mask = np.zeros(478, bool)
    mask[list(indices)] = True
    return mask


def _distance_to(points: np.ndarray, outline: np.ndarray) -> np.ndarray:
    """Each point's distance to a closed polyline."""
    a, b = outline, np.roll(outline, -1, axis=0)
    along = b - a
    t = np.clip(
        ((points[:, None] - a[None]) * along[None]).sum(-1) / (along**2).sum(-1).clip(1e-12),
        0.0,
        1.0,
    )
    nearest = a[None] + t[..., None] * along[None]
    return np.hypot(*(points[:, None] - nearest).transpose(2, 0, 1)).min(axis=1)


def _inside(landmarks: np.ndarray, outline: list[int]) -> np.ndarray:
    """Per landmark: whether it lies inside (or on) the closed outline."""
    polygon = landmarks[outline, :2].astype(np.float32).reshape(-1, 1, 2)
    return np.array(
        [
            cv2.pointPolygonTest(polygon, (float(x), float(y)), False) >= 0
            for x, y in landmarks[:, :2]
        ]
    )


def _inside_by(landmarks: np.ndarray, eye, point: int) -> float:
    """How far (pixels) ``point`` lies inside the eye's outline (negative: outside)."""
    outline = eye.loop
    polygon = landmarks[outline, :2].astype(np.float32).reshape(-1, 1, 2)
    return float(cv2.pointPolygonTest(polygon, tuple(map(float, landmarks[point, :2])), True))


def _well_inside(landmarks: np.ndarray, eye, point: int) -> bool:
    """Whether ``point`` lies inside the eye's outline by a quarter of the eye's height."""
    height = float(np.ptp(landmarks[list(eye.all), 1]))
    return _inside_by(landmarks, eye, point) > 0.25 * height


def _iris_reach(
    landmarks: np.ndarray, irises: np.ndarray, parts: FaceParts, frame: FaceFrame
) -> np.ndarray:
    eye_of = {iris[0]: eye for eye, iris in zip(parts.eyes, parts.irises, strict=True)}
    return np.array(
        [0.5 * _inside_by(landmarks, eye_of[int(i)], int(i)) / frame.eye_distance for i in irises]
    )


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
    corners = rest[[position[parts.outer_lips.upper[0]], position[parts.outer_lips.upper[-1]]]]
    half_width = 0.5 * float(abs(corners[1, 0] - corners[0, 0]))
    middle = 0.5 * float(corners[0, 0] + corners[1, 0])
    spread = np.zeros(len(controls), np.float32)
    for i in parts.inner_lips.all + parts.outer_lips.all:
        spread[position[i]] = np.clip((rest[position[i], 0] - middle) / half_width, -1, 1)
    to_corner = np.min([np.hypot(*(rest[:, :2] - corner[:2]).T) for corner in corners], axis=0)
    fade = np.clip(to_corner / CORNER_REACH, 0.0, 1.0)
    return LipLayout(
        across=across,
        rest_gap=rest_gap,
        half_width=half_width,
        spread=spread,
        corner_fade=(fade * fade * (3.0 - 2.0 * fade)).astype(np.float32),
    )


def _groups(controls: np.ndarray, parts: FaceParts) -> dict[str, np.ndarray]:
    position = {int(c): i for i, c in enumerate(controls)}

    def cols(indices) -> np.ndarray:
        return np.array([position[i] for i in dict.fromkeys(indices) if i in position], dtype=int)

    eyes = parts.eyes
    return {
        "upper_inner": cols(parts.inner_lips.upper),
        "lower_inner": cols(parts.inner_lips.lower),
        "upper_outer": cols(parts.outer_lips.upper),
        "lower_outer": cols(parts.outer_lips.lower),
        "lips": cols(parts.inner_lips.all + parts.outer_lips.all),
        "eyes": cols(eyes[0].all + eyes[1].all),
        "irises": cols((parts.irises[0][0], parts.irises[1][0])),
        "brows": cols(parts.brows[0] + parts.brows[1]),
        "oval": cols(parts.oval),
        "nose": cols(parts.nose),
        "nose_tip": cols((NOSE_TIP,)),
        "upper_lid_left": cols(eyes[0].upper),
        "lower_lid_left": cols(eyes[0].lower),
        "upper_lid_right": cols(eyes[1].upper),
        "lower_lid_right": cols(eyes[1].lower),
    }
