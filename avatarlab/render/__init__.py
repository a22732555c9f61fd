"""(Rig, Track) → frames: the portrait warped to each frame's pose, mouth interior painted."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..types import FacePose, Track
from .deform import frame_geometry
from .eyes import slide_lid
from .mouth import paint_mouth
from .rig import Rig, build_rig
from .warp import grid_displacement, inverse_on_grid, warp_image


def render_frame(rig: Rig, pose: FacePose) -> np.ndarray:
    """One output frame. Pixels outside the rig's head box are the portrait's own."""
    geometry = frame_geometry(rig.shape, pose)
    field = rig.warp
    backward = inverse_on_grid(field, grid_displacement(field, geometry.displacements))
    frame = rig.image.copy()
    x0, y0, x1, y1 = field.box
    frame[y0:y1, x0:x1] = warp_image(rig.image, field, backward)
    for upper, lower in geometry.eyelids:
        slide_lid(frame, upper, lower, pose.blink, rig.shape.unit)
    paint_mouth(frame, geometry, rig.colours, rig.shape.unit, pose.tongue)
    return frame


def render_frames(rig: Rig, track: Track) -> Iterator[np.ndarray]:
    """Frames one at a time, so a long video never sits in memory."""
    for index in range(track.n_frames):
        yield render_frame(rig, track.frame(index))


__all__ = ["Rig", "build_rig", "render_frame", "render_frames"]
