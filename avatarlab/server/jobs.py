"""The job store: one SQLite file (``jobs.sqlite3`` in the data folder) that outlives the process.

A job is the request that made it (text or audio, avatar, options) and where it stands:
``queued`` → ``running`` → ``done`` | ``failed``. Workers claim the oldest queued job in one
locked step, so two workers never take the same job.

Restarts (``recover``): a job still ``queued`` stays queued and runs in the new process. A job
found ``running`` was cut off by a crash or a kill, since a clean shutdown puts the jobs it
interrupts back in the queue (see ``WorkerPool.stop``); it is marked ``failed`` with code
``interrupted`` and the reason, rather than re-run, because the job that was running when a
process died may be the one that killed it (memory, a pathological input), and re-running it
on every start would crash-loop the server. Either way no job disappears without a word.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
FINISHED = frozenset({DONE, FAILED})
INTERRUPTED = "interrupted"
INTERRUPTED_MESSAGE = (
    "interrupted by a restart: the server stopped while this video was rendering; submit it again"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    stage TEXT,
    progress REAL NOT NULL DEFAULT 0,
    request TEXT NOT NULL,
    result TEXT,
    error_code TEXT,
    error_message TEXT,
    started REAL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, created);
CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created);
"""


class QueueFull(Exception):
    """More jobs are waiting than the server accepts."""


class StoreClosed(Exception):
    """The store was closed (the app shut down) while a worker still held a job."""


@dataclass(frozen=True)
class Job:
    id: str
    status: str
    created: float
    request: dict[str, Any]
    stage: str | None = None
    progress: float = 0.0
    result: dict[str, Any] | None = None
    error: dict[str, str] | None = None
    started: float | None = None
    finished: float | None = None


def _job_from_row(row: sqlite3.Row) -> Job:
    error = None
    if row["error_code"] is not None:
        error = {"code": row["error_code"], "message": row["error_message"] or ""}
    return Job(
        id=row["id"],
        status=row["status"],
        created=row["created"],
        request=json.loads(row["request"]),
        stage=row["stage"],
        progress=row["progress"],
        result=json.loads(row["result"]) if row["result"] else None,
        error=error,
        started=row["started"],
        finished=row["finished"],
    )


class JobStore:
    """Thread-safe: one connection, one lock. Every statement is short, so contention is nil
    next to a render, and SQLite's WAL journal keeps the file consistent across crashes."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = sqlite3.connect(
            path, check_same_thread=False, isolation_level=None
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _execute(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        """Run one statement; the caller holds the lock."""
        if self._db is None:
            raise StoreClosed("the job store is closed")
        return self._db.execute(sql, args)

    def create(self, request: dict[str, Any], max_queued: int) -> Job:
        """A new queued job, or QueueFull when ``max_queued`` jobs are already waiting."""
        job_id, now = uuid.uuid4().hex, time.time()
        with self._lock:
            waiting = self._execute("SELECT COUNT(*) FROM jobs WHERE status = ?", (QUEUED,))
            if waiting.fetchone()[0] >= max_queued:
                raise QueueFull(f"{max_queued} videos are already waiting; try again shortly")
            self._execute(
                "INSERT INTO jobs (id, created, status, request) VALUES (?, ?, ?, ?)",
                (job_id, now, QUEUED, json.dumps(request)),
            )
        return Job(id=job_id, status=QUEUED, created=now, request=request)

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            row = self._execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _job_from_row(row) if row else None

    def list(self, limit: int = 50, offset: int = 0) -> list[Job]:
        """Newest first."""
        with self._lock:
            rows = self._execute(
                "SELECT * FROM jobs ORDER BY created DESC LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        return [_job_from_row(row) for row in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {status: count for status, count in rows}

    def claim_next(self) -> Job | None:
        """The oldest queued job, now marked running; None when the queue is empty."""
        with self._lock:
            row = self._execute(
                "SELECT id FROM jobs WHERE status = ? ORDER BY created LIMIT 1", (QUEUED,)
            ).fetchone()
            if row is None:
                return None
            self._execute(
                "UPDATE jobs SET status = ?, started = ?, stage = NULL, progress = 0 WHERE id = ?",
                (RUNNING, time.time(), row["id"]),
            )
            claimed = self._execute("SELECT * FROM jobs WHERE id = ?", (row["id"],)).fetchone()
        return _job_from_row(claimed)

    def set_progress(self, job_id: str, stage: str, progress: float) -> None:
        with self._lock:
            self._execute(
                "UPDATE jobs SET stage = ?, progress = ? WHERE id = ? AND status = ?",
                (stage, progress, job_id, RUNNING),
            )

    def finish(self, job_id: str, result: dict[str, Any]) -> bool:
        """Mark a running job done; False if it was deleted meanwhile."""
        with self._lock:
            cursor = self._execute(
                "UPDATE jobs SET status = ?, stage = ?, progress = 1, result = ?, finished = ? "
                "WHERE id = ? AND status = ?",
                (DONE, DONE, json.dumps(result), time.time(), job_id, RUNNING),
            )
        return cursor.rowcount == 1

    def fail(self, job_id: str, code: str, message: str) -> bool:
        with self._lock:
            cursor = self._execute(
                "UPDATE jobs SET status = ?, error_code = ?, error_message = ?, finished = ? "
                "WHERE id = ? AND status = ?",
                (FAILED, code, message, time.time(), job_id, RUNNING),
            )
        return cursor.rowcount == 1

    def requeue(self, job_id: str) -> bool:
        """Put an interrupted running job back at its place in the queue."""
        with self._lock:
            cursor = self._execute(
                "UPDATE jobs SET status = ?, stage = NULL, progress = 0, started = NULL "
                "WHERE id = ? AND status = ?",
                (QUEUED, job_id, RUNNING),
            )
        return cursor.rowcount == 1

    def delete(self, job_id: str) -> Job | None:
        """Remove a job's row; the job as it was, or None if there was none."""
        with self._lock:
            row = self._execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is not None:
                self._execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        return _job_from_row(row) if row else None

    def recover(self) -> tuple[int, int]:
        """After a restart: (jobs still queued, running jobs marked failed). See the module."""
        with self._lock:
            failed = self._execute(
                "UPDATE jobs SET status = ?, error_code = ?, error_message = ?, finished = ? "
                "WHERE status = ?",
                (FAILED, INTERRUPTED, INTERRUPTED_MESSAGE, time.time(), RUNNING),
            ).rowcount
            queued = self._execute(
                "SELECT COUNT(*) FROM jobs WHERE status = ?", (QUEUED,)
            ).fetchone()[0]
        return queued, failed
