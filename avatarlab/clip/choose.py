"""Which of the clip's mouths to show on each output frame: a Viterbi pass over the atlas.

Each output frame has a target mouth (the viseme track's gap, width and tuck, put in the
clip's own range) and a background frame whose head pose the mouth must suit. Every atlas
entry has a target cost; going from one entry to another has a transition cost: nothing
for the clip's next frame (its own motion is the most natural there is), a little for
holding a frame, more for a jump, by how unlike the two mouths look. The cheapest path
through all frames is found by dynamic programming over the best candidates per frame.

Hard rules: a closed target (p, b, m, rest) takes only shut mouths and an open one no shut
or barely parted mouth. Where the clip has no mouth close enough, the path may take
``RIG`` instead: the warp renderer's mouth on the clip's neutral frame, at a fixed cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import Track
from .atlas import MouthAtlas

RIG = -1
"""The choice of the warp renderer instead of an atlas entry."""
SHUT_GAP = 0.05
"""Lip gap (eye distances) under which an entry counts as shut: well below what the
lip-sync measure takes for closed (0.08)."""
SHUT_TARGET, OPEN_TARGET = 0.03, 0.3
"""Track mouth_open below which only shut entries fit, and above which none does."""
UNDER_OPEN = 0.7
"""An open target takes no entry opened less than this share of it: a clip whose lips
barely part gets the warp renderer's open mouth on its vowels, not its own near-shut one."""
CANDIDATES = 32
FOLLOWERS = 8
"""Each frame also considers the next clip frame of its predecessor's best few entries,
so runs of the clip's own motion stay reachable."""


@dataclass(frozen=True)
class Costs:
    gap: float = 0.04
    """Gap error (eye distances) that costs 1."""
    width: float = 0.08
    lower_lip: float = 0.35
    """Error in lower-lip thickness, as a share of its median, that costs 1 (under tuck)."""
    yaw: float = 6.0
    pitch: float = 6.0
    roll: float = 12.0
    """Degrees of pose difference from the background frame that cost 1 each; roll is
    cheap, the similarity that places a mouth undoes it."""
    hold: float = 0.5
    jump: float = 3.0
    look: float = 8.0
    """Times (1 - correlation) of the two mouths' thumbnails, added to a jump."""
    rig: float = 4.0
    rig_switch: float = 2.0


@dataclass(frozen=True)
class Scales:
    """The clip's own mouth range, which the track's 0-1 values are mapped into."""

    open_gap: float
    width: float
    spread: float
    round: float
    lower_lip: float

    @classmethod
    def of(cls, atlas: MouthAtlas) -> Scales:
        found = atlas.found
        gap, width, lower = atlas.gap[found], atlas.width[found], atlas.lower_lip[found]
        middle = float(np.median(width))
        return cls(
            open_gap=float(np.clip(np.percentile(gap, 95), 0.22, 0.45)),
            width=middle,
            spread=max(float(np.percentile(width, 90)) - middle, 0.04),
            round=max(middle - float(np.percentile(width, 10)), 0.04),
            lower_lip=max(float(np.median(lower)), 1e-3),
        )


BLOCK = 256
"""Output frames whose target costs are worked out at once (memory stays flat)."""


def target_costs(
    atlas: MouthAtlas,
    track: Track,
    frames: slice,
    backgrounds: np.ndarray,
    costs: Costs = Costs(),
) -> np.ndarray:
    """Frames × entries cost of showing each entry on each output frame in ``frames``
    (inf: not allowed); ``backgrounds`` are those frames' clip frames."""
    scales = Scales.of(atlas)
    mouth_open = track.mouth_open[frames]
    width, tuck = track.width[frames], np.clip(track.tuck[frames], 0, 1)
    target_gap = np.clip(mouth_open, 0, 1) * scales.open_gap
    target_width = scales.width + np.where(width > 0, width * scales.spread, width * scales.round)
    target_lower = scales.lower_lip * (1 - 0.5 * tuck)
    cost = ((atlas.gap[None] - target_gap[:, None]) / costs.gap) ** 2
    cost += ((atlas.width[None] - target_width[:, None]) / costs.width) ** 2
    lip_error = (atlas.lower_lip[None] - target_lower[:, None]) / scales.lower_lip
    cost += tuck[:, None] * (lip_error / costs.lower_lip) ** 2
    cost += pose_costs(atlas, backgrounds, costs)
    shut = atlas.gap < SHUT_GAP
    cost[(mouth_open < SHUT_TARGET)[:, None] & ~shut[None]] = np.inf
    opening = (mouth_open > OPEN_TARGET)[:, None]
    cost[opening & (shut[None] | (atlas.gap[None] < UNDER_OPEN * target_gap[:, None]))] = np.inf
    cost[:, ~atlas.found] = np.inf
    return cost


