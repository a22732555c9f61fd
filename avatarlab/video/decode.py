"""Reading media: what a file holds (``probe``), its frames, and its audio as mono float32.

Every failure becomes an AvatarLab error with a message about the file, never an FFmpeg
traceback: these functions read files that users hand us.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.stream import Disposition

from avatarlab.errors import AudioError, AvatarLabError, InputError


@dataclass(frozen=True)
class MediaInfo:
    """What ``probe`` found. Video fields are None without a video stream, audio ones
    without an audio stream. Durations are per stream, in seconds."""

    path: Path
    format: str
    """FFmpeg's demuxer name, e.g. 'mov,mp4,m4a,3gp,3g2,mj2' or 'matroska,webm'."""
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    n_frames: int | None = None
    duration: float | None = None
    video_codec: str | None = None
    pix_fmt: str | None = None
    audio_duration: float | None = None
    audio_codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None


def probe(path: str | os.PathLike[str]) -> MediaInfo:
    """Describe the first video and first audio stream of ``path``.

    Frame counts and durations come from the container's index where it has one (MP4) and
    otherwise from reading every packet (WebM/Matroska stores neither); packets are not
    decoded, so this stays fast.
    """
    path = Path(path)
    with _open(path, InputError) as container:
        video = _first(container.streams.video)
        audio = _first(container.streams.audio)
        spans = _packet_spans(container, video, audio) if _needs_scan(video, audio) else {}
        return MediaInfo(
            path=path,
            format=container.format.name,
            **_video_fields(video, spans),
            **_audio_fields(audio, spans),
        )


def read_frames(path: str | os.PathLike[str]) -> Iterator[np.ndarray]:
    """Yield the video's frames as H×W×3 uint8 RGB, one at a time (memory stays flat).

    The file is opened and checked now, so a missing or unreadable file fails at the call,
    not at the first ``next``.
    """
    path = Path(path)
    container = _open(path, InputError)
    stream = _first(container.streams.video)
    if stream is None:
        container.close()
        raise InputError(f"{path} has no video stream")
    stream.thread_type = "AUTO"
    return _frames(container, stream, path)


def _frames(container, stream, path: Path) -> Iterator[np.ndarray]:
    with container:
        frames = container.decode(stream)
        while True:
            with _damaged(path, InputError):
                frame = next(frames, None)
            if frame is None:
                return
            yield frame.to_ndarray(format="rgb24")


def read_audio(
    path: str | os.PathLike[str], sample_rate: int | None = None, *, stereo: bool = False
) -> tuple[np.ndarray, int]:
    """The first audio stream of ``path`` as mono float32 in [-1, 1], and its sample rate.

    ``sample_rate``: resample to this rate (None keeps the file's). Works for any format
    FFmpeg reads: wav, mp3, m4a/aac, ogg/opus/vorbis, flac, or the sound of a video.
    Channels are averaged (not summed), so a stereo file cannot clip. With ``stereo``, a
    file of two or more channels comes back as n×2 (surround mixed down to stereo) for
    putting back into a video as it was; a mono file stays mono.
    """
    path = Path(path)
    if sample_rate is not None and not 1000 <= sample_rate <= 384_000:
        raise AudioError(f"sample rate must be between 1000 and 384000 Hz, not {sample_rate}")
    with _open(path, AudioError) as container:
        stream = _first(container.streams.audio)
        if stream is None:
            raise AudioError(f"{path} has no audio stream")
        rate = sample_rate or stream.codec_context.sample_rate
        both = stereo and (stream.codec_context.channels or 1) >= 2
        chunks = _decode_audio(container, stream, rate, path, both)
        samples = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        samples = _trim_padding(samples, stream, rate)
    if samples.size == 0:
        raise AudioError(f"{path} holds no audio that could be decoded")
    return np.clip(samples, -1.0, 1.0), rate


def _decode_audio(
    container, stream, rate: int, path: Path, stereo: bool = False
) -> list[np.ndarray]:
    """Decode, resample (format and rate; layout to stereo if ``stereo``) and average the
    channels of every frame (or keep both, n×2, if ``stereo``).

    A new resampler starts whenever the decoded layout or rate changes, which some MP3s
    and broadcast recordings do mid-stream.
    """
    chunks: list[np.ndarray] = []
    resampler, setup = None, None
    frames = container.decode(stream)
    while True:
        with _damaged(path, AudioError):
            frame = next(frames, None)
        if frame is None or (frame.format.name, frame.layout.name, frame.sample_rate) != setup:
            if resampler is not None:
                chunks += _samples(resampler.resample(None), stereo)
            if frame is None:
                return chunks
            layout = "stereo" if stereo else None
            resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
            setup = (frame.format.name, frame.layout.name, frame.sample_rate)
        chunks += _samples(resampler.resample(frame), stereo)


