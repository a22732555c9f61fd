"""Per-frame measures of the face in any talking-head video, and the audio's loudness."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..face import track_landmarks
from ..face.geometry import eye_openness, face_frame, face_parts, head_angles, lip_gap, mouth_width
from ..loudness import rms_between
from ..video import probe, read_audio, read_frames


@dataclass(frozen=True)
class VideoMeasures:
    """One value per frame (NaN where no face was found)."""

    path: Path
    fps: float
    found: np.ndarray
    lip_gap: np.ndarray
    mouth_width: np.ndarray
    eyes_open: np.ndarray
    """n×2: image-left eye, image-right eye (lid gap over eye width)."""
    angles: np.ndarray
    """n×3: yaw, pitch, roll in degrees (see ``head_angles``)."""
    anchors: np.ndarray
    """n×k×2: rigid landmarks (eye corners, nose) in eye distances, for jitter."""
    face_boxes: np.ndarray
    """n×4: x0, y0, x1, y1 of the face outline in pixels."""
    audio: np.ndarray
    sample_rate: int
    video_duration: float

    @property
    def n_frames(self) -> int:
        return len(self.found)

    @property
    def times(self) -> np.ndarray:
        """The middle of each frame's display interval."""
        return (np.arange(self.n_frames) + 0.5) / self.fps

    @property
    def audio_duration(self) -> float:
        return len(self.audio) / self.sample_rate if self.sample_rate else 0.0


def _anchor_indices() -> list[int]:
    parts = face_parts()
    corners = [parts.eyes[0].upper[0], parts.eyes[0].upper[-1]]
    corners += [parts.eyes[1].upper[0], parts.eyes[1].upper[-1]]
    return corners + list(parts.nose)


def measure_video(path: str | Path) -> VideoMeasures:
    """Track the face through every frame and measure mouth, eyes and head on each."""
    path = Path(path)
    info = probe(path)
    anchors_at = _anchor_indices()
    rows = []
    for landmarks in track_landmarks(read_frames(path)):
        if landmarks is None:
            rows.append(None)
            continue
        frame = face_frame(landmarks)
        rows.append(
            (
                lip_gap(landmarks),
                mouth_width(landmarks),
                eye_openness(landmarks),
                head_angles(landmarks),
                frame.to_face(landmarks[anchors_at]),
                (*landmarks[:, :2].min(axis=0), *landmarks[:, :2].max(axis=0)),
            )
        )
    audio, rate = read_audio(path) if info.has_audio else (np.zeros(0, np.float32), 0)
    return _assemble(
        path, info.fps or 25.0, rows, len(anchors_at), audio, rate, info.duration or 0.0
    )


def _assemble(path, fps, rows, n_anchors, audio, rate, duration) -> VideoMeasures:
    n = len(rows)
    nan = np.full(n, np.nan)
    gap, width = nan.copy(), nan.copy()
    eyes, angles = np.full((n, 2), np.nan), np.full((n, 3), np.nan)
    anchors = np.full((n, n_anchors, 2), np.nan)
    boxes = np.full((n, 4), np.nan)
    for i, row in enumerate(rows):
        if row is not None:
            gap[i], width[i], eyes[i], angles[i], anchors[i], boxes[i] = row
    return VideoMeasures(
        path=path,
        fps=fps,
        found=np.array([r is not None for r in rows]),
        lip_gap=gap,
        mouth_width=width,
        eyes_open=eyes,
        angles=angles,
        anchors=anchors,
        face_boxes=boxes,
        audio=audio,
        sample_rate=rate,
        video_duration=duration,
    )


def loudness_per_frame(measures: VideoMeasures) -> np.ndarray:
    """RMS of the audio over each frame's interval, 0 where the audio has ended."""
    rate, audio = measures.sample_rate, measures.audio
    if not rate:
        return np.zeros(measures.n_frames)
    edges = np.arange(measures.n_frames + 1) / measures.fps * rate
    return rms_between(audio, edges[:-1], edges[1:])
