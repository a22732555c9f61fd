"""A mouth timeline from the sound itself, for speech the recognizer cannot follow.

Any language, singing, a noisy line: how loud each 10 ms is says how open the mouth is, and
the shape of the spectrum says roughly which way. Vowels carry most of the energy; rounded
vowels (oo, oh) keep it below ~1.2 kHz, spread ones (ee, eh) have a strong second formant
above it; hissing sounds (s, sh, f) live above 4 kHz; a voiced closure (m, b) is a quiet hum
with nothing but low frequencies. Each frame gets the viseme those cues point to, labels are
smoothed over 50 ms, and runs of one label become the timeline's phones (their symbols are
viseme names, which the motion stage takes as they are).

The thresholds below were read off the bundled voice's speech, aligned with its transcript:
median energy ratio 1.2-3.5 kHz / below 1.2 kHz was 0.001 on "oh", 0.04-0.06 on "ou"/"aa",
0.08-0.11 on "E"/"ih"; p/b/m frames sat ~20 dB under the loud level with 99% of their
energy below 1.2 kHz; s/z had 80% above 4 kHz.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from .signal import HOP, RATE, Heard, runs

WINDOW = 400
"""25 ms analysis window (the recognizer's)."""
OPEN_DB = 10.0
"""Frames within this many dB of the loud level are vowels; quieter sounding frames are
consonants."""
CLOSED_DB = 15.0
"""Sounding frames this far below the loud level with only low frequencies are closures."""
ROUND_BELOW = 0.02
"""Energy 1.2–3.5 kHz over energy below 1.2 kHz: below this a vowel is rounded (oh)..."""
SPREAD_ABOVE = 0.09
"""...above this it is spread (E); in between, open (aa)."""
HISS_ABOVE = 0.5
"""Share of energy above 4 kHz that makes a quiet frame a fricative (SS)."""
HUM_ABOVE = 0.97
"""Share of energy below 1.2 kHz that makes a quiet frame a closure (PP)."""
SMOOTH_FRAMES = 5
SHORTEST_FRAMES = 3
"""Runs under 30 ms are absorbed by their neighbours: no mouth moves that fast."""

LABELS = ("sil", "PP", "DD", "SS", "aa", "E", "oh")


def energy_phones(heard: Heard) -> list[tuple[str, int, int]]:
    """(viseme, first frame, stop frame) runs covering the recording's sounding parts."""
    codes = _label_frames(heard)
    codes = median_filter(codes, size=SMOOTH_FRAMES, mode="nearest")
    spans = _absorb_short(_spans(codes))
    return [(LABELS[code], start, stop) for code, start, stop in spans if LABELS[code] != "sil"]


def _label_frames(heard: Heard) -> np.ndarray:
    low, mid, high = _band_energies(heard.samples, heard.n_frames)
    total = low + mid + high + 1e-12
    below = heard.loud_db - heard.level_db
    codes = np.zeros(heard.n_frames, np.int8)
    vowel = heard.sounding & (below <= OPEN_DB)
    consonant = heard.sounding & ~vowel
    formant = mid / (low + 1e-12)
    codes[vowel] = LABELS.index("aa")
    codes[vowel & (formant < ROUND_BELOW)] = LABELS.index("oh")
    codes[vowel & (formant > SPREAD_ABOVE)] = LABELS.index("E")
    codes[consonant] = LABELS.index("DD")
    codes[consonant & (high / total > HISS_ABOVE)] = LABELS.index("SS")
    hum = (low / total > HUM_ABOVE) & (below >= CLOSED_DB)
    codes[consonant & hum] = LABELS.index("PP")
    return codes


def _band_energies(samples: np.ndarray, n_frames: int, block: int = 4096) -> tuple[np.ndarray, ...]:
    """Energy below 1.2 kHz, 1.2–3.5 kHz and above 4 kHz of each frame's window, computed
    a block of frames at a time so an hour of audio needs no more memory than a minute."""
    padded = np.concatenate([samples, np.zeros(WINDOW, np.float32)])
    freqs = np.fft.rfftfreq(WINDOW, 1 / RATE)
    bands = [(freqs >= lo) & (freqs < hi) for lo, hi in ((60, 1200), (1200, 3500), (4000, RATE))]
    window = np.hanning(WINDOW).astype(np.float32)
    energies = np.zeros((3, n_frames))
    for first in range(0, n_frames, block):
        starts = np.arange(first, min(first + block, n_frames)) * HOP
        power = np.abs(np.fft.rfft(padded[starts[:, None] + np.arange(WINDOW)] * window)) ** 2
        for row, band in zip(energies, bands, strict=True):
            row[first : first + len(starts)] = power[:, band].sum(axis=1)
    return tuple(energies)


def _spans(codes: np.ndarray) -> list[tuple[int, int, int]]:
    spans = []
    for code in np.unique(codes):
        spans.extend((int(code), a, b) for a, b in runs(codes == code))
    return sorted(spans, key=lambda span: span[1])


def _absorb_short(spans: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Give every too-short run to the run before it, and merge equal neighbours."""
    merged: list[tuple[int, int, int]] = []
    for code, start, stop in spans:
        if merged and (stop - start < SHORTEST_FRAMES or merged[-1][0] == code):
            merged[-1] = (merged[-1][0], merged[-1][1], stop)
        else:
            merged.append((code, start, stop))
    return merged
