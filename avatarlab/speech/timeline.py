"""Piper's per-symbol alignments folded into phones, word spans and pauses, in samples.

Piper times every symbol it feeds the model, including ones that are not sounds: sentence
start/end (``^`` ``$``), word boundaries (`` ``), punctuation, stress marks (``ˈ`` ``ˌ``) and
length marks (``ː``). The face needs sounds, so:

* ``^ $``, spaces and punctuation become gaps: silence with no phone (neighbours are not
  stretched over them);
* a stress mark joins the FOLLOWING phone (which starts at the mark), and primary stress marks
  the next vowel of the word as stressed;
* ``ː`` and other modifier letters or combining marks join the PREVIOUS phone (extending it).

Times stay integer sample counts here, so sentences concatenate exactly.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SENTENCE_START, SENTENCE_END, PAD = "^", "$", "_"
PRIMARY_STRESS, SECONDARY_STRESS = "ˈ", "ˌ"
STRESS_MARKS = frozenset({PRIMARY_STRESS, SECONDARY_STRESS})
VOWEL_LETTERS = frozenset("aeiouyæɐɑɒɔəɘɚɛɜɝɞɤɨɪɯɵøœɶʉʊʌʏᵻ")
_MODIFIER_CATEGORIES = frozenset({"Lm", "Mn", "Mc", "Me", "Sk"})


def is_punctuation(symbol: str) -> bool:
    return bool(symbol) and all(unicodedata.category(char).startswith("P") for char in symbol)


def is_gap(symbol: str) -> bool:
    """A symbol that is heard as silence: no phone is made of it."""
    return (
        symbol in (SENTENCE_START, SENTENCE_END, PAD)
        or symbol.isspace()
        or not symbol
        or is_punctuation(symbol)
    )


def is_pause(symbol: str) -> bool:
    """A gap where a phrase ends: punctuation or the end of the sentence."""
    return symbol == SENTENCE_END or is_punctuation(symbol)


def is_modifier(symbol: str) -> bool:
    """Length marks, palatalisation and other marks that belong to the phone before them."""
    return symbol not in STRESS_MARKS and all(
        unicodedata.category(char) in _MODIFIER_CATEGORIES for char in symbol
    )


def is_vowel(symbol: str) -> bool:
    return any(char in VOWEL_LETTERS for char in symbol)


def is_phone(symbol: str) -> bool:
    return not (is_gap(symbol) or symbol in STRESS_MARKS or is_modifier(symbol))


def count_word_spans(symbols: Iterable[str]) -> int:
    """How many words a phoneme sequence has: runs of non-gap symbols."""
    count, in_word = 0, False
    for symbol in symbols:
        if is_gap(symbol):
            in_word = False
        elif not in_word:
            count, in_word = count + 1, True
    return count


@dataclass(frozen=True)
class SamplePhone:
    symbol: str
    start: int
    end: int
    stressed: bool
    word: int
    """Index of the word span the phone belongs to."""


@dataclass(frozen=True)
class WordSpan:
    """One word as spoken: the samples from its first phone's start to its last phone's end."""

    start: int
    end: int
    n_phones: int


@dataclass(frozen=True)
class SampleTimeline:
    phones: tuple[SamplePhone, ...]
    words: tuple[WordSpan, ...]
    pauses: tuple[float, ...]
    """Middles of the gaps that hold punctuation or the sentence end, in samples."""
    n_samples: int


def fold_alignments(alignments: Iterable[tuple[str, int]]) -> SampleTimeline:
    """Turn (symbol, n_samples) pairs, in order, into phones, word spans and pauses."""
    folder = _Folder()
    for symbol, n_samples in alignments:
        folder.add(symbol, int(n_samples))
    return folder.finish()


class _Folder:
    """Walks the symbols once, keeping just what the next symbol needs to know."""

    def __init__(self) -> None:
        self.position = 0
        self.phones: list[SamplePhone] = []
        self.pauses: list[float] = []
        self.word = 0
        self.in_word = False
        self.prefix_start: int | None = None  # start of stress marks waiting for their phone
        self.primary_stress_pending = False
        self.gap: tuple[int, int, bool] | None = None  # start, end, holds a pause

    def add(self, symbol: str, n_samples: int) -> None:
        start, end = self.position, self.position + n_samples
        self.position = end
        if is_gap(symbol):
            self._add_gap(symbol, start, end)
        elif symbol in STRESS_MARKS:
            self._add_prefix(start, primary=symbol == PRIMARY_STRESS)
        elif is_modifier(symbol) and self._previous_phone_ends_at(start):
            self._lengthen_previous(end)
        elif is_modifier(symbol):  # nothing to attach to: it leads into the next phone
            self._add_prefix(start, primary=False)
        else:
            self._add_phone(symbol, start, end)

    def _add_gap(self, symbol: str, start: int, end: int) -> None:
        if self.in_word:
            self.word += 1
        self.in_word = False
        self.prefix_start, self.primary_stress_pending = None, False
        gap_start, _, has_pause = self.gap or (start, end, False)
        self.gap = (gap_start, end, has_pause or is_pause(symbol))

    def _add_prefix(self, start: int, primary: bool) -> None:
        """A mark that the next phone takes over (its time and, for ˈ, the stress)."""
        self._close_gap()
        self.in_word = True
        if self.prefix_start is None:
            self.prefix_start = start
        self.primary_stress_pending |= primary

    def _previous_phone_ends_at(self, start: int) -> bool:
        return bool(self.phones) and self.phones[-1].end == start and self.prefix_start is None

    def _lengthen_previous(self, end: int) -> None:
        last = self.phones[-1]
        self.phones[-1] = SamplePhone(last.symbol, last.start, end, last.stressed, last.word)

    def _add_phone(self, symbol: str, start: int, end: int) -> None:
        self._close_gap()
        self.in_word = True
        stressed = self.primary_stress_pending and is_vowel(symbol)
        if stressed:
            self.primary_stress_pending = False
        phone_start = start if self.prefix_start is None else self.prefix_start
        self.prefix_start = None
        self.phones.append(SamplePhone(symbol, phone_start, end, stressed, self.word))

    def _close_gap(self) -> None:
        if self.gap is not None and self.gap[2]:
            self.pauses.append(0.5 * (self.gap[0] + self.gap[1]))
        self.gap = None

    def finish(self) -> SampleTimeline:
        self._close_gap()
        return SampleTimeline(
            phones=tuple(self.phones),
            words=word_spans(self.phones),
            pauses=tuple(self.pauses),
            n_samples=self.position,
        )


def word_spans(phones: Sequence[SamplePhone]) -> tuple[WordSpan, ...]:
    """One span per word index, in order, from its phones."""
    spans: list[WordSpan] = []
    for index, phone in enumerate(phones):
        if index and phones[index - 1].word == phone.word:
            last = spans[-1]
            spans[-1] = WordSpan(last.start, phone.end, last.n_phones + 1)
        else:
            spans.append(WordSpan(phone.start, phone.end, 1))
    return tuple(spans)
