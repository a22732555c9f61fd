"""Encoding the finished video: H.264 + AAC in MP4, or VP9 + Opus in WebM.

Frames arrive one at a time from the renderer and go straight into the encoder, so memory does
not grow with the video's length. The file appears under its real name only when it is
complete: it is written to a hidden temporary file beside it and renamed into place, so a
crash, a full disk or Ctrl-C never leaves a half-written video for a browser or script to
pick up.

Sizes: H.264 and VP9 in 4:2:0 need even dimensions, so an odd last row or column is cropped
(one pixel at the edge of a portrait is invisible; refusing the render would not be).

Durations: with audio, the video has exactly ``round(audio seconds × fps)`` frames, so the
two tracks end within half a frame of each other. Missing frames at the end repeat the last
one; extra frames are not read (the generator is closed).
"""

from __future__ import annotations

import errno
import itertools
import math
import os
import queue
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import av
import cv2
import numpy as np

from avatarlab.errors import InputError, OutputError

FORMATS = ("mp4", "webm")
X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)
GOP_SECONDS = 2.0
"""A keyframe every 2 s: seeking in a browser lands at most 2 s early, at a small size cost."""

T = TypeVar("T")

_X264_TUNING = {"veryfast": (("x264-params", "subme=1:partitions=i8x8,i4x4"),)}
"""The default preset with sub-pixel refinement 1 instead of its 2, and no inter blocks
smaller than 16×8 (superfast's choice). On a talking head over a still background:
subme 1 loses 0.1 dB of PSNR for 4-5 % more bytes and takes a fifth less of x264's CPU
(2.0 against 2.5 ms a 512² frame); the partitions lose nothing measurable (39.30 dB
either way) for 1.6 % more bytes and take 5 % less of the encode's CPU (median of 10
alternating runs)."""

# libvpx-vp9 has no presets; these (deadline, cpu-used) pairs give roughly the same
# speed ladder. VP9's CRF scale is 0-63, about 1.6× x264's for a similar look.
_VP9_SPEED = {
    "ultrafast": ("realtime", 8),
    "superfast": ("realtime", 8),
    "veryfast": ("realtime", 7),
    "faster": ("good", 5),
    "fast": ("good", 4),
    "medium": ("good", 3),
    "slow": ("good", 2),
    "slower": ("good", 1),
    "veryslow": ("good", 0),
}


@dataclass(frozen=True)
class VideoInfo:
    """What was written."""

    path: Path
    width: int
    height: int
    fps: float
    n_frames: int
    duration: float
    """Video duration: ``n_frames / fps``."""
    audio_duration: float | None
    """Length of the audio given, in seconds; None for a silent video."""
    format: str


@dataclass(frozen=True)
class _Recipe:
    """Codecs and their settings for one container format."""

    format: str
    video_codec: str
    video_options: tuple[tuple[str, str], ...]
    audio_codec: str
    audio_bit_rate: int
    audio_options: tuple[tuple[str, str], ...]
    container_options: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _Job:
    """One write_video or write_parts call, checked."""

    path: Path
    recipe: _Recipe
    fps: float
    sample_rate: int
    progress: Callable[[int], None] | None


@dataclass(frozen=True)
class _Sound:
    """Samples for the audio track. In the media handed to the encoder, sound comes before
    the frames it plays under."""

    samples: np.ndarray


_Media = Iterator["np.ndarray | _Sound"]


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    *,
    fps: float,
    audio: np.ndarray | None,
    sample_rate: int,
    format: str | None = None,
    n_frames: int | None = None,
    progress: Callable[[int], None] | None = None,
    preset: str = "veryfast",
    crf: int = 20,
) -> VideoInfo:
    """Encode ``frames`` (H×W×3 uint8 RGB, read lazily) and ``audio`` into ``path``.

    ``format`` is 'mp4' or 'webm' (None: from the suffix). With audio, the frame count follows
    the audio (see the module notes) and ``n_frames``, if given, must agree with it within one
    frame; without audio, ``n_frames`` (if given) pads or trims the frames to that count.
    ``progress(frames_done)`` is called after each frame. ``preset`` and ``crf`` are x264's
    (mapped to the nearest VP9 settings for WebM). Exceptions from ``frames`` or ``progress``
    propagate unchanged, after the temporary file is removed.
    """
    path = Path(path)
    recipe = _recipe(resolve_format(path, format), preset, crf)
    fps = _check_fps(fps)
    samples = _check_audio(audio, sample_rate)
    target = _target_frames(samples, sample_rate, fps, n_frames)
    _check_folder(path)
    job = _Job(path=path, recipe=recipe, fps=fps, sample_rate=sample_rate, progress=progress)
    return _write(job, _whole(samples, frames, target))


