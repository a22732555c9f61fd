"""MediaPipe FaceMesh behind a small, thread-safe, cached interface.

Coordinates are MediaPipe's normalised ones times the image size, which puts the centre of
pixel (i, j) at (i, j), as OpenCV's warps and remaps do. (Measured, not documented: detecting
on copies of one photo resized by s gives x ≈ s·(x₁ + 0.5) − 0.5 with residuals under 0.1 px,
which is what that convention predicts.) Resizing an image by s therefore maps a point p to
s·(p + 0.5) − 0.5: ``scale_points`` does that, and every transform here goes through it.

MediaPipe's detector is its short-range model: it sees the image shrunk to 128×128 and finds
faces only when they span roughly 12-90% of the image's long side. ``search_faces`` therefore
also looks through overlapping windows at finer scales, so a small face in a big photo (a
person across the room, a group photo) is still found.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

N_LANDMARKS = 478
"""FaceMesh with ``refine_landmarks=True``: 468 mesh points plus 5 per iris."""

_local = threading.local()

# The detector's reliable range, measured on the bundled portrait: faces whose oval spans
# at least ~12% of the image's long side are found. Windows overlap by half, so any face up
# to half a window wide lies wholly inside one of them.
_MIN_FACE_FRACTION = 0.12
_WINDOW_SIDE = 512
"""Windows are shrunk to this before detection: the detector works at 128 px anyway."""
_MIN_FACE_PX = 40
_MIN_FACE_OF_IMAGE = 1 / 40
"""Faces smaller than 40 px, or than 1/40 of the image's long side, are not searched for:
too small to animate, and the windows that would find them cost most of the search time."""
_WINDOW_FACE_LIMIT = 1.5 * _MIN_FACE_FRACTION
"""A face this big (as a share of the long side) is found by the whole-image pass; if only
a window saw it, it is a false detection (seen: a space-shuttle model in a rotated photo)."""
_COUNT_RATIO = 4
"""Faces under a quarter of the largest one's size are not searched for."""


@dataclass(frozen=True)
class LandmarkGroups:
    """Index arrays of the face parts that framing needs, from MediaPipe's own tables."""

    oval: np.ndarray
    lips: np.ndarray
    left_iris: np.ndarray
    """The image-left iris (MediaPipe's RIGHT iris: it names eyes from the subject's side)."""
    right_iris: np.ndarray


@functools.lru_cache(maxsize=1)
def landmark_groups() -> LandmarkGroups:
    """The groups framing needs, taken from the face geometry's single derivation."""
    from .geometry import face_parts

    parts = face_parts()
    lips = parts.outer_lips.all + parts.inner_lips.all
    return LandmarkGroups(
        oval=np.array(parts.oval, dtype=np.intp),
        lips=np.array(sorted(set(lips)), dtype=np.intp),
        left_iris=np.array(parts.irises[0][1:], dtype=np.intp),  # the ring, without the centre
        right_iris=np.array(parts.irises[1][1:], dtype=np.intp),
    )


