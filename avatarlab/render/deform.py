"""One frame's pose → where every control point goes.

All amounts are in face units (eye distances) along the face's own axes, so the same
numbers suit any face size and roll; the head rotation then turns the displaced points in
pseudo-3D using the landmarks' depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import FacePose
from .shape import FaceShape

GAP_MAX = 0.42
"""Inner-lip gap of a fully open mouth."""
UPPER_SHARE = 0.3
"""Share of an opening (or closing) taken by the upper lip; the lower lip, on the jaw, does
the rest."""
OUTER_UPPER_FOLLOW = 0.85
JAW_DROP = 0.28
SPREAD, ROUND = 0.07, 0.2
"""Horizontal travel of the mouth corners for width +1 and -1."""
TUCK_LIFT = 0.05
POUT = 0.04
BROW_RAISE = 0.07
EYE_WIDTH = 0.6
TEETH_SHOWN = 0.13
"""How far the upper teeth reach below the resting upper lip."""


@dataclass(frozen=True)
class FrameGeometry:
    """A frame's control displacements and the mouth outline the interior is drawn into."""

    displacements: np.ndarray
    """k×2 pixel displacements of the rig's control points."""
    inner_lips: np.ndarray
    """Closed polygon (pixels) of the displaced inner lips: upper left→right, lower back."""
    upper_teeth_edge: np.ndarray
    """Pixels: the biting edge of the upper teeth, left→right."""
    lower_teeth_edge: np.ndarray
    gap: float
    """The inner-lip gap this frame asks for at the middle (face units)."""
    eyelids: tuple[tuple[np.ndarray, np.ndarray], ...] = ()
    """On blink frames: each eye's upper and lower lid (pixel curves, left→right)."""


def _shape_across(across: np.ndarray, width: float) -> np.ndarray:
    """How open each point of the lips is relative to the middle: rounder lips open rounder."""
    power = np.clip(0.6 - 0.3 * width, 0.3, 0.9)
    return np.clip(1.0 - across**2, 0.0, 1.0) ** power


def expression(shape: FaceShape, pose: FacePose) -> np.ndarray:
    """k×2 displacement (face units) of the controls for the mouth, eyes and brows."""
    g, rest = shape.groups, shape.rest
    shift = np.zeros((len(rest), 2))
    across = shape.lips.across
    profile = _shape_across(across, pose.width)
    gap = GAP_MAX * pose.mouth_open * profile
    delta = gap - shape.lips.rest_gap
    upper, lower = g["upper_inner"], g["lower_inner"]
    shift[upper, 1] = -UPPER_SHARE * delta[upper]
    shift[lower, 1] = (1.0 - UPPER_SHARE) * delta[lower] - TUCK_LIFT * pose.tuck * profile[lower]
    shift[g["upper_outer"], 1] = OUTER_UPPER_FOLLOW * _follow(rest, upper, shift, g["upper_outer"])
    shift[g["lower_outer"], 1] = _follow(rest, lower, shift, g["lower_outer"])
    corner_travel = SPREAD if pose.width > 0 else ROUND
    shift[g["lips"], 0] += across[g["lips"]] * pose.width * corner_travel
    pout = POUT * max(0.0, -pose.width) * profile  # rounded lips push out and look fuller
    shift[g["upper_outer"], 1] -= pout[g["upper_outer"]]
    shift[g["lower_outer"], 1] += pout[g["lower_outer"]]
    shift[:, 1] += pose.jaw * JAW_DROP * _jaw_weight(shape)
    irises = g["irises"]
    shift[irises, 0] += pose.gaze_x * EYE_WIDTH
    shift[irises, 1] += pose.gaze_y * EYE_WIDTH
    shift[g["brows"], 1] -= pose.brows * BROW_RAISE
    return shift


def _follow(
    rest: np.ndarray, leader: np.ndarray, shift: np.ndarray, follower: np.ndarray
) -> np.ndarray:
    """Vertical shifts of ``follower`` points interpolated from ``leader`` points along x."""
    order = leader[np.argsort(rest[leader, 0])]
    return np.interp(rest[follower, 0], rest[order, 0], shift[order, 1])


def _jaw_weight(shape: FaceShape) -> np.ndarray:
    """0 at and above the mouth corners, rising to 1 at the chin: what the jaw carries.

    The lips are excluded: their opening already includes the jaw's share.
    """
    rest = shape.rest
    corner_y = rest[shape.groups["upper_outer"][[0, -1]], 1].mean()
    chin_y = rest[shape.groups["oval"], 1].max()
    weight = np.clip((rest[:, 1] - corner_y) / max(chin_y - corner_y, 1e-6), 0.0, 1.0)
    weight[shape.groups["lips"]] = 0.0
    return weight


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """3×3 rotation in image axes (x right, y down, z away): + pitch nods the face down,
    + yaw turns it towards the image's left, + roll tilts it clockwise."""
    y, p, r = np.radians([yaw, pitch, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ ry @ rx


def head_pivot(shape: FaceShape) -> np.ndarray:
    """The head turns about a point behind the face, level with the chin."""
    rest = shape.rest
    chin_y = rest[shape.groups["oval"], 1].max()
    return np.array([0.0, 0.75 * chin_y, rest[:, 2].mean() + 0.8])


def turn_head(shape: FaceShape, points: np.ndarray, pose: FacePose) -> np.ndarray:
    """Face-unit (x, y, z) points after the head's rotation."""
    pivot = head_pivot(shape)
    return (points - pivot) @ rotation(pose.yaw, pose.pitch, pose.roll).T + pivot


def frame_geometry(shape: FaceShape, pose: FacePose) -> FrameGeometry:
    expressed = shape.rest.copy()
    expressed[:, :2] += expression(shape, pose)
    moved = turn_head(shape, expressed, pose)
    displacement = shape.frame.to_pixels(moved[:, :2] - shape.rest[:, :2])
    placed = shape.pixels() + displacement
    g = shape.groups
    inner = np.concatenate([placed[g["upper_inner"]], placed[g["lower_inner"]][::-1]])
    upper_teeth, lower_teeth = _teeth_edges(shape, pose)
    eyelids = _eyelids(shape, placed) if pose.blink > 0.02 else ()
    return FrameGeometry(
        displacement, inner, upper_teeth, lower_teeth, GAP_MAX * pose.mouth_open, eyelids
    )


def _eyelids(shape: FaceShape, placed: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Each eye's upper and lower lid as pixel curves, left→right, where this frame puts them."""
    return tuple(
        (placed[shape.groups[f"upper_lid_{side}"]], placed[shape.groups[f"lower_lid_{side}"]])
        for side in ("left", "right")
    )


def _teeth_edges(shape: FaceShape, pose: FacePose) -> tuple[np.ndarray, np.ndarray]:
    """Teeth are fixed to the skull (upper) and jaw (lower), not to the lips."""
    upper_lip = shape.rest[shape.groups["upper_inner"]].copy()
    upper_edge = upper_lip.copy()
    upper_edge[:, 1] += (
        TEETH_SHOWN * _shape_across(shape.lips.across[shape.groups["upper_inner"]], 0.0) ** 0.3
    )
    lower_edge = upper_edge.copy()
    lower_edge[:, 1] += 0.02 + pose.jaw * JAW_DROP * 0.9
    edges = []
    for edge in (upper_edge, lower_edge):
        moved = turn_head(shape, edge, pose)
        edges.append(shape.frame.origin + shape.frame.to_pixels(moved[:, :2]))
    return edges[0], edges[1]
