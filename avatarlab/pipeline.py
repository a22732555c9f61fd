"""The stages joined up: text (or speech) + portrait → video file.

Each stage is a pure function of its inputs; this module only wires them, reports progress
and keeps the two expensive loads (a voice, an avatar's rig) cached.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import numpy as np

from .clip import VIDEO_SUFFIXES, ClipAvatar, build_clip_avatar, read_clip
from .errors import AudioError, InputError, OutputError
from .face import crop_portrait, default_avatar, find_face, load_image
from .motion import MotionOptions, join_tracks, make_track
from .motion.idle import IdleOptions
from .motion.lipsync import LipsyncOptions
from .options import FITS, Options
from .render import Rig, build_rig, render_frames
from .speech import join_utterances, synthesize, synthesize_sentences
from .types import Portrait, Track, Utterance
from .video import (
    VideoInfo,
    frames_for,
    prefetch,
    probe,
    read_audio,
    resolve_format,
    write_parts,
    write_video,
)

Progress = Callable[[str, int, int], None]
"""Called as progress(stage, done, total); stages: "voice", "face", "render"."""

DEFAULT_AVATAR = "astronaut"
T = TypeVar("T")


@dataclass(frozen=True)
class Avatar:
    """A portrait found, cropped and rigged: everything per-face that frames reuse."""

    portrait: Portrait
    rig: Rig
    source: str

    @property
    def notes(self) -> tuple[str, ...]:
        return self.portrait.notes

    def frames(self, track: Track, first_frame: int = 0) -> Iterator[np.ndarray]:
        """The rendered frames for ``track`` (``first_frame`` matters only to clips)."""
        return render_frames(self.rig, track)


AnyAvatar = Avatar | ClipAvatar
"""A photo or a clip: both give ``frames(track)``, ``portrait``, ``notes``, ``source``."""


@dataclass(frozen=True)
class Result:
    video: VideoInfo
    utterance: Utterance
    track: Track
    avatar: AnyAvatar
    options: Options
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent per stage: speech or align, face, motion, render (with encoding). In
    ``say`` the speech runs alongside the render, so the stages add up to more than the
    time it took."""
    lipsync: str = "voice"
    """Where the phones came from: the voice's own timeline, or for recorded speech
    ``alignment``, ``recognition`` or ``energy`` (see ``avatarlab.align``)."""
    speech_notes: tuple[str, ...] = ()

    @property
    def notes(self) -> tuple[str, ...]:
        """Things the user should know: which face was used, why a method was skipped."""
        return self.avatar.notes + self.speech_notes

    @property
    def video_path(self) -> Path:
        return Path(self.video.path)


def load_avatar(
    avatar: str | Path | np.ndarray | None = None,
    *,
    size: int = 512,
    full_frame: bool = False,
    fps: float | None = 25.0,
    max_clip_seconds: float = 120.0,
    progress: Progress | None = None,
) -> AnyAvatar:
    """Find the face in a photo (a path, an RGB array, or None for the bundled astronaut)
    or a video clip (.mp4, .mov, .webm, .mkv, .m4v, .avi) and prepare it for animation.

    >>> me = load_avatar("me.mp4")  # doctest: +SKIP
    >>> say("Welcome to week two.", me, output="week2.mp4")  # doctest: +SKIP

    Photos are cached in memory and clips on disk (see ``avatarlab.clip.cache_root``), so
    using one again is instant. A clip is read at ``fps`` (None: its own rate), must last
    2 s to ``max_clip_seconds``; ``progress`` hears ("clip", frames done, total) while one
    is read the first time."""
    if isinstance(avatar, np.ndarray):
        return _build_avatar(avatar, "array", size, full_frame)
    if avatar is not None and Path(avatar).suffix.lower() in VIDEO_SUFFIXES:
        clip = read_clip(
            avatar,
            size=size,
            full_frame=full_frame,
            fps=fps,
            max_seconds=max_clip_seconds,
            progress=progress,
        )
        return build_clip_avatar(clip)
    source = DEFAULT_AVATAR if avatar in (None, DEFAULT_AVATAR) else str(Path(avatar).resolve())
    stamp = _file_stamp(source)
    return _cached_avatar(source, stamp, size, full_frame)


def _file_stamp(source: str) -> tuple[float, int]:
    """Modification time and size: a changed file is a different avatar."""
    path = Path(source)
    if source == DEFAULT_AVATAR or not path.is_file():
        return (0.0, 0)
    stat = path.stat()
    return (stat.st_mtime, stat.st_size)


