"""One frame's pose → where every vertex of the mesh goes.

All amounts are in face units (eye distances) along the face's own axes, so the same
numbers suit any face size and roll; the head rotation then turns the displaced points in
pseudo-3D using their (smoothed) depth.

The motion is a sum of smooth fields, each built so that it cannot fold the picture:

- the jaw moves everything below the mouth corners straight down, by a weight that never
  decreases going down the face (so a point below another always stays below it);
- the lips' contours move as the mouth shape says; the skin around them follows by a
  share that fades with distance (``LIP_REACH``), slowly enough that a lip never
  overtakes the skin beside it;
- the brows rise, and the forehead and lids around them follow, fading the same way.

``check_fold_free`` in the tests turns the largest poses the motion can ask for on every
portrait and asserts that no triangle turns over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..easing import smoothstep as _smoothstep
from ..types import FacePose
from .mesh import INNER_RING_FOLLOW, WarpMesh, unfold
from .shape import MIN_LIP_GAP, FaceShape

GAP_MAX = 0.42
"""Inner-lip gap of a fully open mouth."""
UPPER_SHARE = 0.25
"""Share of an opening (or closing) taken by the upper lip; the lower lip, on the jaw, does
the rest."""
OUTER_UPPER_FOLLOW = 0.85
JAW_DROP = 0.28
SPREAD, ROUND = 0.15, 0.35
"""Horizontal travel of the mouth corners for width +1 and -1, as shares of half the
mouth's width (rounded lips narrow the mouth by a third)."""
TUCK_LIFT = 0.05
POUT = 0.03
BROW_RAISE = 0.07
EYE_WIDTH = 0.6
TEETH_SHOWN = 0.08
"""How far the upper teeth reach below the resting upper lip."""
LOWER_TEETH_BEHIND = 0.03
"""The lower teeth's edge sits this far below the upper's when the jaw is closed."""
LIP_REACH = 0.4
"""Distance from the lips (face units) over which the skin's share of their motion fades
to nothing. A lip moving by m compresses the skin beside it by at most 1.5·m/LIP_REACH."""
BROW_REACH = 0.45
LID_BAND = 0.1
"""Half the height of the band around the upper lids in which the brows' pull fades out."""
JAW_SIDE_SHARE = 0.35
"""How much of the chin's drop the jaw line keeps out at the sides of the face."""


@dataclass(frozen=True)
class MotionFields:
    """Per-vertex weights of each smooth field, fixed for an avatar."""

    rest: np.ndarray
    """n_base×3 face-unit rest positions (x, y, smoothed depth) of the base vertices."""
    jaw: np.ndarray
    """Per base vertex: its share of the chin's drop."""
    lip_blend: np.ndarray
    """n_base×n_outline: each vertex's share of each outer-lip point's own motion."""
    brow_share: np.ndarray
    """Per base vertex: its share of the brows' rise."""
    teeth: np.ndarray
    """The upper teeth's biting edge at rest (``teeth_rest``)."""
    pivot: np.ndarray
    """The point the head turns about (``head_pivot``)."""


@dataclass(frozen=True)
class FrameGeometry:
    """A frame's vertex positions and the outlines the mouth interior is drawn into."""

    vertices: np.ndarray
    """v×2 pixel positions of the mesh's vertices on this frame."""
    inner_lips: np.ndarray
    """Closed polygon (pixels) of the displaced inner lips: upper left→right, lower back."""
    upper_teeth_edge: np.ndarray
    """Pixels: the biting edge of the upper teeth, left→right."""
    lower_teeth_edge: np.ndarray
    skull_shift: np.ndarray
    """Pixels the upper teeth moved from where the photo has them (the head's turn)."""
    jaw_shift: np.ndarray
    """Pixels the lower teeth moved (the head's turn and the jaw's drop)."""
    gap: float
    """The inner-lip gap this frame asks for at the middle (face units)."""
    eyelids: tuple[tuple[np.ndarray, np.ndarray], ...] = ()
    """On blink frames: each eye's upper and lower lid (pixel curves, left→right)."""


def _fade(distance: np.ndarray, reach: float) -> np.ndarray:
    """1 at distance 0, easing to 0 at ``reach``; steepest slope 1.5/reach."""
    return 1.0 - _smoothstep(distance / reach)


