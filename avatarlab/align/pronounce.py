"""Pronunciations for transcript words the CMU dictionary lacks (names, brands, numbers).

espeak-ng, which ships inside piper-tts for the voice, spells any word in IPA; the table
below turns that into the aligner's ARPAbet. Without it an unknown word could not be
aligned at all, and one unknown name would cost the whole transcript.
"""

from __future__ import annotations

import functools
import threading

# Two-symbol sounds first: espeak writes diphthongs and affricates as letter pairs.
IPA_TO_ARPABET: dict[str, str] = {
    "aɪ": "AY",
    "aʊ": "AW",
    "ɔɪ": "OY",
    "eɪ": "EY",
    "oʊ": "OW",
    "əʊ": "OW",
    "tʃ": "CH",
    "dʒ": "JH",
    "ɑ": "AA",
    "a": "AA",
    "æ": "AE",
    "ʌ": "AH",
    "ə": "AH",
    "ɐ": "AH",
    "ɔ": "AO",
    "o": "OW",
    "ɛ": "EH",
    "e": "EH",
    "ɚ": "ER",
    "ɝ": "ER",
    "ɜ": "ER",
    "ɪ": "IH",
    "ᵻ": "IH",
    "i": "IY",
    "ʊ": "UH",
    "u": "UW",
    "p": "P",
    "b": "B",
    "t": "T",
    "d": "D",
    "ɾ": "D",
    "ʔ": "T",
    "k": "K",
    "ɡ": "G",
    "g": "G",
    "f": "F",
    "v": "V",
    "θ": "TH",
    "ð": "DH",
    "s": "S",
    "z": "Z",
    "ʃ": "SH",
    "ʒ": "ZH",
    "h": "HH",
    "x": "HH",
    "m": "M",
    "n": "N",
    "ŋ": "NG",
    "l": "L",
    "ɫ": "L",
    "ɹ": "R",
    "r": "R",
    "w": "W",
    "j": "Y",
}


def arpabet_for(word: str) -> str:
    """ARPAbet phones (space-separated) for ``word`` as espeak-ng says it in US English."""
    phonemizer, lock = _espeak()
    with lock:
        sentences = phonemizer.phonemize("en-us", word)
    phones = ipa_to_arpabet("".join("".join(sentence) for sentence in sentences))
    return " ".join(phones) or "AH"


def ipa_to_arpabet(ipa: str) -> list[str]:
    """Greedy longest match; stress, length, spaces and unknown marks are dropped."""
    phones, index = [], 0
    while index < len(ipa):
        pair = ipa[index : index + 2]
        if pair in IPA_TO_ARPABET:
            phones.append(IPA_TO_ARPABET[pair])
            index += 2
            continue
        if ipa[index] in IPA_TO_ARPABET:
            phones.append(IPA_TO_ARPABET[ipa[index]])
        index += 1
    return phones


@functools.lru_cache(maxsize=1)
def _espeak():
    from piper.phonemize_espeak import EspeakPhonemizer

    return EspeakPhonemizer(), threading.Lock()
