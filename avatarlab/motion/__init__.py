"""Utterance → Track: what the face does on every video frame."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from ..types import Track, Utterance
from .idle import IdleOptions, idle_track
from .lipsync import LipsyncOptions, mouth_track


@dataclass(frozen=True)
class MotionOptions:
    fps: float = 25.0
    seed: int = 0
    """Seeds blinks, glances and head drift: the same seed gives the same performance."""
    lipsync: LipsyncOptions = field(default_factory=LipsyncOptions)
    idle: IdleOptions = field(default_factory=IdleOptions)


def frame_count(duration: float, fps: float) -> int:
    """Frames that cover the audio: its length rounded to whole frames (at least one)."""
    return max(1, round(duration * fps))


def make_track(
    utterance: Utterance,
    options: MotionOptions = MotionOptions(),
    *,
    start: float = 0.0,
    part: int = 0,
    n_frames: int | None = None,
    heard_from: float | None = None,
) -> Track:
    """Per-frame parameters for ``utterance``; ``start``/``part`` place its frames within
    longer speech rendered in parts (see ``idle_track``), ``n_frames`` overrides the frame
    count.

    ``heard_from`` is where the utterance's audio starts in the whole, when that is not
    ``start``: a part's frames begin on the whole's frame grid, up to half a frame from its
    first sample, and its phones are sampled at the moments those frames show. (Sampled a
    frame off, a 40 ms "m" at a sentence's start fell between two frames and never closed.)
    """
    if n_frames is None:
        n_frames = frame_count(utterance.duration, options.fps)
    offset = 0.0 if heard_from is None else start - heard_from
    mouth = mouth_track(utterance.phones, n_frames, options.fps, options.lipsync, offset)
    idle = idle_track(
        utterance,
        n_frames,
        options.fps,
        options.seed,
        options.idle,
        start=start,
        part=part,
        offset=offset,
    )
    return Track(fps=options.fps, **mouth, **idle)


def join_tracks(parts: Sequence[Track]) -> Track:
    """Consecutive parts' tracks (``make_track`` with ``start``/``part``) as one."""
    values = {
        spec.name: np.concatenate([getattr(part, spec.name) for part in parts])
        for spec in fields(Track)
        if spec.name != "fps"
    }
    return Track(fps=parts[0].fps, **values)


__all__ = [
    "IdleOptions",
    "LipsyncOptions",
    "MotionOptions",
    "frame_count",
    "join_tracks",
    "make_track",
]