def build_fields(shape: FaceShape, mesh: WarpMesh) -> MotionFields:
    """The fields' weights at every base vertex of ``mesh`` (once per avatar)."""
    k, n = len(shape.controls), len(mesh.inner_ring)
    rest = np.zeros((mesh.n_base, 3))
    rest[:, :2] = shape.frame.to_face(mesh.rest[: mesh.n_base].astype(np.float64))
    rest[:k, 2] = mesh.depth
    rest[k:, 2] = np.tile(mesh.ring_depth, 2)
    g = shape.groups
    jaw = _jaw_weight(shape, rest)
    jaw[k : k + n] *= INNER_RING_FOLLOW
    jaw[k + n :] = 0.0
    blend = _lip_blend(shape, rest)
    brows = shape.rest[g["brows"], :2]
    to_brows = np.hypot(*(rest[:, None, :2] - brows[None]).transpose(2, 0, 1)).min(axis=1)
    # Only what lies above the eyes rises with the brows; the lids hold still.
    lids_y = shape.rest[np.concatenate([g["upper_lid_left"], g["upper_lid_right"]]), 1].mean()
    above = 1.0 - _smoothstep((rest[:, 1] - (lids_y - LID_BAND)) / (2 * LID_BAND))
    brow_share = _fade(to_brows, BROW_REACH) * above
    brow_share[k + n :] = 0.0
    blend[k + n :] = 0.0
    return MotionFields(
        rest=rest,
        jaw=jaw,
        lip_blend=blend,
        brow_share=brow_share,
        teeth=teeth_rest(shape),
        pivot=head_pivot(shape),
    )


def _outer_outline(shape: FaceShape) -> np.ndarray:
    """Control columns of the outer lips as one closed outline: upper left → right, lower
    right → left (the corners once each)."""
    g = shape.groups
    return np.concatenate([g["upper_outer"], g["lower_outer"][::-1][1:-1]])


def _lip_blend(shape: FaceShape, points: np.ndarray) -> np.ndarray:
    """n×n_outline: each point's share of the outline points' motion. A point takes the
    motion of the place on the outline nearest to it (interpolated along that segment),
    faded by its distance: the skin right beside a lip moves as that very part of the
    lip does, so the lip never overtakes it."""
    outline = _outer_outline(shape)
    corners = shape.rest[outline, :2]
    a, b = corners, np.roll(corners, -1, axis=0)
    along = b - a
    length2 = (along**2).sum(axis=1).clip(1e-12)
    rel = points[:, None, :2] - a[None]
    t = np.clip((rel * along[None]).sum(axis=2) / length2[None], 0.0, 1.0)  # n×segments
    nearest_points = a[None] + t[..., None] * along[None]
    distance = np.hypot(*(points[:, None, :2] - nearest_points).transpose(2, 0, 1))
    segment = np.argmin(distance, axis=1)
    rows = np.arange(len(points))
    share = _fade(distance[rows, segment], LIP_REACH)
    blend = np.zeros((len(points), len(outline)))
    tt = t[rows, segment]
    blend[rows, segment] += (1.0 - tt) * share
    blend[rows, (segment + 1) % len(outline)] += tt * share
    return blend


def _jaw_weight(shape: FaceShape, points: np.ndarray) -> np.ndarray:
    """0 above the mouth corners, rising to 1 by the lower lip's outline and staying 1
    below it; out past the mouth's sides it falls to ``JAW_SIDE_SHARE`` at the face's edge.
    For any x it never decreases with y, so the jaw stretches the face and never folds it."""
    g, rest = shape.groups, shape.rest
    corners = rest[g["upper_outer"][[0, -1]], :2]
    corner_y, middle_x = corners[:, 1].mean(), corners[:, 0].mean()
    half_width = 0.5 * abs(corners[1, 0] - corners[0, 0])
    lower_lip_y = rest[g["lower_outer"], 1].max()
    side_x = 0.5 * np.ptp(rest[g["oval"], 0])
    ramp = _smoothstep((points[:, 1] - corner_y) / max(lower_lip_y - corner_y, 0.05))
    beyond = (np.abs(points[:, 0] - middle_x) - half_width) / max(side_x - half_width, 0.1)
    side = 1.0 - (1.0 - JAW_SIDE_SHARE) * _smoothstep(beyond)
    return ramp * side


