"""From worker threads to server-sent-event streams: progress without polling the database.

Workers run in plain threads; each SSE stream waits in the server's event loop. A listener
registers an ``asyncio.Queue`` together with its loop, and ``publish`` hands events over with
``call_soon_threadsafe``, the one safe way for a thread to wake a coroutine.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Listener:
    job_id: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)


class Broadcaster:
    """Per-job fan-out of events to however many streams are watching that job."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[str, set[Listener]] = defaultdict(set)

    def subscribe(self, job_id: str) -> Listener:
        """Call from a coroutine: the listener belongs to the running loop."""
        listener = Listener(job_id, asyncio.get_running_loop())
        with self._lock:
            self._listeners[job_id].add(listener)
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            watching = self._listeners.get(listener.job_id)
            if watching is not None:
                watching.discard(listener)
                if not watching:
                    del self._listeners[listener.job_id]

    def publish(self, job_id: str, kind: str, data: dict[str, Any]) -> None:
        """Safe from any thread; a listener whose loop has closed is skipped."""
        with self._lock:
            listeners = list(self._listeners.get(job_id, ()))
        for listener in listeners:
            try:
                listener.loop.call_soon_threadsafe(listener.queue.put_nowait, (kind, data))
            except RuntimeError:  # the loop is closed: its stream is gone
                self.unsubscribe(listener)