@functools.lru_cache(maxsize=16)
def _cached_avatar(source: str, stamp: tuple[float, int], size: int, full_frame: bool) -> Avatar:
    image = default_avatar() if source == DEFAULT_AVATAR else load_image(source)
    return _build_avatar(image, source, size, full_frame)


def _build_avatar(image: np.ndarray, source: str, size: int, full_frame: bool) -> Avatar:
    names = {DEFAULT_AVATAR: "the bundled portrait", "array": "the picture"}
    name = names.get(source, Path(source).name)
    portrait = crop_portrait(find_face(image, source=name), size=size, full_frame=full_frame)
    return Avatar(portrait=portrait, rig=build_rig(portrait), source=source)


def _loaded(
    avatar: str | Path | np.ndarray | AnyAvatar | None,
    options: Options,
    progress: Progress | None = None,
) -> AnyAvatar:
    if isinstance(avatar, (Avatar, ClipAvatar)):
        return avatar
    return load_avatar(
        avatar,
        size=options.size,
        full_frame=options.full_frame,
        fps=options.fps,
        max_clip_seconds=options.max_clip_seconds,
        progress=progress,
    )


def clip_sound(avatar: ClipAvatar, sample_rate: int) -> np.ndarray:
    """The clip's own sound, mono at ``sample_rate``, to mix under new speech."""
    if not avatar.clip.has_audio:
        raise InputError(f"{Path(avatar.source).name} has no sound to mix under the speech")
    return read_audio(avatar.source, sample_rate)[0]


def mixed_under(
    soundtrack: np.ndarray, original: np.ndarray, volume: float, start: int = 0
) -> np.ndarray:
    """The speech with ``original`` (the clip's sound) under it at ``volume``, from sample
    ``start`` of it on, for as long as the clip plays forwards (its sound is not looped)."""
    under = np.zeros(len(soundtrack), np.float32)
    piece = original[start : start + len(soundtrack)]
    under[: len(piece)] = volume * piece
    if soundtrack.ndim == 2:
        under = under[:, None]
    return np.clip(soundtrack + under, -1.0, 1.0).astype(np.float32)