def _shape_across(across: np.ndarray, width: float) -> np.ndarray:
    """How open each point of the lips is relative to the middle: rounder lips open rounder."""
    power = min(max(0.55 - 0.25 * width, 0.35), 0.7)
    return np.minimum(np.maximum(1.0 - across**2, 0.0), 1.0) ** power


def lip_motion(shape: FaceShape, pose: FacePose) -> np.ndarray:
    """k×2 displacement (face units) of the lips' contour points (zero for other controls)."""
    g = shape.groups
    shift = np.zeros((len(shape.rest), 2))
    across = shape.lips.across
    profile = _shape_across(across, pose.width)
    # Closed lips stay a hair apart: the mesh between them flattens but never turns over.
    gap = np.maximum(GAP_MAX * pose.mouth_open * profile, MIN_LIP_GAP)
    # Right at the corners the lips keep their own shape: there the two meet, and moving
    # either much would turn the thin corner of the lip over.
    taper = 1.0 - np.abs(across) ** 8
    delta = taper * (gap - np.maximum(shape.lips.rest_gap, MIN_LIP_GAP))
    upper, lower = g["upper_inner"], g["lower_inner"]
    shift[upper, 1] = -UPPER_SHARE * delta[upper]
    # A tucked lower lip rises towards the upper teeth, but never past the upper lip.
    room = gap[lower] - MIN_LIP_GAP
    tuck = np.minimum(TUCK_LIFT * pose.tuck * profile[lower], room)
    shift[lower, 1] = (1.0 - UPPER_SHARE) * delta[lower] - tuck
    shift[g["upper_outer"], 1] = OUTER_UPPER_FOLLOW * _follow(
        across, upper, shift, g["upper_outer"]
    )
    shift[g["lower_outer"], 1] = _follow(across, lower, shift, g["lower_outer"])
    corner_travel = (SPREAD if pose.width > 0 else ROUND) * shape.lips.half_width
    shift[g["lips"], 0] += shape.lips.spread[g["lips"]] * pose.width * corner_travel
    pout = POUT * max(0.0, -pose.width) * profile  # rounded lips push out and look fuller
    shift[g["upper_outer"], 1] -= pout[g["upper_outer"]]
    shift[g["lower_outer"], 1] += pout[g["lower_outer"]]
    # At the corners the four outlines meet within a pixel or two; there they all rise and
    # fall together with the corner (not at all), or the tiny lip between them turns over.
    shift[:, 1] *= shape.lips.corner_fade
    return shift


def _follow(
    across: np.ndarray, leader: np.ndarray, shift: np.ndarray, follower: np.ndarray
) -> np.ndarray:
    """Vertical shifts of the ``follower`` lip points, interpolated from the ``leader``
    points at the same place across the mouth (corner to corner, each contour its own):
    the outer lip moves with the inner one and the lip keeps its thickness, up to the
    corners, where both contours end."""
    order = leader[np.argsort(across[leader])]
    return np.interp(across[follower], across[order], shift[order, 1])


def expression(shape: FaceShape, fields: MotionFields, pose: FacePose) -> np.ndarray:
    """n_base×2 displacement (face units) of every base vertex before the head turns."""
    g = shape.groups
    jaw = np.zeros((len(fields.rest), 2))
    jaw[:, 1] = JAW_DROP * pose.jaw * fields.jaw
    lips = lip_motion(shape, pose)
    outer = _outer_outline(shape)
    own = lips[outer] - jaw[outer]  # what the lips do beyond riding on the jaw
    shift = jaw + fields.lip_blend @ own
    shift[:, 1] -= BROW_RAISE * pose.brows * fields.brow_share
    # The parts with motion of their own take exactly that.
    shift[g["lips"]] = lips[g["lips"]]
    shift[g["eyes"]] = 0.0
    gaze = np.array([pose.gaze_x, pose.gaze_y]) * EYE_WIDTH
    length = max(float(np.hypot(*gaze)), 1e-9)
    reach = np.minimum(shape.iris_reach, length)[:, None]  # never past half way to the lids
    shift[g["irises"]] = gaze / length * reach
    shift[g["brows"], 0] = 0.0
    shift[g["brows"], 1] = -BROW_RAISE * pose.brows
    return shift


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """3×3 rotation in image axes (x right, y down, z away): + pitch nods the face down,
    + yaw turns it towards the image's left, + roll tilts it clockwise."""
    y, p, r = math.radians(yaw), math.radians(pitch), math.radians(roll)
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def head_pivot(shape: FaceShape) -> np.ndarray:
    """The head turns about a point behind the face, level with the chin."""
    rest = shape.rest
    chin_y = rest[shape.groups["oval"], 1].max()
    return np.array([0.0, 0.75 * chin_y, rest[:, 2].mean() + 0.8])


