"""Recorded speech uploaded for a video: checked once at upload, kept under ``audio/<id>/``.

The whole file is decoded at upload, so a corrupt, silent or too long file is refused there,
with its own message, instead of failing a job later. Silence is judged as the aligner
judges it, so an upload that passes here is one it will read. Like avatars, an upload's id
is a hash of its bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..align.signal import hear
from ..errors import AudioError, AvatarLabError
from ..video import probe, read_audio
from .avatars import valid_id

_SUFFIX = re.compile(r"^\.[a-z0-9]{1,5}$")


class AudioTooLong(AudioError):
    code = "audio_too_long"


@dataclass(frozen=True)
class AudioRecord:
    id: str
    name: str
    duration: float
    sample_rate: int
    created: float
    audio_file: str


class AudioStore:
    def __init__(self, folder: Path, max_seconds: float):
        self.folder = folder
        self.max_seconds = max_seconds
        (folder / ".incoming").mkdir(parents=True, exist_ok=True)

    def add_upload(self, data: bytes, filename: str) -> AudioRecord:
        audio_id = hashlib.sha256(data).hexdigest()[:24]
        existing = self.get(audio_id)
        if existing is not None:
            return existing
        name = Path(filename or "audio").name[:120] or "audio"
        suffix = Path(name).suffix.lower()
        scratch = self.folder / ".incoming" / uuid.uuid4().hex
        scratch.mkdir()
        try:
            record = self._check(scratch, data, name, suffix if _SUFFIX.match(suffix) else ".bin")
            return self._keep(scratch, record)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _check(self, scratch: Path, data: bytes, name: str, suffix: str) -> AudioRecord:
        path = scratch / ("audio" + suffix)
        path.write_bytes(data)
        try:
            duration = probe(path).audio_duration
            if duration is not None and duration > self.max_seconds:
                raise AudioTooLong(self._too_long(name, duration))
            samples, rate = read_audio(path)
        except AudioTooLong:
            raise
        except AvatarLabError as error:
            raise AudioError(error.message.replace(str(path), name)) from None
        if len(samples) / rate > self.max_seconds:
            raise AudioTooLong(self._too_long(name, len(samples) / rate))
        try:
            hear(samples, rate)
        except AudioError as error:
            raise AudioError(f"{name}: {error.message}") from None
        return AudioRecord(
            id=hashlib.sha256(data).hexdigest()[:24],
            name=name,
            duration=round(len(samples) / rate, 4),
            sample_rate=rate,
            created=time.time(),
            audio_file=path.name,
        )

    def _too_long(self, name: str, seconds: float) -> str:
        return f"{name} is {seconds:.0f} s long; the limit is {self.max_seconds:g} s"

    def _keep(self, scratch: Path, record: AudioRecord) -> AudioRecord:
        (scratch / "meta.json").write_text(json.dumps(asdict(record)), encoding="utf-8")
        target = self.folder / record.id
        try:
            scratch.rename(target)
        except OSError:  # the same file uploaded twice at once: the first one stays
            pass
        return self.get(record.id) or record

    def get(self, audio_id: str) -> AudioRecord | None:
        if not valid_id(audio_id):
            return None
        try:
            meta = json.loads((self.folder / audio_id / "meta.json").read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return AudioRecord(**meta)

    def read(self, audio_id: str) -> tuple[np.ndarray, int]:
        record = self.get(audio_id)
        if record is None:
            raise AudioError(f"the audio {audio_id!r} no longer exists")
        return read_audio(self.folder / audio_id / record.audio_file)