def default_output(options: Options, folder: Path | None = None) -> Path:
    """avatarlab-<date>-<time>.<format> in the current folder."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return (folder or Path.cwd()) / f"avatarlab-{stamp}.{options.format or 'mp4'}"


def motion_options(options: Options) -> MotionOptions:
    return MotionOptions(
        fps=options.fps,
        seed=options.seed,
        lipsync=LipsyncOptions(articulation=options.articulation),
        idle=IdleOptions(head_motion=options.head_motion),
    )


def say(
    text: str,
    avatar: str | Path | np.ndarray | AnyAvatar | None = None,
    *,
    output: str | Path | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
    **settings,
) -> Result:
    """Render ``avatar`` saying ``text`` to a video file.

    >>> result = say("Welcome to the course.", output="welcome.mp4", speed=1.1)  # doctest: +SKIP
    >>> result.video_path, result.utterance.phones[:2]  # doctest: +SKIP

    Any field of ``Options`` can be given as a keyword (``voice=``, ``size=``, ``seed=`` ...).
    The voice speaks sentence by sentence on a thread of its own while the frames of the
    sentences it has spoken are drawn and encoded (as ``stream`` does, into one file), so
    ``timings["speech"]`` overlaps ``timings["render"]``.
    """
    options = (options or Options()).updated(**settings)
    sentences = synthesize_sentences(
        text, options.voice, speed=options.speed, deterministic=not options.varied_voice
    )
    timings: dict[str, float] = {}
    mark = time.perf_counter()
    avatar = _loaded(avatar, options, progress)
    timings["face"] = time.perf_counter() - mark
    path = Path(output) if output else default_output(options)
    fmt = resolve_format(path, options.format)
    spoken = prefetch(_timed(sentences, timings, "speech"), depth=SENTENCES_AHEAD)
    try:
        mark = time.perf_counter()
        first = next(spoken)
        chunks: list[Chunk] = []
        expected = _FrameEstimate(text)
        parts = _parts(itertools.chain([first], spoken), avatar, options, chunks, expected)
        report = (lambda done: progress("render", done, expected.frames)) if progress else None
        video = write_parts(
            path,
            parts,
            fps=options.fps,
            sample_rate=first.sample_rate,
            format=fmt,
            progress=report,
        )
        timings["render"] = time.perf_counter() - mark
    finally:
        spoken.close()
    if progress:
        progress("render", video.n_frames, video.n_frames)
    return Result(
        video=video,
        utterance=join_utterances([chunk.utterance for chunk in chunks], text),
        track=join_tracks([chunk.track for chunk in chunks]),
        avatar=avatar,
        options=options,
        timings=timings,
    )


SENTENCES_AHEAD = 64
"""How far the voice may run ahead of the frames, in sentences (the audio is small)."""


def _timed(items: Iterator[T], timings: dict[str, float], stage: str) -> Iterator[T]:
    """``items``, adding the time spent making each to ``timings[stage]``."""
    timings[stage] = 0.0
    while True:
        mark = time.perf_counter()
        item = next(items, None)
        timings[stage] += time.perf_counter() - mark
        if item is None:
            return
        yield item


class _FrameEstimate:
    """The frames a script will take, guessed from the frames per character of the
    sentences spoken so far: the voice is still reading the rest while frames are written."""

    def __init__(self, text: str):
        self._characters = max(1, sum(not c.isspace() for c in text))
        self._spoken = 0
        self.frames = 1

    def spoken(self, utterance: Utterance, frames_so_far: int) -> None:
        self._spoken += sum(not c.isspace() for c in utterance.text)
        share = min(1.0, self._spoken / self._characters) or 1.0
        self.frames = max(frames_so_far, round(frames_so_far / share))


def _parts(
    sentences: Iterator[Utterance],
    avatar: AnyAvatar,
    options: Options,
    chunks: list[Chunk],
    expected: _FrameEstimate,
) -> Iterator[tuple[np.ndarray, Iterator[np.ndarray]]]:
    """(audio, frames) for each sentence, as ``write_parts`` takes them; each chunk is kept
    in ``chunks`` for the result."""
    original = None
    for chunk in _chunks(sentences, avatar, options):
        chunks.append(chunk)
        if original is None:
            original = _sound_under(avatar, options, chunk.utterance.sample_rate)
        expected.spoken(chunk.utterance, chunk.first_frame + chunk.n_frames)
        audio, frames = chunk.utterance.audio, chunk.frames
        if original is not None:
            start = round(chunk.start * chunk.utterance.sample_rate)
            audio = mixed_under(audio, original, options.original_audio, start)
        if options.captions:
            frames = _captioned(frames, chunk.utterance, options.fps)
        yield audio, frames


def _sound_under(avatar: AnyAvatar, options: Options, sample_rate: int) -> np.ndarray | None:
    """The clip's sound to mix under the speech, when the options ask for it."""
    if isinstance(avatar, ClipAvatar) and options.original_audio > 0:
        return clip_sound(avatar, sample_rate)
    return None


def render_utterance(
    utterance: Utterance,
    avatar: str | Path | np.ndarray | AnyAvatar | None = None,
    *,
    output: str | Path | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
    timings: dict[str, float] | None = None,
    soundtrack: np.ndarray | None = None,
) -> Result:
    """Animate a face to speech that already has its phone timeline (from ``synthesize``,
    from an aligner, or built by hand) and write the video. ``soundtrack`` is the sound
    to put in the video when it is not the utterance's own mono audio: a recording's
    original channels (n×2), at the utterance's sample rate and length."""
    options = (options or Options()).validated()
    timings = dict(timings or {})
    mark = time.perf_counter()
    avatar = _loaded(avatar, options, progress)
    timings["face"] = time.perf_counter() - mark
    mark = time.perf_counter()
    track = make_track(utterance, motion_options(options))
    timings["motion"] = time.perf_counter() - mark
    path = Path(output) if output else default_output(options)
    fmt = resolve_format(path, options.format)
    if soundtrack is None:
        soundtrack = utterance.audio
    original = _sound_under(avatar, options, utterance.sample_rate)
    if original is not None:
        soundtrack = mixed_under(soundtrack, original, options.original_audio)
    frames = avatar.frames(track)
    if options.captions:
        frames = _captioned(frames, utterance, options.fps)
    mark = time.perf_counter()
    report = (lambda done: progress("render", done, track.n_frames)) if progress else None
    video = write_video(
        path,
        prefetch(frames),
        fps=options.fps,
        audio=soundtrack,
        sample_rate=utterance.sample_rate,
        format=fmt,
        n_frames=track.n_frames,
        progress=report,
    )
    timings["render"] = time.perf_counter() - mark
    if not Path(video.path).exists():
        raise OutputError(f"the video was not written to {path}")
    return Result(
        video=video,
        utterance=utterance,
        track=track,
        avatar=avatar,
        options=options,
        timings=timings,
    )