def write_parts(
    path: str | os.PathLike[str],
    parts: Iterable[tuple[np.ndarray, Iterable[np.ndarray]]],
    *,
    fps: float,
    sample_rate: int,
    format: str | None = None,
    progress: Callable[[int], None] | None = None,
    preset: str = "veryfast",
    crf: int = 20,
    depth: int = 8,
) -> VideoInfo:
    """Encode speech that arrives in parts, each an ``(audio, frames)`` pair, as one video:
    the encoder starts on the first part while later ones are still being made (a voice
    speaking sentence by sentence).

    Each part's frames are trimmed, or padded with its last frame, to end where its audio
    ends (``frames_for`` of the samples so far), so the whole has the frame count
    ``write_video`` would give its joined audio. The parts and their frames are read on a
    background thread (see ``prefetch``), at most ``depth`` frames ahead of the encoder.
    The other arguments are ``write_video``'s.
    """
    path = Path(path)
    recipe = _recipe(resolve_format(path, format), preset, crf)
    fps = _check_fps(fps)
    _check_rate(sample_rate)
    _check_folder(path)
    job = _Job(path=path, recipe=recipe, fps=fps, sample_rate=sample_rate, progress=progress)
    return _write(job, prefetch(_parted(parts, sample_rate, fps), depth))


def frames_for(n_samples: int, sample_rate: int, fps: float) -> int:
    """The frames that ``n_samples`` of audio span: its length in whole frames, at least one."""
    return max(1, round(n_samples / sample_rate * fps))


def _write(job: _Job, media: _Media) -> VideoInfo:
    try:
        width, height, written, heard = _write_atomically(job, media)
    finally:
        _close(media)
    return VideoInfo(
        path=job.path,
        width=width,
        height=height,
        fps=job.fps,
        n_frames=written,
        duration=written / job.fps,
        audio_duration=None if heard is None else heard / job.sample_rate,
        format=job.recipe.format,
    )


def _whole(samples: np.ndarray | None, frames: Iterable[np.ndarray], target: int | None) -> _Media:
    if samples is not None:
        yield _Sound(samples)
    yield from _fitted(frames, target)


def _parted(
    parts: Iterable[tuple[np.ndarray, Iterable[np.ndarray]]], sample_rate: int, fps: float
) -> _Media:
    source = iter(parts)
    heard = shown = 0
    last = None
    try:
        for audio, frames in source:
            samples = _check_audio(audio, sample_rate)
            if samples is None:
                raise InputError("every part needs its audio")
            yield _Sound(samples)
            heard += len(samples)
            end = max(shown + 1, frames_for(heard, sample_rate, fps))
            for frame in _fitted(frames, end - shown, last):
                yield frame
                last = frame
            shown = end
    finally:
        _close(source)


def _fitted(
    frames: Iterable[np.ndarray], count: int | None, last: np.ndarray | None = None
) -> Iterator[np.ndarray]:
    """``frames`` trimmed to ``count``, or padded to it with their last frame (``last``, the
    one before them, if they have none); all of them when ``count`` is None. Frames past
    ``count`` are never drawn: the source is closed."""
    source = iter(frames)
    done = 0
    try:
        for last in itertools.islice(source, count):
            done += 1
            yield last
    finally:
        _close(source)
    while count is not None and last is not None and done < count:
        done += 1
        yield last


def resolve_format(path: str | os.PathLike[str], format: str | None = None) -> str:
    """The container format: ``format`` if given, else the file's suffix."""
    suffix = Path(path).suffix
    name = (format or suffix.lstrip(".")).lower()
    if name not in FORMATS:
        given = repr(format) if format else f"{suffix or 'without suffix'} ({path})"
        raise InputError(
            f"unsupported video format {given}: use one of {', '.join(FORMATS)}, e.g. out.mp4"
        )
    return name


