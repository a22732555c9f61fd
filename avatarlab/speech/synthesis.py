"""Text to speech with a timeline of phones, words and pauses: the speech stage.

Piper speaks one sentence at a time; ``synthesize_sentences`` hands each sentence on as soon as
it is ready (memory stays per sentence), and ``synthesize`` joins them into one utterance with
every time offset by the exact number of samples before it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from piper import AudioChunk, PiperVoice, SynthesisConfig

from avatarlab.errors import InputError, VoiceError
from avatarlab.speech.timeline import (
    PAD,
    SENTENCE_END,
    SENTENCE_START,
    SampleTimeline,
    fold_alignments,
)
from avatarlab.speech.voices import Voice, load_voice
from avatarlab.speech.words import PairedWord, TextWord, pair_words, split_sentences, text_words
from avatarlab.types import Phone, Utterance, Word

DEFAULT_MAX_CHARS = 5000
SLOWEST, FASTEST = 0.5, 2.0


@dataclass(frozen=True)
class SpokenSentence:
    """One sentence as Piper spoke it, with times still in samples."""

    audio: np.ndarray
    sample_rate: int
    timeline: SampleTimeline
    words: tuple[PairedWord, ...]
    text: str

    @property
    def n_samples(self) -> int:
        return len(self.audio)


def synthesize(
    text: str,
    voice: Voice | str | Path | None = None,
    *,
    speed: float = 1.0,
    deterministic: bool = True,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> Utterance:
    """Speak ``text`` and say when each phone, word and pause is heard.

    ``speed`` 1.1 is 10% faster than the voice's own pace. ``deterministic`` (the default)
    gives bit-identical audio for the same text, voice and speed: the model's noise comes from
    a fixed table instead of a fresh draw, keeping the voice's trained noise scales and so its
    natural rhythm and tone (zeroing the noise would also repeat, but sounds flatter). With
    ``deterministic=False`` each call varies a little, as Piper does by default.
    """
    sentences = list(_speak(text, voice, speed, deterministic, max_chars))
    return _utterance(sentences, text)


def synthesize_sentences(
    text: str,
    voice: Voice | str | Path | None = None,
    *,
    speed: float = 1.0,
    deterministic: bool = True,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> Iterator[Utterance]:
    """Like ``synthesize``, one utterance per sentence as each is ready (times per sentence).

    The arguments are checked now, not on the first ``next``.
    """
    sentences = _speak(text, voice, speed, deterministic, max_chars)
    return (_utterance([sentence], sentence.text) for sentence in sentences)


def check_request(text: str, speed: float, max_chars: int) -> None:
    """InputError for text or speed that cannot be spoken, before any work is done."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("The text is empty: give at least one word to say.")
    if len(text) > max_chars:
        raise InputError(
            f"The text is {len(text)} characters long, over the limit of {max_chars} "
            f"characters: shorten it or split it into several videos."
        )
    if isinstance(speed, bool) or not isinstance(speed, (int, float)):
        raise InputError(f"Speed must be a number from {SLOWEST} to {FASTEST}, not {speed!r}.")
    if not SLOWEST <= speed <= FASTEST:
        raise InputError(
            f"Speed {speed} is out of range: use {SLOWEST} (half as fast) to {FASTEST} "
            f"(twice as fast); 1.0 is the voice's own pace."
        )


def _speak(
    text: str, voice: Voice | str | Path | None, speed: float, deterministic: bool, max_chars: int
) -> Iterator[SpokenSentence]:
    """Check, plan, and return a lazy iterator over the spoken sentences."""
    check_request(text, speed, max_chars)
    loaded = voice if isinstance(voice, Voice) else load_voice(voice)
    piper = loaded.piper_for(deterministic)
    sentence_words = _plan_sentences(text, piper)
    config = SynthesisConfig(length_scale=piper.config.length_scale / speed)
    chunks = piper.synthesize(text, syn_config=config, include_alignments=True)
    return _spoken_sentences(chunks, sentence_words, text, piper)


def _plan_sentences(text: str, piper: PiperVoice) -> list[tuple[TextWord, ...]]:
    """The text's words, shared out among the sentences Piper will speak."""
    sentences = [phonemes for phonemes in piper.phonemize(text) if phonemes]
    if not sentences:
        raise InputError(
            "The text has nothing to say aloud (only punctuation or symbols): give at least "
            "one word."
        )
    words = text_words(text, piper.phonemize)
    return split_sentences(words, sentences)


