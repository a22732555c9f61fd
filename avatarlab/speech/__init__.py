"""The speech stage: text in, audio out, with when each phone, word and pause is heard.

Piper (VITS, ONNX, CPU) speaks; its per-symbol alignments give the phone timeline the face
follows. ``synthesize`` for a whole text, ``synthesize_sentences`` to stream sentence by sentence,
``load_voice`` / ``list_voices`` for the bundled voice and those in ``AVATARLAB_VOICES``.
"""

from avatarlab.speech.synthesis import (
    DEFAULT_MAX_CHARS,
    FASTEST,
    SLOWEST,
    join_utterances,
    synthesize,
    synthesize_sentences,
)
from avatarlab.speech.voices import VOICES_ENV, Voice, VoiceInfo, list_voices, load_voice

__all__ = [
    "DEFAULT_MAX_CHARS",
    "FASTEST",
    "SLOWEST",
    "VOICES_ENV",
    "Voice",
    "VoiceInfo",
    "join_utterances",
    "list_voices",
    "load_voice",
    "synthesize",
    "synthesize_sentences",
]