def turn_head(points: np.ndarray, pivot: np.ndarray, turn: np.ndarray) -> np.ndarray:
    """Face-unit (x, y, z) points after the head's rotation ``turn`` about ``pivot``."""
    return (points - pivot) @ turn.T + pivot


def frame_geometry(
    shape: FaceShape, mesh: WarpMesh, fields: MotionFields, pose: FacePose
) -> FrameGeometry:
    """Where every vertex of the mesh goes on this frame, and the outlines drawn into it."""
    k, n = len(shape.controls), len(mesh.inner_ring)
    expressed = expression(shape, fields, pose)
    moved = fields.rest.copy()
    moved[:, :2] += expressed
    turn = rotation(pose.yaw, pose.pitch, pose.roll)
    shift = turn_head(moved, fields.pivot, turn)[:, :2] - fields.rest[:, :2]
    ring = mesh.inner_ring
    shift[ring] = expressed[ring] + INNER_RING_FOLLOW * (shift[ring] - expressed[ring])
    shift[k + n :] = 0.0  # the outer ring holds the rest of the picture still
    vertices = mesh.place_inserted(mesh.rest[: mesh.n_base] + shape.frame.to_pixels(shift))
    vertices = unfold(mesh, vertices)
    placed = vertices[:k]
    g = shape.groups
    inner = np.concatenate([placed[g["upper_inner"]], placed[g["lower_inner"]][::-1]])
    upper_teeth, lower_teeth, skull_shift, jaw_shift = _teeth_edges(shape, fields, pose, turn)
    eyelids = _eyelids(shape, placed) if pose.blink > 0.02 else ()
    return FrameGeometry(
        vertices=vertices,
        inner_lips=inner,
        upper_teeth_edge=upper_teeth,
        lower_teeth_edge=lower_teeth,
        skull_shift=skull_shift,
        jaw_shift=jaw_shift,
        gap=GAP_MAX * pose.mouth_open,
        eyelids=eyelids,
    )


def _eyelids(shape: FaceShape, placed: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Each eye's upper and lower lid as pixel curves, left→right, where this frame puts them."""
    return tuple(
        (placed[shape.groups[f"upper_lid_{side}"]], placed[shape.groups[f"lower_lid_{side}"]])
        for side in ("left", "right")
    )


def teeth_rest(shape: FaceShape) -> np.ndarray:
    """Face-unit (x, y, z) of the upper teeth's biting edge in the photo, left → right:
    ``TEETH_SHOWN`` below the upper lip across the middle, less towards the corners."""
    across = shape.lips.across[shape.groups["upper_inner"]]
    edge = shape.rest[shape.groups["upper_inner"]].copy()
    edge[:, 1] += TEETH_SHOWN * _shape_across(across, 0.0) ** 0.3
    return edge


def _teeth_edges(
    shape: FaceShape, fields: MotionFields, pose: FacePose, turn: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The biting edges of the upper teeth (fixed to the skull) and of the lower teeth (on
    the jaw), in pixels, and how far each row moved from where it sits in the photo."""
    upper = fields.teeth
    lower = upper + (0.0, LOWER_TEETH_BEHIND, 0.0)
    dropped = lower + (0.0, pose.jaw * JAW_DROP, 0.0)
    n = len(upper)
    turned = turn_head(np.concatenate([upper, dropped]), fields.pivot, turn)[:, :2]
    edges = shape.frame.origin + shape.frame.to_pixels(turned)
    moved = shape.frame.to_pixels(turned - np.concatenate([upper, lower])[:, :2])
    return edges[:n], edges[n:], moved[:n].mean(axis=0), moved[n:].mean(axis=0)
