"""Every user-facing setting, defined once.

The CLI's flags (and later the HTTP API's fields) are generated from these dataclasses, so a
default or a help text is changed in exactly one place. Each result carries the options that
made it.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, replace
from typing import Any

from .errors import InputError
from .video.encode import FORMATS

LIPSYNC_METHODS = ("auto", "phones", "energy")
"""How recorded speech is read (see ``avatarlab.align``)."""
SUBTITLE_FORMATS = ("srt", "vtt")
VISEME_FORMATS = ("json", "rhubarb-tsv")
"""Timing exports (see ``avatarlab.exports``), offered alike by the CLI, the API and Python."""
FITS = ("pad", "cut", "loop")
"""How ``dub`` matches speech to the video: the video's length, speech shorter than it
followed by silence, longer refused ("pad") or cut at the video's end ("cut"); or the
video played on, back and forth, for as long as the speech lasts ("loop")."""


def _option(default: Any, help: str, **limits: Any) -> Any:
    """A setting with its help text and limits; ``speech="text"`` or ``"recorded"`` marks
    one that only applies to synthesized or to recorded speech."""
    return field(default=default, metadata={"help": help, **limits})


@dataclass(frozen=True)
class Options:
    voice: str | None = _option(
        None,
        "Piper voice: a path to an .onnx file, or a name in $AVATARLAB_VOICES "
        "(default: the bundled en_US 'joe' voice)",
        speech="text",
    )
    speed: float = _option(
        1.0, "speaking rate: 1.1 is 10% faster", low=0.5, high=2.0, speech="text"
    )
    size: int = _option(
        512, "side of the square video around the face, in pixels", low=128, high=2048
    )
    full_frame: bool = _option(False, "render the whole photo instead of a square around the face")
    fps: float = _option(25.0, "video frame rate", low=10.0, high=60.0)
    format: str | None = _option(
        None,
        "mp4 (H.264+AAC) or webm (VP9+Opus); default: from the output name, else mp4",
        choices=FORMATS,
    )
    seed: int = _option(0, "seed for blinks, glances and head motion: same seed, same video")
    varied_voice: bool = _option(
        False,
        "let the voice vary its timing between runs (Piper's "
        "own randomness) instead of the same audio every time",
        speech="text",
    )
    head_motion: float = _option(
        1.0, "scale of head movement: 0 keeps the head still", low=0.0, high=2.0
    )
    articulation: float = _option(
        1.0, "scale of mouth opening: below 1 mumbles, above 1 over-articulates", low=0.3, high=1.6
    )

    original_audio: float = _option(
        0.0,
        "video avatars: volume of the clip's own sound mixed under the speech (0 replaces it)",
        low=0.0,
        high=1.0,
    )
    max_clip_seconds: float = _option(
        120.0,
        "video avatars: longest clip accepted, in seconds",
        low=2.0,
        high=600.0,
        server=False,
    )

    captions: bool = _option(False, "burn the words into the video as captions")
    lipsync: str = _option(
        "auto",
        "how recorded speech moves the mouth: auto (the transcript aligned, else phones "
        "recognized, else loudness), phones, or energy (loudness: any language)",
        choices=LIPSYNC_METHODS,
        speech="recorded",
    )
    max_audio_seconds: float = _option(
        600.0,
        "longest recording accepted, in seconds",
        low=1.0,
        high=3600.0,
        speech="recorded",
        server=False,
    )

    def validated(self) -> Options:
        """Check every limit; raise InputError naming the option and its allowed range."""
        for spec in fields(self):
            value, meta = getattr(self, spec.name), spec.metadata
            if "low" in meta and not (meta["low"] <= value <= meta["high"]):
                raise InputError(
                    f"{spec.name} must be between {meta['low']} and {meta['high']}, got {value}"
                )
            if "choices" in meta and value is not None and value not in meta["choices"]:
                raise InputError(
                    f"{spec.name} must be one of {', '.join(meta['choices'])}, got {value!r}"
                )
        if self.size % 2:
            raise InputError(f"size must be even (video encoders need it), got {self.size}")
        return self

    def updated(self, **changes: Any) -> Options:
        """A copy with the given settings; ``None`` values mean "leave as it is"."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise InputError(f"unknown option(s): {', '.join(sorted(unknown))}")
        return replace(self, **{k: v for k, v in changes.items() if v is not None}).validated()


def option_specs() -> list[tuple[str, type, Any, dict[str, Any]]]:
    """(name, type, default, metadata) of every option, for building CLIs and forms."""
    hints = {"str | None": str, "str": str, "float": float, "int": int, "bool": bool}
    specs = []
    for spec in fields(Options):
        default = spec.default if spec.default is not MISSING else None
        specs.append((spec.name, hints[str(spec.type)], default, dict(spec.metadata)))
    return specs
