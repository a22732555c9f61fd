"""A video file → its frames framed for rendering, each with the face's landmarks.

Two passes, neither holding more than one decoded frame. The first looks for the face on a
few keyframes (cheap to reach by seeking) with the photo search, which finds small faces in
big frames; that fixes one framing window for the whole clip, as ``crop_portrait`` would for
a photo. The second decodes every frame, turns it upright (phones store rotation as
metadata), resamples it to the output frame rate by timestamps (variable frame rate
included), cuts the window and tracks FaceMesh on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, NoFaceError
from ..face.landmarks import scale_points, search_faces, track_landmarks
from ..face.portrait import (
    CROP_FACE_HEIGHTS,
    FULL_FRAME_MAX_SIDE,
    _crop_origin,
    _cut,
    _resize,
    face_anchor,
    face_height,
)
from ..video.decode import MediaInfo, _damaged, _first, _open, probe

MIN_SECONDS = 2.0
"""Shorter clips hold too few mouths to choose from."""
MAX_PIXELS = 4096 * 4096
"""Per frame: 4K phone video is fine, anything bigger is refused before decoding."""
SAMPLED_KEYFRAMES = 6
TRACK_SIDE = 512
"""Full-frame clips are tracked on the face's window shrunk to this: small faces in big
frames are then as large to FaceMesh as in a portrait crop."""


@dataclass(frozen=True)
class Framing:
    """Where the output frames come from in the upright source frames."""

    window: tuple[int, int, int]
    """x0, y0, side of the square around the face (may reach past the frame's edge)."""
    output: tuple[int, int]
    """Output width, height."""
    full_frame: bool
    source: tuple[int, int]
    """Upright source width, height."""


def check_clip(path: Path, max_seconds: float) -> MediaInfo:
    """The clip's facts, or an error a user can act on before anything is decoded."""
    info = probe(path)
    if not info.has_video:
        raise InputError(f"{path.name} has no video stream: give a video of a face")
    if not info.width or not info.height:
        raise InputError(f"cannot read {path.name}: its video stream has no picture size")
    if info.width * info.height > MAX_PIXELS:
        raise InputError(
            f"{path.name} is {info.width}×{info.height}: videos up to 4096×4096 pixels "
            "(4K) are accepted"
        )
    duration = info.duration or 0.0
    if duration < MIN_SECONDS:
        raise InputError(
            f"{path.name} is {duration:.1f} s long: a video avatar needs at least "
            f"{MIN_SECONDS:g} s of the face"
        )
    if duration > max_seconds:
        raise InputError(
            f"{path.name} is {duration:.0f} s long; the limit is {max_seconds:g} s "
            "(raise it with max_clip_seconds, or trim the clip)"
        )
    return info


def upright(frame: np.ndarray, rotation: float) -> np.ndarray:
    """The frame as it should be shown: ``rotation`` is the display matrix's angle in
    degrees, counter-clockwise (PyAV's and FFmpeg's convention), a multiple of 90."""
    turns = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(frame, turns)) if turns else frame


