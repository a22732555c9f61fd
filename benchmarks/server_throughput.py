"""The server under load: how soon progress reaches a client, and what parallel workers buy.

Run: python benchmarks/server_throughput.py [--jobs 4] [--workers 2]. Starts a real uvicorn
server in this process (temporary data folder), then measures

- latency: POST /v1/videos → first server-sent event, and → first event from a worker;
- throughput: ``--jobs`` videos queued at once with ``--workers`` workers, against the same
  videos run one after another (workers=1), and against ``avatarlab say`` run once per
  video from the command line, one after another (the issue's yardstick), as wall time and
  seconds of video per second.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from avatarlab.server import ServerSettings, create_app

SCRIPT = (
    "Welcome back to the course. Today we look at how maps are drawn, "
    "and why the oceans on them are always blue."
)


@contextmanager
def running_server(data_dir: Path, workers: int) -> Iterator[str]:
    settings = ServerSettings(data_dir=data_dir, workers=workers, api_key=None)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


def submit(client: httpx.Client, text: str) -> str:
    response = client.post("/v1/videos", json={"text": text})
    response.raise_for_status()
    return response.json()["id"]


def event_latencies(client: httpx.Client, text: str) -> tuple[float, float, float]:
    """Seconds from POST to: the first event, the first worker event, the final event."""
    started = time.perf_counter()
    video_id = submit(client, text)
    first = worker = None
    with client.stream("GET", f"/v1/videos/{video_id}/events") as stream:
        for line in stream.iter_lines():
            if not line.startswith("data: "):
                continue
            now = time.perf_counter() - started
            event = json.loads(line[6:])
            first = first if first is not None else now
            if worker is None and event.get("stage"):
                worker = now
            if event.get("status") in ("done", "failed"):
                return first, worker or now, now
    raise RuntimeError("the event stream ended without a final event")


def wait_all(client: httpx.Client, ids: list[str]) -> list[dict]:
    while True:
        jobs = [client.get(f"/v1/videos/{video_id}").json() for video_id in ids]
        if all(job["status"] in ("done", "failed") for job in jobs):
            return jobs
        time.sleep(0.05)


def batch(base_url: str, n_jobs: int) -> tuple[float, float]:
    """Queue ``n_jobs`` at once; (wall seconds until all are done, seconds of video made)."""
    with httpx.Client(base_url=base_url, timeout=120) as client:
        started = time.perf_counter()
        ids = [submit(client, f"{SCRIPT} Part {index + 1}.") for index in range(n_jobs)]
        jobs = wait_all(client, ids)
        wall = time.perf_counter() - started
    return wall, sum(job["result"]["duration"] for job in jobs)


def cli_one_after_another(n_jobs: int, folder: Path) -> float:
    """Wall seconds for ``avatarlab say`` run ``n_jobs`` times in a row, process start
    included, as a user scripting the CLI would."""
    started = time.perf_counter()
    for index in range(n_jobs):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "avatarlab.cli",
                "say",
                f"{SCRIPT} Part {index + 1}.",
                "-q",
                "-o",
                str(folder / f"cli-{index}.mp4"),
            ],
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        with running_server(Path(folder) / "one", 1) as url:
            with httpx.Client(base_url=url, timeout=120) as client:
                event_latencies(client, "Warm up.")
                samples = [event_latencies(client, SCRIPT) for _ in range(args.repeats)]
            serial_wall, serial_video = batch(url, args.jobs)
        with running_server(Path(folder) / "many", args.workers) as url:
            batch(url, 1)  # rigs and caches warm, as in the serial run
            parallel_wall, parallel_video = batch(url, args.jobs)
        cli_wall = cli_one_after_another(args.jobs, Path(folder))
    first, worker, total = (statistics.median(column) for column in zip(*samples, strict=True))
    print(f"POST → first SSE event:     {first * 1000:7.1f} ms (median of {args.repeats})")
    print(f"POST → first worker event:  {worker * 1000:7.1f} ms")
    print(f"POST → done (one video):    {total * 1000:7.1f} ms")
    print(
        f"{args.jobs} jobs, 1 worker:  {serial_wall:6.2f} s wall, "
        f"{serial_video / serial_wall:5.2f} s of video per s"
    )
    print(
        f"{args.jobs} jobs, {args.workers} workers: {parallel_wall:6.2f} s wall, "
        f"{parallel_video / parallel_wall:5.2f} s of video per s "
        f"({serial_wall / parallel_wall:.2f}× the serial throughput)"
    )
    print(
        f"{args.jobs} × avatarlab say:   {cli_wall:6.2f} s wall "
        f"(server with {args.workers} workers: {cli_wall / parallel_wall:.2f}× its throughput)"
    )


if __name__ == "__main__":
    main()
