"""Which clip frame plays behind each output frame when the speech outlasts the clip.

The clip plays once to a turning point near its end, then back and forth between that
point and one near its start. Both are the stillest moments in their part of the clip:
at a turn the picture steps back by the clip's own change at that frame, so a still
moment makes an unseen turn. A pure function of the frame index, so a stream cut into
sentences continues the same timeline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TURN_REACH = 0.4
"""The turning points are looked for in the first and the last 40% of the clip."""


@dataclass(frozen=True)
class Loop:
    first: int
    """The turning point near the start."""
    last: int
    """The turning point near the end: frames up to here play once, in order."""

    def frame(self, index: int) -> int:
        if index <= self.last:
            return index
        span = self.last - self.first
        if span <= 0:
            return self.last
        phase = (index - self.last) % (2 * span)
        return self.last - phase if phase <= span else self.first + (phase - span)

    def frames(self, start: int, count: int) -> np.ndarray:
        return np.array([self.frame(start + k) for k in range(count)], dtype=np.intp)


def find_loop(change: np.ndarray) -> Loop:
    """``change[i]``: how much frame i differs from frame i-1 (``change[0]`` unused).

    At the end turn ``last``, the output steps last-1 → last → last-1: two changes of
    ``change[last]``; at the start turn ``first``, first+1 → first → first+1: two of
    ``change[first + 1]``."""
    n = len(change)
    reach = max(1, int(TURN_REACH * n))
    if n < 4:
        return Loop(0, n - 1)
    end_part = np.arange(n - reach, n)
    start_part = np.arange(0, min(reach, n - 2))
    last = int(end_part[np.argmin(change[end_part])])
    first = int(start_part[np.argmin(change[start_part + 1])])
    return Loop(first, max(last, first + 1))
