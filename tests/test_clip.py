"""Video avatars and dubbing, judged on what the output shows.

The talking clip is the shared gallery's d10 (a woman talking, teeth showing, 512², 30 fps,
15 s) where the gallery exists (it does in CI), otherwise a clip of the bundled portrait
talking.
Error paths and the timeline use short clips these tests make.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from conftest import BILABIAL_SCRIPT

import avatarlab
from avatarlab.cli import main
from avatarlab.clip.choose import RIG
from avatarlab.clip.place import FEATHER, alignment, lower_face, transform
from avatarlab.clip.read import resampled, upright
from avatarlab.errors import InputError, NoFaceError
from avatarlab.face import detect_landmarks
from avatarlab.face.geometry import face_frame, face_parts, lip_gap
from avatarlab.inspect.artifacts import (
    MAX_FOREIGN_SHARE,
    MAX_LIP_LIKE_SHARE,
    MAX_NEW_EDGES,
    MAX_SKIN_CHANGE,
    edge_repeat,
    skin_figures,
    skin_reference,
)
from avatarlab.inspect.figures import audio_to_mouth_lag
from avatarlab.inspect.measures import measure_video
from avatarlab.measure import frames_at, lipsync_figures
from avatarlab.render import render_frame
from avatarlab.types import FacePose, Track
from avatarlab.video import probe, read_frames, write_video

LABIODENTAL_SCRIPT = "Five fine vans of fresh fish. Very few of us favour heavy velvet."
GALLERY_CLIP = Path(__file__).resolve().parents[1].parent / "shared/gallery/videos/d10.mp4"


@pytest.fixture(scope="module", autouse=True)
def clip_cache(tmp_path_factory):
    """Clips are cached in a folder of this test run, not the user's."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("cache")
        patch.setenv("AVATARLAB_CACHE", str(folder))
        yield folder


def write_clip(path: Path, frames, fps: float = 25.0, audio: np.ndarray | None = None) -> Path:
    frames = list(frames)
    samples = audio if audio is not None else np.zeros(round(len(frames) / fps * 22050), np.float32)
    write_video(path, iter(frames), fps=fps, audio=samples, sample_rate=22050, n_frames=len(frames))
    return path


@pytest.fixture(scope="module")
def talking_clip(tmp_path_factory) -> Path:
    if GALLERY_CLIP.exists():
        return GALLERY_CLIP
    out = tmp_path_factory.mktemp("clip") / "astronaut_talking.mp4"
    text = (  # f/v words too, so the clip has the lower lip at the teeth to choose from
        "Hello there. I am the astronaut, and this is a clip of me talking to you today. "
        "I fly five fine vans of fresh fish, very far, for a few of my favourite friends."
    )
    return avatarlab.say(text, output=out).video_path


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    """3 s of the bundled portrait talking, the raw material of the error and loop tests."""
    out = tmp_path_factory.mktemp("short") / "short.mp4"
    text = "Maybe we can talk about the moon and the stars for a little while, my friend."
    result = avatarlab.say(text, output=out, size=256)
    assert result.video.duration >= 2.5
    return result.video_path


@pytest.fixture(scope="module")
def clip_render(tmp_path_factory, talking_clip):
    out = tmp_path_factory.mktemp("clip_say") / "clip_bilabial.mp4"
    avatar = avatarlab.load_avatar(talking_clip)
    return avatarlab.say(BILABIAL_SCRIPT, avatar, output=out)


def test_lips_follow_the_speech(clip_render) -> None:
    figures = lipsync_figures(clip_render.video_path, clip_render.utterance.phones, 25)
    assert figures.closure_rate >= 0.9, figures.bilabial_gaps
    assert figures.open_closed_ratio >= 3.0, figures
    lag = audio_to_mouth_lag(measure_video(clip_render.video_path))
    assert abs(lag) <= 40, lag


