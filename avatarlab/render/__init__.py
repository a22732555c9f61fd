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
    geometry = frame_geometry(rig.shape, rig.mesh, rig.fields, pose)
    moved = move_mesh(rig.mesh, geometry.vertices)
    backward = backward_grid(rig.mesh, rig.grid, moved)
    frame = rig.image.copy()
    x0, y0, x1, y1 = rig.box
    frame[y0:y1, x0:x1] = warp_image(rig.image, rig.grid, backward)
    for upper, lower in geometry.eyelids:
        slide_lid(frame, upper, lower, pose.blink, rig.shape.unit)
    paint_mouth(frame, geometry, rig.look, rig.shape.unit, pose.tongue)
    return frame


def render_frames(rig: Rig, track: Track) -> Iterator[np.ndarray]:
    """Frames one at a time, so a long video never sits in memory."""
    _single_threaded_opencv()
    for index in range(track.n_frames):
        with _single_threaded_blas():
            frame = render_frame(rig, track.frame(index))
        yield frame


@functools.lru_cache(maxsize=1)
def _single_threaded_opencv() -> None:
    """OpenCV splits each remap and blur of a frame over its own thread pool; the pieces
    are small and the pool's threads then compete with the video encoder for two cores.
    Frames are rendered on one thread while the encoder runs on the other (see
    ``video.prefetch``), so OpenCV keeps to the thread that calls it. Process-wide."""
    cv2.setNumThreads(1)


@functools.lru_cache(maxsize=1)
def _blas_pools() -> ThreadpoolController:
    return ThreadpoolController()


def _single_threaded_blas():
    """A frame's matrix products are small: on two threads OpenBLAS's helper then spins,
    taking the CPU the video encoder runs on while frames are rendered (measured in stop 7:
    render+encode at 0.45 of the encode-only rate with it, 0.67 without). The limit is
    process-wide while held, so it is held for one frame at a time."""
    return _blas_pools().limit(limits=1, user_api="blas")


__all__ = ["Rig", "build_rig", "render_frame", "render_frames"]
