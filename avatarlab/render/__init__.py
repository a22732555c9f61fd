"""(Rig, Track) → frames: the portrait warped to each frame's pose, mouth interior painted."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import cv2
import numpy as np
from threadpoolctl import ThreadpoolController

from ..types import FacePose, Track
from .deform import frame_geometry
from .eyes import slide_lid
from .mouth import paint_mouth
from .rig import Rig, build_rig
from .warp import backward_grid, move_mesh, warp_image


def render_frame(rig: Rig, pose: FacePose) -> np.ndarray:
    """One output frame. Pixels outside the rig's head box are the portrait's own."""
    return _draw(rig, pose)[0]


def render_frames(rig: Rig, track: Track) -> Iterator[np.ndarray]:
    """Frames one at a time, so a long video never sits in memory."""
    _single_threaded_libraries()
    holders = None
    for index in range(track.n_frames):
        frame, holders = _draw(rig, track.frame(index), holders)
        yield frame


def _draw(
    rig: Rig, pose: FacePose, holders: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A frame, and the moved triangle holding each of the warp's nodes on it. The last
    frame's ``holders`` are where the search for this frame's starts: the mesh moves
    little between frames, so most nodes are found at once."""
    geometry = frame_geometry(rig.shape, rig.mesh, rig.fields, pose)
    moved = move_mesh(rig.mesh, geometry.vertices)
    backward, holders = backward_grid(rig.mesh, rig.grid, moved, holders)
    frame = rig.image.copy()
    x0, y0, x1, y1 = rig.box
    cv2.cvtColor(warp_image(rig.rgba, rig.grid, backward), cv2.COLOR_RGBA2RGB, frame[y0:y1, x0:x1])
    for upper, lower in geometry.eyelids:
        slide_lid(frame, upper, lower, pose.blink, rig.shape.unit)
    paint_mouth(frame, geometry, rig.look, rig.shape.unit, pose.tongue)
    return frame, holders


@functools.lru_cache(maxsize=1)
def _single_threaded_libraries() -> None:
    """OpenCV splits each remap and blur of a frame over its own thread pool, and
    OpenBLAS each of its matrix products; the pieces are small, and the pools' threads
    then compete with the video encoder for two cores (measured in stop 7: render+encode
    at 0.45 of the encode-only rate with OpenBLAS's helper spinning, 0.67 without).
    Frames are rendered on one thread while the encoder runs on the other (see
    ``video.prefetch``), so both libraries keep to the thread that calls them.

    Process-wide and for good, once the first frame is drawn: limiting OpenBLAS around
    each frame instead (threadpoolctl's context) cost render + encode 6 % of its frame
    rate in alternating runs."""
    cv2.setNumThreads(1)
    ThreadpoolController().limit(limits=1, user_api="blas")


__all__ = ["Rig", "build_rig", "render_frame", "render_frames"]
