"""The inside of the mouth: cavity, teeth and tongue, painted where the lips part.

Warping alone cannot open a closed mouth (there is nothing behind the lips to stretch) and
would stretch the teeth of an open one, so the interior is drawn fresh on every frame inside
the displaced inner-lip outline, with soft edges. The upper teeth hang from the skull and
the lower teeth ride on the jaw, so opening the lips reveals more teeth, as in life.
"""

from __future__ import annotations

import cv2
import numpy as np

from .deform import FrameGeometry
from .rig import MouthColours

_SHIFT = 4  # fixed-point bits for sub-pixel polygon drawing
_ONE = 1 << _SHIFT


def _fixed(points: np.ndarray, origin: np.ndarray) -> np.ndarray:
    return np.round((points - origin) * _ONE).astype(np.int32)


def paint_mouth(
    image: np.ndarray,
    geometry: FrameGeometry,
    colours: MouthColours,
    unit: float,
    tongue_tip: float,
) -> None:
    """Paint the mouth interior into ``image`` (in place) inside the inner-lip outline."""
    outline = geometry.inner_lips
    lo = np.floor(outline.min(axis=0)).astype(int) - 2
    hi = np.ceil(outline.max(axis=0)).astype(int) + 3
    lo = np.maximum(lo, 0)
    hi = np.minimum(hi, (image.shape[1], image.shape[0]))
    if hi[1] - lo[1] < 3 or hi[0] - lo[0] < 3 or geometry.gap < 0.01:
        return
    origin = lo.astype(np.float64)
    alpha = _interior_alpha(outline, origin, (hi[1] - lo[1], hi[0] - lo[0]), unit)
    if alpha.max() < 0.02:
        return
    canvas = _interior(geometry, colours, origin, alpha.shape, unit, tongue_tip)
    region = image[lo[1] : hi[1], lo[0] : hi[0]].astype(np.float32)
    a = alpha[..., None]
    image[lo[1] : hi[1], lo[0] : hi[0]] = np.clip(a * canvas + (1 - a) * region, 0, 255).astype(
        np.uint8
    )


def _interior_alpha(
    outline: np.ndarray, origin: np.ndarray, shape: tuple[int, int], unit: float
) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [_fixed(outline, origin)], 255, cv2.LINE_AA, _SHIFT)
    alpha = mask.astype(np.float32) / 255.0
    return cv2.GaussianBlur(alpha, (0, 0), max(0.5, unit * 0.008))


def _interior(
    geometry: FrameGeometry,
    colours: MouthColours,
    origin: np.ndarray,
    shape: tuple[int, int],
    unit: float,
    tongue_tip: float,
) -> np.ndarray:
    height, width = shape
    canvas = np.empty((height, width, 3), np.float32)
    canvas[:] = colours.cavity
    upper, lower = geometry.upper_teeth_edge, geometry.lower_teeth_edge
    down = _down(upper)
    # Tongue resting on the floor of the mouth, half hidden by the lower teeth.
    floor = lower.mean(axis=0) + down * 0.1 * unit
    _ellipse(canvas, floor, origin, (0.22 * unit, 0.08 * unit), upper, colours.tongue * 0.75)
    _teeth(canvas, lower, lower + down * 0.2 * unit, origin, colours.teeth * 0.8)
    if tongue_tip > 0.05:
        tip = upper.mean(axis=0) + down * 0.03 * unit
        layer = canvas.copy()
        _ellipse(layer, tip, origin, (0.11 * unit, 0.05 * unit), upper, colours.tongue)
        canvas[:] = canvas + tongue_tip * (layer - canvas)
    _teeth(canvas, upper - down * 0.35 * unit, upper, origin, colours.teeth)
    _shade(canvas, geometry.inner_lips, origin, unit)
    return canvas


def _down(edge: np.ndarray) -> np.ndarray:
    """Unit vector pointing down the face, perpendicular to a left→right edge."""
    along = edge[-1] - edge[0]
    along = along / (np.hypot(*along) + 1e-9)
    return np.array([-along[1], along[0]])


def _teeth(
    canvas: np.ndarray, top: np.ndarray, bottom: np.ndarray, origin: np.ndarray, colour: np.ndarray
) -> None:
    """A band of teeth between two left→right curves, darker towards the corners."""
    polygon = np.concatenate([top, bottom[::-1]])
    mask = np.zeros(canvas.shape[:2], np.uint8)
    cv2.fillPoly(mask, [_fixed(polygon, origin)], 255, cv2.LINE_AA, _SHIFT)
    if not mask.any():
        return
    xs = np.arange(canvas.shape[1], dtype=np.float32) + origin[0]
    left, right = top[0, 0], top[-1, 0]
    across = np.clip((xs - 0.5 * (left + right)) / max(0.5 * (right - left), 1.0), -1, 1)
    shade = 1.0 - 0.45 * across**2
    gaps = 1.0 - 0.12 * np.exp(-((np.abs(across) * 4.5 % 1.0 - 0.5) ** 2) / 0.004)
    tone = (shade * gaps)[None, :, None] * colour
    a = (mask.astype(np.float32) / 255.0)[..., None]
    canvas[:] = a * tone + (1 - a) * canvas


def _ellipse(canvas, centre, origin, axes, edge, colour) -> None:
    along = edge[-1] - edge[0]
    angle = float(np.degrees(np.arctan2(along[1], along[0])))
    centre_fixed = tuple(int(v) for v in np.round((centre - origin) * _ONE))
    axes_fixed = tuple(max(1, int(round(a * _ONE))) for a in axes)
    cv2.ellipse(
        canvas, centre_fixed, axes_fixed, angle, 0, 360, colour.tolist(), -1, cv2.LINE_AA, _SHIFT
    )


def _shade(canvas: np.ndarray, outline: np.ndarray, origin: np.ndarray, unit: float) -> None:
    """Darken towards the lips: the lips overhang the interior and cast a soft shadow."""
    mask = np.zeros(canvas.shape[:2], np.uint8)
    cv2.fillPoly(mask, [_fixed(outline, origin)], 255, cv2.LINE_AA, _SHIFT)
    depth = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), max(0.8, 0.025 * unit))
    canvas *= (0.55 + 0.45 * depth)[..., None]
