"""The ease curve motion and rendering share: blinks ease in and out with it, and the
renderer's fields and shading fade with it."""

from __future__ import annotations

import numpy as np


def smoothstep(x: np.ndarray | float) -> np.ndarray:
    """0 below 0, 1 above 1, and between them 3x² - 2x³: flat at both ends, so anything
    faded with it starts and stops without a kink."""
    x = np.minimum(np.maximum(x, 0.0), 1.0)  # np.clip, without its cost on small arrays
    return x * x * (3.0 - 2.0 * x)