def _spoken_sentences(
    chunks: Iterator[AudioChunk],
    sentence_words: Sequence[tuple[TextWord, ...]],
    text: str,
    piper: PiperVoice,
) -> Iterator[SpokenSentence]:
    for chunk, words in zip(chunks, sentence_words, strict=True):
        timeline = fold_alignments(_alignments(chunk, piper.config.phoneme_id_map))
        yield SpokenSentence(
            audio=chunk.audio_float_array,
            sample_rate=chunk.sample_rate,
            timeline=timeline,
            words=tuple(pair_words(words, timeline.words)),
            text=text[words[0].start : words[-1].end] if words else "",
        )


def _alignments(chunk: AudioChunk, id_map: Mapping[str, Sequence[int]]) -> list[tuple[str, int]]:
    """(symbol, n_samples) for every symbol of the chunk, BOS and EOS included."""
    if chunk.phoneme_alignments is not None:
        return [(a.phoneme, int(a.num_samples)) for a in chunk.phoneme_alignments]
    if chunk.phoneme_id_samples is None:
        raise VoiceError("This voice gives no phone timings, so the face cannot follow it.")
    return _rebuild_alignments(chunk.phonemes, chunk.phoneme_id_samples, id_map)


def _rebuild_alignments(
    phonemes: Sequence[str], id_samples: np.ndarray, id_map: Mapping[str, Sequence[int]]
) -> list[tuple[str, int]]:
    """Piper gives up on alignments when a phoneme is missing from the voice's id map (it is
    skipped, unspoken); rebuild them, giving such phonemes no time."""
    pad_ids = id_map.get(PAD, [])
    alignments, position = [], 0
    for symbol in (SENTENCE_START, *phonemes, SENTENCE_END):
        ids = id_map.get(symbol)
        if not ids:
            continue
        n_ids = len(ids) + (len(pad_ids) if symbol != SENTENCE_END else 0)
        alignments.append((symbol, int(id_samples[position : position + n_ids].sum())))
        position += n_ids
    return alignments


def _utterance(sentences: Sequence[SpokenSentence], text: str) -> Utterance:
    """Join sentences: each one's times move by the samples spoken before it."""
    sample_rate = sentences[0].sample_rate
    phones: list[Phone] = []
    words: list[Word] = []
    pauses: list[float] = []
    offset = 0
    for sentence in sentences:
        phones.extend(_phones(sentence, offset))
        words.extend(_words(sentence, offset))
        pauses.extend((offset + pause) / sample_rate for pause in sentence.timeline.pauses)
        offset += sentence.n_samples
    audio = np.concatenate([sentence.audio for sentence in sentences]).astype(np.float32)
    return Utterance(audio, sample_rate, tuple(phones), tuple(words), text, tuple(pauses))


def join_utterances(parts: Sequence[Utterance], text: str) -> Utterance:
    """The utterances of consecutive sentences (``synthesize_sentences``'s) as one: each
    part's times move by the audio before it."""
    phones: list[Phone] = []
    words: list[Word] = []
    pauses: list[float] = []
    offset = 0
    for part in parts:
        start = offset / part.sample_rate
        phones.extend(replace(p, start=p.start + start, end=p.end + start) for p in part.phones)
        words.extend(replace(w, start=w.start + start, end=w.end + start) for w in part.words)
        pauses.extend(pause + start for pause in part.pauses)
        offset += len(part.audio)
    audio = np.concatenate([part.audio for part in parts]).astype(np.float32)
    return Utterance(audio, parts[0].sample_rate, tuple(phones), tuple(words), text, tuple(pauses))


def _phones(sentence: SpokenSentence, offset: int) -> list[Phone]:
    rate = sentence.sample_rate
    return [
        Phone(p.symbol, (offset + p.start) / rate, (offset + p.end) / rate, p.stressed)
        for p in sentence.timeline.phones
    ]


def _words(sentence: SpokenSentence, offset: int) -> list[Word]:
    rate, spans = sentence.sample_rate, sentence.timeline.words
    return [
        Word(
            word.text,
            (offset + spans[word.first_span].start) / rate,
            (offset + spans[word.stop_span - 1].end) / rate,
        )
        for word in sentence.words
    ]
