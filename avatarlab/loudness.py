"""How loud audio is over stretches of time: one RMS routine for motion and measurement."""

from __future__ import annotations

import numpy as np


def rms_between(audio: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """RMS of ``audio`` over each [start, end) sample span (clipped to the audio), in one
    pass over a running sum of squares, so any number of windows costs the same."""
    squares = np.concatenate([[0.0], np.cumsum(audio.astype(np.float64) ** 2)])
    lo = np.clip(starts.astype(int), 0, len(audio))
    hi = np.clip(ends.astype(int), 0, len(audio))
    return np.sqrt(np.maximum(squares[hi] - squares[lo], 0.0) / np.maximum(hi - lo, 1))
