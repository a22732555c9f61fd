"""Everything one running server owns, opened in the app's lifespan and closed with it.

Nothing here exists at import: two apps in one process (tests, a restart in place) each
have their own store, workers and caches.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TextIO

from fastapi import Depends, Request

from ..errors import InputError
from ..speech import load_voice
from .audio import AudioStore
from .avatars import AvatarStore
from .errors import ApiError
from .events import Broadcaster
from .jobs import JobStore
from .settings import ServerSettings
from .tasks import RenderContext, render_job
from .workers import WorkerPool

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; one server per folder is up to the user
    fcntl = None

log = logging.getLogger("avatarlab.server")


class FolderLock:
    """One server per data folder: a second one would take the first one's running jobs for
    jobs cut off by a crash, and mark them failed."""

    def __init__(self, folder: Path):
        self.file: TextIO | None = open(folder / "server.lock", "a+")
        if fcntl is None:
            return
        try:
            fcntl.flock(self.file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.release()
            raise InputError(
                f"another AvatarLab server is using {folder}; stop it, or give this one "
                "another data folder"
            ) from None

    def release(self) -> None:
        if self.file is not None:
            self.file.close()  # closing drops the lock
            self.file = None


@dataclass(frozen=True)
class ServerContext:
    settings: ServerSettings
    store: JobStore
    events: Broadcaster
    avatars: AvatarStore
    audio: AudioStore
    render: RenderContext
    pool: WorkerPool
    lock: FolderLock

    def close(self) -> None:
        """Stop the workers (their running jobs go back to the queue), then the store."""
        busy = self.pool.stop()
        if busy:
            log.warning("workers still busy at shutdown: %s", ", ".join(busy))
        self.store.close()
        self.lock.release()


def open_context(settings: ServerSettings) -> ServerContext:
    """Lock the data folder, recover jobs from a previous run, prepare the bundled avatar
    and the voice (the slow part of a first render), and start the workers."""
    root = settings.data_dir
    root.mkdir(parents=True, exist_ok=True)
    lock = FolderLock(root)
    store = JobStore(root / "jobs.sqlite3")
    try:
        return _open_rest(settings, lock, store)
    except BaseException:
        store.close()
        lock.release()
        raise


def _open_rest(settings: ServerSettings, lock: FolderLock, store: JobStore) -> ServerContext:
    root = settings.data_dir
    queued, failed = store.recover()
    if failed:
        log.warning("%d job(s) were cut off by the last shutdown and are marked failed", failed)
    if queued:
        log.info("%d job(s) queued before the restart will run now", queued)
    avatars = AvatarStore(root / "avatars", settings.max_image_pixels, settings.max_clip_seconds)
    avatars.ensure_bundled()
    audio = AudioStore(root / "audio", settings.max_audio_seconds)
    render = RenderContext(videos=root / "videos", avatars=avatars, audio=audio)
    render.videos.mkdir(exist_ok=True)
    load_voice()
    events = Broadcaster()
    run = functools.partial(render_job, context=render)
    pool = WorkerPool(store, events, run, render.discard, settings.workers)
    pool.start()
    return ServerContext(settings, store, events, avatars, audio, render, pool, lock)


def server_context(request: Request) -> ServerContext:
    context = getattr(request.app.state, "context", None)
    if context is None:
        raise ApiError(503, "starting", "the server is still starting; try again in a moment")
    return context


Context = Annotated[ServerContext, Depends(server_context)]
