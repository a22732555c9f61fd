"""Text → video, end to end, judged on the decoded output."""

import cv2
import numpy as np
import pytest
from skimage import data

import avatarlab
import avatarlab.pipeline
from avatarlab.measure import CLOSED_GAP, lipsync_figures
from avatarlab.video import probe, read_frames


def test_lips_close_on_every_bilabial_and_open_on_vowels(bilabial_render):
    result = bilabial_render
    figures = lipsync_figures(result.video_path, result.utterance.phones, result.options.fps)
    assert len(figures.bilabial_gaps) >= 12
    # Every p/b/m: the frame on screen at its middle shows lips closed (gap under 0.06 eye
    # distances, well below the 0.16 of the portrait's own resting smile).
    assert max(figures.bilabial_gaps) < CLOSED_GAP, figures.bilabial_gaps
    # Open vowels (ah, oh, eh of 70 ms or more) are clearly open, several times the closures.
    assert np.median(figures.open_vowel_gaps) > 0.15
    assert figures.open_closed_ratio > 3.0


def test_video_is_browser_ready_and_as_long_as_the_audio(bilabial_render):
    info = probe(bilabial_render.video_path)
    assert (info.video_codec, info.audio_codec, info.pix_fmt) == ("h264", "aac", "yuv420p")
    assert (info.width, info.height) == (512, 512)
    assert abs(info.duration - bilabial_render.utterance.duration) <= 1 / 25
    assert abs(info.audio_duration - info.duration) <= 1 / 25


def test_background_outside_the_head_is_unchanged(bilabial_render):
    rig = bilabial_render.avatar.rig
    x0, y0, x1, y1 = rig.box
    outside = np.ones(rig.image.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    reference = rig.image.astype(float)
    for index, frame in enumerate(read_frames(bilabial_render.video_path)):
        if index % 10:
            continue
        # H.264 is lossy: compare as a viewer would, by PSNR, not bit for bit.
        error = ((frame.astype(float) - reference)[outside] ** 2).mean()
        assert 10 * np.log10(255**2 / error) > 36


def _transformed(kind: str) -> np.ndarray:
    image = data.astronaut()
    if kind == "half":
        return cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    if kind == "double":
        return cv2.resize(image, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    if kind in ("rot+15", "rot-15"):
        angle = 15 if kind == "rot+15" else -15
        turn = cv2.getRotationMatrix2D((230, 140), angle, 1.0)
        return cv2.warpAffine(image, turn, (512, 512), borderMode=cv2.BORDER_REPLICATE)
    if kind == "mirror":
        return np.ascontiguousarray(image[:, ::-1])
    if kind == "offcentre":
        canvas = np.full((1200, 1600, 3), 90, np.uint8)
        canvas[600:1112, 1000:1512] = image
        return canvas
    if kind == "gray":
        return np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    raise ValueError(kind)


@pytest.mark.parametrize(
    "kind", ["half", "double", "rot+15", "rot-15", "mirror", "offcentre", "gray"]
)
def test_lipsync_holds_on_transformed_portraits(kind, tmp_path):
    result = avatarlab.say("Bob, pop a map up.", _transformed(kind), output=tmp_path / "v.mp4")
    figures = lipsync_figures(result.video_path, result.utterance.phones, result.options.fps)
    assert max(figures.bilabial_gaps) < CLOSED_GAP, figures.bilabial_gaps
    assert max(figures.open_vowel_gaps) > 0.15, figures.open_vowel_gaps


def test_webm_and_size_options(tmp_path):
    result = avatarlab.say("Hi there.", output=tmp_path / "v.webm", size=256)
    info = probe(result.video_path)
    assert (info.video_codec, info.audio_codec) == ("vp9", "opus")
    assert (info.width, info.height) == (256, 256)
    assert result.options.size == 256


def test_full_frame_keeps_the_whole_photo(tmp_path):
    result = avatarlab.say(
        "Hi.", _transformed("offcentre"), output=tmp_path / "v.mp4", full_frame=True
    )
    info = probe(result.video_path)
    assert (info.width, info.height) == (1600, 1200)


def test_same_inputs_same_video_frames(tmp_path):
    first = avatarlab.say("Maybe.", output=tmp_path / "a.mp4", seed=5)
    second = avatarlab.say("Maybe.", output=tmp_path / "b.mp4", seed=5)
    assert np.array_equal(first.utterance.audio, second.utterance.audio)
    assert np.array_equal(first.track.yaw, second.track.yaw)


def test_captions_are_burned_into_the_bottom_of_the_picture(tmp_path):
    plain = avatarlab.say("Map the moon.", output=tmp_path / "a.mp4", size=256)
    captioned = avatarlab.say("Map the moon.", output=tmp_path / "b.mp4", size=256, captions=True)
    middle = plain.track.n_frames // 2
    a, b = (list(read_frames(r.video_path))[middle].astype(float) for r in (plain, captioned))
    assert np.abs(a[200:] - b[200:]).mean() > 10  # text on a dark box, bottom fifth
    assert np.abs(a[:150] - b[:150]).mean() < 1  # the face above is untouched


FIVE_SENTENCES = "Bob paid. Mia made a map. Pam bought a bike. Ben met me. Maybe pop by."


def test_the_voice_speaks_on_while_the_first_frames_are_written(tmp_path, monkeypatch):
    """say renders each sentence as soon as it is spoken: the first frames are encoded
    before the last sentence has been synthesized, and the result is the whole speech."""
    events = []
    speak = avatarlab.pipeline.synthesize_sentences

    def logged(*args, **kwargs):
        for index, sentence in enumerate(speak(*args, **kwargs)):
            events.append(("spoken", index))
            yield sentence

    def progress(stage, done, total):
        assert 0 < done <= total
        events.append((stage, done, total))

    monkeypatch.setattr(avatarlab.pipeline, "synthesize_sentences", logged)
    result = avatarlab.say(FIVE_SENTENCES, output=tmp_path / "a.mp4", size=256, progress=progress)
    first_frame = events.index(_first(events))
    assert first_frame < events.index(("spoken", 4))
    whole = avatarlab.synthesize(FIVE_SENTENCES)
    assert np.array_equal(result.utterance.audio, whole.audio)
    assert [p.symbol for p in result.utterance.phones] == [p.symbol for p in whole.phones]
    starts = np.array([p.start for p in result.utterance.phones])
    assert np.abs(starts - [p.start for p in whole.phones]).max() < 1e-9
    assert result.utterance.text == FIVE_SENTENCES
    assert [w.text for w in result.utterance.words] == [w.text for w in whole.words]
    ends = np.array([w.end for w in result.utterance.words])
    assert np.abs(ends - [w.end for w in whole.words]).max() < 1e-9
    n = result.video.n_frames
    assert (
        n
        == result.track.n_frames
        == probe(result.video_path).n_frames
        == round(whole.duration * 25)
    )
    assert events[-1] == ("render", n, n)
    figures = lipsync_figures(result.video_path, result.utterance.phones, 25.0)
    assert max(figures.bilabial_gaps) < CLOSED_GAP and figures.open_closed_ratio > 3.0


def _first(events):
    return next(event for event in events if event[0] == "render")
