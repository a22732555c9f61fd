"""Utterance → viseme cues → JSON for game engines and Rhubarb Lip Sync's TSV.

The cues are the same viseme segments the renderer's mouth follows (``lipsync.segments``:
every phone through ``viseme_for``, silence filling the gaps), so a 3D rig or a 2D cartoon
driven by these files moves with the video. Times are audio times: the renderer's small
lead of the mouth over the sound is left to the consumer, as Rhubarb does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..motion.lipsync import CONTACT_VISEMES, LipsyncOptions, Segment, segment_weights, segments
from ..motion.visemes import VISEMES
from ..types import Utterance

FORMAT_NAME = "avatarlab-visemes"
FORMAT_VERSION = 1
_CHUNK = 256
"""Segments weighed at a time."""
_REACH = 8.0

RHUBARB_SHAPES: dict[str, str] = {
    "sil": "X",  # idle, lips relaxed and closed
    "PP": "A",  # closed lips: p b m
    "FF": "G",  # upper teeth on the lower lip: f v
    "TH": "H",  # tongue shown against the teeth; H is the only shape that draws the tongue
    "DD": "B",  # slightly open, teeth together: most consonants
    "kk": "B",
    "CH": "B",
    "SS": "B",
    "nn": "B",  # mostly n, which Rhubarb draws as B; its H is for long l sounds only
    "RR": "E",  # slightly rounded: er
    "aa": "D",  # wide open: aa (also ae, ah in this class)
    "E": "C",  # open: eh, ae
    "ih": "B",  # ee: teeth almost together, lips spread
    "oh": "E",  # slightly rounded: ao
    "ou": "F",  # puckered: uw, ow, w
}
"""Each viseme as Rhubarb's mouth shape. Rhubarb's basic shapes are A–F; G, H and X are its
extended shapes, used here too (a rig without them can draw G as B, H as C and X as A)."""

DEFAULT_LIPSYNC = LipsyncOptions()
"""The renderer's own settings, so the exported weights match the rendered mouth."""

RESTING_WEIGHT = 0.5
"""A silence weaker than this is a gap between words that does not relax the mouth, so the
Rhubarb track keeps the shape before it instead of flashing the idle X."""


@dataclass(frozen=True)
class VisemeCue:
    time: float
    """Seconds from the start of the audio at which the viseme's segment starts."""
    viseme: str
    weight: float
    """How fully the mouth reaches the viseme's shape, 0 to 1 (see ``viseme_cues``)."""


def viseme_cues(
    utterance: Utterance, options: LipsyncOptions = DEFAULT_LIPSYNC
) -> tuple[VisemeCue, ...]:
    """One cue per viseme segment of the utterance, silences included, in time order.

    ``weight`` is the segment's normalised dominance at its middle: its share of the
    coarticulation blend there, the fraction of the way the mouth gets to its shape. A long
    vowel reaches it (about 1); a short vowel squeezed between strong consonants (p, f, sh)
    is pulled towards them (well under 1); a brief silence between words barely relaxes the
    mouth (near 0). p/b/m and f/v are 1: the renderer forces their contact however short.
    """
    segs = segments(utterance.phones, utterance.duration)
    weights = _middle_weights(segs, options)
    return tuple(
        VisemeCue(seg.start, seg.viseme, 1.0 if seg.viseme in CONTACT_VISEMES else float(w))
        for seg, w in zip(segs, weights, strict=True)
    )


def _middle_weights(segs: list[Segment], options: LipsyncOptions) -> np.ndarray:
    """Each segment's own weight at its middle. Segments more than ``_REACH`` blend times
    away add under exp(-64) of a weight, so each chunk is weighed against its neighbours
    only: linear time and bounded memory however long the speech."""
    starts = np.array([seg.start for seg in segs])
    reach_ends = np.maximum.accumulate([seg.end for seg in segs]) if segs else np.array([])
    middles = 0.5 * (starts + np.array([seg.end for seg in segs]))
    reach = _REACH * options.blend_time
    out = np.empty(len(segs))
    for first in range(0, len(segs), _CHUNK):
        chunk = middles[first : first + _CHUNK]
        low = min(int(np.searchsorted(reach_ends, chunk.min() - reach)), first)
        high = max(int(np.searchsorted(starts, chunk.max() + reach, "right")), first + len(chunk))
        weights = segment_weights(segs[low:high], chunk, options)
        rows = np.arange(len(chunk))
        out[first : first + len(chunk)] = weights[rows, first - low + rows]
    return out


def to_viseme_json(utterance: Utterance) -> str:
    """The cues as JSON; each runs until the next one starts (the last to the audio's end),
    so together they cover the audio. Times in seconds, rounded to milliseconds."""
    cues = viseme_cues(utterance)
    ends = [cue.time for cue in cues[1:]] + [utterance.duration] * bool(cues)
    document = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "duration": _ms(utterance.duration),
        "visemes": list(VISEMES),
        "cues": [
            {
                "time": _ms(cue.time),
                "end": _ms(max(end, cue.time)),
                "viseme": cue.viseme,
                "weight": round(cue.weight, 3),
            }
            for cue, end in zip(cues, ends, strict=True)
        ],
    }
    return json.dumps(document, indent=1) + "\n"


def to_rhubarb_tsv(utterance: Utterance) -> str:
    """Rhubarb Lip Sync's TSV output: ``seconds<TAB>shape`` at every change of mouth shape,
    from 0.00, ending on the idle X once speech is over (or at the end of the audio)."""
    changes: list[tuple[float, str]] = []
    for cue in viseme_cues(utterance):
        shape = RHUBARB_SHAPES[cue.viseme]
        if shape == "X" and cue.weight < RESTING_WEIGHT and changes:
            continue  # a short gap: the mouth holds its last shape
        if not changes or shape != changes[-1][1]:
            changes.append((max(cue.time, 0.0), shape))
    if not changes or changes[0][0] > 0.0:
        changes.insert(0, (0.0, "X"))
    if changes[-1][1] != "X":
        changes.append((utterance.duration, "X"))
    return "".join(f"{time:.2f}\t{shape}\n" for time, shape in changes)


def _ms(seconds: float) -> float:
    return round(float(seconds), 3)