def test_f_and_v_bring_the_lips_nearly_together(tmp_path, talking_clip) -> None:
    """f/v: the lower lip comes up to the upper teeth, so the lips nearly meet; measured on
    the output at the middle of each f/v against the clip's own open mouths (its 90th
    percentile lip gap: the vowels between f and v hardly open, so they are no yardstick)."""
    out = tmp_path / "fish.mp4"
    avatar = avatarlab.load_avatar(talking_clip)
    result = avatarlab.say(LABIODENTAL_SCRIPT, avatar, output=out)
    middles = [
        round((p.start + p.end) / 2 * 25) for p in result.utterance.phones if p.symbol in "fv"
    ]
    frames = frames_at(out, middles)
    gaps = np.array([lip_gap(detect_landmarks(frames[i])[0]) for i in middles])
    open_mouths = float(np.nanpercentile(avatar.clip.atlas.gap, 90))
    assert len(gaps) >= 10
    assert np.median(gaps) <= 0.5 * open_mouths, (gaps, open_mouths)


def test_output_is_the_clip_outside_the_lower_face(clip_render) -> None:
    avatar, track = clip_render.avatar, clip_render.track
    backgrounds, mouths = avatar.plan(track)
    clip = avatar.clip
    for index, frame in enumerate(avatar.frames(track)):
        behind = clip.frames[backgrounds[index]]
        changed = np.any(frame != behind, axis=2)
        if mouths[index] in (backgrounds[index],):
            assert not changed.any()
            continue
        allowed = _mask_reach(clip, backgrounds[index], mouths[index], avatar.neutral)
        assert not (changed & ~allowed).any(), index
    assert edge_repeat(next(iter(read_frames(clip_render.video_path)))) == 0


def _mask_reach(clip, behind: int, mouth: int, neutral: int) -> np.ndarray:
    """Where placing ``mouth`` on ``behind`` may change pixels: both lower faces, grown by
    the blend's reach."""
    target = clip.landmarks[behind]
    source = clip.landmarks[neutral if mouth == RIG else mouth]
    outlines = [lower_face(target), transform(lower_face(source), alignment(source, target))]
    reach = np.zeros(clip.frames[behind].shape[:2], np.uint8)
    for outline in outlines:
        cv2.fillPoly(reach, [np.round(outline).astype(np.int32)], 1)
    grow = int(np.ceil(4 * FEATHER * face_frame(target).eye_distance)) + 2
    return cv2.dilate(reach, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool)


