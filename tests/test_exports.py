"""Exports from real synthesized speech: subtitles, viseme tracks, sidecar files, captions."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest
import srt
import webvtt
from conftest import BILABIAL_SCRIPT

from avatarlab.errors import InputError, OutputError
from avatarlab.exports import (
    SUBTITLE_FORMATS,
    VISEME_FORMATS,
    caption_frames,
    render_export,
    subtitle_cues,
    to_rhubarb_tsv,
    to_srt,
    to_viseme_json,
    to_webvtt,
    viseme_cues,
    write_sidecars,
)
from avatarlab.motion.visemes import VISEMES
from avatarlab.speech import synthesize
from avatarlab.types import Phone, Utterance

LONG_SENTENCE = (
    "This sentence keeps going on and on, well past what a single subtitle can hold on "
    "screen, so the exporter has to split it somewhere sensible between two of its words."
)
TEXT = f'Hello, world! "{BILABIAL_SCRIPT}" {LONG_SENTENCE} Is that clear?'
BILABIALS = ("p", "b", "m")
RHUBARB_LINE = re.compile(r"^\d+\.\d{2}\t[A-HX]$")
TIMESTAMP = re.compile(r"<(\d\d):(\d\d):(\d\d)\.(\d{3})>")


@pytest.fixture(scope="module")
def speech() -> Utterance:
    return synthesize(TEXT, None)


def _seconds(clock: str) -> float:
    hours, minutes, seconds = clock.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _bilabial_middles(utterance: Utterance) -> list[float]:
    middles = [p.middle for p in utterance.phones if p.symbol in BILABIALS]
    assert len(middles) >= 15  # the script is full of them
    return middles


def test_srt_cues_fit_the_screen_and_the_audio(speech):
    subtitles = list(srt.parse(to_srt(speech)))
    assert [s.index for s in subtitles] == list(range(1, len(subtitles) + 1))
    previous_end = 0.0
    for subtitle in subtitles:
        start, end = subtitle.start.total_seconds(), subtitle.end.total_seconds()
        assert previous_end <= start <= end <= speech.duration
        assert end - start <= 7.0
        lines = subtitle.content.split("\n")
        assert 1 <= len(lines) <= 2 and all(len(line) <= 42 for line in lines)
        previous_end = end


def test_subtitles_show_every_word_of_the_text_in_order_with_its_punctuation(speech):
    shown = " ".join(s.content for s in srt.parse(to_srt(speech))).split()
    assert shown == TEXT.split()


def test_sentences_make_cues_and_a_long_sentence_is_split_between_words(speech):
    cues = subtitle_cues(speech)
    texts = [" ".join(cue.text.split()) for cue in cues]
    assert texts[0] == "Hello, world!" and texts[-1] == "Is that clear?"
    long_cues = [t for t in texts if t in LONG_SENTENCE]
    assert len(long_cues) >= 2 and " ".join(long_cues) == LONG_SENTENCE
    assert all(cue.end - cue.start > 0.3 for cue in cues)


def test_webvtt_parses_and_times_every_word_after_the_first(speech):
    vtt = to_webvtt(speech)
    assert vtt.startswith("WEBVTT\n\n")
    captions = webvtt.from_string(vtt).captions
    cues = subtitle_cues(speech)
    assert len(captions) == len(cues)
    for caption, cue in zip(captions, cues, strict=True):
        assert TIMESTAMP.sub("", caption.raw_text) == cue.text
        stamps = [
            _seconds(":".join(m[:3]) + "." + m[3]) for m in TIMESTAMP.findall(caption.raw_text)
        ]
        assert len(stamps) == len(cue.words) - 1
        assert stamps == sorted(stamps)
        assert all(_seconds(caption.start) <= t <= _seconds(caption.end) for t in stamps)
        assert stamps == pytest.approx([w.start for w in cue.words[1:]], abs=0.0006)


def test_viseme_json_covers_the_audio_in_order_and_closes_the_lips_on_p_b_m(speech):
    document = json.loads(to_viseme_json(speech))
    assert document["format"] == "avatarlab-visemes" and document["version"] == 1
    assert document["visemes"] == list(VISEMES)
    cues = document["cues"]
    assert cues[0]["time"] == 0.0 and cues[-1]["end"] == pytest.approx(speech.duration, abs=1e-3)
    for cue, following in pairwise(cues):
        assert cue["time"] <= cue["end"] == following["time"]
    assert all(c["viseme"] in VISEMES and 0.0 <= c["weight"] <= 1.0 for c in cues)
    for middle in _bilabial_middles(speech):
        showing = [c for c in cues if c["time"] <= middle < c["end"]]
        assert [c["viseme"] for c in showing] == ["PP"]


def test_viseme_weight_is_full_for_a_long_vowel_and_less_for_a_squeezed_one():
    audio = np.zeros(22050, dtype=np.float32)
    phones = (
        Phone("ɑ", 0.1, 0.5),
        Phone("ʃ", 0.5, 0.56),
        Phone("ɑ", 0.56, 0.6),
        Phone("ʃ", 0.6, 0.66),
    )
    cues = viseme_cues(Utterance(audio, 22050, phones))
    vowels = [cue for cue in cues if cue.viseme == "aa"]
    assert [round(cue.time, 2) for cue in vowels] == [0.1, 0.56]
    assert vowels[0].weight > 0.95
    assert vowels[1].weight < 0.6
    assert cues[0].viseme == "sil" and cues[-1].viseme == "sil"


def test_rhubarb_tsv_changes_shape_in_time_and_shuts_the_lips_on_p_b_m(speech):
    lines = to_rhubarb_tsv(speech).splitlines()
    assert all(RHUBARB_LINE.match(line) for line in lines)
    changes = [(float(time), shape) for time, shape in (line.split("\t") for line in lines)]
    times = [time for time, _ in changes]
    assert times == sorted(times) and times[0] == 0.0 and times[-1] <= speech.duration
    assert changes[-1][1] == "X"
    assert all(a[1] != b[1] for a, b in pairwise(changes))  # equal shapes merged
    assert {"A", "B", "C", "D", "X"} <= {shape for _, shape in changes}
    for middle in _bilabial_middles(speech):
        showing = [shape for time, shape in changes if time <= middle][-1]
        assert showing == "A", middle


def test_write_sidecars_writes_each_format_beside_the_video(speech, tmp_path):
    video = tmp_path / "talk.mp4"
    written = write_sidecars(video, speech, subtitles=SUBTITLE_FORMATS, visemes=VISEME_FORMATS)
    names = ["talk.srt", "talk.vtt", "talk.visemes.json", "talk.visemes.tsv"]
    assert [path.name for path in written] == names
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)  # no temporary left
    for path, fmt in zip(written, (*SUBTITLE_FORMATS, *VISEME_FORMATS), strict=True):
        assert path.read_text(encoding="utf-8") == render_export(speech, fmt)


@pytest.mark.parametrize(
    ("subtitles", "visemes", "message"),
    [
        (["srt", "ass"], [], "Unknown subtitle format 'ass': use one of srt, vtt"),
        (["json"], [], "Unknown subtitle format 'json'"),
        ([], ["rhubarb"], "Unknown viseme format 'rhubarb': use one of json, rhubarb-tsv"),
    ],
)
def test_an_unknown_format_writes_nothing(speech, tmp_path, subtitles, visemes, message):
    with pytest.raises(InputError, match=re.escape(message)):
        write_sidecars(tmp_path / "talk.mp4", speech, subtitles=subtitles, visemes=visemes)
    assert list(tmp_path.iterdir()) == []


def test_subtitles_of_speech_without_words_are_refused_and_nothing_is_written(speech, tmp_path):
    wordless = replace(speech, words=())
    with pytest.raises(InputError, match="no words to subtitle"):
        write_sidecars(tmp_path / "talk.mp4", wordless, subtitles=["vtt"], visemes=["json"])
    assert list(tmp_path.iterdir()) == []
    assert subtitle_cues(wordless) == ()
    assert json.loads(render_export(wordless, "json"))["cues"]  # visemes need phones only


def test_an_unwritable_folder_raises_an_output_error_and_leaves_nothing(speech, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write .*talk.srt"):
        write_sidecars(blocker / "talk.mp4", speech, subtitles=["srt"])
    assert list(tmp_path.iterdir()) == [blocker] and blocker.read_text() == "x"


def test_captions_mark_the_bottom_of_frames_during_a_cue_and_only_then(speech):
    fps, height, width = 25.0, 360, 640
    cues = subtitle_cues(speech)
    n_frames = int(cues[1].end * fps) + 5
    frames = [np.full((height, width, 3), 90 + i % 50, np.uint8) for i in range(n_frames)]
    captioned = list(caption_frames(iter(frames), cues, fps))
    assert len(captioned) == n_frames
    showing = 0
    for index, (before, after) in enumerate(zip(frames, captioned, strict=True)):
        moment = (index + 0.5) / fps
        if any(cue.start <= moment < cue.end for cue in cues):
            showing += 1
            changed = np.any(after != before, axis=2)
            assert changed[-height // 6 :].mean() > 0.05
            assert not changed[: height // 2].any()
            assert after[-height // 6 :].max() >= 250  # white text
        else:
            assert np.array_equal(after, before)
    assert 0 < showing < n_frames
    assert frames[0].max() == 90  # the input frames are not drawn on


def test_captions_of_the_same_cue_look_the_same(speech):
    cue = subtitle_cues(speech)[0]
    middle = int(0.5 * (cue.start + cue.end) * 25.0)
    frames = iter([np.zeros((180, 320, 3), np.uint8)] * (middle + 2))
    captioned = list(caption_frames(frames, [cue], 25.0))
    assert np.array_equal(captioned[middle], captioned[middle + 1])
    assert captioned[middle].any()


def test_the_format_lists_match_what_render_export_accepts(speech):
    for fmt in (*SUBTITLE_FORMATS, *VISEME_FORMATS):
        assert render_export(speech, fmt).strip()
    with pytest.raises(InputError, match="Unknown export format 'mp3'"):
        render_export(speech, "mp3")
    assert to_srt(subtitle_cues(speech)) == to_srt(speech)
    assert to_webvtt(()) == "WEBVTT\n"
