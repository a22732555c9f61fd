"""Phones → per-frame mouth parameters, with coarticulation and hard closure constraints.

Each phone pulls the mouth towards its viseme's shape with a dominance that is full inside
the phone and decays exponentially outside it (Cohen and Massaro), so a short vowel between
two bilabials opens less than a long one, and a rounded consonant rounds its neighbours.
The blend alone would let fast speech skip a closure, so afterwards every p/b/m is forced
fully shut and every f/v tucked on at least one frame, and the mouth is timed to lead the
sound slightly, as real speakers' mouths do, never to lag it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import Phone
from .visemes import SHAPES, VOWEL_VISEMES, viseme_for

MOUTH_FIELDS = ("mouth_open", "jaw", "width", "tuck", "tongue")
SHORT_PAUSE = 0.25
"""Seconds of silence it takes for the mouth to relax fully closed."""
CONTACT_VISEMES = ("PP", "FF")
"""Visemes whose contact (lips shut, lip tucked) is forced on, however short the phone."""


@dataclass(frozen=True)
class LipsyncOptions:
    lead: float = 0.02
    """Seconds the mouth runs ahead of the audio (0 to 0.04)."""
    blend_time: float = 0.05
    """Seconds over which a phone's influence fades outside it: larger is lazier speech."""
    stress_boost: float = 0.15
    """Extra opening of stressed vowels, as a fraction."""
    articulation: float = 1.0
    """Scales every opening: below 1 mumbles, above 1 over-articulates."""


@dataclass(frozen=True)
class Segment:
    viseme: str
    start: float
    end: float
    stressed: bool = False


def segments(phones: tuple[Phone, ...], duration: float) -> list[Segment]:
    """Phones as visemes, with silence filling every gap so the timeline is covered."""
    result: list[Segment] = []
    cursor = 0.0
    for phone in sorted(phones, key=lambda p: p.start):
        if phone.start > cursor + 1e-4:
            result.append(Segment("sil", cursor, phone.start))
        result.append(Segment(viseme_for(phone.symbol), phone.start, phone.end, phone.stressed))
        cursor = max(cursor, phone.end)
    if duration > cursor + 1e-4:
        result.append(Segment("sil", cursor, duration))
    return result


def frame_times(n_frames: int, fps: float) -> np.ndarray:
    """The moment each frame shows: the middle of its display interval."""
    return (np.arange(n_frames) + 0.5) / fps


def mouth_track(
    phones: tuple[Phone, ...],
    n_frames: int,
    fps: float,
    options: LipsyncOptions = LipsyncOptions(),
    offset: float = 0.0,
) -> dict[str, np.ndarray]:
    """Mouth parameters for each frame, keyed by the ``Track`` field they fill. ``offset``:
    seconds from the phones' zero to the first frame's start (see ``make_track``)."""
    duration = n_frames / fps + offset
    segs = segments(phones, duration)
    times = frame_times(n_frames, fps) + offset + options.lead
    values = _blend(segs, times, options)
    scale = options.articulation
    values["mouth_open"] = np.clip(values["mouth_open"] * scale, 0.0, 1.0)
    values["jaw"] = np.clip(values["jaw"] * scale, 0.0, 1.0)
    _enforce_contacts(values, segs, times, fps, offset)
    return {name: values[name].astype(np.float32) for name in MOUTH_FIELDS}


def _dominance(seg: Segment) -> float:
    """A short silence between words is not a pause: it barely pulls the mouth shut."""
    dominance = SHAPES[seg.viseme].dominance
    if seg.viseme == "sil":
        dominance *= min(1.0, (seg.end - seg.start) / SHORT_PAUSE) ** 2
    return dominance


def _targets(segs: list[Segment], boost: float) -> np.ndarray:
    """One row per segment: its target for each mouth field, stressed vowels opened wider."""
    rows = []
    for seg in segs:
        shape = SHAPES[seg.viseme]
        lift = 1.0 + boost if seg.stressed and seg.viseme in VOWEL_VISEMES else 1.0
        rows.append(
            [shape.mouth_open * lift, shape.jaw * lift, shape.width, shape.tuck, shape.tongue]
        )
    return np.array(rows, dtype=np.float64).reshape(len(segs), len(MOUTH_FIELDS))


def segment_weights(
    segs: list[Segment], times: np.ndarray, options: LipsyncOptions = LipsyncOptions()
) -> np.ndarray:
    """How much each segment shapes the mouth at each time (frames×segments, rows sum to 1).

    This is the coarticulation model itself, public so that exports can say how fully the
    mouth reaches each viseme; the mouth's value is these weights times the segments' targets.
    Memory grows as times×segments, so pass long timelines in chunks.
    """
    starts = np.array([s.start for s in segs])
    ends = np.array([s.end for s in segs])
    weight = np.array([_dominance(s) for s in segs])
    t = np.asarray(times, dtype=np.float64)[:, None]  # frames×1
    outside = np.maximum(starts - t, 0.0) + np.maximum(t - ends, 0.0)  # frames×segments
    dominance = weight * np.exp(-((outside / options.blend_time) ** 2))
    dominance /= dominance.sum(axis=1, keepdims=True) + 1e-12
    return dominance


def _blend(
    segs: list[Segment], times: np.ndarray, options: LipsyncOptions, chunk: int = 512
) -> dict[str, np.ndarray]:
    targets = _targets(segs, options.stress_boost)
    out = np.empty((len(times), len(MOUTH_FIELDS)))
    for first in range(0, len(times), chunk):
        out[first : first + chunk] = (
            segment_weights(segs, times[first : first + chunk], options) @ targets
        )
    return {name: out[:, i] for i, name in enumerate(MOUTH_FIELDS)}


def _enforce_contacts(
    values: dict[str, np.ndarray],
    segs: list[Segment],
    times: np.ndarray,
    fps: float,
    offset: float,
) -> None:
    """Shut the lips on every p/b/m and tuck them on every f/v, however short the phone."""
    for seg in segs:
        if seg.viseme not in CONTACT_VISEMES:
            continue
        frames = _contact_frames(seg, times, fps, offset)
        if seg.viseme == "PP":
            values["mouth_open"][frames] = 0.0
            # Pressed lips cannot also be far dropped or pursed.
            values["jaw"][frames] = np.minimum(values["jaw"][frames], SHAPES["PP"].jaw)
            values["width"][frames] = np.clip(values["width"][frames], -0.2, 0.3)
        else:
            values["tuck"][frames] = 1.0
            values["mouth_open"][frames] = np.minimum(values["mouth_open"][frames], 0.1)


def _contact_frames(seg: Segment, times: np.ndarray, fps: float, offset: float) -> np.ndarray:
    """Frames whose (led) moment falls inside the segment, plus the frame on screen at the
    phone's middle, so the contact is seen both early and exactly when it is heard."""
    inside = np.flatnonzero((times >= seg.start) & (times < seg.end))
    heard = min(int((0.5 * (seg.start + seg.end) - offset) * fps), len(times) - 1)
    if heard < 0:
        return inside
    return np.union1d(inside, [heard]).astype(int)