def animate(
    audio: str | Path | np.ndarray,
    avatar: str | Path | np.ndarray | AnyAvatar | None = None,
    *,
    text: str | None = None,
    sample_rate: int | None = None,
    output: str | Path | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
    **settings,
) -> Result:
    """Render ``avatar`` speaking a recording: a file in any common format (or the sound of
    a video), or mono samples with their ``sample_rate``.

    >>> result = animate("voiceover.mp3", "me.jpg", text="the exact words")  # doctest: +SKIP
    >>> result.lipsync, result.notes  # doctest: +SKIP

    ``text``, when given, is aligned to the audio for the best timing; without it the phones
    are recognized, and speech the recognizer cannot follow moves the mouth by its loudness.
    """
    from .align import recognize

    options = (options or Options()).updated(**settings)
    started = time.perf_counter()
    soundtrack, rate = load_recording(audio, sample_rate, options.max_audio_seconds)
    if progress:
        progress("align", 0, 1)
    alignment = recognize(
        soundtrack, rate, text, method=options.lipsync, max_seconds=options.max_audio_seconds
    )
    timings = {"align": time.perf_counter() - started}
    result = render_utterance(
        alignment.utterance,
        avatar,
        output=output,
        options=options,
        progress=progress,
        timings=timings,
        soundtrack=soundtrack,
    )
    return replace(result, lipsync=alignment.method, speech_notes=alignment.notes)


def dub(
    video: str | Path,
    audio: str | Path | np.ndarray | None = None,
    *,
    text: str | None = None,
    sample_rate: int | None = None,
    output: str | Path | None = None,
    fit: str = "pad",
    options: Options | None = None,
    progress: Progress | None = None,
    **settings,
) -> Result:
    """The person in ``video`` saying new speech: a recording (``audio``; ``text``, when
    given, is its words), or ``text`` alone in the voice. The video keeps its own frame,
    rate and length (see ``FITS``); its sound is replaced (``original_audio`` mixes it under).

    >>> dub("interview.mp4", "new_line.wav", output="dubbed.mp4")  # doctest: +SKIP
    >>> dub("interview.mp4", text="What I meant to say.", fit="loop")  # doctest: +SKIP
    """
    options = (options or Options()).updated(**settings)
    if fit not in FITS:
        raise InputError(f"fit must be one of {', '.join(FITS)}, got {fit!r}")
    if audio is None and not (text and text.strip()):
        raise InputError("nothing to say: give the new speech (audio) or the words (text)")
    video = Path(video)
    if video.suffix.lower() not in VIDEO_SUFFIXES:
        raise InputError(
            f"{video.name} is not a video: dub takes {', '.join(sorted(VIDEO_SUFFIXES))}"
        )
    if output is not None and Path(output).resolve() == video.resolve():
        raise InputError("the dubbed video cannot overwrite its source: choose another output")
    info = probe(video)
    fps = min(float(info.fps or options.fps), 60.0)
    options = replace(options, fps=max(fps, 10.0), full_frame=True).validated()
    started = time.perf_counter()
    avatar = _loaded(video, options, progress)
    timings = {"face": time.perf_counter() - started}
    started = time.perf_counter()
    if audio is None:
        utterance = synthesize(
            text, options.voice, speed=options.speed, deterministic=not options.varied_voice
        )
        soundtrack, method, notes = utterance.audio, "voice", ()
        timings["speech"] = time.perf_counter() - started
    else:
        from .align import recognize

        soundtrack, rate = load_recording(audio, sample_rate, options.max_audio_seconds)
        alignment = recognize(
            soundtrack, rate, text, method=options.lipsync, max_seconds=options.max_audio_seconds
        )
        utterance, method, notes = alignment.utterance, alignment.method, alignment.notes
        timings["align"] = time.perf_counter() - started
    utterance, soundtrack = fitted(utterance, soundtrack, avatar.clip.duration, fit, video.name)
    result = render_utterance(
        utterance,
        avatar,
        output=output,
        options=options,
        progress=progress,
        timings=timings,
        soundtrack=soundtrack,
    )
    return replace(result, lipsync=method, speech_notes=notes)


