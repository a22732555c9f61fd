"""The video stage: encode rendered frames and speech into MP4/WebM, and read media back."""

from avatarlab.video.decode import MediaInfo, probe, read_audio, read_frames
from avatarlab.video.encode import (
    FORMATS,
    VideoInfo,
    frames_for,
    prefetch,
    resolve_format,
    write_parts,
    write_video,
)

__all__ = [
    "FORMATS",
    "MediaInfo",
    "VideoInfo",
    "frames_for",
    "prefetch",
    "probe",
    "read_audio",
    "read_frames",
    "resolve_format",
    "write_parts",
    "write_video",
]
