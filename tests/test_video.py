"""The video stage: encoding round trips, atomic output, errors, audio reading, prefetch."""

from __future__ import annotations

import errno
import threading
import wave
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from avatarlab.errors import AudioError, InputError, OutputError
from avatarlab.video import (
    encode,
    frames_for,
    prefetch,
    probe,
    read_audio,
    read_frames,
    write_parts,
    write_video,
)

FPS = 25
SR = 22050
BITS = 8  # frame number drawn as 8 black/white squares along the top edge
CELL = 8


def tone(seconds: float, rate: int = SR, freq: float = 440.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.4 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def frame(index: int, height: int = 96, width: int = 128) -> np.ndarray:
    """A smooth moving gradient with ``index`` written in binary squares."""
    y, x = np.mgrid[:height, :width].astype(np.float32)
    phase = 2 * np.pi * (x / width + index / 50)
    rgb = np.stack(
        [128 + 90 * np.sin(phase), 128 + 90 * np.cos(2 * np.pi * y / height), 100 + 0 * x], -1
    )
    for bit in range(BITS):
        value = 230 if index >> bit & 1 else 25
        rgb[:CELL, bit * CELL : (bit + 1) * CELL] = value
    return rgb.astype(np.uint8)


def frames(n: int, **size: int) -> Iterator[np.ndarray]:
    return (frame(i, **size) for i in range(n))


def frame_number(rgb: np.ndarray) -> int:
    centres = rgb[CELL // 2, CELL // 2 :: CELL][:BITS].mean(axis=1)
    return sum(1 << bit for bit, value in enumerate(centres) if value > 128)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    ("fmt", "video_codec", "audio_codec"), [("mp4", "h264", "aac"), ("webm", "vp9", "opus")]
)
def test_round_trip(tmp_path: Path, fmt: str, video_codec: str, audio_codec: str) -> None:
    audio = tone(1.9)
    done: list[int] = []
    out = tmp_path / f"talk.{fmt}"
    info = write_video(
        out, frames(48), fps=FPS, audio=audio, sample_rate=SR, n_frames=48, progress=done.append
    )
    assert info.n_frames == 48 and (info.width, info.height) == (128, 96)
    assert done == list(range(1, 49))
    assert leftovers(tmp_path) == [out.name]

    media = probe(out)
    assert (media.video_codec, media.audio_codec, media.pix_fmt) == (
        video_codec,
        audio_codec,
        "yuv420p",
    )
    assert (media.width, media.height, media.n_frames, media.fps) == (128, 96, 48, FPS)
    assert abs(media.duration - media.audio_duration) <= 1 / FPS
    assert abs(media.audio_duration - len(audio) / SR) <= 1 / FPS

    decoded = list(read_frames(out))
    assert [frame_number(d) for d in decoded] == list(range(48))
    errors = [np.abs(d.astype(int) - frame(i)).mean() for i, d in enumerate(decoded)]
    assert max(errors) < 6

    sound, rate = read_audio(out, SR)
    assert rate == SR and abs(len(sound) - len(audio)) <= SR / FPS
    n = min(len(sound), len(audio))
    assert np.corrcoef(sound[:n], audio[:n])[0, 1] > 0.99  # same samples at the same times


def top_level_boxes(path: Path) -> list[str]:
    data, boxes, at = path.read_bytes(), [], 0
    while at + 8 <= len(data):
        boxes.append(data[at + 4 : at + 8].decode("latin-1"))
        at += int.from_bytes(data[at : at + 4], "big")
    return boxes


def test_mp4_index_comes_first_for_streaming(tmp_path: Path) -> None:
    out = tmp_path / "fast.mp4"
    write_video(out, frames(10), fps=FPS, audio=tone(0.4), sample_rate=SR)
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")


def test_odd_size_is_cropped_to_even(tmp_path: Path) -> None:
    out = tmp_path / "odd.mp4"
    info = write_video(out, frames(5, height=61, width=83), fps=FPS, audio=None, sample_rate=SR)
    assert (info.width, info.height) == (82, 60)
    media = probe(out)
    assert (media.width, media.height, media.n_frames) == (82, 60, 5)
    assert media.audio_codec is None
    first = next(read_frames(out))
    assert np.abs(first.astype(int) - frame(0, 61, 83)[:60, :82]).mean() < 6


def test_frames_follow_the_audio_length(tmp_path: Path) -> None:
    closed = threading.Event()

    def too_many() -> Iterator[np.ndarray]:
        try:
            yield from frames(40)
        finally:
            closed.set()

    audio = tone(1.0)
    long = write_video(tmp_path / "a.mp4", too_many(), fps=FPS, audio=audio, sample_rate=SR)
    short = write_video(tmp_path / "b.mp4", frames(20), fps=FPS, audio=audio, sample_rate=SR)
    assert long.n_frames == short.n_frames == probe(tmp_path / "b.mp4").n_frames == 25
    assert closed.is_set()  # the extra frames were never rendered
    last = list(read_frames(tmp_path / "b.mp4"))[-1]
    assert frame_number(last) == 19  # padded by repeating the last frame


def test_frame_count_far_from_audio_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="do not match"):
        write_video(
            tmp_path / "x.mp4", frames(5), fps=FPS, audio=tone(1.0), sample_rate=SR, n_frames=50
        )
    assert leftovers(tmp_path) == []


