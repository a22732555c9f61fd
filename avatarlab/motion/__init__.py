"""Utterance → Track: what the face does on every video frame."""

from __future__ import annotations

from dataclasses import dataclass, field

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
) -> Track:
    """Per-frame parameters for ``utterance``; ``start``/``part`` place it within longer
    speech rendered in parts (see ``idle_track``), ``n_frames`` overrides the frame count."""
    if n_frames is None:
        n_frames = frame_count(utterance.duration, options.fps)
    mouth = mouth_track(utterance.phones, n_frames, options.fps, options.lipsync)
    idle = idle_track(
        utterance, n_frames, options.fps, options.seed, options.idle, start=start, part=part
    )
    return Track(fps=options.fps, **mouth, **idle)


__all__ = ["IdleOptions", "LipsyncOptions", "MotionOptions", "frame_count", "make_track"]
