"""pocketsphinx, loaded once per process: forced alignment and phone recognition.

Both use the US-English acoustic model inside the pocketsphinx wheel. A decoder is stateful
and not thread-safe, so each cached one comes with a lock (the server renders on threads).
Times come back in 10 ms frames.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from pocketsphinx import Decoder, get_model_path

from .pronounce import arpabet_for

SPEECH_PHONE_EXCLUDES = frozenset({"SIL", "+NSN+", "+SPN+", "+BREATH+", "+NOISE+"})


@dataclass(frozen=True)
class Span:
    """A phone or word the decoder placed, in frames: [start, stop)."""

    label: str
    start: int
    stop: int


@dataclass(frozen=True)
class Aligned:
    phones: tuple[Span, ...]
    words: tuple[Span, ...]
    """One per dictionary word of the transcript, in order."""


class _Sphinx:
    def __init__(self, decoder: Decoder):
        self.decoder = decoder
        self.lock = threading.Lock()

    def decode(self, pcm: bytes) -> None:
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()


@functools.lru_cache(maxsize=1)
def _aligner() -> _Sphinx:
    # bestpath would end the first pass with a one-frame "</s>" that the second, state-level
    # pass cannot fit, failing correct transcripts (pocketsphinx issue #339).
    return _Sphinx(Decoder(samprate=16000, loglevel="FATAL", bestpath=False))


@functools.lru_cache(maxsize=1)
def _phone_loop() -> _Sphinx:
    # A phone bigram instead of words; a wide beam, because the loop is small and the
    # pruned default loses short phones.
    model = get_model_path("en-us/en-us-phone.lm.bin")
    return _Sphinx(
        Decoder(samprate=16000, loglevel="FATAL", allphone=model, lw=2.0, beam=1e-20, pbeam=1e-20)
    )


def align(pcm: bytes, words: Sequence[str]) -> Aligned | None:
    """Force ``words`` (lower-case dictionary words) onto the audio; None when they cannot
    be made to fit (the transcript is not what was said)."""
    sphinx = _aligner()
    with sphinx.lock:
        decoder = sphinx.decoder
        _know(decoder, words)
        try:
            decoder.set_align_text(" ".join(words))
            sphinx.decode(pcm)
            if decoder.hyp() is None:
                return None
            decoder.set_alignment()
            sphinx.decode(pcm)
            alignment = decoder.get_alignment()
        except RuntimeError:
            return None
        if alignment is None:
            return None
        phones = tuple(_span(p.name, p.start, p.duration) for p in alignment.phones())
        placed = tuple(_span(w.name, w.start, w.duration) for w in alignment.words())
    spoken = tuple(
        w for w in placed if not w.label.startswith(("<", "[", "+")) and w.label != "sil"
    )
    if len(spoken) != len(words):
        return None
    return Aligned(phones, spoken)


def said_prefix(pcm: bytes, candidates: Sequence[str]) -> int | None:
    """How many of ``candidates``, from the first on, the audio says: a grammar that
    accepts any prefix of them finds where a piece of a long recording ends in its
    transcript. None when not even a prefix fits."""
    sphinx = _aligner()
    count = len(candidates)
    transitions = [(i, i + 1, 1.0, word) for i, word in enumerate(candidates)]
    transitions += [(i, count, 1.0) for i in range(1, count)]
    with sphinx.lock:
        decoder = sphinx.decoder
        _know(decoder, candidates)
        decoder.add_fsg("prefix", decoder.create_fsg("prefix", 0, count, transitions))
        decoder.activate_search("prefix")
        try:
            sphinx.decode(pcm)
        except RuntimeError:
            return None
        hypothesis = decoder.hyp()
    return None if hypothesis is None else len(hypothesis.hypstr.split())


def _know(decoder: Decoder, words: Sequence[str]) -> None:
    """Add a pronunciation for every word the dictionary lacks."""
    for word in set(words):
        if decoder.lookup_word(word) is None:
            decoder.add_word(word, arpabet_for(word), True)


def recognize(pcm: bytes) -> tuple[Span, ...]:
    """Phones heard in the audio, with no idea of the words (silence and noise included)."""
    sphinx = _phone_loop()
    with sphinx.lock:
        sphinx.decode(pcm)
        return tuple(Span(s.word, s.start_frame, s.end_frame + 1) for s in sphinx.decoder.seg())


def _span(name: str, start: int, duration: int) -> Span:
    return Span(name.split("(")[0], start, start + duration)
