"""A fixed pool of render threads pulling jobs from the store.

Threads, not processes: a render spends its time in NumPy, OpenCV, ONNX Runtime and x264,
which release the GIL, and the voice and rigs loaded once are shared. ``workers`` threads
bound how many renders share the CPU; the store's queue bounds how many wait.

Progress goes through a ``Reporter`` per job: every pipeline callback checks whether the job
should stop (deleted, or the server is shutting down), then updates listeners at most every
``EVENT_INTERVAL`` and the database at most every ``WRITE_INTERVAL`` (each frame would be
hundreds of SQLite writes a second for no reader's benefit).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import AvatarLabError
from .events import Broadcaster
from .jobs import DONE, FAILED, RUNNING, Job, JobStore, StoreClosed

log = logging.getLogger("avatarlab.server")

EVENT_INTERVAL = 0.1
WRITE_INTERVAL = 0.5
IDLE_WAIT = 2.0
"""Workers also look at the queue this often without being woken (a job added by another
process sharing the data folder, or a wake-up lost to a race)."""

STAGE_SPANS = {
    "face": (0.0, 0.05),
    "voice": (0.05, 0.25),
    "align": (0.05, 0.25),
    "render": (0.25, 1.0),
}
"""Each stage's share of the overall 0..1 progress: rendering dominates a job's time."""


class JobAborted(Exception):
    """Raised from the progress callback to stop a render early."""


def overall_progress(stage: str, done: int, total: int) -> float:
    low, high = STAGE_SPANS.get(stage, (0.0, 1.0))
    fraction = min(max(done / total, 0.0), 1.0) if total > 0 else 0.0
    return round(low + (high - low) * fraction, 4)


class Reporter:
    """The ``progress(stage, done, total)`` callback handed to the pipeline for one job."""

    def __init__(
        self, job_id: str, store: JobStore, events: Broadcaster, should_stop: Callable[[], bool]
    ):
        self.job_id, self.store, self.events = job_id, store, events
        self.should_stop = should_stop
        self.stage: str | None = None
        self.last_event = self.last_write = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.should_stop():
            raise JobAborted(self.job_id)
        progress = overall_progress(stage, done, total)
        now = time.monotonic()
        changed, complete = stage != self.stage, done >= total
        self.stage = stage
        if changed or complete or now - self.last_event >= EVENT_INTERVAL:
            self.last_event = now
            payload = {"status": RUNNING, "stage": stage, "progress": progress}
            self.events.publish(self.job_id, "progress", payload)
        if changed or complete or now - self.last_write >= WRITE_INTERVAL:
            self.last_write = now
            self.store.set_progress(self.job_id, stage, progress)


RunJob = Callable[[Job, Reporter], dict[str, Any]]
Discard = Callable[[str], None]


class WorkerPool:
    """``size`` threads running ``run(job, reporter)``; ``discard(job_id)`` removes the files
    of a job that was deleted or interrupted."""

    def __init__(
        self, store: JobStore, events: Broadcaster, run: RunJob, discard: Discard, size: int
    ):
        self.store, self.events, self.run, self.discard = store, events, run, discard
        self.size = size
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._running: set[str] = set()
        self._cancelled: set[str] = set()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self.size):
            thread = threading.Thread(
                target=self._loop, name=f"avatarlab-worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        """A job was queued: one idle worker takes it now rather than at its next look."""
        with self._wake:
            self._wake.notify()

    def cancel(self, job_id: str) -> None:
        """Stop a running job at its next progress report (its row is already deleted)."""
        with self._wake:
            if job_id in self._running:
                self._cancelled.add(job_id)

    def stop(self, timeout: float = 10.0) -> list[str]:
        """Stop taking jobs; running ones stop at their next frame and go back to the queue.
        Returns the names of threads still busy after ``timeout`` (stuck in a long speech
        synthesis, say): their jobs stay 'running' and the next start reports them."""
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return [thread.name for thread in self._threads if thread.is_alive()]

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                job = self.store.claim_next()
            except StoreClosed:
                return
            if job is None:
                with self._wake:
                    if not self._stopping.is_set():
                        self._wake.wait(IDLE_WAIT)
                continue
            self._run_one(job)

    def _should_stop(self, job_id: str) -> bool:
        return self._stopping.is_set() or job_id in self._cancelled

    def _run_one(self, job: Job) -> None:
        try:
            self._execute(job)
        except StoreClosed:  # the app shut down without waiting for this render
            log.warning("job %s was still running when the server stopped", job.id)

    def _execute(self, job: Job) -> None:
        with self._wake:
            self._running.add(job.id)
        reporter = Reporter(job.id, self.store, self.events, lambda: self._should_stop(job.id))
        self.events.publish(job.id, "progress", {"status": RUNNING, "stage": None, "progress": 0})
        try:
            result = self.run(job, reporter)
        except JobAborted:
            self._aborted(job.id)
        except AvatarLabError as error:
            self._failed(job.id, error.code, error.message)
        except Exception as error:  # a bug: the job fails with a message, the worker lives on
            log.exception("job %s failed", job.id)
            self._failed(job.id, "internal", f"rendering failed: {type(error).__name__}: {error}")
        else:
            self._finished(job.id, result)
        finally:
            with self._wake:
                self._running.discard(job.id)
                self._cancelled.discard(job.id)

    def _aborted(self, job_id: str) -> None:
        """Deleted: drop its files. Shutting down: drop the partial files, queue it again."""
        with self._wake:
            cancelled = job_id in self._cancelled
        self.discard(job_id)
        if not cancelled:
            self.store.requeue(job_id)

    def _failed(self, job_id: str, code: str, message: str) -> None:
        if self.store.fail(job_id, code, message):
            self.events.publish(job_id, FAILED, {"status": FAILED})
        else:
            self.discard(job_id)

    def _finished(self, job_id: str, result: dict[str, Any]) -> None:
        if self.store.finish(job_id, result):
            self.events.publish(job_id, DONE, {"status": DONE, "stage": DONE, "progress": 1.0})
        else:  # deleted while it rendered
            self.discard(job_id)
