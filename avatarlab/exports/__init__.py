"""Timing data out of any utterance, synthesized or recovered from a recording: subtitles
(SRT, WebVTT with word timing), viseme tracks (JSON, Rhubarb Lip Sync TSV), the files
written beside a video, and captions burned into its frames.

>>> from avatarlab.exports import render_export, write_sidecars
>>> print(render_export(utterance, "srt"))  # doctest: +SKIP
>>> write_sidecars("talk.mp4", utterance, subtitles=["vtt"], visemes=["json"])  # doctest: +SKIP
"""

from .captions import caption_frames
from .sidecars import (
    SUBTITLE_FORMATS,
    VISEME_FORMATS,
    render_export,
    sidecar_path,
    write_sidecars,
)
from .subtitles import Cue, subtitle_cues, to_srt, to_webvtt
from .visemes import RHUBARB_SHAPES, VisemeCue, to_rhubarb_tsv, to_viseme_json, viseme_cues

__all__ = [
    "RHUBARB_SHAPES",
    "SUBTITLE_FORMATS",
    "VISEME_FORMATS",
    "Cue",
    "VisemeCue",
    "caption_frames",
    "render_export",
    "sidecar_path",
    "subtitle_cues",
    "to_rhubarb_tsv",
    "to_srt",
    "to_viseme_json",
    "to_webvtt",
    "viseme_cues",
    "write_sidecars",
]
