"""The speech stage with the real bundled voice: timelines, determinism, speed and errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import helper, numpy_helper

from avatarlab.errors import InputError, VoiceError
from avatarlab.speech import (
    VOICES_ENV,
    Voice,
    list_voices,
    load_voice,
    synthesize,
    synthesize_sentences,
)
from avatarlab.speech.conv2d import as_2d_convolutions
from avatarlab.speech.noise import NOISE_INPUT, feed_noise_from_input, fixed_noise_table
from avatarlab.speech.timeline import VOWEL_LETTERS, fold_alignments
from avatarlab.speech.voices import _read_piper_model, bundled_model_path, config_path_of
from avatarlab.types import Utterance

GREETING = "Hello, I'm your new tutor. Let's begin with a short story!"
NOT_PHONES = set("^$ ,.!?;:ˈˌː")


@pytest.fixture(scope="module")
def voice() -> Voice:
    return load_voice()


@pytest.fixture(scope="module")
def greeting(voice: Voice) -> Utterance:
    return synthesize(GREETING, voice)


@pytest.fixture()
def voices_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(VOICES_ENV, str(tmp_path))
    return tmp_path


def link_bundled_voice(folder: Path, name: str, with_config: bool = True) -> Path:
    model = folder / f"{name}.onnx"
    model.symlink_to(bundled_model_path())
    if with_config:
        config_path_of(model).symlink_to(config_path_of(bundled_model_path()))
    return model


# --- timeline -------------------------------------------------------------------------------


def test_phones_lie_in_order_inside_the_audio(greeting: Utterance) -> None:
    phones = greeting.phones
    assert len(phones) > 20
    assert greeting.sample_rate == 22050 and greeting.audio.dtype == np.float32
    assert all(0.0 <= p.start < p.end <= greeting.duration for p in phones)
    assert all(a.end <= b.start for a, b in zip(phones, phones[1:], strict=False))
    assert phones[-1].end <= greeting.duration
    assert not {p.symbol for p in phones} & NOT_PHONES


def test_pauses_fall_in_gaps_at_punctuation(greeting: Utterance) -> None:
    hello, im = greeting.words[0], greeting.words[1]
    assert len(greeting.pauses) == 3  # the comma and the two sentence ends
    assert hello.end < greeting.pauses[0] < im.start
    assert greeting.pauses[-1] > greeting.phones[-1].end
    assert all(not p.start < pause < p.end for p in greeting.phones for pause in greeting.pauses)


def test_words_carry_the_text_and_cover_their_phones(greeting: Utterance) -> None:
    texts = [w.text for w in greeting.words]
    assert texts == "Hello I'm your new tutor Let's begin with a short story".split()
    assert greeting.text == GREETING
    for word in greeting.words:
        inside = [p for p in greeting.phones if word.start <= p.start and p.end <= word.end]
        assert inside and inside[0].start == word.start and inside[-1].end == word.end


def test_bilabials_are_phones_long_enough_to_see(voice: Voice) -> None:
    utterance = synthesize("Bob put more maps in the box.", voice)
    durations = {p.symbol: [] for p in utterance.phones}
    for phone in utterance.phones:
        durations[phone.symbol].append(phone.end - phone.start)
    for bilabial in "pbm":
        assert bilabial in durations
        assert min(durations[bilabial]) >= 0.020


def test_primary_stress_marks_vowels(voice: Voice) -> None:
    utterance = synthesize("Remember the important banana.", voice)
    stressed = [p for p in utterance.phones if p.stressed]
    assert len(stressed) >= 3  # reMEMber imPORtant baNAna
    assert all(set(p.symbol) & VOWEL_LETTERS for p in stressed)


def test_numbers_keep_one_word_for_several_spoken_ones(voice: Voice) -> None:
    utterance = synthesize("The year 2024 was great.", voice)
    assert [w.text for w in utterance.words] == ["The", "year", "2024", "was", "great"]
    assert utterance.words[2].end - utterance.words[2].start > 0.5  # "two thousand twenty four"


def test_folding_moves_marks_into_phones_and_keeps_gaps_silent() -> None:
    # h ə l ˈ o ʊ , _ a ɪ m .  (samples per symbol, as Piper aligns them)
    alignments = [
        ("^", 100),
        ("h", 10),
        ("ə", 10),
        ("l", 10),
        ("ˈ", 5),
        ("o", 20),
        ("ː", 7),
        ("ʊ", 10),
        (",", 30),
        (" ", 20),
        ("a", 10),
        ("ɪ", 10),
        ("m", 10),
        (".", 40),
        ("$", 20),
    ]
    timeline = fold_alignments(alignments)
    phones = [(p.symbol, p.start, p.end, p.stressed) for p in timeline.phones]
    assert phones == [
        ("h", 100, 110, False),
        ("ə", 110, 120, False),
        ("l", 120, 130, False),
        ("o", 130, 162, True),
        ("ʊ", 162, 172, False),
        ("a", 222, 232, False),
        ("ɪ", 232, 242, False),
        ("m", 242, 252, False),
    ]
    assert [(w.start, w.end) for w in timeline.words] == [(100, 172), (222, 252)]
    assert timeline.pauses == (197.0, 282.0)
    assert timeline.n_samples == sum(n for _, n in alignments)


# --- sentences, determinism, speed -----------------------------------------------------------


def test_sentences_join_exactly(voice: Voice, greeting: Utterance) -> None:
    parts = list(synthesize_sentences(GREETING, voice))
    assert [p.text for p in parts] == [
        "Hello, I'm your new tutor.",
        "Let's begin with a short story!",
    ]
    assert len(greeting.audio) == sum(len(p.audio) for p in parts)
    assert np.array_equal(greeting.audio, np.concatenate([p.audio for p in parts]))
    offset = parts[0].duration
    joined = list(parts[0].phones) + [
        (p.symbol, p.start + offset, p.end + offset, p.stressed) for p in parts[1].phones
    ]
    assert len(joined) == len(greeting.phones)
    first_count = len(parts[0].phones)
    for expected, phone in zip(joined[first_count:], greeting.phones[first_count:], strict=True):
        assert phone.symbol == expected[0] and phone.stressed == expected[3]
        assert phone.start == pytest.approx(expected[1], abs=1e-9)
        assert phone.end == pytest.approx(expected[2], abs=1e-9)
    assert greeting.words[5].start == pytest.approx(parts[1].words[0].start + offset, abs=1e-9)
    assert greeting.pauses[-1] == pytest.approx(parts[1].pauses[-1] + offset, abs=1e-9)
    assert all(p.phones[-1].end <= p.duration for p in parts)


def test_deterministic_speech_repeats_bit_for_bit(voice: Voice, greeting: Utterance) -> None:
    again = synthesize(GREETING, voice)
    assert np.array_equal(again.audio, greeting.audio)
    assert again.phones == greeting.phones


def test_varied_speech_differs(voice: Voice) -> None:
    first = synthesize("Hello there.", voice, deterministic=False)
    second = synthesize("Hello there.", voice, deterministic=False)
    assert len(first.audio) != len(second.audio) or not np.array_equal(first.audio, second.audio)


def test_faster_speech_is_shorter(voice: Voice, greeting: Utterance) -> None:
    faster = synthesize(GREETING, voice, speed=1.5)
    assert 0.55 <= faster.duration / greeting.duration <= 0.8


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_text_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="text is empty"):
        synthesize(text)


def test_text_without_words_is_refused(voice: Voice) -> None:
    with pytest.raises(InputError, match="nothing to say aloud"):
        synthesize("... — (( ))", voice)


def test_too_long_text_names_the_limit() -> None:
    with pytest.raises(InputError, match="5001 characters long, over the limit of 5000"):
        synthesize("a" * 5001)
    with pytest.raises(InputError, match="over the limit of 10 characters"):
        synthesize("Hello there, tutor.", max_chars=10)


@pytest.mark.parametrize("speed", [0.4, 2.01, math.nan, -1.0])
def test_speed_out_of_range_is_refused(speed: float) -> None:
    with pytest.raises(InputError, match="out of range: use 0.5 .* to 2.0"):
        synthesize("Hello.", speed=speed)


def test_streaming_checks_arguments_before_the_first_sentence() -> None:
    with pytest.raises(InputError, match="Speed 3"):
        synthesize_sentences("Hello.", speed=3)


def test_missing_voice_file(tmp_path: Path) -> None:
    missing = tmp_path / "nobody.onnx"
    with pytest.raises(VoiceError, match=f"Voice model not found: {missing} — check the path"):
        load_voice(missing)


def test_voice_without_config(voices_folder: Path) -> None:
    model = link_bundled_voice(voices_folder, "lonely", with_config=False)
    with pytest.raises(VoiceError, match=f"Voice config not found: {model}.json — a Piper voice"):
        load_voice(model)


def test_voice_with_garbage_config(voices_folder: Path) -> None:
    model = link_bundled_voice(voices_folder, "garbled", with_config=False)
    config_path_of(model).write_text("{ this is not json")
    with pytest.raises(VoiceError, match=r"garbled.onnx.json is not valid JSON \(Expecting"):
        load_voice(model)


def test_voice_with_foreign_config(voices_folder: Path) -> None:
    model = link_bundled_voice(voices_folder, "foreign", with_config=False)
    config_path_of(model).write_text('{"name": "not a piper config"}')
    with pytest.raises(VoiceError, match="is not a Piper voice config .*'num_symbols'"):
        load_voice(str(model))


def test_model_that_is_not_onnx(voices_folder: Path) -> None:
    model = voices_folder / "fake.onnx"
    model.write_bytes(b"this is not a model")
    config_path_of(model).symlink_to(config_path_of(bundled_model_path()))
    with pytest.raises(VoiceError, match=f"{model} is not an ONNX model"):
        load_voice("fake")


def test_unknown_voice_name_says_where_it_looked(voices_folder: Path) -> None:
    with pytest.raises(VoiceError, match=f"Unknown voice 'nobody'.*\\({voices_folder}\\)"):
        load_voice("nobody")


# --- finding voices ---------------------------------------------------------------------------


def test_voice_found_by_name_in_voices_folder(voices_folder: Path, voice: Voice) -> None:
    link_bundled_voice(voices_folder, "tutor")
    tutor = load_voice("tutor")
    assert (tutor.name, tutor.path) == ("tutor", voices_folder / "tutor.onnx")
    assert tutor.piper is voice.piper  # the same model file is loaded once
    assert np.array_equal(synthesize("Hi.", tutor).audio, synthesize("Hi.", voice).audio)


def test_list_voices_reads_configs_only(voices_folder: Path) -> None:
    link_bundled_voice(voices_folder, "tutor")
    (voices_folder / "broken.onnx").write_bytes(b"")  # no config: left out
    listed = {info.name: info for info in list_voices()}
    assert listed["en_US-joe-medium"].bundled
    assert listed["tutor"].path == voices_folder / "tutor.onnx"
    assert (listed["tutor"].sample_rate, listed["tutor"].language) == (22050, "en_US")
    assert "broken" not in listed
    assert load_voice("en_US-joe-medium").name == "en_US-joe-medium"


# --- the model as onnxruntime runs it ---------------------------------------------------------


def _session(model: onnx.ModelProto) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )


def _convolutions(opset: int) -> onnx.ModelProto:
    """1-D convolutions of every kind a voice has: padded, dilated, strided, grouped, a
    weight two nodes share, and a transposed one that upsamples."""
    rng = np.random.default_rng(3)
    weights = {
        "w_dilated": rng.normal(size=(8, 4, 3)),
        "w_grouped": rng.normal(size=(8, 4, 5)),
        "w_down": rng.normal(size=(4, 8, 3)),
        "w_up": rng.normal(size=(8, 4, 4)),
        "b_up": rng.normal(size=4),
    }
    initializers = [
        numpy_helper.from_array(value.astype(np.float32), name) for name, value in weights.items()
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w_dilated"], ["a"], dilations=[3], pads=[3, 3]),
        helper.make_node("LeakyRelu", ["a"], ["a_lrelu"], alpha=0.1),
        helper.make_node("Conv", ["a_lrelu", "w_grouped"], ["b"], group=2, pads=[2, 2]),
        helper.make_node("Conv", ["b", "w_down"], ["c"], strides=[2], pads=[1, 1]),
        helper.make_node("Conv", ["c", "w_dilated"], ["d"], dilations=[3], pads=[3, 3]),
        helper.make_node(
            "ConvTranspose",
            ["d", "w_up", "b_up"],
            ["y"],
            strides=[2],
            pads=[1, 1],
            output_padding=[1],
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "convolutions",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4, None])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


@pytest.mark.parametrize("opset", [11, 15])
def test_1d_convolutions_run_as_2d_ones_with_the_same_result(opset: int) -> None:
    signal = np.random.default_rng(4).normal(size=(1, 4, 57)).astype(np.float32)
    expected = _session(_convolutions(opset)).run(None, {"x": signal})[0]
    model = _convolutions(opset)
    assert as_2d_convolutions(model) == 5
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("Unsqueeze") == ops.count("Squeeze") == 5
    weights = [list(t.dims) for t in model.graph.initializer if t.name.startswith("w_")]
    assert sorted(weights) == [[4, 8, 1, 3], [8, 4, 1, 3], [8, 4, 1, 4], [8, 4, 1, 5]]
    got = _session(model).run(None, {"x": signal})[0]
    assert got.shape == expected.shape == (1, 4, 59)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_the_bundled_voice_speaks_the_same_with_2d_convolutions() -> None:
    def model() -> onnx.ModelProto:
        loaded = _read_piper_model(bundled_model_path())
        feed_noise_from_input(loaded)
        return loaded

    rewritten = model()
    assert as_2d_convolutions(rewritten) == 132  # every one, the transposed ones too
    ids = np.array([[1, 0, 20, 0, 59, 0, 121, 0, 24, 0, 14, 0, 2]], np.int64)
    feed = {
        "input": ids,
        "input_lengths": np.array([ids.shape[1]], np.int64),
        "scales": np.array([0.667, 1.0, 0.8], np.float32),
        NOISE_INPUT: fixed_noise_table(),
    }
    expected = _session(model()).run(None, feed)[0]
    got = _session(rewritten).run(None, feed)[0]
    assert got.shape == expected.shape and expected.size > 4000
    assert np.abs(got - expected).max() < 1e-3 * np.abs(expected).max()