_CHATTY_FACES = 3
"""MediaPipe's graphs print their chatter from worker threads while the first faces go
through them (seen: the feedback-tensor warning on the second face of a 5-face mesh)."""


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """MediaPipe's C++ side prints start-up chatter (TFLite delegate, feedback tensors,
    NORM_RECT) straight to file descriptor 2, until its first face; no logging setting
    reaches it. Our users should see only our messages, so fd 2 points at /dev/null
    meanwhile (Python's own sys.stderr is flushed first and restored after)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _face_mesh(max_faces: int) -> Any:  # mediapipe's FaceMesh, imported lazily
    """One FaceMesh per thread and face count: the graph is not safe to share across threads,
    and building one costs more than a detection."""
    meshes = getattr(_local, "meshes", None)
    if meshes is None:
        meshes = _local.meshes = {}
    if max_faces not in meshes:
        meshes[max_faces] = _started_mesh(static_image_mode=True, max_num_faces=max_faces)
    return meshes[max_faces]


def _started_mesh(**settings) -> Any:
    """A FaceMesh whose graph has finished starting: its calculators open on worker threads
    after the constructor returns, and print as they do, so a blank frame is run through it
    while fd 2 is silenced; it returns once every calculator is open."""
    import mediapipe as mp

    with _native_stderr_silenced():
        mesh = mp.solutions.face_mesh.FaceMesh(refine_landmarks=True, **settings)
        mesh.process(np.zeros((64, 64, 3), np.uint8))
    return mesh


HUMAN_FACE_SCORE = 0.5
"""MediaPipe's full-range face detector's score above which a found face is a person's.
Measured on the shared gallery, on a crop three face sizes wide: people (photos, oil
paintings, a statue, a 3D cartoon) score 0.71-0.96, a monkey 0.61, the dogs, alpacas and
cats 0.0, although FaceMesh draws a face on each of them."""


def _face_detector() -> Any:  # mediapipe's FaceDetection (full range), imported lazily
    detectors = getattr(_local, "detectors", None)
    if detectors is None:
        import mediapipe as mp

        with _native_stderr_silenced():
            detectors = _local.detectors = mp.solutions.face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=0.05
            )
    return detectors


def human_face_score(image: np.ndarray, landmarks: np.ndarray) -> float:
    """How sure MediaPipe's face detector is that the face at ``landmarks`` is a person's
    (0 to 1): FaceMesh will fit a face to a dog's or a cat's, the detector will not."""
    x0, y0, x1, y1 = face_box(landmarks)
    side = 3.0 * max(x1 - x0, y1 - y0, 1.0)
    scale = _DETECTOR_SIDE / side
    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    shift = (_DETECTOR_SIDE / 2 - centre[0] * scale, _DETECTOR_SIDE / 2 - centre[1] * scale)
    crop = cv2.warpAffine(
        image,
        np.float32([[scale, 0, shift[0]], [0, scale, shift[1]]]),
        (_DETECTOR_SIDE, _DETECTOR_SIDE),
        borderMode=cv2.BORDER_REFLECT,
    )
    with _native_stderr_silenced():
        found = _face_detector().process(np.ascontiguousarray(crop))
    return max((d.score[0] for d in found.detections or ()), default=0.0)


_DETECTOR_SIDE = 256


def detect_landmarks(image: np.ndarray, max_faces: int = 1) -> list[np.ndarray]:
    """478×3 float32 landmarks per face in pixels of ``image`` (x·w, y·h, z·w), largest first.

    One detector pass, no search: use it on frames where the face is a sizable part of the
    picture (portraits, rendered frames); ``search_faces`` finds small faces too. With
    ``max_faces=1`` MediaPipe returns the face it is surest of, not necessarily the largest.
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an H×W×3 uint8 RGB image, got {image.shape} {image.dtype}")
    if max_faces < 1:
        raise ValueError(f"max_faces must be at least 1, got {max_faces}")
    mesh = _face_mesh(max_faces)
    faced = getattr(_local, "faced", None)
    if faced is None:
        faced = _local.faced = {}
    if faced.get(max_faces, 0) >= _CHATTY_FACES:
        result = mesh.process(np.ascontiguousarray(image))
    else:
        with _native_stderr_silenced():
            result = mesh.process(np.ascontiguousarray(image))
    if not result.multi_face_landmarks:
        return []
    faced[max_faces] = faced.get(max_faces, 0) + 1
    height, width = image.shape[:2]
    scale = np.array([width, height, width], dtype=np.float32)
    faces = [
        np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float32) * scale
        for face in result.multi_face_landmarks
    ]
    return sorted(faces, key=face_size, reverse=True)


def face_box(landmarks: np.ndarray) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1): the landmarks' bounding box."""
    x0, y0 = landmarks[:, :2].min(axis=0)
    x1, y1 = landmarks[:, :2].max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def face_size(landmarks: np.ndarray) -> float:
    """Geometric mean of the box sides: how big a face looks, whatever its roll."""
    x0, y0, x1, y1 = face_box(landmarks)
    return math.sqrt(max(x1 - x0, 0.0) * max(y1 - y0, 0.0))


def face_centre(landmarks: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = face_box(landmarks)
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2], dtype=np.float32)