def test_overwrites_existing_file(tmp_path: Path) -> None:
    out = tmp_path / "same.mp4"
    write_video(out, frames(3), fps=FPS, audio=None, sample_rate=SR)
    write_video(out, frames(7), fps=FPS, audio=None, sample_rate=SR)
    assert probe(out).n_frames == 7 and leftovers(tmp_path) == ["same.mp4"]


@pytest.mark.parametrize(("name", "fmt"), [("out.avi", None), ("out.mp4", "mkv"), ("out", None)])
def test_unknown_format(tmp_path: Path, name: str, fmt: str | None) -> None:
    with pytest.raises(InputError, match="mp4, webm"):
        write_video(tmp_path / name, frames(2), fps=FPS, audio=None, sample_rate=SR, format=fmt)


def test_format_argument_overrides_suffix(tmp_path: Path) -> None:
    out = tmp_path / "clip.bin"
    write_video(out, frames(3), fps=FPS, audio=None, sample_rate=SR, format="webm")
    assert probe(out).video_codec == "vp9"


def test_missing_folder(tmp_path: Path) -> None:
    out = tmp_path / "nope" / "out.mp4"
    with pytest.raises(OutputError, match=r"folder .*nope does not exist"):
        write_video(out, frames(2), fps=FPS, audio=None, sample_rate=SR)


def test_folder_that_is_a_file(tmp_path: Path) -> None:
    # chmod cannot stop root; a regular file where the folder should be always fails.
    (tmp_path / "file.txt").write_text("not a folder")
    with pytest.raises(OutputError, match="cannot write .*file.txt"):
        write_video(
            tmp_path / "file.txt" / "out.mp4", frames(2), fps=FPS, audio=None, sample_rate=SR
        )
    assert leftovers(tmp_path) == ["file.txt"]


@pytest.mark.parametrize("error", [RuntimeError("renderer broke"), KeyboardInterrupt()])
def test_failing_frames_leave_nothing(tmp_path: Path, error: BaseException) -> None:
    def broken() -> Iterator[np.ndarray]:
        yield from frames(10)
        raise error

    with pytest.raises(type(error)):
        write_video(tmp_path / "out.mp4", broken(), fps=FPS, audio=tone(1.0), sample_rate=SR)
    assert leftovers(tmp_path) == []


def test_disk_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add = encode._VideoTrack.add
    calls = iter(range(1000))

    def add_until_full(self: encode._VideoTrack, rgb: np.ndarray) -> None:
        if next(calls) == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        add(self, rgb)

    monkeypatch.setattr(encode._VideoTrack, "add", add_until_full)
    with pytest.raises(OutputError, match="disk full"):
        write_video(tmp_path / "out.mp4", frames(10), fps=FPS, audio=None, sample_rate=SR)
    assert leftovers(tmp_path) == []