def find_framing(path: Path, info: MediaInfo, *, size: int, full_frame: bool) -> Framing:
    """The window around the face, from the faces found on sampled keyframes."""
    faces = [found[0] for found in map(search_faces, _sampled_frames(path, info)) if found]
    if not faces:
        raise NoFaceError(f"no face found in {path.name} (looked at {SAMPLED_KEYFRAMES} moments)")
    height = max(face_height(face) for face in faces)
    anchor = np.median([face_anchor(face) for face in faces], axis=0)
    frame_shape = _upright_shape(path, info)
    side = max(2, round(CROP_FACE_HEIGHTS * height))
    if side > min(frame_shape[:2]):
        side = max(2, min(frame_shape[:2]))
    x0, y0 = _crop_origin(anchor, side, frame_shape)
    if full_frame:
        fh, fw = frame_shape[:2]
        shrink = min(1.0, FULL_FRAME_MAX_SIDE / max(fh, fw))
        output = (max(2, int(fw * shrink) // 2 * 2), max(2, int(fh * shrink) // 2 * 2))
    else:
        output = (size, size)
    source = (frame_shape[1], frame_shape[0])
    return Framing(window=(x0, y0, side), output=output, full_frame=full_frame, source=source)


def _sampled_frames(path: Path, info: MediaInfo) -> Iterator[np.ndarray]:
    """Upright frames at evenly spread moments: the keyframe at or before each (a seek
    decodes only that one), so a clip with few keyframes gives fewer distinct frames."""
    duration = info.duration or 0.0
    seen: set[int] = set()
    with _open(path, InputError) as container:
        stream = _first(container.streams.video)
        for k in range(SAMPLED_KEYFRAMES):
            moment = duration * (k + 0.5) / SAMPLED_KEYFRAMES
            with _damaged(path, InputError):
                container.seek(int(moment / stream.time_base), stream=stream)
                frame = next(container.decode(stream), None)
            if frame is None or frame.pts in seen:
                continue
            seen.add(frame.pts)
            yield upright(frame.to_ndarray(format="rgb24"), frame.rotation)


def _upright_shape(path: Path, info: MediaInfo) -> tuple[int, int]:
    frame = next(_sampled_frames(path, info), None)
    if frame is None:
        raise InputError(f"cannot read {path.name}: no frame could be decoded")
    return frame.shape[:2]


def resampled(path: Path, fps: float) -> Iterator[np.ndarray]:
    """Upright frames at ``fps``: output frame k shows the source frame on screen at k/fps
    (the last one whose timestamp is not after it), so a variable-rate clip plays at its
    own pace and a 30 fps clip becomes 25 fps by dropping frames, not by blending them."""
    container = _open(path, InputError)
    stream = _first(container.streams.video)
    stream.thread_type = "AUTO"
    with container:
        frames = container.decode(stream)
        shown, start, k = None, None, 0
        while True:
            with _damaged(path, InputError):
                frame = next(frames, None)
            if frame is None:
                break
            time = float(frame.pts * stream.time_base) if frame.pts is not None else k / fps
            start = time if start is None else start
            while shown is not None and time - start > (k + 0.5) / fps + 1e-6:
                yield shown
                k += 1
            shown = upright(frame.to_ndarray(format="rgb24"), frame.rotation)
        if shown is not None:
            yield shown


def framed_frames(
    path: Path, framing: Framing, fps: float
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """(output frame, its landmarks or None) for every output frame of the clip."""
    tracked = _window_views(resampled(path, fps), framing)
    for (frame, view), landmarks in _tracked(tracked):
        if landmarks is not None:
            landmarks = _to_output(landmarks, framing, view.shape[0])
        yield frame, landmarks


def _window_views(frames: Iterator[np.ndarray], framing: Framing):
    """(output frame, the image FaceMesh tracks on) per frame."""
    x0, y0, side = framing.window
    for frame in frames:
        window = _cut(frame, x0, y0, side)
        if framing.full_frame:
            width, height = framing.output
            track_side = min(TRACK_SIDE, side)
            yield _resize(frame, width, height), _resize(window, track_side, track_side)
        else:
            out = _resize(window, *framing.output)
            yield out, out


def _tracked(views):
    """Pairs of (views, landmarks on the tracked view), in step."""
    pending: list = []

    def images():
        for pair in views:
            pending.append(pair)
            yield pair[1]

    for landmarks in track_landmarks(images()):
        yield pending.pop(0), landmarks


def _to_output(landmarks: np.ndarray, framing: Framing, view_side: int) -> np.ndarray:
    """Landmarks on the tracked view → output-frame pixels."""
    if not framing.full_frame:
        return landmarks
    x0, y0, side = framing.window
    in_window = scale_points(landmarks, side / view_side, side / view_side)
    in_frame = in_window + np.array([x0, y0, 0.0], dtype=np.float32)
    (width, height), (source_w, source_h) = framing.output, framing.source
    return scale_points(in_frame, width / source_w, height / source_h)