def pose_costs(atlas: MouthAtlas, backgrounds: np.ndarray, costs: Costs) -> np.ndarray:
    """Frames × entries cost of the pose difference between entry and background."""
    total = np.zeros((len(backgrounds), len(atlas.gap)), np.float64)
    for name in ("yaw", "pitch", "roll"):
        values = getattr(atlas, name)
        behind = np.nan_to_num(values[backgrounds], nan=float(np.nanmedian(values)))
        total += ((values[None] - behind[:, None]) / getattr(costs, name)) ** 2
    return total


def choose_mouths(
    atlas: MouthAtlas,
    track: Track,
    backgrounds: np.ndarray,
    rig_pose_cost: np.ndarray,
    costs: Costs = Costs(),
) -> np.ndarray:
    """The entry (or ``RIG``) to show on each output frame. ``backgrounds``: the clip frame
    behind each output frame; ``rig_pose_cost``: per output frame, the pose cost of the
    neutral frame the rig renders from."""
    n_entries = len(atlas.gap)
    thumbs = atlas.thumbs.reshape(n_entries, -1)
    candidates: list[np.ndarray] = []
    totals: list[np.ndarray] = []
    back: list[np.ndarray] = []
    for t in range(track.n_frames):
        if t % BLOCK == 0:
            block = slice(t, t + BLOCK)
            target = target_costs(atlas, track, block, backgrounds[block], costs)
        cost = target[t % BLOCK]
        options = _candidates(cost, candidates[-1] if candidates else None, totals)
        here = np.concatenate([cost[options], [costs.rig + rig_pose_cost[t]]])
        options = np.append(options, RIG)
        if t == 0:
            totals.append(here)
            back.append(np.zeros(len(options), np.intp))
        else:
            step = _transitions(candidates[-1], options, thumbs, n_entries, costs)
            path = totals[-1][:, None] + step
            best = np.argmin(path, axis=0)
            totals.append(path[best, np.arange(len(options))] + here)
            back.append(best)
        candidates.append(options)
    return _backtrack(candidates, totals, back)


def _candidates(
    cost: np.ndarray, previous: np.ndarray | None, totals: list[np.ndarray]
) -> np.ndarray:
    """The cheapest allowed entries, plus the clip's next frame after the previous
    frame's best few."""
    allowed = np.flatnonzero(np.isfinite(cost))
    count = min(CANDIDATES, len(allowed))
    best = allowed[np.argpartition(cost[allowed], count - 1)[:count]] if count else allowed
    if previous is not None:
        order = np.argsort(totals[-1])[:FOLLOWERS]
        following = previous[order] + 1
        following = following[(previous[order] != RIG) & (following < len(cost))]
        following = following[np.isfinite(cost[following])]
        best = np.union1d(best, following)
    return best.astype(np.intp)


def _transitions(
    before: np.ndarray, after: np.ndarray, thumbs: np.ndarray, n_entries: int, costs: Costs
) -> np.ndarray:
    """|before| × |after| cost of showing ``after`` right after ``before``."""
    real_b, real_a = before != RIG, after != RIG
    successor = np.minimum(np.where(real_b, before + 1, 0), n_entries - 1)
    likeness = thumbs[successor] @ thumbs[np.where(real_a, after, 0)].T
    step = costs.jump + costs.look * (1 - likeness)
    step[before[:, None] == after[None]] = costs.hold
    step[(before[:, None] + 1 == after[None]) & real_b[:, None] & real_a[None]] = 0.0
    step[~real_b[:, None] ^ ~real_a[None]] = costs.rig_switch
    step[~real_b[:, None] & ~real_a[None]] = 0.0
    return step


def _backtrack(candidates, totals, back) -> np.ndarray:
    chosen = np.empty(len(candidates), np.intp)
    index = int(np.argmin(totals[-1]))
    for t in range(len(candidates) - 1, -1, -1):
        chosen[t] = candidates[t][index]
        index = int(back[t][index])
    return chosen
