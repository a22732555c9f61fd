"""Recorded speech (+ an optional transcript) → ``Utterance``: the align stage.

The same timeline the voice gives for synthesized speech, recovered from a recording with
pocketsphinx's bundled US-English model, or from the sound's loudness when recognition
cannot follow (another language, noise, singing).
"""

from .recognize import METHODS, Alignment, check_length, recognize

__all__ = ["METHODS", "Alignment", "check_length", "recognize"]