def test_teeth_come_from_the_clip(clip_render) -> None:
    """Where the chosen mouth shows teeth, the output's mouth matches that clip frame
    (aligned onto the face found on the output) better than the frame behind it."""
    avatar, track = clip_render.avatar, clip_render.track
    backgrounds, mouths = avatar.plan(track)
    atlas, clip = avatar.clip.atlas, avatar.clip
    toothy = [
        i
        for i, m in enumerate(mouths)
        if m != RIG and m != backgrounds[i] and atlas.teeth[m] > 0.25
    ]
    assert len(toothy) >= 3, "the talking clip shows its teeth"
    picked = toothy[:: max(1, len(toothy) // 6)][:6]
    frames = frames_at(clip_render.video_path, picked)
    chosen, behind = [], []
    for i in picked:
        found = detect_landmarks(frames[i])
        assert found, "the face is seen on the output"
        chosen.append(_mouth_similarity(frames[i], found[0], clip, mouths[i]))
        behind.append(_mouth_similarity(frames[i], found[0], clip, backgrounds[i]))
    assert np.median(chosen) >= 0.8, chosen
    assert np.mean(np.greater(chosen, behind)) >= 0.5, (chosen, behind)


def _mouth_similarity(output: np.ndarray, landmarks: np.ndarray, clip, index: int) -> float:
    """Correlation of the output's mouth with clip frame ``index`` aligned onto it."""
    matrix = alignment(clip.landmarks[index], landmarks)
    source = cv2.warpAffine(clip.frames[index], matrix, output.shape[1::-1])
    lips = landmarks[list(face_parts().outer_lips.all), :2]
    low, high = lips.min(axis=0), lips.max(axis=0)
    grow = 0.25 * (high - low)
    x0, y0 = np.floor(low - grow).astype(int)
    x1, y1 = np.ceil(high + grow).astype(int)

    def mouth(image):
        grey = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32)
        return cv2.GaussianBlur(grey, (0, 0), 1.5).ravel()

    return float(np.corrcoef(mouth(output), mouth(source))[0, 1])


def test_audio_and_video_lengths_match(clip_render) -> None:
    info = probe(clip_render.video_path)
    assert abs(info.duration - info.audio_duration) <= 1 / info.fps + 0.03


def _still_track(n_frames: int, fps: float = 25.0) -> Track:
    zeros = np.zeros(n_frames, np.float32)
    return Track(fps, *([zeros] * 12))


def test_longer_speech_loops_without_a_jump(short_clip) -> None:
    avatar = avatarlab.load_avatar(short_clip, size=256)
    clip = avatar.clip
    track = _still_track(int(clip.n_frames * 2.6))
    backgrounds, _ = avatar.plan(track)
    turns = [
        k
        for k in range(1, len(backgrounds) - 1)
        if np.sign(backgrounds[k] - backgrounds[k - 1])
        != np.sign(backgrounds[k + 1] - backgrounds[k])
    ]
    assert len(turns) >= 2
    frames = list(avatar.frames(track))
    median = float(np.median(clip.change[1:]))
    for k in turns:
        for a, b in ((k - 1, k), (k, k + 1)):
            assert _change(frames[a], frames[b]) <= median * 1.05 + 0.05, (k, median)


def _change(a: np.ndarray, b: np.ndarray) -> float:
    def small(frame):
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        return cv2.resize(grey, (96, 96), interpolation=cv2.INTER_AREA).astype(np.float32)

    return float(np.abs(small(a) - small(b)).mean())


def test_frames_without_the_face_are_kept_and_reported(tmp_path, short_clip) -> None:
    frames = list(read_frames(short_clip))
    blank = np.full_like(frames[0], 128)
    for index in range(10, 22):
        frames[index] = blank
    path = write_clip(tmp_path / "gaps.mp4", frames)
    avatar = avatarlab.load_avatar(path, size=256)
    assert any("not found on 12 of" in note for note in avatar.notes), avatar.notes
    track = _still_track(avatar.clip.n_frames)
    for index, frame in enumerate(avatar.frames(track)):
        if 10 <= index < 22:
            assert np.array_equal(frame, avatar.clip.frames[index])


def test_a_clip_with_a_small_face_says_so(tmp_path, short_clip, talking_clip) -> None:
    """The same person filmed from further away: the face ~55 px tall in a 480² frame."""
    far = []
    for frame in read_frames(short_clip):
        canvas = np.full((480, 480, 3), 200, np.uint8)
        canvas[100:240, 170:310] = cv2.resize(frame, (140, 140), interpolation=cv2.INTER_AREA)
        far.append(canvas)
    avatar = avatarlab.load_avatar(write_clip(tmp_path / "far.mp4", far), size=256)
    assert any("px tall in far.mp4" in note for note in avatar.notes), avatar.notes
    near = avatarlab.load_avatar(talking_clip)
    assert not any("px tall" in note for note in near.notes), near.notes


def test_the_cli_prints_only_its_own_lines_for_a_clip(tmp_path, short_clip) -> None:
    """A fresh process, so MediaPipe's graphs start here and their native chatter (printed
    from worker threads straight to fd 2) would show."""
    run = subprocess.run(
        [sys.executable, "-m", "avatarlab.cli", "say", "Bob.", "-a", str(short_clip)]
        + ["-o", str(tmp_path / "bob.mp4"), "--size", "256"],
        capture_output=True,
        text=True,
        env={**os.environ, "AVATARLAB_CACHE": str(tmp_path / "cache")},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("wrote "), run.stdout
    assert all(line.startswith("note: ") for line in run.stderr.splitlines()), run.stderr


def test_drawn_teeth_are_no_lighter_than_the_clips_own(tmp_path, short_clip) -> None:
    """A clip filmed in a dim room shows its teeth in shadow; the rig that draws the shapes
    the clip lacks must not paste brighter teeth than any of the clip's mouths show."""
    loop = face_parts().inner_lips.loop
    dim = []
    for frame in read_frames(short_clip):
        inside = np.zeros(frame.shape[:2], np.uint8)
        cv2.fillPoly(inside, [np.round(detect_landmarks(frame)[0][loop, :2]).astype(np.int32)], 1)
        inside = cv2.dilate(inside, np.ones((3, 3), np.uint8)).astype(bool)
        frame = frame.copy()
        frame[inside] = (frame[inside] * 0.35).astype(np.uint8)
        dim.append(frame)
    avatar = avatarlab.load_avatar(write_clip(tmp_path / "dim.mp4", dim), size=256)

    def brightest_inside(frame: np.ndarray) -> float:
        mask = np.zeros(frame.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(detect_landmarks(frame)[0][loop, :2]).astype(np.int32)], 1)
        mask = cv2.erode(mask, np.ones((3, 3), np.uint8)).astype(bool)
        return float(np.percentile(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[mask], 90))

    clip = avatar.clip
    widest = np.argsort(np.nan_to_num(clip.atlas.gap, nan=0.0))[-5:]
    own = max(brightest_inside(clip.frames[int(i)]) for i in widest)
    drawn = brightest_inside(render_frame(avatar.rig, FacePose(mouth_open=0.7, jaw=0.5)))
    assert drawn <= own + 8, (drawn, own)


def test_dub_keeps_the_video(tmp_path, talking_clip) -> None:
    out = tmp_path / "dubbed.mp4"
    result = avatarlab.dub(talking_clip, text="Maybe my point was a bit better.", output=out)
    source, dubbed = probe(talking_clip), probe(out)
    assert (dubbed.width, dubbed.height) == (source.width, source.height)
    assert dubbed.fps == pytest.approx(source.fps)
    assert abs(dubbed.n_frames - source.n_frames) <= 1
    assert abs(dubbed.audio_duration - dubbed.duration) <= 1 / dubbed.fps + 0.03
    figures = lipsync_figures(out, result.utterance.phones, dubbed.fps)
    assert figures.closure_rate >= 0.9, figures


def test_dub_fit(tmp_path, short_clip) -> None:
    long_text = (
        "This sentence is a good deal longer than the little clip of the moon talk it dubs, "
        "so the video has to be cut, or to play on, back and forth, until it ends."
    )
    with pytest.raises(InputError, match="cut the speech at the video's end"):
        avatarlab.dub(short_clip, text=long_text, output=tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()
    cut = avatarlab.dub(short_clip, text=long_text, output=tmp_path / "cut.mp4", fit="cut")
    assert abs(cut.video.duration - probe(short_clip).duration) <= 0.05
    looped = avatarlab.dub(short_clip, text=long_text, output=tmp_path / "loop.mp4", fit="loop")
    assert looped.video.duration == pytest.approx(looped.utterance.duration, abs=0.05)
    assert looped.video.duration > cut.video.duration + 1


def test_dub_errors(tmp_path, short_clip) -> None:
    with pytest.raises(InputError, match="nothing to say"):
        avatarlab.dub(short_clip)
    with pytest.raises(InputError, match="cannot overwrite its source"):
        avatarlab.dub(short_clip, text="Hi.", output=short_clip)
    with pytest.raises(InputError, match="fit must be one of"):
        avatarlab.dub(short_clip, text="Hi.", fit="stretch")
    photo = tmp_path / "me.png"
    cv2.imwrite(str(photo), np.zeros((64, 64, 3), np.uint8))
    with pytest.raises(InputError, match="me.png is not a video: dub takes"):
        avatarlab.dub(photo, text="Hi.")


def test_cli_dub_error_writes_nothing(tmp_path, short_clip, capsys) -> None:
    out = tmp_path / "never.mp4"
    code = main(["dub", str(short_clip), "-o", str(out), "-q"])
    assert code == 1
    assert "nothing to say" in capsys.readouterr().err
    assert not out.exists()


def test_clip_errors(tmp_path, short_clip) -> None:
    frames = list(read_frames(short_clip))
    too_short = write_clip(tmp_path / "short.mp4", frames[:30])
    with pytest.raises(InputError, match="at least 2 s"):
        avatarlab.load_avatar(too_short)
    with pytest.raises(InputError, match="the limit is 2.5 s"):
        avatarlab.load_avatar(short_clip, max_clip_seconds=2.5)
    faceless = write_clip(tmp_path / "wall.mp4", [np.full((256, 256, 3), 90, np.uint8)] * 60)
    with pytest.raises(NoFaceError, match="no face found in wall.mp4"):
        avatarlab.load_avatar(faceless)
    mostly_gone = frames[:15] + [np.full_like(frames[0], 90)] * 50
    with pytest.raises(NoFaceError, match="lost on 7[0-9]% of the frames"):
        avatarlab.load_avatar(write_clip(tmp_path / "gone.mp4", mostly_gone))
    corrupt = tmp_path / "broken.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    with pytest.raises(InputError, match="cannot read"):
        avatarlab.load_avatar(corrupt)
    sound = tmp_path / "sound.mp4"
    _write_audio_only(sound)
    with pytest.raises(InputError, match="has no video stream"):
        avatarlab.load_avatar(sound)
    huge = write_clip(tmp_path / "huge.mp4", [np.zeros((4128, 4128, 3), np.uint8)], fps=1.0)
    with pytest.raises(InputError, match="4128×4128: videos up to 4096×4096"):
        avatarlab.load_avatar(huge)
    leftovers = [p for p in Path(__import__("os").environ["AVATARLAB_CACHE"]).rglob(".building-*")]
    assert not leftovers


def _write_audio_only(path: Path) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=22050)
        stream.layout = "mono"
        samples = (0.1 * np.sin(np.arange(22050 * 3) / 10)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples[None], format="flt", layout="mono")
        frame.sample_rate = 22050
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def test_second_load_comes_from_the_cache(short_clip, clip_cache) -> None:
    avatarlab.load_avatar(short_clip, size=256)
    stamps = {p: p.stat().st_mtime_ns for p in clip_cache.rglob("meta.json")}
    again = avatarlab.load_avatar(short_clip, size=256)
    assert {p: p.stat().st_mtime_ns for p in clip_cache.rglob("meta.json")} == stamps
    assert again.clip.n_frames == probe(short_clip).n_frames


def test_variable_frame_rate_is_resampled_by_time(tmp_path) -> None:
    """Frames filmed at irregular moments show at the output rate as they were on screen."""
    path = tmp_path / "vfr.mkv"
    moments_ms = [0, 30, 50, 130, 140, 150, 300, 310, 420]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=1000)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, 1000)
        for index, moment in enumerate(moments_ms):
            frame = av.VideoFrame.from_ndarray(
                np.full((64, 64, 3), 20 * index, np.uint8), format="rgb24"
            )
            frame.pts = moment
            frame.time_base = stream.time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    shown = [int(round(f.mean() / 20)) for f in resampled(path, 25.0)]
    # At k/25 s (0, 40, 80, ... ms) the frame on screen is the last one filmed by then.
    expected = [
        max(i for i, m in enumerate(moments_ms) if m <= k * 40 + 20) for k in range(len(shown))
    ]
    assert shown == expected
    assert len(shown) == 11


