"""Export formats by name, and the files written beside a video (``talk.srt`` for
``talk.mp4``), so the CLI, the HTTP API and library callers offer the same formats."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import InputError
from ..files import write_text_atomic
from ..options import SUBTITLE_FORMATS, VISEME_FORMATS
from ..types import Utterance
from .subtitles import to_srt, to_webvtt
from .visemes import to_rhubarb_tsv, to_viseme_json

_RENDERERS: dict[str, Callable[[Utterance], str]] = {
    "srt": to_srt,
    "vtt": to_webvtt,
    "json": to_viseme_json,
    "rhubarb-tsv": to_rhubarb_tsv,
}
_SUFFIXES = {"srt": ".srt", "vtt": ".vtt", "json": ".visemes.json", "rhubarb-tsv": ".visemes.tsv"}


def render_export(utterance: Utterance, fmt: str) -> str:
    """The text of one export format (any of ``SUBTITLE_FORMATS`` or ``VISEME_FORMATS``)."""
    _check_format(fmt, (*SUBTITLE_FORMATS, *VISEME_FORMATS), "export")
    if fmt in SUBTITLE_FORMATS and not any(word.text.strip() for word in utterance.words):
        raise InputError(
            f"Cannot make {fmt} subtitles: the speech has no words to subtitle (its timeline "
            "has phones only). Give the text that is spoken, or ask for visemes instead."
        )
    return _RENDERERS[fmt](utterance)


def sidecar_path(video_path: str | os.PathLike[str], fmt: str) -> Path:
    """Where a format's file goes beside the video: talk.mp4 → talk.srt, talk.visemes.json."""
    video = Path(video_path)
    return video.with_name(video.stem + _SUFFIXES[fmt])


def write_sidecars(
    video_path: str | os.PathLike[str],
    utterance: Utterance,
    subtitles: Iterable[str] | str = (),
    visemes: Iterable[str] | str = (),
) -> list[Path]:
    """Write the requested subtitle and viseme files beside ``video_path``; their paths.

    Every format is checked and rendered before anything is written, so a bad request writes
    nothing; each file is replaced atomically (OutputError if the folder is not writable).
    """
    subtitles, visemes = _names(subtitles), _names(visemes)
    for fmt in subtitles:
        _check_format(fmt, SUBTITLE_FORMATS, "subtitle")
    for fmt in visemes:
        _check_format(fmt, VISEME_FORMATS, "viseme")
    texts = {fmt: render_export(utterance, fmt) for fmt in (*subtitles, *visemes)}
    return [write_text_atomic(sidecar_path(video_path, fmt), text) for fmt, text in texts.items()]


def _names(formats: Iterable[str] | str) -> list[str]:
    """The format names once each, in order; a single name may be given as a string."""
    return list(dict.fromkeys([formats] if isinstance(formats, str) else formats))


def _check_format(fmt: str, known: tuple[str, ...], kind: str) -> None:
    if fmt not in known:
        raise InputError(f"Unknown {kind} format {fmt!r}: use one of {', '.join(known)}.")