def test_bad_frames(tmp_path: Path) -> None:
    mixed = iter([frame(0), frame(1, height=50)])
    with pytest.raises(InputError, match="frame 1 has shape"):
        write_video(tmp_path / "out.mp4", mixed, fps=FPS, audio=None, sample_rate=SR)
    with pytest.raises(InputError, match="uint8"):
        write_video(
            tmp_path / "out.mp4", iter([frame(0) / 255.0]), fps=FPS, audio=None, sample_rate=SR
        )
    with pytest.raises(InputError, match="no frames"):
        write_video(tmp_path / "out.mp4", iter([]), fps=FPS, audio=None, sample_rate=SR)
    assert leftovers(tmp_path) == []


def test_parts_play_as_one_video_with_each_parts_frames_where_its_audio_is(
    tmp_path: Path,
) -> None:
    """Sentences of 0.5, 0.3 and 0.7 s, given too many, too few and the right frames: each
    part is fitted to end where its audio ends, and the whole matches write_video's."""
    lengths = [0.5, 0.3, 0.7]
    sounds = [tone(seconds, freq=300 + 200 * k) for k, seconds in enumerate(lengths)]
    given = [20, 3, 18]
    numbers = iter(range(1000))
    parts = [
        (sound, [frame(next(numbers)) for _ in range(n)])
        for sound, n in zip(sounds, given, strict=True)
    ]
    done: list[int] = []
    out = tmp_path / "parts.mp4"
    info = write_parts(out, iter(parts), fps=FPS, sample_rate=SR, progress=done.append)
    whole = np.concatenate(sounds)
    assert info.n_frames == frames_for(len(whole), SR, FPS) == 38 == probe(out).n_frames
    assert info.audio_duration == len(whole) / SR and done == list(range(1, 39))
    shown = [frame_number(d) for d in read_frames(out)]
    # Part 1 ends at frame 12 (12 of its 20), part 2 at 20 (its 3, padded by its last),
    # part 3 at 38 (all 18).
    assert shown == list(range(12)) + [20, 21, 22, 22, 22, 22, 22, 22] + list(range(23, 41))
    joined = tmp_path / "joined.mp4"
    write_video(joined, (frame(0) for _ in range(38)), fps=FPS, audio=whole, sample_rate=SR)
    assert np.array_equal(read_audio(out, SR)[0], read_audio(joined, SR)[0])
    assert leftovers(tmp_path) == sorted([out.name, joined.name])


def test_parts_refuse_a_part_without_sound_or_with_other_channels(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="every part needs its audio"):
        write_parts(tmp_path / "a.mp4", [(None, frames(5))], fps=FPS, sample_rate=SR)
    stereo = np.stack([tone(0.2), tone(0.2)], axis=1)
    mixed = [(tone(0.2), frames(5)), (stereo, frames(5))]
    with pytest.raises(InputError, match="all be mono or all be stereo"):
        write_parts(tmp_path / "b.mp4", mixed, fps=FPS, sample_rate=SR)
    with pytest.raises(InputError, match="sample rate"):
        write_parts(tmp_path / "c.mp4", [], fps=FPS, sample_rate=7)
    with pytest.raises(InputError, match="no frames"):
        write_parts(tmp_path / "d.mp4", [], fps=FPS, sample_rate=SR)
    assert leftovers(tmp_path) == []


def test_a_failing_part_leaves_nothing_and_stops_the_parts(tmp_path: Path) -> None:
    closed = threading.Event()

    def parts() -> Iterator[tuple[np.ndarray, Iterator[np.ndarray]]]:
        try:
            yield tone(0.4), frames(10)
            raise RuntimeError("the voice broke")
        finally:
            closed.set()

    with pytest.raises(RuntimeError, match="the voice broke"):
        write_parts(tmp_path / "out.mp4", parts(), fps=FPS, sample_rate=SR)
    assert closed.is_set() and leftovers(tmp_path) == []


