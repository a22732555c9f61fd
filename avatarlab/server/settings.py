"""What one ``avatarlab serve`` process may do: where it keeps things and how much it accepts.

Every limit protects the machine from one request: an upload cannot fill the disk, a photo
cannot decode into gigabytes, a script cannot occupy a worker for an hour, and a burst of
requests cannot grow the queue without bound.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..errors import InputError
from ..face.image import DEFAULT_MAX_PIXELS
from ..options import Options
from ..speech.synthesis import DEFAULT_MAX_CHARS

DATA_ENV = "AVATARLAB_DATA"
API_KEY_ENV = "AVATARLAB_API_KEY"


def default_data_dir() -> Path:
    """$AVATARLAB_DATA, else the XDG data folder: jobs and uploads survive restarts."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "avatarlab"


def default_workers() -> int:
    """One render per core: each render is mostly single-threaded NumPy and x264."""
    return os.cpu_count() or 1


def default_api_key() -> str | None:
    """From the environment, so the key never has to appear on a command line."""
    return os.environ.get(API_KEY_ENV) or None


@dataclass(frozen=True)
class ServerSettings:
    data_dir: Path = field(default_factory=default_data_dir)
    """Holds jobs.sqlite3, avatars/<id>/, audio/<id>/ and videos/<id>/."""
    workers: int = field(default_factory=default_workers)
    """Render threads. 0 accepts and queues jobs without running them (useful in tests)."""
    max_upload_mb: float = 20.0
    """Largest accepted upload (image or audio), in megabytes; larger bodies get 413."""
    max_image_pixels: int = DEFAULT_MAX_PIXELS
    """Checked from the header before decoding, so a small file cannot expand into gigabytes."""
    max_text_chars: int = DEFAULT_MAX_CHARS
    max_audio_seconds: float = 300.0
    """Longest recording accepted at upload; within the library's own range (1 s to 1 h), as
    every job passes it on as its ``max_audio_seconds`` option."""
    max_clip_seconds: float = 60.0
    """Longest video accepted as an avatar, 2 s to 600 s (reading one takes about a fifth
    of its length, at upload)."""
    max_queued_jobs: int = 32
    """Jobs waiting for a worker; one more gets 429 instead of an ever-growing queue."""
    api_key: str | None = field(default_factory=default_api_key)
    """When set, every /v1 request needs it in the X-API-Key header (or ?api_key= where a
    browser cannot send headers: <video>, <img>, EventSource). The page and /healthz stay open."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())
        checks = {
            "workers": self.workers >= 0,
            "max_upload_mb": self.max_upload_mb > 0,
            "max_image_pixels": self.max_image_pixels > 0,
            "max_text_chars": self.max_text_chars > 0,
            "max_audio_seconds": _in_recording_range(self.max_audio_seconds),
            "max_clip_seconds": 2.0 <= self.max_clip_seconds <= 600.0,
            "max_queued_jobs": self.max_queued_jobs > 0,
        }
        wrong = [name for name, ok in checks.items() if not ok]
        if wrong:
            raise InputError(f"server settings out of range: {', '.join(wrong)}")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


def _in_recording_range(seconds: float) -> bool:
    """Whether ``seconds`` is in the range of the ``max_audio_seconds`` option."""
    meta = next(spec.metadata for spec in fields(Options) if spec.name == "max_audio_seconds")
    return meta["low"] <= seconds <= meta["high"]
