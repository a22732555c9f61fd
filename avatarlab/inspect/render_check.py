"""Judge a render of one avatar frame by frame, as a viewer would: the face is found again
on every output frame and its skin, lips, eyes and border are measured.

The tests and ``benchmarks/gallery.py`` share this, so the figures in the gallery's table
are the ones the tests assert on.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..face import track_landmarks
from ..face.geometry import eye_openness, lip_gap
from ..measure import CLOSED_GAP, score_lipsync
from ..types import Phone, Portrait
from .artifacts import SkinFigures, edge_repeat, skin_figures, skin_reference, typical
from .figures import BLINK_DEPTH

OPEN_GAP = 0.15
"""Lip gap (eye distances) from which a frame's mouth counts as clearly open."""
PASSAGE = (
    "Bob made a big map of the moon, maybe the best map we have seen. "
    "Mom put ripe plums in a bowl by the lamp. "
    "Please bring the blue pen, Pam, and a pair of warm mittens. "
    "Why must Ben wait? Because the bus broke down by the market. "
    "My brother plays the piano, but he also paints maps of distant planets. "
    "Maybe Paul will bring a bamboo umbrella when we meet at the pier."
)
"""What every portrait says when it is judged: p, b and m in every phrase, open vowels
between them, phrase ends to blink at, and over 20 s to count blinks over."""


@dataclass(frozen=True)
class RenderCheck:
    """Per-frame measures of one render and the figures drawn from them."""

    n_frames: int
    fps: float
    found: np.ndarray
    lip_gap: np.ndarray
    eyes_open: np.ndarray
    skin: tuple[SkinFigures | None, ...]
    edge_repeat: int
    """Border lines repeating their neighbour on the first frame."""
    kept: dict[int, np.ndarray] = field(default_factory=dict)
    """The frames asked for with ``keep``, by index."""

    def worst(self, name: str) -> tuple[float, int]:
        """The largest value of a skin figure over the frames, and the frame it is on."""
        values = [getattr(s, name) if s is not None else -np.inf for s in self.skin]
        index = int(np.argmax(values))
        return float(values[index]), index

    def typical_worst(self, name: str) -> float:
        """A skin figure as a viewer meets it (see ``artifacts.typical``)."""
        values = np.array([getattr(s, name) if s is not None else np.nan for s in self.skin])
        return typical(values, self.lip_gap, OPEN_GAP, CLOSED_GAP)

    def blinks(self) -> int:
        if not self.found.any():
            return 0
        openness = np.nanmean(self.eyes_open[self.found], axis=1)
        shut = openness < BLINK_DEPTH * np.median(openness)
        return int(np.sum(np.diff(np.concatenate([[0], shut.astype(int)])) == 1))

    def figures(self, phones: Iterable[Phone]) -> dict[str, float | int]:
        def gap_at(index: int) -> float | None:
            if 0 <= index < self.n_frames and self.found[index]:
                return float(self.lip_gap[index])
            return None

        lipsync = score_lipsync(gap_at, phones, self.fps)
        minutes = self.n_frames / self.fps / 60
        return {
            "face_found_share": float(self.found.mean()),
            "new_edges": self.typical_worst("new_edges"),
            "skin_change": self.typical_worst("skin_change"),
            "foreign_share": self.typical_worst("foreign_share"),
            "lip_like_share": self.typical_worst("lip_like_share"),
            "skin_change_worst_frame": self.worst("skin_change")[0],
            "edge_repeat": self.edge_repeat,
            "bilabial_closure_rate": lipsync.closure_rate,
            "open_closed_ratio": lipsync.open_closed_ratio,
            "blinks": self.blinks(),
            "blinks_per_minute": self.blinks() / minutes if minutes else 0.0,
        }


def check_render(
    frames: Iterable[np.ndarray],
    source: Portrait,
    fps: float,
    keep: Iterable[int] = (),
    skin_every: int = 1,
) -> RenderCheck:
    """Measure every frame of a render of ``source`` (the photo as cropped for rendering):
    lips and eyes on each, the skin figures on every ``skin_every``-th."""
    reference = skin_reference(source.image, source.landmarks)
    wanted = set(keep)
    kept: dict[int, np.ndarray] = {}
    gaps, eyes, skin, found = [], [], [], []
    repeat = 0
    mine, theirs = itertools.tee(frames)  # the tracker reads one frame ahead at most
    for index, (frame, landmarks) in enumerate(zip(mine, track_landmarks(theirs), strict=True)):
        if index == 0:
            repeat = edge_repeat(frame)
        if index in wanted:
            kept[index] = frame
        found.append(landmarks is not None)
        if landmarks is None:
            gaps.append(np.nan)
            eyes.append((np.nan, np.nan))
            skin.append(None)
            continue
        gaps.append(lip_gap(landmarks))
        eyes.append(eye_openness(landmarks))
        skin.append(skin_figures(frame, landmarks, reference) if index % skin_every == 0 else None)
    return RenderCheck(
        n_frames=len(found),
        fps=fps,
        found=np.array(found, bool),
        lip_gap=np.array(gaps),
        eyes_open=np.array(eyes),
        skin=tuple(skin),
        edge_repeat=repeat,
        kept=kept,
    )