def write_audio(path: Path, codec: str, samples: np.ndarray, rate: int) -> None:
    """Encode mono ``samples`` with PyAV (the tests make their own mp3/ogg/flac)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        container.start_encoding()
        ctx = stream.codec_context
        resampler = av.AudioResampler(ctx.format, "mono", rate, ctx.frame_size or None)
        source = av.AudioFrame.from_ndarray(samples[None], format="flt", layout="mono")
        source.sample_rate = rate
        pts = 0
        for chunk in resampler.resample(source) + resampler.resample(None):
            chunk.pts, pts = pts, pts + chunk.samples
            container.mux(stream.encode(chunk))
        container.mux(stream.encode(None))


def test_read_audio_wav(tmp_path: Path) -> None:
    stereo = (np.stack([tone(0.5, 16000), tone(0.5, 16000, 300)], 1) * 32767).astype("<i2")
    with wave.open(str(tmp_path / "a.wav"), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(stereo.tobytes())
    sound, rate = read_audio(tmp_path / "a.wav")
    assert (rate, len(sound), sound.dtype) == (16000, 8000, np.float32)
    assert np.allclose(sound, stereo.mean(axis=1) / 32768, atol=1e-3)
    resampled, rate = read_audio(tmp_path / "a.wav", 24000)
    assert rate == 24000 and abs(len(resampled) - 12000) <= 2


@pytest.mark.parametrize(
    ("name", "codec", "rate"),
    [("a.mp3", "libmp3lame", 22050), ("a.ogg", "libopus", 48000), ("a.flac", "flac", 44100)],
)
def test_read_audio_formats(tmp_path: Path, name: str, codec: str, rate: int) -> None:
    samples = tone(0.8, rate)
    write_audio(tmp_path / name, codec, samples, rate)
    sound, got = read_audio(tmp_path / name)
    assert got == rate
    assert abs(len(sound) - len(samples)) <= 0.03 * rate  # codec padding at most
    sound, got = read_audio(tmp_path / name, 16000)
    assert got == 16000 and abs(len(sound) - 0.8 * 16000) <= 0.03 * 16000


def test_read_audio_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp3"
    junk.write_bytes(np.random.default_rng(0).bytes(20_000))
    with pytest.raises(AudioError, match="junk.mp3: not a media file"):
        read_audio(junk)
    with pytest.raises(AudioError, match="no such file"):
        read_audio(tmp_path / "missing.wav")
    silent = tmp_path / "silent.mp4"
    write_video(silent, frames(2), fps=FPS, audio=None, sample_rate=SR)
    with pytest.raises(AudioError, match="no audio stream"):
        read_audio(silent)


def test_read_frames_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_frames(tmp_path / "missing.mp4")  # fails at the call, not at the first frame
    (tmp_path / "junk.mp4").write_bytes(b"\0" * 1000)
    with pytest.raises(InputError, match="not a media file"):
        probe(tmp_path / "junk.mp4")


def prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "avatarlab-prefetch"]


def test_prefetch_keeps_order_and_propagates_errors() -> None:
    def producer() -> Iterator[int]:
        yield from range(20)
        raise ValueError("render failed")

    got: list[int] = []
    with pytest.raises(ValueError, match="render failed"):
        for item in prefetch(producer(), depth=3):
            got.append(item)
    assert got == list(range(20))
    assert prefetch_threads() == []


def test_prefetch_stops_producer_when_reader_stops() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    items = prefetch(endless(), depth=2)
    assert [next(items) for _ in range(5)] == [0, 1, 2, 3, 4]
    items.close()
    assert closed.is_set() and prefetch_threads() == []


def test_prefetch_feeds_write_video(tmp_path: Path) -> None:
    info = write_video(
        tmp_path / "p.mp4", prefetch(frames(30)), fps=FPS, audio=tone(1.2), sample_rate=SR
    )
    assert info.n_frames == 30 and prefetch_threads() == []