def _recipe(fmt: str, preset: str, crf: int) -> _Recipe:
    if preset not in X264_PRESETS:
        raise InputError(f"unknown preset {preset!r}: use one of {', '.join(X264_PRESETS)}")
    if not 0 <= crf <= 51:
        raise InputError(f"crf must be between 0 (lossless) and 51 (worst), not {crf}")
    if fmt == "mp4":
        return _Recipe(
            format="mp4",
            video_codec="libx264",
            video_options=(("preset", preset), ("crf", str(crf)), *_X264_TUNING.get(preset, ())),
            audio_codec="aac",
            audio_bit_rate=96_000,
            # FFmpeg's own AAC: its "fast" coder takes half the CPU of "twoloop", this
            # build's default (0.10 s against 0.21 s for 21 s of the bundled voice), with
            # the same fidelity here (waveform SNR 31.9 dB against 31.4 dB).
            audio_options=(("aac_coder", "fast"),),
            # moov atom first, so a browser can start playing while downloading.
            container_options=(("movflags", "+faststart"),),
        )
    deadline, cpu_used = _VP9_SPEED[preset]
    return _Recipe(
        format="webm",
        video_codec="libvpx-vp9",
        video_options=(
            ("deadline", deadline),
            ("cpu-used", str(cpu_used)),
            ("row-mt", "1"),
            ("crf", str(min(63, round(crf * 1.6)))),
            ("b", "0"),
        ),
        audio_codec="libopus",
        audio_bit_rate=64_000,
        audio_options=(),
        container_options=(),
    )


def _check_fps(fps: float) -> float:
    try:
        value = float(fps)
    except (TypeError, ValueError):
        value = math.nan
    if not 1 <= value <= 240:  # also refuses NaN
        raise InputError(f"fps must be between 1 and 240, not {fps!r}")
    return value


def _check_audio(audio: np.ndarray | None, sample_rate: int) -> np.ndarray | None:
    """Mono (n) or stereo (n×2) float32 in [-1, 1], or None."""
    if audio is None:
        return None
    _check_rate(sample_rate)
    samples = np.asarray(audio)
    if samples.ndim == 2 and 1 in samples.shape:
        samples = samples.reshape(-1)
    stereo = samples.ndim == 2 and samples.shape[1] == 2
    if not (samples.ndim == 1 or stereo) or samples.size == 0:
        raise InputError(
            f"audio must be a non-empty mono (n) or stereo (n×2) array, not shape {samples.shape}"
        )
    return np.clip(samples.astype(np.float32, copy=False), -1.0, 1.0)


def _check_rate(sample_rate: int) -> None:
    if not isinstance(sample_rate, (int, np.integer)) or not 1000 <= sample_rate <= 384_000:
        raise InputError(f"sample rate must be between 1000 and 384000 Hz, not {sample_rate!r}")


def _target_frames(
    samples: np.ndarray | None, sample_rate: int, fps: float, n_frames: int | None
) -> int | None:
    """How many frames to write (None: as many as ``frames`` yields)."""
    if n_frames is not None and n_frames < 1:
        raise InputError(f"n_frames must be at least 1, not {n_frames}")
    if samples is None:
        return n_frames
    target = frames_for(len(samples), sample_rate, fps)
    if n_frames is not None and abs(n_frames - target) > 1:
        raise InputError(
            f"{n_frames} frames at {fps:g} fps do not match {len(samples) / sample_rate:.2f} s "
            f"of audio ({target} frames)"
        )
    return target


def _check_folder(path: Path) -> None:
    """Fail early, with a message that names the problem, before any rendering work."""
    folder = path.parent
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder")
    if not folder.exists():
        raise OutputError(f"cannot write {path}: folder {folder} does not exist")
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {path}: folder {folder} is not writable")


def _reserve_temp(path: Path) -> Path:
    """Create a hidden, unique file beside ``path`` with the same suffix.

    Opened with O_EXCL (no clash with a concurrent render) and the default permissions, so the
    renamed file is readable like any other new file (mkstemp's would be owner-only).
    """
    tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.part{path.suffix}")
    with _output_errors(path):
        with open(tmp, "xb"):
            pass
    return tmp