def _trim_padding(samples: np.ndarray, stream, rate: int) -> np.ndarray:
    """Drop encoder padding past the end the container declares.

    AAC decodes whole 1024-sample frames, so an M4A/MP4 yields up to a frame of silence past
    its edit list's end. Only an excess under one codec frame is trimmed: a longer one means
    the declared duration is an estimate (VBR MP3) and the samples are real.
    """
    if stream.duration is None or stream.time_base is None:
        return samples
    expected = round(float(stream.duration * stream.time_base) * rate)
    ctx = stream.codec_context
    slack = round((ctx.frame_size or 1152) * rate / (ctx.sample_rate or rate)) + 64
    if expected < len(samples) <= expected + slack:
        return samples[:expected]
    return samples


def _samples(frames: list[av.AudioFrame], stereo: bool) -> list[np.ndarray]:
    if stereo:
        return [frame.to_ndarray().T.astype(np.float32) for frame in frames]
    return [frame.to_ndarray().mean(axis=0, dtype=np.float32) for frame in frames]


def _open(path: Path, error: type[AvatarLabError]):
    """Open for reading, or raise ``error`` saying why not."""
    if not path.exists():
        raise error(f"cannot read {path}: no such file")
    if path.is_dir():
        raise error(f"cannot read {path}: it is a folder")
    try:
        return av.open(str(path), "r")
    except PermissionError as exc:
        raise error(f"cannot read {path}: permission denied") from exc
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise error(f"cannot read {path}: not a media file FFmpeg recognises, or damaged") from exc


@contextmanager
def _damaged(path: Path, error: type[AvatarLabError]) -> Iterator[None]:
    """A decoding failure means the file is damaged: say so, without FFmpeg's traceback."""
    try:
        yield
    except (av.FFmpegError, OSError) as exc:
        raise error(f"cannot read {path}: the file is damaged ({exc})") from exc


def _first(streams):
    """The first real stream: cover art in an MP3 or M4A is a one-picture "video" stream."""
    for stream in streams:
        if not stream.disposition & Disposition.attached_pic:
            return stream
    return None


def _needs_scan(video, audio) -> bool:
    video_known = video is None or (video.frames > 0 and video.duration is not None)
    audio_known = audio is None or audio.duration is not None
    return not (video_known and audio_known)


def _packet_spans(container, video, audio) -> dict[int, tuple[int, float, float]]:
    """Per stream index: (packets, first time, end time) from reading every packet."""
    wanted = [s for s in (video, audio) if s is not None]
    spans: dict[int, list] = {s.index: [0, float("inf"), 0.0] for s in wanted}
    for packet in container.demux(wanted):
        if packet.pts is None or packet.size == 0:
            continue
        span = spans[packet.stream.index]
        start = float(packet.pts * packet.time_base)
        span[0] += 1
        span[1] = min(span[1], start)
        span[2] = max(span[2], start + float((packet.duration or 0) * packet.time_base))
    return {index: (n, first if n else 0.0, end) for index, (n, first, end) in spans.items()}


def _stream_duration(stream, spans) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if stream.index in spans:
        _, first, end = spans[stream.index]
        return max(0.0, end - first)
    return None


def _video_fields(stream, spans) -> dict:
    if stream is None:
        return {}
    ctx = stream.codec_context
    rate: Fraction | None = stream.average_rate or stream.guessed_rate
    n_frames = stream.frames or (spans[stream.index][0] if stream.index in spans else None)
    return dict(
        width=ctx.width,
        height=ctx.height,
        fps=float(rate) if rate else None,
        n_frames=n_frames,
        duration=_stream_duration(stream, spans),
        video_codec=ctx.name,
        pix_fmt=ctx.pix_fmt,
    )


def _audio_fields(stream, spans) -> dict:
    if stream is None:
        return {}
    ctx = stream.codec_context
    return dict(
        audio_duration=_stream_duration(stream, spans),
        audio_codec=ctx.name,
        sample_rate=ctx.sample_rate,
        channels=ctx.channels,
    )
