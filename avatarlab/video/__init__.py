"""The video stage: encode rendered frames and speech into MP4/WebM, and read media back."""

from avatarlab.video.decode import MediaInfo, probe, read_audio, read_frames
from avatarlab.video.encode import FORMATS, VideoInfo, prefetch, resolve_format, write_video

__all__ = [
    "FORMATS",
    "MediaInfo",
    "VideoInfo",
    "prefetch",
    "probe",
    "read_audio",
    "read_frames",
    "resolve_format",
    "write_video",
]