@contextmanager
def _output_errors(path: Path) -> Iterator[None]:
    """Turn OS and FFmpeg write failures into an OutputError naming ``path``."""
    try:
        yield
    except OSError as exc:  # av's errno-carrying errors subclass OSError too
        if exc.errno == errno.ENOSPC:
            raise OutputError(f"disk full: cannot write {path}") from exc
        reason = exc.strerror or str(exc)
        raise OutputError(f"cannot write {path}: {reason}") from exc
    except av.FFmpegError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _close(frames: Iterator[np.ndarray]) -> None:
    """Close a generator we stopped reading, so its resources (and threads) are freed."""
    close = getattr(frames, "close", None)
    if callable(close):
        close()


def _write_atomically(job: _Job, media: _Media) -> tuple[int, int, int, int | None]:
    """Encode into a hidden temporary file and rename it into place; on any failure
    (Ctrl-C included) remove it, so the folder is as it was."""
    tmp = _reserve_temp(job.path)
    try:
        result = _encode(job, tmp, media)
        with _output_errors(job.path):
            os.replace(tmp, job.path)
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise
    return result


def _encode(job: _Job, tmp: Path, media: _Media) -> tuple[int, int, int, int | None]:
    """Encode into ``tmp``; returns (width, height, frames written, audio samples or None)."""
    sounds, first = _opening(media)
    height, width = first.shape[0] & ~1, first.shape[1] & ~1
    options = dict(job.recipe.container_options)
    with _output_errors(job.path):
        container = av.open(str(tmp), "w", format=job.recipe.format, container_options=options)
    try:
        with _output_errors(job.path):
            video = _VideoTrack(container, job.recipe, job.fps, width, height)
            audio = None
            if sounds:
                channels = _channels(sounds[0].samples)
                audio = _AudioTrack(container, job.recipe, channels, job.sample_rate)
            container.start_encoding()
        written = 0
        for item in itertools.chain(sounds, [first], media):
            if isinstance(item, _Sound):
                audio.extend(item.samples)  # type: ignore[union-attr]: sound opens the media
                continue
            _check_frame(item, written, first.shape)
            with _output_errors(job.path):
                video.add(item)
                if audio is not None:
                    audio.keep_up((written + 1) / job.fps)
            written += 1
            if job.progress is not None:
                job.progress(written)
        with _output_errors(job.path):
            video.finish()
            if audio is not None:
                audio.finish()
            container.close()
    except BaseException:
        with suppress(Exception):
            container.close()
        raise
    return width, height, written, None if audio is None else audio.received


def _opening(media: _Media) -> tuple[list[_Sound], np.ndarray]:
    """The sound that comes before the first frame, and that frame, checked."""
    sounds = []
    for item in media:
        if isinstance(item, _Sound):
            sounds.append(item)
            continue
        _check_frame(item, 0)
        if item.shape[0] < 2 or item.shape[1] < 2:
            size = f"{item.shape[1]}×{item.shape[0]}"
            raise InputError(f"frames must be at least 2×2 pixels, not {size}")
        return sounds, item
    raise InputError("no frames to encode")


def _check_frame(frame: np.ndarray, index: int, shape: tuple[int, ...] | None = None) -> None:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim != 3:
        kind = getattr(frame, "dtype", type(frame).__name__)
        raise InputError(f"frame {index} must be an H×W×3 uint8 RGB array, not {kind}")
    if frame.shape[2] != 3 or (shape is not None and frame.shape != shape):
        expected = shape or "H×W×3"
        raise InputError(f"frame {index} has shape {frame.shape}, expected {expected}")


def _channels(samples: np.ndarray) -> int:
    return 1 if samples.ndim == 1 else 2