def fitted(
    utterance: Utterance, soundtrack: np.ndarray, length: float, fit: str, name: str
) -> tuple[Utterance, np.ndarray]:
    """Speech matched to a video ``length`` seconds long, as ``fit`` says (see ``FITS``)."""
    rate = utterance.sample_rate
    samples = round(length * rate)
    if len(soundtrack) > samples + rate // 50:
        if fit == "pad":
            raise InputError(
                f"the speech lasts {len(soundtrack) / rate:.1f} s and {name} {length:.1f} s: "
                "cut the speech at the video's end (fit 'cut'), or play the video on "
                "back and forth (fit 'loop')"
            )
        if fit == "loop":
            return utterance, soundtrack
    if len(soundtrack) >= samples:
        return _cut(utterance, samples), soundtrack[:samples]
    padding = [(0, samples - len(soundtrack))] + [(0, 0)] * (soundtrack.ndim - 1)
    audio = np.pad(utterance.audio, (0, samples - len(utterance.audio)))
    return replace(utterance, audio=audio), np.pad(soundtrack, padding)


def _cut(utterance: Utterance, samples: int) -> Utterance:
    end = samples / utterance.sample_rate
    return replace(
        utterance,
        audio=utterance.audio[:samples],
        phones=tuple(replace(p, end=min(p.end, end)) for p in utterance.phones if p.start < end),
        words=tuple(replace(w, end=min(w.end, end)) for w in utterance.words if w.start < end),
        pauses=tuple(t for t in utterance.pauses if t < end),
    )


def load_recording(
    audio: str | Path | np.ndarray, sample_rate: int | None, max_seconds: float
) -> tuple[np.ndarray, int]:
    """A recording's samples (n, or n×2 for stereo) and rate; a file over the limit is
    refused from its header, before it is decoded."""
    from .align import check_length

    if isinstance(audio, np.ndarray):
        if not sample_rate:
            raise InputError("give the sample_rate of the audio samples")
        return audio, sample_rate
    path = Path(audio)
    length = probe(path).audio_duration
    if length is None:
        raise AudioError(f"{path} has no audio stream")
    check_length(length, max_seconds, path.name)
    return read_audio(path, stereo=True)


def _captioned(frames: Iterator[np.ndarray], utterance: Utterance, fps: float):
    from .exports.captions import caption_frames
    from .exports.subtitles import subtitle_cues

    if not utterance.words:
        raise InputError("captions need the words: give the transcript (--text)")
    return caption_frames(frames, subtitle_cues(utterance), fps)


@dataclass(frozen=True)
class Chunk:
    """One sentence of a stream: its speech and its frames, ready to play or send."""

    index: int
    start: float
    """Seconds from the start of the whole speech to this chunk's first sample."""
    utterance: Utterance
    """This sentence only; its times are relative to ``start``."""
    track: Track
    """What the face does on each of this chunk's frames."""
    frames: Iterator[np.ndarray]
    """Rendered lazily: read them before asking for the next chunk."""
    first_frame: int
    """This chunk's first frame within the whole."""
    n_frames: int
    fps: float


def stream(
    text: str,
    avatar: str | Path | np.ndarray | AnyAvatar | None = None,
    *,
    options: Options | None = None,
    **settings,
) -> Iterator[Chunk]:
    """Speak ``text`` sentence by sentence, yielding each one's audio and frames as soon as
    it is synthesized: the first frames come after one sentence, not the whole script.

    >>> for chunk in stream("Hello there. How are you today?"):  # doctest: +SKIP
    ...     player.play(chunk.utterance.audio, list(chunk.frames))

    Frame counts follow the audio's running length, so the chunks add up to exactly the
    frames of the whole; head drift flows on across chunks (see ``make_track``).
    """
    options = (options or Options()).updated(**settings)
    avatar = _loaded(avatar, options)
    sentences = synthesize_sentences(
        text, options.voice, speed=options.speed, deterministic=not options.varied_voice
    )
    yield from _chunks(sentences, avatar, options)


def _chunks(sentences: Iterable[Utterance], avatar: AnyAvatar, options: Options) -> Iterator[Chunk]:
    """A chunk per sentence: its frames end where its audio ends (``frames_for`` the audio
    so far, as ``write_parts`` fits them), and its track carries the motion on."""
    motion = motion_options(options)
    samples, frames_done = 0, 0
    for index, utterance in enumerate(sentences):
        start = samples / utterance.sample_rate
        samples += len(utterance.audio)
        frames_end = max(frames_done + 1, frames_for(samples, utterance.sample_rate, options.fps))
        n_frames = frames_end - frames_done
        track = make_track(
            utterance,
            motion,
            start=frames_done / options.fps,
            part=index,
            n_frames=n_frames,
            heard_from=start,
        )
        yield Chunk(
            index=index,
            start=start,
            utterance=utterance,
            track=track,
            frames=avatar.frames(track, first_frame=frames_done),
            first_frame=frames_done,
            n_frames=n_frames,
            fps=options.fps,
        )
        frames_done = frames_end
