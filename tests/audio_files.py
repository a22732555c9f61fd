"""Speech written to audio files the way users bring them: several codecs and containers."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

CODECS = {
    "wav": ("pcm_s16le", None),
    "mp3": ("mp3", None),
    "m4a": ("aac", None),
    "ogg": ("libopus", 48_000),
    "flac": ("flac", None),
    "mp4": ("aac", None),
}
"""Suffix → (encoder, the sample rate it needs, if it insists on one)."""


def write_audio(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Encode float samples (n, or n×2 for stereo) into ``path``; the suffix picks the
    codec. An .mp4 also gets a small video track, as a screen recording or a phone clip
    would have."""
    codec, needed_rate = CODECS[path.suffix[1:]]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=needed_rate or rate)
        layout = "mono" if samples.ndim == 1 else "stereo"
        stream.layout = layout
        picture = _video_stream(container) if path.suffix == ".mp4" else None
        planar = np.ascontiguousarray(samples.reshape(len(samples), -1).T, dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout=layout)
        frame.rate = rate
        # A first timestamp lets the encoder mark its start-up padding (AAC's 1024 priming
        # samples) as such, so the container says to skip it, as real files do.
        frame.pts, frame.time_base = 0, Fraction(1, rate)
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        if picture is not None:
            _write_video(container, picture, len(samples) / rate)
    return path


def _video_stream(container):
    stream = container.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
    return stream


def _write_video(container, stream, seconds: float) -> None:
    gray = np.full((64, 64, 3), 128, np.uint8)
    for _ in range(max(1, round(seconds * 25))):
        for packet in stream.encode(av.VideoFrame.from_ndarray(gray, format="rgb24")):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
