"""AvatarLab: a portrait and a script in, a talking-head video out, fast on a plain CPU.

>>> import avatarlab
>>> result = avatarlab.say("Welcome to the course.", output="welcome.mp4")  # doctest: +SKIP
>>> result.video_path, result.utterance.phones[0], result.track.n_frames  # doctest: +SKIP

``say`` speaks with the bundled neural voice; ``animate`` lip-syncs to a recording
(``recognize`` gives just its timeline); ``dub`` makes the person in a video say new
speech; ``stream`` yields sentence-sized chunks of audio and frames as soon as each is
ready (for live use); ``render_utterance`` animates speech you already have a timeline
for; ``load_avatar`` prepares a photo, or a clip of a person talking (whose own mouths,
teeth and motion are then used), once for many renders; ``list_voices`` shows the voices
on this machine. Names are imported lazily, so ``import avatarlab`` stays instant.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "say": "avatarlab.pipeline",
    "animate": "avatarlab.pipeline",
    "recognize": "avatarlab.align",
    "stream": "avatarlab.pipeline",
    "dub": "avatarlab.pipeline",
    "ClipAvatar": "avatarlab.clip",
    "render_utterance": "avatarlab.pipeline",
    "load_avatar": "avatarlab.pipeline",
    "Result": "avatarlab.pipeline",
    "Avatar": "avatarlab.pipeline",
    "Options": "avatarlab.options",
    "list_voices": "avatarlab.speech",
    "synthesize": "avatarlab.speech",
    "AvatarLabError": "avatarlab.errors",
    "Utterance": "avatarlab.types",
    "Phone": "avatarlab.types",
    "Track": "avatarlab.types",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'avatarlab' has no attribute {name!r}")
