"""Motion: phone timelines → per-frame parameters, checked against the rules in DESIGN.md."""

import numpy as np
import pytest

from avatarlab.motion import MotionOptions, frame_count, make_track
from avatarlab.motion.idle import IdleOptions
from avatarlab.motion.lipsync import LipsyncOptions, mouth_track
from avatarlab.motion.visemes import IPA_TO_VISEME, SHAPES, VISEMES, viseme_for
from avatarlab.types import Phone, Utterance

FPS = 25.0


def _utterance(phones, duration=2.0, pauses=()):
    rng = np.random.default_rng(1)
    audio = (0.2 * rng.standard_normal(int(duration * 22050))).astype(np.float32)
    return Utterance(audio=audio, sample_rate=22050, phones=tuple(phones), pauses=pauses)


def test_every_viseme_has_a_shape_and_every_table_entry_is_a_viseme():
    assert set(SHAPES) == set(VISEMES)
    assert set(IPA_TO_VISEME.values()) <= set(VISEMES)


def test_unknown_phones_take_a_half_open_shape_not_silence():
    assert viseme_for("ʘ") == "E"
    assert viseme_for("p") == "PP" and viseme_for("v") == "FF" and viseme_for("ɑ") == "aa"


def test_short_bilabial_between_open_vowels_still_closes_the_lips():
    # A 20 ms /b/ is shorter than a frame; the blend alone would barely dip.
    phones = [Phone("ɑ", 0.2, 0.5), Phone("b", 0.5, 0.52), Phone("ɑ", 0.52, 0.9)]
    mouth = mouth_track(tuple(phones), frame_count(1.2, FPS), FPS)
    heard = int(0.51 * FPS)
    assert mouth["mouth_open"][heard] == 0.0
    assert mouth["mouth_open"][int(0.3 * FPS)] > 0.6
    assert mouth["mouth_open"][int(0.8 * FPS)] > 0.6


def test_every_f_and_v_tucks_the_lower_lip():
    phones = [Phone("ɑ", 0.1, 0.3), Phone("f", 0.3, 0.33), Phone("ɑ", 0.33, 0.6)]
    mouth = mouth_track(tuple(phones), frame_count(0.8, FPS), FPS)
    assert mouth["tuck"][int(0.315 * FPS)] == 1.0
    assert mouth["mouth_open"][int(0.315 * FPS)] <= 0.1 + 1e-6


def test_silence_relaxes_to_a_closed_neutral_mouth():
    phones = [Phone("ɑ", 0.1, 0.4), Phone("ɑ", 1.6, 1.9)]
    mouth = mouth_track(tuple(phones), frame_count(2.0, FPS), FPS)
    middle = int(1.0 * FPS)
    assert mouth["mouth_open"][middle] < 0.01
    assert abs(mouth["width"][middle]) < 0.01 and mouth["jaw"][middle] < 0.01


def test_a_short_gap_between_words_does_not_shut_the_mouth():
    phones = [Phone("ɑ", 0.1, 0.4), Phone("ɑ", 0.44, 0.8)]
    mouth = mouth_track(tuple(phones), frame_count(1.0, FPS), FPS)
    assert mouth["mouth_open"][int(0.42 * FPS)] > 0.5


@pytest.mark.parametrize("lead", [0.0, 0.02, 0.04])
def test_the_mouth_leads_the_sound_by_at_most_the_lead_and_never_lags(lead):
    fps = 100.0  # fine frames to see the timing
    phones = (Phone("ɑ", 0.5, 1.0),)
    mouth = mouth_track(phones, 150, fps, LipsyncOptions(lead=lead))["mouth_open"]
    half = 0.5 * mouth.max()
    first_half_open = (np.flatnonzero(mouth >= half)[0] + 0.5) / fps
    # The opening reaches half way around the vowel's start, shifted earlier by the lead.
    assert 0.5 - lead - 0.06 <= first_half_open <= 0.5 - lead + 0.011


def test_stressed_vowels_open_wider():
    plain = mouth_track((Phone("ɛ", 0.1, 0.4),), 15, FPS)["mouth_open"].max()
    stressed = mouth_track((Phone("ɛ", 0.1, 0.4, stressed=True),), 15, FPS)["mouth_open"].max()
    assert stressed > plain * 1.1


def test_track_covers_the_audio_and_the_seed_makes_it_reproducible():
    utterance = _utterance([Phone("ɑ", 0.1, 0.4, True)], duration=30.0, pauses=(0.5, 10.0))
    first = make_track(utterance, MotionOptions(seed=3))
    again = make_track(utterance, MotionOptions(seed=3))
    other = make_track(utterance, MotionOptions(seed=4))
    assert first.n_frames == round(30.0 * FPS)
    assert np.array_equal(first.yaw, again.yaw) and np.array_equal(first.blink, again.blink)
    assert not np.array_equal(first.yaw, other.yaw)


def _blink_starts(track) -> np.ndarray:
    shut = track.blink > 0.5
    return np.flatnonzero(shut[1:] & ~shut[:-1]) / track.fps


def test_blinks_come_at_a_human_rate_and_last_a_human_time():
    utterance = _utterance([], duration=120.0)
    track = make_track(utterance, MotionOptions(fps=100.0))
    assert 24 <= len(_blink_starts(track)) <= 44  # 12-22 a minute
    shut = track.blink > 0.5
    lengths = np.diff(np.flatnonzero(np.diff(shut.astype(int)) != 0))[::2] / 100.0
    assert np.all((lengths > 0.05) & (lengths < 0.25))


@pytest.mark.parametrize("seconds", [20.0, 30.0, 60.0])
def test_any_clip_of_twenty_seconds_or_more_blinks_12_to_22_times_a_minute(seconds):
    """For every seed, with phrase ends scattered through the speech (which attract
    blinks): never the 39 a minute short clips used to get, never a blink in the first
    second and a half."""
    rng = np.random.default_rng(0)
    for seed in range(60):
        pauses = tuple(np.sort(rng.uniform(0.5, seconds, int(seconds / 3))))
        utterance = _utterance([], duration=seconds, pauses=pauses)
        starts = _blink_starts(make_track(utterance, MotionOptions(seed=seed)))
        rate = len(starts) / seconds * 60
        assert 12 <= rate <= 22, (seed, rate)
        assert starts[0] >= 1.5 - 1 / FPS, (seed, starts[0])


def test_blinks_gather_at_phrase_ends():
    """Half of the blinks fall on a phrase end when the speech has one every three seconds;
    a blink-per-pause rule would give far more, none would give about one in five."""
    pauses = tuple(np.arange(3.0, 60.0, 3.0))
    on_pause = total = 0
    for seed in range(20):
        utterance = _utterance([], duration=60.0, pauses=pauses)
        starts = _blink_starts(make_track(utterance, MotionOptions(seed=seed)))
        total += len(starts)
        on_pause += sum(np.min(np.abs(np.array(pauses) - t)) < 0.1 for t in starts)
    assert 0.35 < on_pause / total < 0.8


def test_head_motion_is_small_and_can_be_switched_off():
    utterance = _utterance([Phone("ɑ", 0.1, 0.4, True)], duration=20.0)
    track = make_track(utterance)
    for angle in (track.yaw, track.pitch, track.roll):
        assert 0.1 < np.abs(angle).max() < 6.0
    still = make_track(utterance, MotionOptions(idle=IdleOptions(head_motion=0.0)))
    assert not np.any(still.yaw) and not np.any(still.pitch) and not np.any(still.roll)
