"""Phones → visemes → mouth shapes.

Visemes are the 15 classes of Meta's (Oculus) lipsync: sil PP FF TH DD kk CH SS nn RR aa E
ih oh ou. Two tables map phones to them: Piper's IPA and pocketsphinx's ARPAbet (recorded
speech), so both sources drive the same mouth. Each viseme has a mouth target
and a dominance: how strongly it holds its shape against its neighbours when speech is fast
(Cohen and Massaro's coarticulation model). Lip closure for p/b/m and the lip tuck for f/v
are also enforced as hard constraints in ``lipsync``; the dominance only shapes the approach.
"""

from __future__ import annotations

from dataclasses import dataclass

VISEMES = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "ih", "oh", "ou")


@dataclass(frozen=True)
class MouthShape:
    """A viseme's target, in the units of ``Track``'s mouth fields."""

    mouth_open: float
    jaw: float
    width: float
    tuck: float = 0.0
    tongue: float = 0.0
    dominance: float = 1.0


SHAPES: dict[str, MouthShape] = {
    "sil": MouthShape(0.0, 0.0, 0.0, dominance=0.6),
    "PP": MouthShape(0.0, 0.08, 0.0, dominance=2.5),
    "FF": MouthShape(0.08, 0.12, 0.15, tuck=1.0, dominance=2.0),
    "TH": MouthShape(0.22, 0.18, 0.15, tongue=1.0, dominance=2.0),
    "DD": MouthShape(0.25, 0.22, 0.15, dominance=0.8),
    "kk": MouthShape(0.32, 0.3, 0.05, dominance=0.6),
    "CH": MouthShape(0.2, 0.15, -0.55, dominance=2.5),
    "SS": MouthShape(0.12, 0.1, 0.45, dominance=1.5),
    "nn": MouthShape(0.22, 0.2, 0.1, tongue=0.4, dominance=0.8),
    "RR": MouthShape(0.25, 0.2, -0.45, dominance=1.5),
    "aa": MouthShape(0.95, 0.85, 0.1, dominance=1.2),
    "E": MouthShape(0.6, 0.5, 0.4, dominance=1.0),
    "ih": MouthShape(0.4, 0.32, 0.65, dominance=1.0),
    "oh": MouthShape(0.7, 0.6, -0.6, dominance=1.2),
    "ou": MouthShape(0.35, 0.28, -1.0, dominance=1.6),
}

# Piper (espeak-ng, en-US) IPA → viseme. Vowels written as two symbols (diphthongs such as
# "aɪ", "oʊ") arrive as separate phones, so each half gets its own viseme and the mouth glides.
IPA_TO_VISEME: dict[str, str] = {
    **dict.fromkeys("pbm", "PP"),
    **dict.fromkeys(["f", "v"], "FF"),
    **dict.fromkeys(["θ", "ð"], "TH"),
    **dict.fromkeys(["t", "d", "ɾ", "ʔ", "n̩"], "DD"),
    **dict.fromkeys(["k", "ɡ", "g", "ŋ", "x", "h"], "kk"),
    **dict.fromkeys(["ʃ", "ʒ", "tʃ", "dʒ", "ʧ", "ʤ"], "CH"),
    **dict.fromkeys(["s", "z"], "SS"),
    **dict.fromkeys(["n", "l", "ɫ", "l̩"], "nn"),
    **dict.fromkeys(["ɹ", "r", "ɚ", "ɝ", "ɻ"], "RR"),
    **dict.fromkeys(["a", "ɑ", "æ", "ɐ", "ʌ", "ɒ"], "aa"),
    **dict.fromkeys(["ɛ", "e", "ə", "ɜ", "ᵻ"], "E"),
    **dict.fromkeys(["ɪ", "i", "j", "ɨ"], "ih"),
    **dict.fromkeys(["o", "ɔ"], "oh"),
    **dict.fromkeys(["u", "ʊ", "w", "ʉ", "ʍ"], "ou"),
}

# pocketsphinx (CMU dictionary, en-US) ARPAbet → viseme. Diphthongs come as one phone here
# and take the viseme of their first, longer half; SIL and noise phones are silence.
ARPABET_TO_VISEME: dict[str, str] = {
    **dict.fromkeys(["P", "B", "M"], "PP"),
    **dict.fromkeys(["F", "V"], "FF"),
    **dict.fromkeys(["TH", "DH"], "TH"),
    **dict.fromkeys(["T", "D"], "DD"),
    **dict.fromkeys(["K", "G", "NG", "HH"], "kk"),
    **dict.fromkeys(["CH", "JH", "SH", "ZH"], "CH"),
    **dict.fromkeys(["S", "Z"], "SS"),
    **dict.fromkeys(["N", "L"], "nn"),
    **dict.fromkeys(["R", "ER"], "RR"),
    **dict.fromkeys(["AA", "AE", "AH", "AY", "AW"], "aa"),
    **dict.fromkeys(["EH", "EY"], "E"),
    **dict.fromkeys(["IH", "IY", "Y"], "ih"),
    **dict.fromkeys(["AO", "OW", "OY"], "oh"),
    **dict.fromkeys(["UH", "UW", "W"], "ou"),
    **dict.fromkeys(["SIL", "+NSN+", "+SPN+", "+BREATH+", "+NOISE+"], "sil"),
}

# Unknown symbols (another language's voice, rare espeak output) take a neutral, half-open
# shape rather than closing the mouth in the middle of speech.
FALLBACK_VISEME = "E"

VOWEL_VISEMES = frozenset({"aa", "E", "ih", "oh", "ou"})


def viseme_for(symbol: str) -> str:
    """The viseme of one phone symbol: a viseme name itself, IPA (Piper) or ARPAbet
    (pocketsphinx). The alphabets do not collide: ARPAbet is upper-case ASCII, and where it
    spells a viseme's name (CH, TH) the sounds agree."""
    if symbol in SHAPES:
        return symbol
    return IPA_TO_VISEME.get(symbol) or ARPABET_TO_VISEME.get(symbol, FALLBACK_VISEME)
