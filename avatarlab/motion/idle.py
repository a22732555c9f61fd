"""The life around the mouth: blinks, glances, brows and head movement.

A still face with a moving mouth reads as a puppet. People blink 10-20 times a minute, more
at the ends of phrases; their eyes make small jumps; their heads drift slowly and nod on
stressed syllables, with the brows rising on emphasis. Everything random here comes from
one seeded generator, so the same seed gives the same performance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..easing import smoothstep as _smoothstep
from ..loudness import rms_between
from ..types import Utterance
from .lipsync import frame_times
from .visemes import VOWEL_VISEMES, viseme_for


@dataclass(frozen=True)
class IdleOptions:
    blinks_per_minute: float = 16.5
    """Mean blink rate; people blink 12-20 times a minute, a little more while talking."""
    blink_at_pause: float = 0.7
    """Chance that a blink due near a phrase end moves onto it."""
    head_motion: float = 1.0
    """Scales every head movement; 0 keeps the head still."""
    brow_motion: float = 1.0
    gaze_motion: float = 1.0


# Blink timing in seconds: lid closing, held shut, opening.
BLINK_CLOSE, BLINK_HOLD, BLINK_OPEN = 0.07, 0.06, 0.12


FIRST_BLINK = (1.5, 3.0)
"""Seconds from the start of the speech within which the first blink falls: a blink on
the very first frames reads as a glitch."""
BLINK_SPREAD = 0.22
"""Each interval between blinks is the mean interval times 1 ± this (uniformly): regular
enough that any 20 s holds a natural number of blinks, loose enough not to tick."""
PAUSE_REACH = (1.0, 0.6)
"""A blink due this long after (first) or before (second) a phrase end moves onto it."""


def blink_times(
    duration: float,
    pauses: tuple[float, ...],
    rng: np.random.Generator,
    options: IdleOptions,
    start: float = 0.0,
) -> list[float]:
    """Start times (seconds from this part's start) of the blinks in ``[start, start +
    duration)`` of the whole speech: a jittered regular schedule over the whole, drawn
    from ``rng``, with blinks near a phrase end (``pauses``, relative to this part)
    moved onto it by chance ``blink_at_pause``.

    Over any 20 s of speech from its start this gives 12 to 21 blinks a minute at the
    default rate; blinking is a rhythm, and a Poisson process with phrase-end blinks on
    top gave twice that on short clips.
    """
    if options.blinks_per_minute <= 0:
        return []
    mean = 60.0 / options.blinks_per_minute
    schedule, t = [], rng.uniform(*FIRST_BLINK)
    while t < start + duration:
        schedule.append(t)
        t += mean * rng.uniform(1.0 - BLINK_SPREAD, 1.0 + BLINK_SPREAD)
    chosen = []
    for due in schedule:
        if due < start:
            continue
        local = due - start
        near = [p for p in pauses if -PAUSE_REACH[1] <= local - p <= PAUSE_REACH[0]]
        if near and rng.random() < options.blink_at_pause:
            earliest = max(local - PAUSE_REACH[0], FIRST_BLINK[0] - start)
            local = max(near[0] - BLINK_CLOSE / 2, earliest)
        chosen.append(local)
    return [t for t in chosen if 0.0 <= t < duration]


def blink_curve(times: np.ndarray, starts: list[float]) -> np.ndarray:
    """Lid closure per frame: ease in, hold, ease out for each blink."""
    closure = np.zeros_like(times)
    for start in starts:
        closing = np.clip((times - start) / BLINK_CLOSE, 0.0, 1.0)
        opening = np.clip((times - start - BLINK_CLOSE - BLINK_HOLD) / BLINK_OPEN, 0.0, 1.0)
        shape = _smoothstep(closing) * (1.0 - _smoothstep(opening))
        closure = np.maximum(closure, shape)
    return closure


def slow_noise(
    times: np.ndarray,
    rng: np.random.Generator,
    amplitude: float,
    low_hz: float = 0.08,
    high_hz: float = 0.5,
    waves: int = 3,
) -> np.ndarray:
    """Smooth drift: a few sinusoids of random low frequency and phase."""
    freqs = rng.uniform(low_hz, high_hz, waves)
    phases = rng.uniform(0, 2 * np.pi, waves)
    weights = rng.uniform(0.5, 1.0, waves)
    signal = (weights * np.sin(2 * np.pi * freqs * times[:, None] + phases)).sum(axis=1)
    return amplitude * signal / weights.sum()


def loudness(utterance: Utterance, times: np.ndarray, window: float = 0.05) -> np.ndarray:
    """RMS loudness around each frame time, scaled so speech sits near 1."""
    rate = utterance.sample_rate
    half = max(1, int(window * rate / 2))
    centres = (times * rate).astype(int)
    rms = rms_between(utterance.audio, centres - half, centres + half)
    speaking = rms[rms > 1e-3]
    reference = np.percentile(speaking, 90) if len(speaking) else 1.0
    return np.clip(rms / reference, 0.0, 1.5)


def emphasis(utterance: Utterance, times: np.ndarray, width: float = 0.18) -> np.ndarray:
    """Pulses at stressed vowels, weighted by how loud they are: drives nods and brows."""
    stressed = [p for p in utterance.phones if p.stressed and viseme_for(p.symbol) in VOWEL_VISEMES]
    if not stressed:
        return np.zeros_like(times)
    centres = np.array([p.middle for p in stressed])
    strength = np.interp(centres, times, loudness(utterance, times)) if len(times) else centres
    pulses = strength * np.exp(-(((times[:, None] - centres) / width) ** 2))
    return np.clip(pulses.max(axis=1), 0.0, 1.0)


def saccades(
    times: np.ndarray, rng: np.random.Generator, amplitude: float
) -> tuple[np.ndarray, np.ndarray]:
    """Gaze that holds still and jumps (in 40 ms) every 0.8-3 s, mostly back near centre."""
    gx, gy = np.zeros_like(times), np.zeros_like(times)
    t, x, y = 0.0, 0.0, 0.0
    end = times[-1] if len(times) else 0.0
    while t < end:
        step = np.clip((times - t) / 0.04, 0.0, 1.0)
        nx, ny = rng.normal(0, amplitude), rng.normal(0, amplitude * 0.5)
        gx += step * (nx - x)
        gy += step * (ny - y)
        x, y = nx, ny
        t += rng.uniform(0.8, 3.0)
    return gx, gy


def idle_track(
    utterance: Utterance,
    n_frames: int,
    fps: float,
    seed: int,
    options: IdleOptions = IdleOptions(),
    start: float = 0.0,
    part: int = 0,
    offset: float = 0.0,
) -> dict[str, np.ndarray]:
    """Blink, gaze, brows and head angles for each frame (``offset``: see ``make_track``).

    For speech rendered in parts (streaming), ``start`` is where this part begins in the
    whole and ``part`` its number: the slow head and brow drift is a function of absolute
    time drawn from ``seed`` alone, so it flows on across parts, as does the rhythm of
    blinks; glances are drawn per part.
    """
    drift = np.random.default_rng(seed)
    events = np.random.default_rng([seed, part])
    times = frame_times(n_frames, fps)
    clock = start + times
    schedule = np.random.default_rng([seed, 1])  # the same blink rhythm across parts
    blinks = blink_times(n_frames / fps, utterance.pauses, schedule, options, start=start)
    stress = emphasis(utterance, times + offset)
    head = options.head_motion
    gaze_x, gaze_y = saccades(times, events, 0.04 * options.gaze_motion)
    brows = np.clip(0.6 * stress + slow_noise(clock, drift, 0.1), 0, 1)
    values = {
        "blink": blink_curve(times, blinks),
        "gaze_x": gaze_x,
        "gaze_y": gaze_y,
        "brows": options.brow_motion * brows,
        "yaw": head * slow_noise(clock, drift, 2.5),
        "pitch": head * (slow_noise(clock, drift, 1.5) + 2.0 * stress),
        "roll": head * slow_noise(clock, drift, 1.2),
    }
    return {name: value.astype(np.float32) for name, value in values.items()}
