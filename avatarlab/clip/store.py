"""A clip's frames kept as JPEG in one file: random access without holding them decoded.

Looping plays frames backwards and the mouth atlas reaches any frame, so frames must be
reachable by index; decoding a 60 s clip at 512² would take over a gigabyte, its JPEGs
(quality 95) well under a tenth of that. The file is memory-mapped, so the pages a render
does not touch are never read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

JPEG_QUALITY = 95
_RECENT = 4
"""Decoded frames kept: a held mouth and the background of the same moment repeat."""


class FrameWriter:
    """Appends frames to ``frames.jpg`` and their byte offsets to ``offsets.npy``."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._file = open(folder / "frames.jpg", "wb")  # noqa: SIM115 - closed in finish()
        self._offsets = [0]

    def add(self, frame: np.ndarray) -> None:
        ok, encoded = cv2.imencode(
            ".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
        )
        if not ok:
            raise RuntimeError("OpenCV could not encode a frame as JPEG")
        self._file.write(encoded.tobytes())
        self._offsets.append(self._offsets[-1] + len(encoded))

    def finish(self) -> None:
        self._file.close()
        np.save(self.folder / "offsets.npy", np.array(self._offsets, dtype=np.int64))

    def abandon(self) -> None:
        self._file.close()


class FrameStore:
    """The frames of ``FrameWriter``'s folder, by index, as H×W×3 uint8 RGB."""

    def __init__(self, folder: Path):
        self.offsets = np.load(folder / "offsets.npy")
        self._blob = np.memmap(folder / "frames.jpg", dtype=np.uint8, mode="r")
        self._recent: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index: int) -> np.ndarray:
        """The frame, read-only (it may be handed out again)."""
        with self._lock:
            frame = self._recent.get(index)
            if frame is not None:
                self._recent.move_to_end(index)
                return frame
        start, end = self.offsets[index], self.offsets[index + 1]
        bgr = cv2.imdecode(np.asarray(self._blob[start:end]), cv2.IMREAD_COLOR)
        frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        frame.flags.writeable = False
        with self._lock:
            self._recent[index] = frame
            if len(self._recent) > _RECENT:
                self._recent.popitem(last=False)
        return frame
