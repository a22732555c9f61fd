"""A portrait made ready to animate: which points move, how the warp is factored, colours.

Built once per portrait (a few tens of milliseconds); every frame after that reuses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..face.geometry import FaceParts, face_parts
from ..types import FacePose, Portrait
from .deform import expression
from .shape import FaceShape, build_shape
from .warp import WarpField, build_warp_field, exact_warp


@dataclass(frozen=True)
class MouthColours:
    cavity: np.ndarray
    teeth: np.ndarray
    tongue: np.ndarray
    lips: np.ndarray


@dataclass(frozen=True)
class Rig:
    image: np.ndarray
    """The portrait as animation starts from it: its mouth closed if it was open at rest."""
    shape: FaceShape
    warp: WarpField
    colours: MouthColours
    original_gap: float
    """The inner-lip gap the photo itself had (face units): its resting smile."""


def _head_box(
    landmarks: np.ndarray, parts: FaceParts, unit: float, shape: tuple[int, ...]
) -> tuple[int, int, int, int]:
    oval = landmarks[list(parts.oval), :2]
    (x0, y0), (x1, y1) = oval.min(axis=0), oval.max(axis=0)
    margin = 0.9 * unit
    height, width = shape[:2]
    return (
        max(0, int(x0 - margin)),
        max(0, int(y0 - 1.2 * margin)),
        min(width, int(np.ceil(x1 + margin))),
        min(height, int(np.ceil(y1 + margin))),
    )


def _motion_mask(
    landmarks: np.ndarray, parts: FaceParts, box: tuple[int, int, int, int], unit: float
) -> np.ndarray:
    """1 over the face (its outline grown a little), fading smoothly to exactly 0 at the box."""
    x0, y0, x1, y1 = box
    mask = np.zeros((y1 - y0, x1 - x0), np.float32)
    outline = landmarks[list(parts.oval), :2] - (x0, y0)
    centre = outline.mean(axis=0)
    grown = centre + (outline - centre) * 1.12
    cv2.fillPoly(mask, [np.round(grown).astype(np.int32)], 1.0)
    sigma = 0.3 * unit
    mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    mask = np.clip(mask * 2.0, 0.0, 1.0)
    ramp = max(2, int(0.15 * unit))
    border = np.minimum.outer(_edge_ramp(y1 - y0, ramp), _edge_ramp(x1 - x0, ramp))
    return mask * border


def _edge_ramp(n: int, ramp: int) -> np.ndarray:
    idx = np.arange(n, dtype=np.float32)
    return np.clip(np.minimum(idx, n - 1 - idx) / ramp, 0.0, 1.0)


def _sample_colours(
    image: np.ndarray, landmarks: np.ndarray, parts: FaceParts, rest_gap: float
) -> MouthColours:
    lips_mask = np.zeros(image.shape[:2], np.uint8)
    inner_mask = np.zeros_like(lips_mask)
    outer = np.concatenate(
        [
            landmarks[list(parts.outer_lips.upper), :2],
            landmarks[list(parts.outer_lips.lower[::-1]), :2],
        ]
    )
    inner = np.concatenate(
        [
            landmarks[list(parts.inner_lips.upper), :2],
            landmarks[list(parts.inner_lips.lower[::-1]), :2],
        ]
    )
    cv2.fillPoly(lips_mask, [np.round(outer).astype(np.int32)], 1)
    cv2.fillPoly(inner_mask, [np.round(inner).astype(np.int32)], 1)
    lips = np.median(image[(lips_mask > 0) & (inner_mask == 0)].reshape(-1, 3), axis=0)
    gray = float(lips.mean())
    saturation = float(np.ptp(lips)) / max(gray, 1.0)
    teeth = np.array([236.0, 230.0, 218.0])
    inside = image[inner_mask > 0].reshape(-1, 3).astype(np.float32)
    if rest_gap > 0.06 and len(inside) > 20:
        bright = inside[inside.mean(axis=1) >= np.percentile(inside.mean(axis=1), 70)]
        teeth = np.median(bright, axis=0)  # the portrait's own teeth
    colours = {
        "cavity": lips * 0.28,
        "teeth": teeth,
        "tongue": 0.6 * lips + 0.4 * np.array([200.0, 90.0, 100.0]),
        "lips": lips,
    }
    if saturation < 0.05:  # a grayscale photo: keep the mouth grey as well
        colours = {k: np.full(3, v.mean()) for k, v in colours.items()}
    return MouthColours(**{k: np.asarray(v, np.float32) for k, v in colours.items()})


def _close_mouth(
    image: np.ndarray, shape: FaceShape, lip_colour: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The photo with its lips brought together, and its landmarks moved to match.

    Done once, with the exact warp, so that every frame only ever opens the mouth: opening
    is forgiving (the interior is painted over), squeezing teeth away per frame is not.
    """
    unit = shape.unit
    shift = expression(shape, FacePose())
    # Leave the lips a hair apart: an exact warp cannot send two points to one place.
    shift[shape.groups["upper_inner"][1:-1], 1] -= 0.012
    shift[shape.groups["lower_inner"][1:-1], 1] += 0.012
    moved = shape.pixels() + shape.frame.to_pixels(shift)
    lips = shape.pixels(shape.groups["lips"])
    (x0, y0), (x1, y1) = lips.min(axis=0) - 0.45 * unit, lips.max(axis=0) + 0.45 * unit
    height, width = image.shape[:2]
    box = (max(0, int(x0)), max(0, int(y0)), min(width, int(x1) + 1), min(height, int(y1) + 1))
    inside = np.all((shape.pixels() >= box[:2]) & (shape.pixels() < box[2:]), axis=1)
    closed = image.copy()
    closed[box[1] : box[3], box[0] : box[2]] = exact_warp(
        image, shape.pixels()[inside], moved[inside], box, unit
    )
    _draw_lip_seam(closed, moved, shape, lip_colour)
    landmarks = shape.landmarks.copy()
    landmarks[shape.controls, :2] = moved
    return closed, landmarks


def _draw_lip_seam(image: np.ndarray, moved: np.ndarray, shape: FaceShape, lip: np.ndarray) -> None:
    """Shade the line where the lips now meet: the hair-thin remnant of the teeth would
    otherwise show as a bright seam."""
    upper = moved[shape.groups["upper_inner"]]
    lower = moved[shape.groups["lower_inner"]]
    seam = np.round(0.5 * (upper + lower) * 16).astype(np.int32)
    thickness = max(1, round(0.03 * shape.unit))
    cv2.polylines(image, [seam], False, (lip * 0.6).tolist(), thickness, cv2.LINE_AA, 4)


def build_rig(portrait: Portrait) -> Rig:
    """Prepare a portrait for animation (once per portrait; frames reuse it)."""
    image = portrait.image
    shape = build_shape(portrait.landmarks.astype(np.float64))
    parts = face_parts()
    colours = _sample_colours(image, shape.landmarks, parts, shape.rest_gap)
    original_gap = shape.rest_gap
    if original_gap > 0.01:
        image, landmarks = _close_mouth(image, shape, colours.lips)
        shape = build_shape(landmarks, shape.controls)
    unit = shape.unit
    box = _head_box(shape.landmarks, parts, unit, image.shape)
    mask = _motion_mask(shape.landmarks, parts, box, unit)
    step = float(np.clip(unit / 14, 1.5, 8.0))
    warp = build_warp_field(shape.pixels(), box, mask, unit, step)
    return Rig(image=image, shape=shape, warp=warp, colours=colours, original_gap=original_gap)
