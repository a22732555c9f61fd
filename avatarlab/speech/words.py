"""Pairing the words of the text with the words Piper spoke.

espeak does not say which text word became which run of phonemes, and it does not keep a
one-to-one mapping: "2024" becomes four words, "of the" can become one ("ʌvðə"), "U.S.A. e.g."
one. So each text word is first pronounced alone (how many word spans and phones it makes),
then the sentence's words are aligned with the spoken spans by a small dynamic programme that
prefers matching span and phone counts. Where espeak merged words, one ``Word`` carries both
texts ("of the"); where it split one, the ``Word`` covers all its spans. This is a best effort:
the times always come from the spoken spans; only the text labels can be off in odd cases.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from avatarlab.speech.timeline import SENTENCE_END, WordSpan, count_word_spans, is_phone

SENTENCE_END_MARKS = ".!?…"
CLOSING_MARKS = "\"')]}»”’"
_MAX_MERGED_WORDS = 4
_BAND = 16
"""How far (in spans) an alignment may stray from proportional; keeps long sentences fast."""
_NOT_A_SENTENCE_END_COST = 1.0


@dataclass(frozen=True)
class TextWord:
    """A whitespace-separated token of the text and how espeak pronounces it alone."""

    text: str
    """The token without the punctuation around it ("tutor." → "tutor")."""
    start: int
    """Character offsets of the whole token in the text."""
    end: int
    n_spans: int
    n_phones: int
    ends_sentence: bool


@dataclass(frozen=True)
class PairedWord:
    text: str
    first_span: int
    stop_span: int
    """Spans ``first_span`` up to (not including) ``stop_span`` are this word."""


Pronounce = Callable[[str], Sequence[Sequence[str]]]
"""Text to phoneme symbols grouped by sentence (``PiperVoice.phonemize``)."""


def text_words(text: str, pronounce: Pronounce) -> tuple[TextWord, ...]:
    """The text's tokens, each with the span and phone counts espeak gives it alone."""
    counts: dict[str, tuple[int, int]] = {}
    words = []
    for match in re.finditer(r"\S+", text):
        token = match.group()
        if token not in counts:
            counts[token] = _pronounced_counts(pronounce(token))
        n_spans, n_phones = counts[token]
        words.append(
            TextWord(
                text=_strip_punctuation(token),
                start=match.start(),
                end=match.end(),
                n_spans=n_spans,
                n_phones=n_phones,
                ends_sentence=token.rstrip(CLOSING_MARKS).endswith(tuple(SENTENCE_END_MARKS)),
            )
        )
    return tuple(words)


def _pronounced_counts(sentences: Sequence[Sequence[str]]) -> tuple[int, int]:
    symbols = [symbol for sentence in sentences for symbol in (*sentence, SENTENCE_END)]
    return count_word_spans(symbols), sum(is_phone(symbol) for symbol in symbols)


def _strip_punctuation(token: str) -> str:
    """Drop the punctuation around a token: ("Hello," → Hello); "&" alone stays "&"."""
    stripped = re.sub(r"^[^\w$£€¥%#@+]+|[^\w$£€¥%#@+]+$", "", token)
    return stripped or token


def split_sentences(
    words: Sequence[TextWord], sentences: Sequence[Sequence[str]]
) -> list[tuple[TextWord, ...]]:
    """Share the text's words among the sentences espeak made of the text (phoneme lists).

    Each sentence but the last ends at the word where the words' pronounced span and phone
    counts best match the sentence's, preferring words that end with . ! ? or …; the last
    sentence takes the rest.
    """
    groups: list[tuple[TextWord, ...]] = []
    cursor = 0
    for index, phonemes in enumerate(sentences):
        sentences_after = len(sentences) - index - 1
        stop = _sentence_stop(words, cursor, _pronounced_counts([phonemes]), sentences_after)
        groups.append(tuple(words[cursor:stop]))
        cursor = stop
    return groups