def test_rotation_metadata_is_honoured() -> None:
    frame = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert upright(frame, 0) is frame
    assert upright(frame, -90).shape == (3, 2, 3)
    assert np.array_equal(upright(frame, -90), np.rot90(frame, -1))  # shown turned clockwise
    assert np.array_equal(upright(frame, 90), np.rot90(frame, 1))
    assert np.array_equal(upright(frame, 180), frame[::-1, ::-1])


def _artifact_figures(video: Path, avatar, track, count: int = 10) -> np.ndarray:
    """Median (new edges, changed skin, foreign colour, lip-like skin) over output frames
    whose mouth was placed, each against the clip frame behind it."""
    backgrounds, mouths = avatar.plan(track)
    placed = [i for i in range(track.n_frames) if mouths[i] != backgrounds[i]]
    picked = placed[:: max(1, len(placed) // count)][:count]
    frames = frames_at(video, picked)
    rows = []
    for index in picked:
        found = detect_landmarks(frames[index])
        assert found, f"the face is seen on output frame {index}"
        reference = skin_reference(np.array(avatar.clip.frames[backgrounds[index]]))
        figures = skin_figures(frames[index], found[0], reference)
        rows.append(
            (figures.new_edges, figures.skin_change, figures.foreign_share, figures.lip_like_share)
        )
    return np.median(rows, axis=0)


ARTIFACT_LIMITS = np.array([MAX_NEW_EDGES, MAX_SKIN_CHANGE, MAX_FOREIGN_SHARE, MAX_LIP_LIKE_SHARE])


def test_placed_mouths_leave_no_seams_or_foreign_colour(clip_render) -> None:
    figures = _artifact_figures(clip_render.video_path, clip_render.avatar, clip_render.track)
    assert (figures <= ARTIFACT_LIMITS).all(), figures


GALLERY_CLIPS = sorted(GALLERY_CLIP.parent.glob("*.mp4")) if GALLERY_CLIP.exists() else []


@pytest.mark.parametrize("path", GALLERY_CLIPS, ids=[p.stem for p in GALLERY_CLIPS])
def test_every_gallery_clip_speaks(tmp_path, path: Path) -> None:
    """Whatever the clip shows (lips that never part, never shut, a face 60 px high, a
    drawn face), p/b/m close, vowels open, and the placed mouths leave no artifacts."""
    result = avatarlab.say(
        "Bob bought a big map. Peter may pay for the pump.", path, output=tmp_path / "out.mp4"
    )
    figures = lipsync_figures(result.video_path, result.utterance.phones, 25)
    assert figures.closure_rate >= 0.8, figures.bilabial_gaps
    assert figures.open_closed_ratio >= 2.0, figures
    artifacts = _artifact_figures(result.video_path, result.avatar, result.track, count=6)
    assert (artifacts <= ARTIFACT_LIMITS).all(), artifacts


def _display_rotated_clockwise(path: Path) -> None:
    """Mark an MP4's video track as shown turned 90° clockwise, as phones store a portrait
    clip: the display matrix of its track header (ISO 14496-12 'tkhd') is set in place."""
    data = bytearray(path.read_bytes())
    start = data.find(b"tkhd")
    while start >= 0:
        wide = data[start + 4] == 1  # version 1 has 64-bit times and duration
        matrix = start + 8 + (8 if wide else 4) * 2 + 4 + 4 + (8 if wide else 4) + 8 + 8
        width, height = struct.unpack(">II", data[matrix + 36 : matrix + 44])
        if width:
            values = (0, 0x10000, 0, -0x10000, 0, 0, height, 0, 0x40000000)
            data[matrix : matrix + 36] = struct.pack(">9i", *values)
        start = data.find(b"tkhd", start + 1)
    path.write_bytes(bytes(data))


def test_a_phone_clip_stored_sideways_is_read_upright(tmp_path, short_clip) -> None:
    sideways = [np.ascontiguousarray(np.rot90(f, 1)) for f in read_frames(short_clip)]
    path = write_clip(tmp_path / "phone.mp4", sideways)
    _display_rotated_clockwise(path)
    first = next(resampled(path, 25.0))
    original = next(iter(read_frames(short_clip)))
    assert first.shape == original.shape
    assert np.abs(first.astype(int) - original).mean() < 4
    avatar = avatarlab.load_avatar(path, size=256)
    landmarks = avatar.clip.landmarks[avatar.clip.found][0]
    eyes_y = landmarks[[33, 263], 1].mean()
    assert eyes_y < landmarks[13, 1] < landmarks[152, 1]  # eyes above the lips above the chin


def test_a_stream_continues_the_clip_across_sentences(talking_clip) -> None:
    avatar = avatarlab.load_avatar(talking_clip)
    chunks = list(avatarlab.stream("Bob bought a map. Then he went home.", avatar))
    assert len(chunks) == 2
    first, second = (list(chunk.frames) for chunk in chunks)
    assert len(first) == chunks[0].n_frames and len(second) == chunks[1].n_frames
    seam = _change(first[-1], second[0])
    assert seam <= float(avatar.clip.change.max()), seam  # no jump back to the clip's start
    assert _change(second[0], avatar.clip.frames[0]) > seam
