"""Utterance → subtitle cues → SRT and WebVTT text.

Cues are sentence-sized, as viewers read best, and split where a sentence would not fit on
screen (``max_lines`` lines of ``max_line`` characters, the common broadcast limits) or stay
up too long to follow. Word times come from the utterance, so the same cues serve
synthesized speech and recordings an aligner timed. The words' own texts lose punctuation
("Hello," → "Hello"), so the shown text is taken back from ``utterance.text`` wherever a
word can be found there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..speech.words import CLOSING_MARKS, SENTENCE_END_MARKS
from ..types import Utterance, Word

SOFT_BREAK_MARKS = ",;:—–"
"""A cue may well end after these: the sentence pauses there."""
_LOOKAHEAD = 3
"""Text tokens a word may skip to find its match (unspoken symbols such as "—")."""
_SOFT_BREAK_COST = 0.2
_HARD_BREAK_COST = 0.6
_EMPTY_CUE_COST = 0.5


@dataclass(frozen=True)
class Cue:
    """One subtitle: shown from ``start`` to ``end`` seconds."""

    start: float
    end: float
    text: str
    """The shown lines, joined by newlines."""
    words: tuple[Word, ...]
    """The words shown, in order, each with its text as it appears in ``text`` (punctuation
    restored) and its spoken times: what a karaoke-style highlight needs."""


def subtitle_cues(
    utterance: Utterance, max_line: int = 42, max_lines: int = 2, max_seconds: float = 7.0
) -> tuple[Cue, ...]:
    """Cues for every word of ``utterance``: one per sentence, or several where a sentence
    exceeds the limits. Cues never overlap and lie within the audio; no words, no cues.

    A single word longer than a line (a URL) still gets a cue of its own, over the limit.
    """
    shown = _shown_words(utterance)
    pauses = tuple(utterance.pauses)
    groups: list[list[Word]] = []
    for sentence in _sentences(shown):
        groups.extend(_split(sentence, pauses, max_line, max_lines, max_seconds))
    cues: list[Cue] = []
    for group in groups:
        lines = wrap([word.text for word in group], max_line, max_lines) or [group[0].text]
        previous_end = cues[-1].end if cues else 0.0
        start = min(max(group[0].start, previous_end), utterance.duration)
        end = min(max(max(word.end for word in group), start), utterance.duration)
        cues.append(Cue(start, end, "\n".join(lines), tuple(group)))
    return tuple(cues)


def wrap(texts: Sequence[str], max_line: int, max_lines: int) -> list[str] | None:
    """The texts as at most ``max_lines`` lines of at most ``max_line`` characters, the lines
    as even as possible (a long line over a short one reads badly); None if they cannot fit.
    Each text stays whole on one line."""
    if not texts or any(len(text) > max_line for text in texts):
        return None
    greedy = _fill(texts, max_line)
    if len(greedy) > max_lines:
        return None
    total = len(" ".join(texts))
    narrowest = max(max(len(text) for text in texts), -(-total // len(greedy)))
    for width in range(narrowest, max_line):
        lines = _fill(texts, width)
        if len(lines) <= len(greedy):
            return lines
    return greedy


def _fill(texts: Sequence[str], width: int) -> list[str]:
    """Greedy line filling: as many texts per line as fit in ``width``."""
    lines: list[str] = []
    for text in texts:
        if lines and len(lines[-1]) + 1 + len(text) <= width:
            lines[-1] += " " + text
        else:
            lines.append(text)
    return lines


def _shown_words(utterance: Utterance) -> list[Word]:
    """The words in time order, each labelled with its text as written in the utterance's
    text (punctuation and quotes kept), or its own text where it cannot be found there."""
    tokens = [match.group() for match in re.finditer(r"\S+", utterance.text)]
    words = sorted((w for w in utterance.words if w.text.strip()), key=lambda w: w.start)
    shown: list[Word] = []
    cursor = 0
    for word in words:
        stop = _match(word.text, tokens, cursor)
        label = " ".join(tokens[cursor:stop]) if stop is not None else " ".join(word.text.split())
        shown.append(Word(label, word.start, word.end))
        cursor = stop if stop is not None else cursor
    trailing = [token for token in tokens[cursor:] if not _has_letters(token)]
    if shown and trailing:  # a closing quote or dash after the last word
        last = shown[-1]
        shown[-1] = Word(" ".join([last.text, *trailing]), last.start, last.end)
    return shown


def _match(text: str, tokens: Sequence[str], cursor: int) -> int | None:
    """Where the text tokens that spell ``text`` end, searching from ``cursor`` and skipping at
    most a few tokens (unspoken symbols, which then show with this word); None if not found."""
    parts = [_key(part) for part in text.split()]
    for skip in range(_LOOKAHEAD + 1):
        first = cursor + skip
        found = [_key(token) for token in tokens[first : first + len(parts)]]
        if found == parts:
            return first + len(parts)
    return None


def _key(text: str) -> str:
    """What a word and its written token have in common: letters and digits, any case (or the
    whole text for a symbol such as "&")."""
    return "".join(char for char in text.casefold() if char.isalnum()) or text.casefold()


def _has_letters(text: str) -> bool:
    return any(char.isalnum() for char in text)


def _ends_sentence(text: str) -> bool:
    return text.rstrip(CLOSING_MARKS).endswith(tuple(SENTENCE_END_MARKS))


def _sentences(words: list[Word]) -> list[list[Word]]:
    sentences: list[list[Word]] = [[]]
    for word in words:
        sentences[-1].append(word)
        if _ends_sentence(word.text):
            sentences.append([])
    return [sentence for sentence in sentences if sentence]


def _split(
    words: list[Word],
    pauses: tuple[float, ...],
    max_line: int,
    max_lines: int,
    max_seconds: float,
) -> list[list[Word]]:
    """The sentence in the cheapest run of cues that each fit: few cues, ending where the
    speaker pauses, and reasonably full (no lone word trailing a full cue)."""
    capacity = max_line * max_lines
    best: list[tuple[float, int]] = [(0.0, 0)]  # (cost, start of the last cue) per prefix
    for stop in range(1, len(words) + 1):
        options = []
        for first in range(stop - 1, -1, -1):
            group = words[first:stop]
            seconds = group[-1].end - group[0].start
            fits = wrap([w.text for w in group], max_line, max_lines) and seconds <= max_seconds
            if not fits and first < stop - 1:
                break
            chars = len(" ".join(w.text for w in group))
            fill = max(chars / capacity, seconds / max_seconds)
            cost = 1.0 + _EMPTY_CUE_COST * max(0.0, 1.0 - fill) ** 2
            if stop < len(words):
                cost += _break_cost(words[stop - 1], words[stop], pauses)
            options.append((best[first][0] + cost, first))
        best.append(min(options))
    groups: list[list[Word]] = []
    stop = len(words)
    while stop > 0:
        first = best[stop][1]
        groups.insert(0, words[first:stop])
        stop = first
    return groups


def _break_cost(before: Word, after: Word, pauses: tuple[float, ...]) -> float:
    """Cheap after a comma or where the speaker paused between the two words."""
    paused = any(before.end - 1e-3 <= pause <= after.start + 1e-3 for pause in pauses)
    if paused or before.text.rstrip(CLOSING_MARKS).endswith(tuple(SOFT_BREAK_MARKS)):
        return _SOFT_BREAK_COST
    return _HARD_BREAK_COST


def to_srt(source: Utterance | Sequence[Cue]) -> str:
    """SubRip text: numbered cues with ``HH:MM:SS,mmm`` times, a blank line after each."""
    blocks = [
        f"{index}\n{_clock(cue.start, ',')} --> {_clock(cue.end, ',')}\n{cue.text}\n"
        for index, cue in enumerate(_cues(source), start=1)
    ]
    return "\n".join(blocks)


def to_webvtt(source: Utterance | Sequence[Cue]) -> str:
    """WebVTT text whose cues carry an inline timestamp before each word after the first, so
    players that support it (and CSS ``:past``/``:future``) can highlight the spoken word."""
    blocks = ["WEBVTT\n"]
    for cue in _cues(source):
        times = f"{_clock(cue.start, '.')} --> {_clock(cue.end, '.')}"
        blocks.append(f"{times}\n{_timed_text(cue)}\n")
    return "\n".join(blocks)


def _cues(source: Utterance | Sequence[Cue]) -> Sequence[Cue]:
    return subtitle_cues(source) if isinstance(source, Utterance) else source


def _timed_text(cue: Cue) -> str:
    """The cue's text, escaped for WebVTT, with ``<time>`` before every word but the first."""
    parts, position = [], 0
    for index, word in enumerate(cue.words):
        at = cue.text.find(word.text, position)
        if at < 0:  # cue built elsewhere with other labels: no word timing for the rest
            break
        parts.append(_escape(cue.text[position:at]))
        if index:
            parts.append(f"<{_clock(min(max(word.start, cue.start), cue.end), '.')}>")
        parts.append(_escape(word.text))
        position = at + len(word.text)
    parts.append(_escape(cue.text[position:]))
    return "".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clock(seconds: float, decimal_mark: str) -> str:
    """``HH:MM:SS`` and milliseconds after ``decimal_mark`` (SRT uses a comma, WebVTT a dot)."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_mark}{millis:03d}"