def scale_points(landmarks: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """Landmarks of an image after ``cv2.resize`` by (sx, sy): pixel centres map to pixel
    centres. Depth scales with x, as MediaPipe measures it in image widths."""
    half = np.array([0.5, 0.5, 0.0], dtype=np.float32)
    factors = np.array([sx, sy, sx], dtype=np.float32)
    return ((landmarks + half) * factors - half).astype(np.float32)


def detect_in_region(
    image: np.ndarray, box: tuple[int, int, int, int], max_side: int, max_faces: int = 5
) -> list[np.ndarray]:
    """Detect inside ``box`` = (x0, y0, x1, y1), shrunk to ``max_side``; full-image pixels."""
    x0, y0, x1, y1 = box
    region = image[y0:y1, x0:x1]
    small, sx, sy = _shrunk(region, max_side / max(region.shape[:2]))
    offset = np.array([x0, y0, 0.0], dtype=np.float32)
    return [
        scale_points(face, 1 / sx, 1 / sy) + offset for face in detect_landmarks(small, max_faces)
    ]


def _shrunk(image: np.ndarray, scale: float) -> tuple[np.ndarray, float, float]:
    """The image resized by ``scale`` (at most 1) and the exact per-axis factors used:
    rounding the size makes them differ slightly from ``scale``."""
    height, width = image.shape[:2]
    if scale >= 1.0:
        return image, 1.0, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return small, size[0] / width, size[1] / height


def _window_starts(length: int, side: int) -> list[int]:
    """Starts of windows of ``side`` covering ``length`` with at least half-window overlap."""
    if side >= length:
        return [0]
    count = math.ceil((length - side) / (side / 2)) + 1
    return [round(i * (length - side) / (count - 1)) for i in range(count)]


def _windows(height: int, width: int, side: int) -> Iterator[tuple[int, int, int, int]]:
    for y in _window_starts(height, side):
        for x in _window_starts(width, side):
            yield x, y, min(x + side, width), min(y + side, height)


@dataclass(frozen=True)
class _Found:
    landmarks: np.ndarray
    clipped: bool
    """The face touches a window edge inside the image: it may be cut, its mesh guessed."""

    @property
    def size(self) -> float:
        return face_size(self.landmarks)


def _touches_inner_edge(
    landmarks: np.ndarray, window: tuple[int, int, int, int], shape: tuple[int, ...]
) -> bool:
    x0, y0, x1, y1 = face_box(landmarks)
    wx0, wy0, wx1, wy1 = window
    margin = 0.02 * max(wx1 - wx0, wy1 - wy0)
    height, width = shape[:2]
    return (
        (wx0 > 0 and x0 < wx0 + margin)
        or (wy0 > 0 and y0 < wy0 + margin)
        or (wx1 < width and x1 > wx1 - margin)
        or (wy1 < height and y1 > wy1 - margin)
    )


def _same_face(a: np.ndarray, b: np.ndarray) -> bool:
    distance = float(np.hypot(*(face_centre(a) - face_centre(b))))
    return distance < 0.5 * max(face_size(a), face_size(b))


def _merge(found: list[_Found], new: _Found) -> None:
    """Add a detection, keeping one per face: uncut before cut, then the larger."""
    for i, old in enumerate(found):
        if _same_face(old.landmarks, new.landmarks):
            if (not new.clipped, new.size) > (not old.clipped, old.size):
                found[i] = new
            return
    found.append(new)


def _scan_level(
    shrunk: Callable[[float], tuple[np.ndarray, float, float]],
    side: int,
    scale: float,
    found: list[_Found],
    whole: bool = False,
    largest: float = math.inf,
) -> None:
    """Detect in every window of ``side`` (original pixels), on one copy shrunk by ``scale``:
    one resize per level instead of one per window. Window faces over ``largest`` pixels
    are dropped (see ``_WINDOW_FACE_LIMIT``)."""
    small, sx, sy = shrunk(scale)
    height, width = small.shape[:2]
    small_side = max(1, round(side * sx))
    for window in _windows(height, width, small_side):
        x0, y0, x1, y1 = window
        offset = np.array([x0, y0, 0.0], dtype=np.float32)
        for face in detect_landmarks(small[y0:y1, x0:x1], max_faces=5):
            clipped = not whole and _touches_inner_edge(face + offset, window, small.shape)
            full = _Found(scale_points(face + offset, 1 / sx, 1 / sy), clipped)
            if full.size <= largest:
                _merge(found, full)


def search_faces(image: np.ndarray, *, detect_side: int = 1024) -> list[np.ndarray]:
    """Every face worth considering, largest first, in full-image pixels.

    First the whole image (shrunk to ``detect_side``), then overlapping windows half as big
    at each level, each window seen at up to ``_WINDOW_SIDE`` px. The search stops one level
    after the first face is found (enough to count faces of similar size) or when the faces
    a level could find would be smaller than a quarter of the largest so far, than
    ``_MIN_FACE_PX``, or than 1/40 of the image. The landmarks are as precise as the shrunk
    copies allow; ``find_face`` refines the one it keeps.
    """
    long_side = max(image.shape[:2])
    # Levels 0 and 1 usually want the same copy (a 1024 view, 512 windows of half the image).
    shrunk = functools.lru_cache(maxsize=2)(functools.partial(_shrunk, image))
    found: list[_Found] = []
    _scan_level(shrunk, long_side, detect_side / long_side, found, whole=True)
    side, levels_after_hit = long_side, 1 if found else 0
    while levels_after_hit < 2:
        side //= 2
        largest = max((f.size for f in found), default=0.0)
        smallest = max(_MIN_FACE_PX, _MIN_FACE_OF_IMAGE * long_side, largest / _COUNT_RATIO)
        if 2 * _MIN_FACE_FRACTION * side < smallest:
            break
        limit = _WINDOW_FACE_LIMIT * long_side
        _scan_level(shrunk, side, min(detect_side, _WINDOW_SIDE) / side, found, largest=limit)
        if found:
            levels_after_hit += 1
    return sorted((f.landmarks for f in found), key=face_size, reverse=True)


def track_landmarks(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray | None]:
    """Landmarks of the main face on each frame of a video (None where none is seen).

    MediaPipe's video mode follows the face from frame to frame instead of searching every
    frame anew: faster, and steadier, which matters when the jitter itself is measured.
    A fresh tracker per call, since it keeps state between frames.
    """
    tracker = _started_mesh(static_image_mode=False, max_num_faces=1)
    faces_seen = 0
    try:
        for frame in frames:
            if faces_seen >= _CHATTY_FACES:
                result = tracker.process(np.ascontiguousarray(frame))
            else:  # the native chatter comes with the first faces
                with _native_stderr_silenced():
                    result = tracker.process(np.ascontiguousarray(frame))
            faces_seen += bool(result.multi_face_landmarks)
            if not result.multi_face_landmarks:
                yield None
                continue
            height, width = frame.shape[:2]
            scale = np.array([width, height, width], dtype=np.float32)
            points = result.multi_face_landmarks[0].landmark
            yield np.array([(p.x, p.y, p.z) for p in points], dtype=np.float32) * scale
    finally:
        tracker.close()
