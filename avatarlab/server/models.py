"""The API's request and response shapes, as they appear in /openapi.json.

``VideoRequest`` takes its rendering fields from ``option_specs()``: the CLI's flags and these
fields share one definition, so a default, a limit or a help text cannot drift between them.
Options marked ``server=False`` (the longest recording) are the server's to set, not a
client's: ``ServerSettings`` has its own.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..options import option_specs
from .avatars import BUNDLED_ID

Status = Literal["queued", "running", "done", "failed"]


def request_options() -> list[tuple[str, type, Any, dict[str, Any]]]:
    """The options a client may set in a request, as ``option_specs()`` gives them."""
    return [spec for spec in option_specs() if spec[3].get("server", True)]


def _option_field(kind: type, default: Any, meta: dict[str, Any]) -> tuple[Any, Any]:
    """(annotation, Field) for one option: its type, choices, range and help text."""
    annotation: Any = Literal[tuple(meta["choices"])] if "choices" in meta else kind
    if default is None:
        annotation = annotation | None
    limits = {"ge": meta["low"], "le": meta["high"]} if "low" in meta else {}
    return annotation, Field(default, description=meta["help"], **limits)


def _video_request_model() -> type[BaseModel]:
    fields: dict[str, Any] = {
        "text": (
            str | None,
            Field(
                None,
                description="What the avatar says (limit: max_text_chars in /v1/config). "
                "With audio_id: an optional transcript of the recording.",
            ),
        ),
        "audio_id": (
            str | None,
            Field(None, description="Recorded speech from POST /v1/audio, instead of text."),
        ),
        "avatar_id": (str, Field(BUNDLED_ID, description="An id from GET /v1/avatars.")),
    }
    for name, kind, default, meta in request_options():
        fields[name] = _option_field(kind, default, meta)
    return create_model(
        "VideoRequest",
        __config__=ConfigDict(extra="forbid"),
        __doc__="A video to render: text (or audio_id), an avatar and rendering options.",
        **fields,
    )


VideoRequest = _video_request_model()


class ErrorInfo(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorInfo


class FaceBox(BaseModel):
    """The face's landmark bounding box in the photo's pixels."""

    x: float
    y: float
    width: float
    height: float


class AvatarOut(BaseModel):
    id: str
    name: str
    bundled: bool
    width: int
    height: int
    face_box: FaceBox
    faces_found: int
    notes: list[str]
    created: float
    kind: str = Field("photo", description='"photo", or "video" for a clip avatar')
    thumbnail_url: str


class AvatarList(BaseModel):
    avatars: list[AvatarOut]


class AudioOut(BaseModel):
    id: str
    name: str
    duration: float
    sample_rate: int


class VoiceOut(BaseModel):
    name: str
    language: str
    sample_rate: int
    bundled: bool


class VoiceList(BaseModel):
    voices: list[VoiceOut]


class VideoResult(BaseModel):
    format: str
    content_type: str
    bytes: int
    duration: float
    audio_duration: float | None
    width: int
    height: int
    fps: float
    n_frames: int
    words: int = Field(description="words in the timeline: none means no subtitles")
    timings: dict[str, float]
    lipsync: str = Field(
        "voice",
        description="where the mouth's timing came from: voice (the synthesized speech's own "
        "timeline), or for a recording alignment (its transcript), recognition (phones "
        "recognized) or energy (its loudness)",
    )
    notes: list[str] = Field(description="things to know: a skipped method, the face used")


class VideoJob(BaseModel):
    id: str
    status: Status
    stage: str | None
    progress: float = Field(description="0 to 1, over all stages")
    created: float
    started: float | None
    finished: float | None
    text: str | None
    audio_id: str | None
    avatar_id: str
    options: dict[str, Any]
    error: ErrorInfo | None
    result: VideoResult | None
    urls: dict[str, str] = Field(
        description="self and events always; video, download, srt, vtt, visemes (JSON) and "
        "rhubarb (Rhubarb Lip Sync TSV) once done"
    )


class VideoList(BaseModel):
    videos: list[VideoJob]


class OptionSpec(BaseModel):
    name: str
    type: str
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: list[str] | None = None


class ServerConfig(BaseModel):
    """What this server accepts, for clients to check before sending."""

    max_text_chars: int
    max_upload_mb: float
    max_image_pixels: int
    max_audio_seconds: float
    max_queued_jobs: int
    workers: int
    options: list[OptionSpec] = Field(description="every option a request may set")


class Health(BaseModel):
    status: str
    version: str
    workers: int
    jobs: dict[str, int]
