"""The recording as the recognizer hears it: 16 kHz, 10 ms frames, speech or silence.

pocketsphinx's model wants 16 kHz 16-bit mono and counts time in 10 ms frames, so every
timing decision in this stage (silences, pieces, loudness labels) uses the same frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import resample_poly

from ..errors import AudioError
from ..loudness import rms_between

RATE = 16_000
FRAME = 0.01
"""Seconds per frame: the recognizer's step."""
HOP = int(RATE * FRAME)
SPEECH_RANGE_DB = 40.0
"""A frame counts as sound when it is within this many dB of the recording's loud level
(its 95th percentile): room tone and breaths in a clean recording sit lower."""
NOISE_MARGIN_DB = 6.0
"""...and at least this far above its quiet level (10th percentile), for noisy recordings."""
SILENT_DBFS = -60.0
"""A recording whose loud level is below this holds nothing to lip-sync."""


@dataclass(frozen=True)
class Heard:
    """A recording resampled for the recognizer, with its per-frame loudness."""

    samples: np.ndarray
    """Mono float32 at ``RATE``."""
    level_db: np.ndarray
    """Loudness of each 10 ms frame, dB relative to full scale."""
    loud_db: float
    """The recording's loud level (95th percentile of ``level_db``)."""
    sounding: np.ndarray
    """Per frame: true where there is sound (speech or otherwise), false in silence."""

    @property
    def n_frames(self) -> int:
        return len(self.level_db)

    @property
    def duration(self) -> float:
        return len(self.samples) / RATE

    def pcm(self, first: int = 0, stop: int | None = None) -> bytes:
        """Frames ``first``..``stop`` as 16-bit little-endian PCM for pocketsphinx."""
        part = self.samples[first * HOP : None if stop is None else stop * HOP]
        return (np.clip(part, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def hear(audio: np.ndarray, sample_rate: int) -> Heard:
    """Resample ``audio`` to 16 kHz and find where it sounds; refuse silence."""
    samples = resample(audio, sample_rate)
    starts = np.arange(0, len(samples), HOP)
    level = 20 * np.log10(rms_between(samples, starts, starts + HOP) + 1e-6)
    loud = float(np.percentile(level, 95)) if len(level) else -120.0
    if loud < SILENT_DBFS:
        raise AudioError(
            f"the audio is silent (its loud parts reach only {loud:.0f} dBFS): nothing to lip-sync"
        )
    quiet = float(np.percentile(level, 10))
    threshold = max(loud - SPEECH_RANGE_DB, quiet + NOISE_MARGIN_DB)
    return Heard(samples, level.astype(np.float32), loud, level > threshold)


def mono(audio: np.ndarray) -> np.ndarray:
    """Float32 samples of one channel: a stereo recording (n×2) is heard as its mix."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2 and audio.shape[1] == 2:
        audio = audio.mean(axis=1)
    if audio.ndim != 1:
        raise AudioError(
            f"audio must be mono (n) or stereo (n×2), got an array of shape {audio.shape}"
        )
    return audio


def resample(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    audio = mono(audio)
    if sample_rate == RATE:
        return audio
    divisor = np.gcd(int(sample_rate), RATE)
    return resample_poly(audio, RATE // divisor, int(sample_rate) // divisor).astype(np.float32)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of every run of true values."""
    padded = np.concatenate([[False], mask.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def silences(heard: Heard, min_seconds: float) -> list[tuple[int, int]]:
    """Runs of silent frames at least ``min_seconds`` long."""
    shortest = round(min_seconds / FRAME)
    return [(a, b) for a, b in runs(~heard.sounding) if b - a >= shortest]


def pieces(heard: Heard, longest: float, shortest: float) -> list[tuple[int, int]]:
    """Cut the recording into pieces of ``shortest``..``longest`` seconds, each cut in the
    middle of the longest silence in that window (or at its quietest frame if none), so no
    word is split and decoding cost stays linear in the recording's length."""
    longest_frames, shortest_frames = round(longest / FRAME), round(shortest / FRAME)
    quiet = ~heard.sounding
    result, first = [], 0
    while heard.n_frames - first > longest_frames:
        low, high = first + shortest_frames, first + longest_frames
        cut = _best_cut(quiet[low:high], heard.level_db[low:high]) + low
        result.append((first, cut))
        first = cut
    result.append((first, heard.n_frames))
    return result


def _best_cut(quiet: np.ndarray, level: np.ndarray) -> int:
    found = runs(quiet)
    if not found:
        return int(np.argmin(level))
    start, stop = max(found, key=lambda run: run[1] - run[0])
    return (start + stop) // 2