class _VideoTrack:
    """The video stream: RGB frames in, encoded packets muxed."""

    def __init__(self, container, recipe: _Recipe, fps: float, width: int, height: int):
        rate = Fraction(fps).limit_denominator(1001)
        stream = container.add_stream(recipe.video_codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        ctx = stream.codec_context
        ctx.time_base = 1 / rate
        ctx.gop_size = max(1, round(GOP_SECONDS * fps))
        ctx.thread_count = _encoder_threads()
        ctx.thread_type = "FRAME" if recipe.video_codec == "libx264" else "AUTO"
        # sRGB colours through BT.601's matrix (see ``yuv420``): tag it so players convert
        # back with the same matrix; the primaries and transfer are sRGB's, BT.709's.
        ctx.colorspace = 6  # SMPTE 170M, BT.601's matrix
        ctx.color_primaries = ctx.color_trc = 1  # BT.709
        ctx.color_range = 1  # limited ("TV") range, what every player expects
        stream.options = dict(recipe.video_options)
        self._container, self._stream = container, stream
        self._width, self._height = width, height
        self._pts = 0

    def add(self, rgb: np.ndarray) -> None:
        if rgb.shape[0] != self._height or rgb.shape[1] != self._width:
            rgb = rgb[: self._height, : self._width]
        frame = yuv420(rgb)
        frame.pts = self._pts
        self._pts += 1
        self._container.mux(self._stream.encode(frame))

    def finish(self) -> None:
        self._container.mux(self._stream.encode(None))


_LIMITED = np.round(128 + (np.arange(256) - 128) * 224 / 255).astype(np.uint8)
"""Full-range chroma (0-255 around 128) to limited range (16-240)."""


def yuv420(rgb: np.ndarray) -> av.VideoFrame:
    """An RGB frame (even height and width) as a planar YUV 4:2:0 video frame, BT.601
    limited range.

    OpenCV's vectorised conversions take a third of the CPU swscale's RGB path does here
    (0.3 ms against 0.74 ms a 512² frame); they know BT.601's matrix, so the video is
    tagged with it. OpenCV's own 4:2:0 output picks one pixel's colour in four, which
    fringes sharp coloured edges, so its luma is kept and the chroma is taken from the
    frame shrunk to half size, the mean of each 2×2 block, as swscale does.

    The planes are copied into the frame by numpy, which lets go of the GIL while it
    copies (``VideoFrame.from_ndarray`` holds it): the renderer's thread draws on
    meanwhile."""
    height, width = rgb.shape[:2]
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
    half = cv2.resize(rgb, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    chroma = cv2.LUT(cv2.cvtColor(half, cv2.COLOR_RGB2YCrCb), _LIMITED)
    frame = av.VideoFrame(width, height, "yuv420p")
    planes = (i420[:height], chroma[..., 2], chroma[..., 1])
    for plane, values in zip(frame.planes, planes, strict=True):
        rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        np.copyto(rows[: values.shape[0], : values.shape[1]], values)
    return frame


def _encoder_threads() -> int:
    """Every core but one: frames come from a renderer that keeps one core busy (see
    ``prefetch``), and x264's frame threads on that core only slow it down. Measured on 2
    cores, 512² at 25 fps: render + encode at 278-290 fps with one x264 thread, 232-247
    with x264's own choice (three threads), the file the same size."""
    return max(1, usable_cores() - 1)


def usable_cores() -> int:
    """The cores this process may run on (its affinity, where the system has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


class _AudioTrack:
    """The audio stream, fed in step with the video so the file is interleaved.

    Interleaving matters for progressive playback: a browser reading the MP4 front to back
    gets sound and picture together instead of all the audio first. Samples arrive by
    ``extend``, all at once or part by part ahead of their frames.
    """

    def __init__(self, container, recipe: _Recipe, channels: int, sample_rate: int):
        # AAC takes the common rates as they are; Opus is always 48 kHz inside.
        native = recipe.format == "mp4" and sample_rate in av.Codec("aac", "w").audio_rates
        rate = sample_rate if native else 48_000
        self._channels = channels
        self._layout = "mono" if channels == 1 else "stereo"
        stream = container.add_stream(recipe.audio_codec, rate=rate)
        stream.layout = self._layout
        stream.bit_rate = recipe.audio_bit_rate * channels
        stream.options = dict(recipe.audio_options)
        self._container, self._stream = container, stream
        self._rate_in = sample_rate
        self._resampler: av.AudioResampler | None = None
        self._waiting: list[np.ndarray] = []  # received, not yet fed
        self.received = 0  # input samples received
        self._fed = 0  # input samples consumed
        self._pts = 0  # output samples encoded
        self._ahead = 0.0  # seconds of sound fed so far (or asked for, where it ran out)

    def extend(self, samples: np.ndarray) -> None:
        if _channels(samples) != self._channels:
            raise InputError("the parts' audio must all be mono or all be stereo")
        self._waiting.append(samples)
        self.received += len(samples)

    def keep_up(self, seconds: float) -> None:
        """Have the sound at least ``seconds`` in, fed a step (``AUDIO_STEP``) ahead."""
        if seconds > self._ahead:
            self._ahead = seconds + AUDIO_STEP
            self.feed_until(self._ahead)

    def feed_until(self, seconds: float) -> None:
        end = self.received
        if seconds * self._rate_in < end:
            end = round(seconds * self._rate_in)
        if end > self._fed:
            self._push(self._take(end - self._fed))
            self._fed = end

    def _take(self, count: int) -> np.ndarray:
        """The next ``count`` waiting samples (no more than are waiting)."""
        pieces = []
        while count > 0:
            head = self._waiting[0]
            pieces.append(head[:count])
            if len(head) <= count:
                self._waiting.pop(0)
            else:
                self._waiting[0] = head[count:]
            count -= len(pieces[-1])
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)

    def finish(self) -> None:
        self.feed_until(math.inf)
        self._encode(self._resampler_for().resample(None))
        self._container.mux(self._stream.encode(None))

    def _push(self, chunk: np.ndarray) -> None:
        planar = np.ascontiguousarray(chunk.reshape(len(chunk), -1).T)
        frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout=self._layout)
        frame.sample_rate = self._rate_in
        frame.pts = None
        self._encode(self._resampler_for().resample(frame))

    def _resampler_for(self) -> av.AudioResampler:
        """Created once the codec is open, when its frame size is known."""
        if self._resampler is None:
            ctx = self._stream.codec_context
            self._resampler = av.AudioResampler(
                format=ctx.format,
                layout=self._layout,
                rate=ctx.sample_rate,
                frame_size=ctx.frame_size or None,
            )
        return self._resampler

    def _encode(self, frames: list[av.AudioFrame]) -> None:
        for frame in frames:
            frame.pts = self._pts
            frame.time_base = Fraction(1, self._stream.codec_context.sample_rate)
            self._pts += frame.samples
            self._container.mux(self._stream.encode(frame))


AUDIO_STEP = 0.5
"""Seconds of sound fed to its encoder at a time. Each feed is a few calls into FFmpeg,
each giving up the GIL and then waiting to get it back from the renderer's thread: fed
every frame, render + encode ran at 229-239 fps, fed every half second at 247-258 (the
same run). Half a second of interleaving is nothing to a browser."""


_END = object()


def prefetch(frames: Iterable[T], depth: int = 8) -> Iterator[T]:
    """Produce ``frames`` in a background thread, up to ``depth`` items ahead of the reader.

    Why: rendering (numpy, OpenCV) and encoding (swscale, x264's own threads) release the
    GIL, so on two cores the next frames are drawn while the current ones are encoded.
    The producer must yield a new array each time, not refill one buffer: queued frames
    are still waiting to be read.

    The thread starts at the first ``next``. An exception in the producer is raised here,
    after the items it yielded before failing. When the reader stops early (exception,
    ``break``, ``close``, Ctrl-C) the producer is stopped, its generator closed and the
    thread joined, so no work continues in the background.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, not {depth}")
    return _consume(frames, depth)


def _consume(frames: Iterable[T], depth: int) -> Iterator[T]:
    items: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    thread = threading.Thread(
        target=_produce, args=(frames, items, stop), name="avatarlab-prefetch", daemon=True
    )
    thread.start()
    try:
        while True:
            item, error = items.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


def _produce(frames: Iterable[object], items: queue.Queue, stop: threading.Event) -> None:
    try:
        source = iter(frames)
        try:
            for item in source:
                if not _put(items, (item, None), stop):
                    return
        finally:
            _close(source)
    except BaseException as exc:  # handed to the reader, who re-raises it
        _put(items, (_END, exc), stop)
    else:
        _put(items, (_END, None), stop)


def _put(
    items: queue.Queue, item: tuple[object, BaseException | None], stop: threading.Event
) -> bool:
    """Put, waiting while the queue is full, unless the reader has gone; False if it has."""
    while not stop.is_set():
        try:
            items.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False
