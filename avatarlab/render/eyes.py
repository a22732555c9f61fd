"""Blinks: the upper lid slides down over the eye.

A warp that squeezes the eye shut looks like the eye shrinking, and squeezing a region flat
is exactly what a smooth warp does worst. Instead each pixel column around the eye is
remapped on its own: the lid and the skin above it stretch down to the new lid line, and
below that line the eye stays where it is, covered from the top as in life.
"""

from __future__ import annotations

import cv2
import numpy as np

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
    bottom = min(height, int(np.ceil(lower[:, 1].max())) + 2)
    if x1 - x0 < 2 or bottom - top < 2:
        return
    xs = np.arange(x0, x1, dtype=np.float32)
    lid = _curve_at(upper, xs)
    floor = _curve_at(lower, xs)
    new_lid = lid + closure * np.maximum(floor - lid, 0.0)
    ys = np.arange(top, bottom, dtype=np.float32)[:, None]
    # Above the new lid line: stretch [top, lid] onto [top, new_lid]. Below it: unchanged.
    stretch = (lid - top) / np.maximum(new_lid - top, 1e-3)
    source_y = np.where(ys <= new_lid, top + (ys - top) * stretch, ys).astype(np.float32)
    source_x = np.broadcast_to(xs, source_y.shape).astype(np.float32)
    frame[top:bottom, x0:x1] = cv2.remap(
        frame, source_x, source_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def _curve_at(curve: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The curve's y at each x; outside its span, pinned to its end points."""
    order = np.argsort(curve[:, 0])
    return np.interp(xs, curve[order, 0], curve[order, 1]).astype(np.float32)
