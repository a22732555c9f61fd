"""Encode speed of the video stage: 512×512 astronaut with a moving patch, 10 s at 25 fps.

Run: python benchmarks/encode_speed.py [preset ...]. Prints frames per second for MP4 (x264)
and WebM (VP9), with and without ``prefetch`` around a producer that does some numpy work,
so the render/encode overlap is visible.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from avatarlab.video import prefetch, write_video

FPS, SECONDS, SR = 25, 10, 22050


def frames(n: int, extra_work: int = 0) -> Iterator[np.ndarray]:
    """The astronaut warped like a talking head: a smooth sway of the whole picture (a few
    pixels, sub-pixel steps) plus a patch opening and closing at the mouth, drawn with
    cv2.remap as a warp renderer would. ``extra_work`` adds blur passes (more render cost)."""
    base = np.ascontiguousarray(data.astronaut()[:512, :512])
    ys, xs = np.mgrid[:512, :512].astype(np.float32)
    mouth = np.exp(-(((xs - 250) / 40) ** 2 + ((ys - 190) / 15) ** 2)).astype(np.float32)
    for i in range(n):
        t = i / FPS
        dx = 3.0 * np.sin(2 * np.pi * 0.3 * t)
        dy = 2.0 * np.sin(2 * np.pi * 0.2 * t) + 6.0 * mouth * max(0.0, np.sin(2 * np.pi * 4 * t))
        frame = cv2.remap(base, xs + dx, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        for _ in range(extra_work):
            frame = cv2.GaussianBlur(frame, (5, 5), 0)
        yield frame


def run(fmt: str, preset: str, work: int, overlap: bool) -> float:
    n = FPS * SECONDS
    t = np.arange(SR * SECONDS) / SR
    audio = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    source = frames(n, work)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_video(
            Path(tmp) / f"bench.{fmt}",
            prefetch(source) if overlap else source,
            fps=FPS,
            audio=audio,
            sample_rate=SR,
            preset=preset,
        )
        return n / (time.perf_counter() - start)


def main() -> None:
    presets = sys.argv[1:] or ["veryfast"]
    for preset in presets:
        for fmt in ("mp4", "webm"):
            for work, overlap in ((0, False), (0, True), (8, False), (8, True)):
                fps = max(run(fmt, preset, work, overlap) for _ in range(3))  # best of 3
                label = f"{fmt} {preset} extra-work={work} prefetch={overlap}"
                print(f"{label:45s} {fps:7.1f} fps")


if __name__ == "__main__":
    main()