def _sentence_stop(
    words: Sequence[TextWord], cursor: int, counts: tuple[int, int], sentences_after: int
) -> int:
    if sentences_after == 0:
        return len(words)
    best_stop, best_cost, spans, phones = cursor, float("inf"), 0, 0
    for stop in range(cursor + 1, len(words) - sentences_after + 1):
        spans += words[stop - 1].n_spans
        phones += words[stop - 1].n_phones
        cost = _mismatch(counts, (spans, phones))
        cost += 0.0 if words[stop - 1].ends_sentence else _NOT_A_SENTENCE_END_COST
        if cost < best_cost:
            best_stop, best_cost = stop, cost
        if spans > counts[0] + _BAND:
            break
    return best_stop


def _mismatch(spoken: tuple[int, int], expected: tuple[int, int]) -> float:
    """How unlike two (word spans, phones) counts are: a missing word weighs two phones."""
    return 2.0 * abs(spoken[0] - expected[0]) + abs(spoken[1] - expected[1])


def pair_words(words: Sequence[TextWord], spans: Sequence[WordSpan]) -> list[PairedWord]:
    """Align text words with spoken word spans; see the module docstring."""
    spoken_words = [word for word in words if word.n_spans > 0]
    if not spoken_words or not spans:
        return []
    path = _align(spoken_words, spans)
    if path is None:  # nothing plausible: one word over the whole sentence
        return [PairedWord(" ".join(word.text for word in spoken_words), 0, len(spans))]
    return [
        PairedWord(" ".join(word.text for word in spoken_words[i:next_i]), k, next_k)
        for (i, k), (next_i, next_k) in zip(path, path[1:], strict=False)
    ]


def _align(words: Sequence[TextWord], spans: Sequence[WordSpan]) -> list[tuple[int, int]] | None:
    """The cheapest monotone path of (words done, spans done) from (0, 0) to the end."""
    expected = _expected_span_positions(words, len(spans))
    span_phones = [0]
    for span in spans:
        span_phones.append(span_phones[-1] + span.n_phones)
    layers: list[dict[int, tuple[float, int, int]]] = [{} for _ in range(len(words) + 1)]
    layers[0][0] = (0.0, -1, -1)
    for i, layer in enumerate(layers[:-1]):
        for k, (cost, _, _) in layer.items():
            for next_i, next_k, step in _moves(words, span_phones, i, k):
                if abs(next_k - expected[next_i]) > _BAND:
                    continue
                if next_k not in layers[next_i] or cost + step < layers[next_i][next_k][0]:
                    layers[next_i][next_k] = (cost + step, i, k)
    if len(spans) not in layers[-1]:
        return None
    return _backtrack(layers, len(words), len(spans))


def _expected_span_positions(words: Sequence[TextWord], n_spans: int) -> list[float]:
    """Where each word boundary would fall if every word were spoken as it is alone."""
    total = sum(word.n_spans for word in words)
    positions, done = [0.0], 0
    for word in words:
        done += word.n_spans
        positions.append(done * n_spans / total)
    return positions


def _moves(
    words: Sequence[TextWord], span_phones: Sequence[int], i: int, k: int
) -> list[tuple[int, int, float]]:
    """Next states: words i..next_i spoken as spans k..next_k, with the cost of that claim."""
    moves = []
    n_spans = len(span_phones) - 1
    for next_i in range(i + 1, min(i + _MAX_MERGED_WORDS, len(words)) + 1):
        group = words[i:next_i]
        want_spans = sum(word.n_spans for word in group)
        want_phones = sum(word.n_phones for word in group)
        for next_k in range(k + 1, min(k + want_spans + 2, n_spans) + 1):
            got = (next_k - k, span_phones[next_k] - span_phones[k])
            step = _mismatch(got, (want_spans, want_phones)) + (next_i - i - 1)
            moves.append((next_i, next_k, step))
    return moves


def _backtrack(
    layers: Sequence[dict[int, tuple[float, int, int]]], i: int, k: int
) -> list[tuple[int, int]]:
    path = [(i, k)]
    while i > 0:
        _, i, k = layers[i][k]
        path.append((i, k))
    return path[::-1]
