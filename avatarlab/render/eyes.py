"""Blinks: the upper lid slides down over the eye.

A warp that squeezes the eye shut looks like the eye shrinking, and squeezing a region flat
is exactly what a smooth warp does worst. Instead each pixel column around the eye is
remapped on its own: the lid and the skin above it stretch down to the new lid line, and
below that line the eye stays where it is, covered from the top as in life.
"""

from __future__ import annotations

import cv2
import numpy as np

LID_OVERSHOOT = 0.3
"""How far past the lower lid's landmarks a shut lid reaches, as a share of the opening."""
EDGE_SOFTNESS = 0.75
"""Half the width (pixels) of the blend at the lid's moving edge."""
LID_SKIN = 0.35
"""How far above the lid (face units) the stretched skin reaches."""


def slide_lid(
    frame: np.ndarray, upper: np.ndarray, lower: np.ndarray, closure: float, unit: float
) -> None:
    """Lower one upper lid (pixel curves, left→right) by ``closure`` (0 open, 1 shut), in place."""
    height, width = frame.shape[:2]
    x0 = max(0, int(np.floor(min(upper[:, 0].min(), lower[:, 0].min()))))
    x1 = min(width, int(np.ceil(max(upper[:, 0].max(), lower[:, 0].max()))) + 1)
    top = max(0, int(upper[:, 1].min() - LID_SKIN * unit))
    reach = LID_OVERSHOOT * float(np.ptp(np.concatenate([upper[:, 1], lower[:, 1]])))
    bottom = min(height, int(np.ceil(lower[:, 1].max() + reach)) + 2)
    if x1 - x0 < 2 or bottom - top < 2:
        return
    xs = np.arange(x0, x1, dtype=np.float32)
    lid = _curve_at(upper, xs)
    floor = _curve_at(lower, xs)
    # A shut lid comes down a little past where MediaPipe puts the lower lid: its points
    # sit on the lash line, and a strip of iris left below it reads as an eye still open.
    opening = np.maximum(floor - lid, 0.0)
    new_lid = lid + closure * opening * (1.0 + LID_OVERSHOOT)
    ys = np.arange(top, bottom, dtype=np.float32)[:, None]
    # Above the new lid line: stretch [top, lid] onto [top, new_lid]. Below it: unchanged.
    stretch = (lid - top) / np.maximum(new_lid - top, 1e-3)
    source_y = np.where(ys <= new_lid, top + (ys - top) * stretch, ys).astype(np.float32)
    source_x = np.broadcast_to(xs, source_y.shape).astype(np.float32)
    lowered = cv2.remap(
        frame, source_x, source_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    # The lid's edge is soft over a pixel and a half, not a staircase of pixel rows.
    over = np.clip((new_lid + EDGE_SOFTNESS - ys) / (2 * EDGE_SOFTNESS), 0.0, 1.0)[..., None]
    region = frame[top:bottom, x0:x1].astype(np.float32)
    frame[top:bottom, x0:x1] = (over * lowered + (1 - over) * region).astype(np.uint8)


def _curve_at(curve: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The curve's y at each x; outside its span, pinned to its end points."""
    order = np.argsort(curve[:, 0])
    return np.interp(xs, curve[order, 0], curve[order, 1]).astype(np.float32)
