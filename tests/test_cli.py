"""The `avatarlab` command: what a user types, what they see, and what is left on disk."""

import re
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from avatarlab.cli import main
from avatarlab.video import probe


def _run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def gradient(tmp_path):
    ramp = np.tile(np.linspace(0, 255, 320, dtype=np.uint8), (240, 1))
    path = tmp_path / "gradient.png"
    cv2.imwrite(str(path), np.dstack([ramp] * 3))
    return path


def _huge_png(path: Path, side: int = 20_000) -> Path:
    """A valid 20,000×20,000 grey PNG that is tiny on disk (rows of zeros compress well)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = side.to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    pixels = zlib.compress(bytes(side + 1) * side, 9)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
    return path


def test_say_writes_the_video_and_says_where(capsys, tmp_path):
    out = tmp_path / "hello.mp4"
    code, stdout, _ = _run(capsys, "say", "Hello there.", "-o", str(out), "--size", "256")
    assert code == 0
    assert f"wrote {out}" in stdout
    info = probe(out)
    assert (info.width, info.height) == (256, 256) and info.duration > 0.5


def test_say_reads_a_script_file(capsys, tmp_path):
    script = tmp_path / "script.txt"
    script.write_text("A short script.\nWith two lines.", encoding="utf-8")
    out = tmp_path / "s.webm"
    code, stdout, _ = _run(
        capsys, "say", "--text-file", str(script), "-o", str(out), "--size", "128"
    )
    assert code == 0 and probe(out).video_codec == "vp9"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["say", " "], "text is empty"),
        (["say"], "nothing to say"),
        (
            ["say", "Hi", "--voice", "/no/such/voice.onnx"],
            "Voice model not found: /no/such/voice.onnx",
        ),
        (["say", "Hi", "--speed", "9"], "speed must be between 0.5 and 2.0"),
        (["say", "Hi", "--size", "513"], "size must be even"),
        (["say", "Hi", "-a", "/no/such/photo.jpg"], "image file not found: /no/such/photo.jpg"),
        (["say", "Hi", "-o", "/no/such/folder/v.mp4"], "folder /no/such/folder does not exist"),
        (["say", "Hi", "-o", "out.avi"], "unsupported video format .avi"),
    ],
)
def test_user_mistakes_give_one_clear_line_and_exit_1(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, stdout, stderr = _run(capsys, *argv)
    assert code == 1
    assert stderr.startswith("avatarlab: error: ") and message in stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_photo_without_a_face(capsys, tmp_path, gradient):
    out = tmp_path / "v.mp4"
    code, _, stderr = _run(capsys, "say", "Hi", "-a", str(gradient), "-o", str(out))
    assert code == 1 and "no face found" in stderr
    assert not out.exists()


def test_corrupt_photo(capsys, tmp_path):
    photo = tmp_path / "broken.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20)
    code, _, stderr = _run(capsys, "say", "Hi", "-a", str(photo), "-o", str(tmp_path / "v.mp4"))
    assert code == 1 and "corrupt" in stderr and str(photo) in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.jpg"]


def test_huge_photo_is_refused_before_decoding(capsys, tmp_path):
    photo = _huge_png(tmp_path / "huge.png")
    code, _, stderr = _run(capsys, "say", "Hi", "-a", str(photo), "-o", str(tmp_path / "v.mp4"))
    assert code == 1 and "megapixels" in stderr and "limit" in stderr


def test_output_under_a_file_is_refused_and_nothing_is_left(capsys, tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("x")
    code, _, stderr = _run(capsys, "say", "Hi", "-o", str(blocker / "v.mp4"))
    assert code == 1 and "is a file, not a folder" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_voices_lists_the_bundled_voice(capsys):
    code, stdout, _ = _run(capsys, "voices")
    assert code == 0 and "en_US-joe-medium" in stdout


def test_help_explains_every_flag():
    result = subprocess.run(
        [sys.executable, "-m", "avatarlab.cli", "say", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    for flag in (
        "--avatar",
        "--output",
        "--text-file",
        "--voice",
        "--speed",
        "--size",
        "--full-frame",
        "--fps",
        "--format",
        "--seed",
        "--head-motion",
    ):
        assert flag in result.stdout
    assert "10% faster" in result.stdout


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory):
    from audio_files import write_audio

    from avatarlab.speech import synthesize

    speech = synthesize("Peter may pay for the pump, maybe.", None)
    return write_audio(tmp_path_factory.mktemp("rec") / "line.wav", speech.audio, 22050)


def test_animate_writes_the_video_and_its_sidecars(capsys, tmp_path, speech_wav):
    out = tmp_path / "talk.mp4"
    code, stdout, _ = _run(
        capsys,
        "animate",
        "--audio",
        str(speech_wav),
        "--text",
        "Peter may pay for the pump, maybe.",
        "-o",
        str(out),
        "--size",
        "256",
        "--subtitles",
        "srt",
        "--visemes",
        "rhubarb-tsv",
    )
    assert code == 0, stdout
    assert "lip-sync by alignment" in stdout and f"wrote {out}" in stdout
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["talk.mp4", "talk.srt", "talk.visemes.tsv"]
    assert "pump" in (tmp_path / "talk.srt").read_text()
    assert abs(probe(out).duration - probe(speech_wav).audio_duration) <= 1 / 25


def test_visemes_prints_a_rhubarb_track_without_a_video(capsys, tmp_path, speech_wav):
    code, stdout, stderr = _run(
        capsys, "visemes", "--audio", str(speech_wav), "--format", "rhubarb-tsv"
    )
    assert code == 0
    lines = stdout.splitlines()
    assert lines and all(re.fullmatch(r"\d+\.\d{2}\t[A-HX]", line) for line in lines)
    assert "A" in {line.split("\t")[1] for line in lines}  # the p's of Peter, pay, pump
    assert "lip-sync by recognition" in stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["animate", "--audio", "/no/such/voice.wav"], "no such file"),
        (["animate", "--audio", "{notes}"], "not a media file"),
        (["animate", "--audio", "{silence}"], "the audio is silent"),
        (["animate", "--audio", "{wav}", "--max-audio-seconds", "1"], "the limit is 1 s"),
        (["animate", "--audio", "{wav}", "--subtitles", "srt"], "need the words"),
        (["animate", "--audio", "{wav}", "--text", "a", "--text-file", "{notes}"], "not both"),
        (["visemes", "--audio", "{wav}", "--format", "srt"], "need the words"),
        (["visemes", "--audio", "{notes}"], "not a media file"),
        (["say", "Hi", "--captions", "--voice", "/no/such.onnx"], "Voice model not found"),
    ],
)
def test_recording_mistakes_give_one_clear_line_and_exit_1(
    capsys, tmp_path, monkeypatch, speech_wav, argv, message
):
    from audio_files import write_audio

    notes = tmp_path / "notes.mp3"
    notes.write_text("not audio")
    silence = write_audio(tmp_path / "silence.wav", np.zeros(22050, np.float32), 22050)
    names = {"notes": notes, "silence": silence, "wav": speech_wav}
    monkeypatch.chdir(tmp_path)
    code, _, stderr = _run(capsys, *(arg.format(**names) for arg in argv))
    assert code == 1
    assert stderr.startswith("avatarlab: error: ") and message in stderr, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.mp3", "silence.wav"]
