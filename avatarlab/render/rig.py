"""A portrait made ready to animate: which points move, the mesh they move, its mouth.

Built once per portrait (a few tens of milliseconds); every frame after that reuses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face.geometry import face_parts
from ..face.seam import clear_lips, snap_lip_seam
from ..types import Portrait
from .deform import MotionFields, build_fields
from .mesh import WarpMesh, build_mesh
from .mouth import MouthLook, mouth_look
from .shape import FaceShape, build_shape
from .warp import WarpGrid, build_grid

GRID_STEPS_PER_UNIT = 8
"""Grid nodes per eye distance the warp is solved at (at every pixel around the lips)."""


@dataclass(frozen=True)
class Rig:
    image: np.ndarray
    """The portrait every frame is warped from: the photo, with any of its mouth's inside
    that shows on the lips painted over (see ``face.seam.clear_lips``)."""
    rgba: np.ndarray
    """``image`` with a fourth channel, which the warp resamples: ``cv2.remap`` takes
    four channels a pixel faster than three (the same pixels in 15 % less time)."""
    shape: FaceShape
    mesh: WarpMesh
    fields: MotionFields
    grid: WarpGrid
    look: MouthLook

    @property
    def box(self) -> tuple[int, int, int, int]:
        """x0, y0, x1, y1 of the region frames may change; outside it they are the photo."""
        return self.mesh.box

    @property
    def original_gap(self) -> float:
        """The inner-lip gap the photo itself has (face units): its resting smile."""
        return self.shape.rest_gap


def build_rig(portrait: Portrait) -> Rig:
    """Prepare a portrait for animation (once per portrait; frames reuse it)."""
    landmarks = portrait.landmarks.astype(np.float64)
    landmarks = snap_lip_seam(portrait.image, landmarks)
    image = clear_lips(portrait.image, landmarks)
    shape = build_shape(landmarks)
    mesh = build_mesh(shape, portrait.image.shape)
    look = mouth_look(portrait.image, shape.landmarks, face_parts(), shape.rest_gap, shape.unit)
    step = float(np.clip(shape.unit / GRID_STEPS_PER_UNIT, 1.5, 10.0))
    return Rig(
        image=image,
        rgba=cv2.cvtColor(image, cv2.COLOR_RGB2RGBA),
        shape=shape,
        mesh=mesh,
        fields=build_fields(shape, mesh),
        grid=build_grid(mesh, step),
        look=look,
    )
