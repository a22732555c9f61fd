"""Recorded speech → timeline → video, judged against the voice's own phones.

The bundled voice gives speech whose phones are known exactly (Piper's alignments); the
tests hand only its sound (and sometimes its text) to the align stage and compare.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from audio_files import CODECS, write_audio
from conftest import BILABIAL_SCRIPT

import avatarlab
from avatarlab.align import recognize
from avatarlab.align.pronounce import ipa_to_arpabet
from avatarlab.align.signal import RATE, hear, pieces, silences
from avatarlab.errors import AudioError, InputError
from avatarlab.measure import CLOSED_GAP, frames_at, lipsync_figures, measure_face
from avatarlab.motion.visemes import viseme_for
from avatarlab.speech import synthesize
from avatarlab.video import probe, read_audio, read_frames

FRAME = 1 / 25


@pytest.fixture(scope="module")
def speech():
    return synthesize(BILABIAL_SCRIPT, None)


@pytest.fixture(scope="module")
def speech_wav(speech, tmp_path_factory):
    return write_audio(tmp_path_factory.mktemp("audio") / "speech.wav", speech.audio, 22050)


def bilabial_middles(phones) -> np.ndarray:
    return np.array([p.middle for p in phones if viseme_for(p.symbol) == "PP"])


def nearest_errors(truth: np.ndarray, found: np.ndarray) -> np.ndarray:
    return np.array([np.min(np.abs(found - t)) for t in truth])


def test_transcript_alignment_recovers_the_voices_bilabials(speech):
    alignment = recognize(speech.audio, speech.sample_rate, BILABIAL_SCRIPT)
    assert alignment.method == "alignment" and not alignment.notes
    truth, found = bilabial_middles(speech.phones), bilabial_middles(alignment.utterance.phones)
    assert len(found) == len(truth)
    errors = nearest_errors(truth, found)
    # The two disagree on where a stop's silent closure ends and a pause begins; 2 frames
    # at 25 fps is the most a viewer could notice, and most land within one.
    assert errors.max() <= 2 * FRAME, errors
    assert np.median(errors) <= 0.045, errors
    words = alignment.utterance.words
    assert [w.text for w in words] == [t.strip(".,") for t in BILABIAL_SCRIPT.split()]
    assert all(0 <= w.start < w.end <= speech.duration + 0.01 for w in words)
    # Words end with the voice: none runs on into a pause (subtitles would linger).
    gaps = [(a / 100, b / 100) for a, b in silences(hear(speech.audio, 22050), 0.15)]
    assert len(gaps) >= 3
    assert not [(w, gap) for w in words for gap in gaps if w.start < gap[0] + 0.03 < w.end]


def test_recognition_without_transcript_finds_most_bilabials(speech):
    alignment = recognize(speech.audio, speech.sample_rate)
    assert alignment.method == "recognition"
    assert alignment.coverage > 0.9
    errors = nearest_errors(
        bilabial_middles(speech.phones), bilabial_middles(alignment.utterance.phones)
    )
    assert np.mean(errors <= 2 * FRAME) >= 0.7, errors
    assert alignment.utterance.words == ()


@pytest.mark.parametrize("suffix", [s for s in CODECS if s != "wav"])
def test_every_format_gives_the_same_timeline(suffix, speech, speech_wav, tmp_path):
    reference = recognize(*read_audio(speech_wav), BILABIAL_SCRIPT)
    encoded = write_audio(tmp_path / f"speech.{suffix}", speech.audio, 22050)
    samples, rate = read_audio(encoded)
    assert abs(len(samples) / rate - speech.duration) < FRAME
    alignment = recognize(samples, rate, BILABIAL_SCRIPT)
    ours, theirs = (
        bilabial_middles(alignment.utterance.phones),
        bilabial_middles(reference.utterance.phones),
    )
    assert len(ours) == len(theirs)
    assert np.abs(ours - theirs).max() < FRAME


def test_animated_recording_closes_lips_on_the_voices_bilabials(speech, speech_wav, tmp_path):
    result = avatarlab.animate(speech_wav, text=BILABIAL_SCRIPT, output=tmp_path / "talk.mp4")
    assert result.lipsync == "alignment"
    assert abs(result.video.duration - speech.duration) <= FRAME
    # On the aligner's own timeline the video is as exact as a synthesized one...
    figures = lipsync_figures(result.video_path, result.utterance.phones, result.options.fps)
    assert figures.closure_rate == 1.0, figures.bilabial_gaps
    assert figures.open_closed_ratio > 3.0
    # ...and at the voice's true times every closure shows within one frame (40 ms): the
    # aligner puts a stop's silent closure inside it, Piper mostly its release.
    middles = [round(t / FRAME - 0.5) for t in bilabial_middles(speech.phones)]
    frames = frames_at(result.video_path, {i + d for i in middles for d in (-1, 0, 1)})
    gaps = {i: measure_face(frame).lip_gap for i, frame in frames.items()}
    nearest = [min(gaps[i + d] for d in (-1, 0, 1) if i + d in gaps) for i in middles]
    assert max(nearest) < CLOSED_GAP, nearest


def test_a_stereo_recording_keeps_its_channels_in_the_video(speech, tmp_path, astronaut):
    stereo = np.stack([speech.audio, 0.5 * speech.audio], axis=1)
    recording = write_audio(tmp_path / "stereo.m4a", stereo, 22050)
    result = avatarlab.animate(recording, astronaut, output=tmp_path / "v.mp4", size=256)
    assert probe(result.video_path).channels == 2
    left, right = read_audio(result.video_path, stereo=True)[0].T
    assert 1.9 < np.sqrt(np.mean(left**2) / np.mean(right**2)) < 2.1  # not mixed down
    assert result.lipsync == "recognition"


def test_a_wrong_transcript_falls_back_and_says_so(speech):
    alignment = recognize(
        speech.audio, speech.sample_rate, "The weather in London is rainy and cold today."
    )
    assert alignment.method == "recognition"
    assert any("does not match" in note for note in alignment.notes)


def test_words_missing_from_the_dictionary_are_pronounced_by_espeak():
    text = "Zyxtorp met Quorbly in 2024."
    speech = synthesize(text, None)
    alignment = recognize(speech.audio, speech.sample_rate, text)
    assert alignment.method == "alignment"
    assert [w.text for w in alignment.utterance.words] == [
        "Zyxtorp",
        "met",
        "Quorbly",
        "in",
        "2024",
    ]
    assert ipa_to_arpabet("tʃˈiːz") == ["CH", "IY", "Z"]


def vowel_bursts(spans: list[tuple[float, float]], seconds: float) -> np.ndarray:
    """A buzzy 'ah' (130 Hz with a 700 Hz formant) in each span, silence between."""
    t = np.arange(int(seconds * RATE)) / RATE
    voice = sum(
        np.sin(2 * np.pi * 130 * k * t) / (1 + abs(130 * k - 700) / 200) for k in range(1, 25)
    )
    envelope = np.zeros_like(t)
    for start, end in spans:
        inside = (t >= start) & (t < end)
        ramp = np.minimum(np.minimum(t - start, end - t) / 0.01, 1.0)
        envelope[inside] = ramp[inside]
    return (0.3 * voice / np.abs(voice).max() * envelope).astype(np.float32)


def test_energy_path_opens_and_closes_in_step_with_the_sound(tmp_path, astronaut):
    spans = [(0.3, 0.7), (1.1, 1.4), (1.9, 2.5), (3.0, 3.3)]
    audio = vowel_bursts(spans, 3.8)
    result = avatarlab.animate(audio, astronaut, sample_rate=RATE, output=tmp_path / "e.mp4")
    assert result.lipsync == "energy"
    assert any("loudness" in note for note in result.notes)
    gaps = np.array([measure_face(frame).lip_gap for frame in read_frames(result.video_path)])
    times = (np.arange(len(gaps)) + 0.5) * FRAME
    sounding = np.zeros(len(gaps))
    for start, end in spans:
        sounding[(times >= start) & (times < end)] = 1.0
    # Open in the middle of every burst, shut in the middle of every silence.
    for start, end in spans:
        assert gaps[int((start + end) / 2 / FRAME)] > 0.15
    for end, start in zip(
        [0.0] + [s[1] for s in spans], [s[0] for s in spans] + [3.8], strict=True
    ):
        if start - end >= 0.3:
            assert gaps[int((start + end) / 2 / FRAME)] < CLOSED_GAP
    # The lag that best lines the mouth up with the sound is within one frame of zero.
    lags = range(-4, 5)
    score = [np.corrcoef(np.roll(gaps, -lag)[5:-5], sounding[5:-5])[0, 1] for lag in lags]
    assert abs(list(lags)[int(np.argmax(score))]) <= 1, score


def test_long_recordings_are_cut_in_silences():
    spans = [(start, start + 0.8) for start in np.arange(0.2, 60.0, 1.3)]
    heard = hear(vowel_bursts(spans, 60.0), RATE)
    cuts = pieces(heard, 20.0, 8.0)
    assert cuts[0][0] == 0 and cuts[-1][1] == heard.n_frames
    for (first, stop), (following, _) in zip(cuts, cuts[1:], strict=False):
        assert stop == following and 8.0 <= (stop - first) / 100 <= 20.0
        assert not heard.sounding[stop]


def test_bad_recordings_are_refused_with_a_reason(tmp_path):
    with pytest.raises(AudioError, match="silent"):
        recognize(np.zeros(RATE * 2, np.float32), RATE)
    with pytest.raises(AudioError, match="limit is 1 s"):
        recognize(vowel_bursts([(0.1, 1.5)], 2.0), RATE, max_seconds=1)
    with pytest.raises(InputError, match="lipsync must be one of"):
        recognize(vowel_bursts([(0.1, 0.5)], 1.0), RATE, method="magic")
    with pytest.raises(AudioError, match="mono"):
        recognize(np.zeros((2, RATE), np.float32), RATE)
    notes = tmp_path / "notes.mp3"
    notes.write_text("not audio at all")
    with pytest.raises(avatarlab.AvatarLabError, match="not a media file"):
        avatarlab.animate(notes, output=tmp_path / "x.mp4")
    assert not (tmp_path / "x.mp4").exists()
    with pytest.raises(InputError, match="sample_rate"):
        avatarlab.animate(np.zeros(100, np.float32), output=tmp_path / "x.mp4")


def test_long_recordings_align_piece_by_piece_to_the_same_timeline(speech, monkeypatch):
    """Pieces of a few seconds stand in for the 15-30 s pieces of a long recording."""
    whole = recognize(speech.audio, speech.sample_rate, BILABIAL_SCRIPT)
    stage = importlib.import_module("avatarlab.align.recognize")  # the module, not the function
    monkeypatch.setattr(stage, "ALIGN_PIECE_SECONDS", (1.5, 3.0))
    pieced = recognize(speech.audio, speech.sample_rate, BILABIAL_SCRIPT)
    assert pieced.method == "alignment"
    assert [w.text for w in pieced.utterance.words] == [w.text for w in whole.utterance.words]
    starts = np.array([w.start for w in pieced.utterance.words])
    assert np.abs(starts - [w.start for w in whole.utterance.words]).max() < 2 * FRAME
    errors = nearest_errors(
        bilabial_middles(speech.phones), bilabial_middles(pieced.utterance.phones)
    )
    # A cut every 1.5-3 s (ten times more often than for real) may clip a phone at a cut.
    assert errors.max() <= 0.1 and np.median(errors) <= 0.045, errors
