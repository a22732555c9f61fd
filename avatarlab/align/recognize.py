"""Choosing how to read a recording, and turning what was found into an ``Utterance``.

Three ways, best first: forced alignment of the transcript (exact words, best timing),
phone recognition (no transcript needed, English), and the sound's own loudness and
spectrum (any language, any noise). ``auto`` takes the best one that works and says why it
moved on; a forced choice is honoured.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

import numpy as np

from ..errors import AudioError, InputError
from ..motion.visemes import viseme_for
from ..options import LIPSYNC_METHODS
from ..types import Phone, Utterance, Word
from . import sphinx
from .energy import energy_phones
from .signal import FRAME, Heard, hear, mono, pieces, silences

METHODS = LIPSYNC_METHODS
"""What the user may ask for: ``phones`` means alignment or recognition, never loudness."""

PIECE_SECONDS = (8.0, 20.0)
"""Recognition decodes pieces this long, cut in silences: cost stays linear in length."""
ALIGN_PIECE_SECONDS = (15.0, 30.0)
"""Forced alignment of recordings longer than 30 s goes in pieces this long."""
GAP_SECONDS = 0.15
"""Silences at least this long are cut out of the phones around them (the aligner lets a
phone swallow a pause; stop closures, which are silent too, are shorter)."""
PAUSE_SECONDS = 0.3
"""Silences at least this long between sounds are phrase ends: the face relaxes there."""
MIN_AGREEMENT = 0.45
"""A transcript is taken when its aligned visemes agree with the recognized ones on at least
this share of frames: measured 0.64-0.77 for the right words, 0.59-0.73 with two words
changed, 0.25-0.34 for another sentence of the same length."""
MIN_COVERAGE = 0.5
"""Recognition must explain at least this share of the sounding time with speech phones..."""
PHONE_RATE = (4.0, 30.0)
"""...at a speech-like rate (phones per sounding second), or loudness drives the mouth."""
TOKEN_PUNCTUATION = "\"'“”‘’«»()[]{}.,;:!?…-–—"


@dataclass(frozen=True)
class Alignment:
    """A recording's timeline and how it was found."""

    utterance: Utterance
    method: str
    """``alignment`` (transcript forced onto the audio), ``recognition`` or ``energy``."""
    coverage: float
    """Share of the sounding time covered by speech phones."""
    notes: tuple[str, ...] = ()
    """Why a better method was not used, for the user."""


def recognize(
    audio: np.ndarray,
    sample_rate: int,
    text: str | None = None,
    *,
    method: str = "auto",
    max_seconds: float | None = None,
) -> Alignment:
    """Phones (and, with ``text``, words) of recorded speech.

    >>> alignment = recognize(samples, 44100, "the exact words spoken")  # doctest: +SKIP
    >>> alignment.method, alignment.utterance.phones[:3]  # doctest: +SKIP
    """
    if method not in METHODS:
        raise InputError(f"lipsync must be one of {', '.join(METHODS)}, got {method!r}")
    if max_seconds is not None and sample_rate > 0:
        check_length(len(audio) / sample_rate, max_seconds)
    audio = mono(audio)
    heard = hear(audio, sample_rate)
    tokens = _tokens(text or "")
    notes: list[str] = []
    if method == "energy":
        return _finish(audio, sample_rate, heard, energy_phones(heard), "energy", (), text, notes)
    recognized = _from_recognition(heard)
    if tokens:
        aligned = _align(heard, [word for word, *_ in tokens])
        if aligned is not None:
            phones = [(s.label, s.start, s.stop) for s in aligned.phones]
            agreement = _agreement(heard, phones, recognized)
            if agreement >= MIN_AGREEMENT:
                words = _words(aligned.words, tokens)
                return _finish(audio, sample_rate, heard, phones, "alignment", words, text, notes)
        notes.append("the transcript does not match the audio, so its phones were recognized")
    elif text and text.strip():
        notes.append("the transcript has no words, so the phones were recognized")
    phones = recognized
    coverage = _coverage(heard, phones)
    if method == "auto" and not _plausible(heard, phones, coverage):
        notes.append(
            f"recognition explained only {coverage:.0%} of the sound, so the mouth follows "
            "the audio's loudness instead"
        )
        return _finish(audio, sample_rate, heard, energy_phones(heard), "energy", (), text, notes)
    return _finish(audio, sample_rate, heard, phones, "recognition", (), text, notes)


Frames = list[tuple[str, int, int]]


def check_length(seconds: float, max_seconds: float, what: str = "the audio") -> None:
    """Refuse a recording over the limit, saying how to raise it."""
    if seconds > max_seconds:
        raise AudioError(
            f"{what} is {seconds:.1f} s long; the limit is {max_seconds:g} s "
            "(raise it with --max-audio-seconds)"
        )


def _align(heard: Heard, words: list[str]) -> sphinx.Aligned | None:
    """Forced alignment, in pieces for a long recording: the aligner's memory grows faster
    than linearly with length (measured: +250 MB for 62 s, +1.4 GB for 208 s in one go).
    Each piece's words are found with a prefix grammar over the words still to come."""
    if heard.duration <= ALIGN_PIECE_SECONDS[1]:
        return sphinx.align(heard.pcm(), words)
    phones: list[sphinx.Span] = []
    placed: list[sphinx.Span] = []
    cuts = pieces(heard, ALIGN_PIECE_SECONDS[1], ALIGN_PIECE_SECONDS[0])
    for first, stop in cuts:
        remaining = words[len(placed) :]
        if not remaining:
            break
        take = len(remaining)
        if stop < heard.n_frames:
            share = heard.sounding[first:stop].sum() / max(heard.sounding[first:].sum(), 1)
            window = min(len(remaining), math.ceil(len(remaining) * share * 1.5) + 8)
            take = sphinx.said_prefix(heard.pcm(first, stop), remaining[:window])
            if take is None:
                return None
        if take == 0:
            continue
        aligned = sphinx.align(heard.pcm(first, stop), remaining[:take])
        if aligned is None:
            return None
        phones += [replace(s, start=s.start + first, stop=s.stop + first) for s in aligned.phones]
        placed += [replace(s, start=s.start + first, stop=s.stop + first) for s in aligned.words]
    if len(placed) != len(words):
        return None
    return sphinx.Aligned(tuple(phones), tuple(placed))


def _from_recognition(heard: Heard) -> Frames:
    found: Frames = []
    for first, stop in pieces(heard, PIECE_SECONDS[1], PIECE_SECONDS[0]):
        for span in sphinx.recognize(heard.pcm(first, stop)):
            if span.label not in sphinx.SPEECH_PHONE_EXCLUDES:
                found.append((span.label, span.start + first, min(span.stop + first, stop)))
    return found


def _agreement(heard: Heard, aligned: Frames, recognized: Frames) -> float:
    """Share of the frames both cover where the transcript's viseme is the one heard."""
    ours, theirs = _viseme_frames(heard, aligned), _viseme_frames(heard, recognized)
    both = (ours != "") & (theirs != "")
    return float((ours[both] == theirs[both]).mean()) if both.any() else 0.0


def _viseme_frames(heard: Heard, phones: Frames) -> np.ndarray:
    labels = np.full(heard.n_frames, "", dtype=object)
    for label, start, stop in phones:
        if label not in sphinx.SPEECH_PHONE_EXCLUDES:
            labels[start:stop] = viseme_for(label)
    return labels


def _coverage(heard: Heard, phones: Frames) -> float:
    covered = np.zeros(heard.n_frames, bool)
    for _, start, stop in phones:
        covered[start:stop] = True
    sounding = heard.sounding.sum()
    return float((covered & heard.sounding).sum() / sounding) if sounding else 0.0


def _plausible(heard: Heard, phones: Frames, coverage: float) -> bool:
    seconds = heard.sounding.sum() * FRAME
    rate = len(phones) / seconds if seconds else 0.0
    return coverage >= MIN_COVERAGE and PHONE_RATE[0] <= rate <= PHONE_RATE[1]


def _finish(
    audio: np.ndarray,
    sample_rate: int,
    heard: Heard,
    found: Frames,
    method: str,
    words: tuple[Word, ...],
    text: str | None,
    notes: list[str],
) -> Alignment:
    gaps = silences(heard, GAP_SECONDS)
    phones = tuple(
        Phone(label, start * FRAME, stop * FRAME)
        for label, start, stop in _cut_out(found, gaps)
        if label not in sphinx.SPEECH_PHONE_EXCLUDES
    )
    words = tuple(_trimmed(word, gaps) for word in words)
    pauses = tuple(
        start * FRAME
        for start, stop in silences(heard, PAUSE_SECONDS)
        if 0 < start and stop < heard.n_frames
    )
    utterance = Utterance(
        audio=audio,
        sample_rate=sample_rate,
        phones=phones,
        words=words,
        text=(text or "").strip(),
        pauses=pauses,
    )
    kept = [(p.symbol, round(p.start / FRAME), round(p.end / FRAME)) for p in phones]
    coverage = _coverage(heard, kept)
    return Alignment(utterance, method, coverage, tuple(notes))


def _trimmed(word: Word, gaps: list[tuple[int, int]]) -> Word:
    """A word without the pause the aligner let it swallow (subtitles end with the voice)."""
    kept = _cut_out([(word.text, round(word.start / FRAME), round(word.end / FRAME))], gaps)
    if not kept:
        return word
    _, start, stop = kept[0]
    return Word(word.text, start * FRAME, stop * FRAME)


def _cut_out(found: Frames, gaps: list[tuple[int, int]]) -> Frames:
    """Trim each phone where a long silence covers its start or end; drop phones that lie
    wholly in one."""
    kept: Frames = []
    for label, start, stop in found:
        for gap_start, gap_stop in gaps:
            if gap_start <= start < gap_stop:
                start = gap_stop
            if gap_start < stop <= gap_stop:
                stop = gap_start
        if stop > start:
            kept.append((label, start, stop))
    return kept


def _tokens(text: str) -> list[tuple[str, int, str]]:
    """(dictionary word, index of the text token it came from, the token without the
    punctuation around it): "twenty-four," gives two words of one token "twenty-four"."""
    found = []
    for index, token in enumerate(text.split()):
        shown = token.strip(TOKEN_PUNCTUATION) or token
        for word in re.findall(r"[a-z0-9]+(?:'[a-z0-9]+)*", token.lower()):
            found.append((word, index, shown))
    return found


def _words(spans: tuple[sphinx.Span, ...], tokens: list[tuple[str, int, str]]) -> tuple[Word, ...]:
    """One ``Word`` per text token, spanning all its dictionary words."""
    groups: dict[int, tuple[str, list[sphinx.Span]]] = {}
    for span, (_, index, shown) in zip(spans, tokens, strict=True):
        groups.setdefault(index, (shown, []))[1].append(span)
    return tuple(
        Word(shown, placed[0].start * FRAME, placed[-1].stop * FRAME)
        for shown, placed in groups.values()
    )
