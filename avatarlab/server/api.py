"""Endpoints for what videos are made from: avatars, recorded audio, voices, limits.

Uploads are read with a hard cap (the body limit middleware already stopped anything much
larger) and handed to the stores, whose errors (unreadable image, no face, bad audio) reach
the client as 422 with the library's code and message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import FileResponse

from .. import __version__
from ..speech import list_voices
from .audio import AudioRecord
from .avatars import AvatarRecord
from .context import Context
from .errors import ApiError, error_responses, not_found
from .models import (
    AudioOut,
    AvatarList,
    AvatarOut,
    FaceBox,
    Health,
    OptionSpec,
    ServerConfig,
    VoiceList,
    VoiceOut,
    request_options,
)

Upload = Annotated[UploadFile, File(description="the file, as multipart/form-data field 'file'")]


def read_upload(upload: UploadFile, limit: int, kind: str) -> bytes:
    """The upload's bytes, refusing more than ``limit`` (413) and empty files (422)."""
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "too_large", f"the {kind} is over the {limit / 2**20:.3g} MB limit")
    if not data:
        raise ApiError(422, f"bad_{kind}", f"the uploaded {kind} file is empty")
    return data


def avatar_out(record: AvatarRecord) -> AvatarOut:
    x0, y0, x1, y1 = record.face_box
    return AvatarOut(
        id=record.id,
        name=record.name,
        bundled=record.bundled,
        width=record.width,
        height=record.height,
        face_box=FaceBox(x=x0, y=y0, width=x1 - x0, height=y1 - y0),
        faces_found=record.faces_found,
        notes=list(record.notes),
        created=record.created,
        kind=record.kind,
        thumbnail_url=f"/v1/avatars/{record.id}/thumbnail",
    )


def audio_out(record: AudioRecord) -> AudioOut:
    return AudioOut(
        id=record.id, name=record.name, duration=record.duration, sample_rate=record.sample_rate
    )


def upload_avatar(file: Upload, context: Context) -> AvatarOut:
    """A portrait photo (JPEG, PNG, WebP, BMP), or a clip of the person talking (MP4, MOV,
    WebM, MKV by its file name; 2 s up to ``max_clip_seconds``), whose own mouths the
    renders then use. The face is found now, once: 422 ``no_face`` when there is none (or a
    clip loses it most of the time), ``bad_image``/``bad_input`` when the file cannot be
    used. A clip is read during the request: about a fifth of its length."""
    data = read_upload(file, context.settings.max_upload_bytes, "image")
    return avatar_out(context.avatars.add_upload(data, file.filename or "photo"))


def list_avatars(context: Context) -> AvatarList:
    """The bundled astronaut first, then uploads, newest first."""
    return AvatarList(avatars=[avatar_out(record) for record in context.avatars.list()])


def get_avatar(avatar_id: str, context: Context) -> AvatarOut:
    record = context.avatars.get(avatar_id)
    if record is None:
        raise not_found("avatar", avatar_id)
    return avatar_out(record)


def avatar_thumbnail(avatar_id: str, context: Context) -> FileResponse:
    """The whole photo, longest side 320 px, as JPEG (draw ``face_box`` over it, scaled)."""
    path = context.avatars.thumbnail(avatar_id)
    if path is None:
        raise not_found("avatar", avatar_id)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "max-age=86400"})


def upload_audio(file: Upload, context: Context) -> AudioOut:
    """Recorded speech (wav, mp3, m4a, ogg, flac...) to animate: use its id as ``audio_id``."""
    data = read_upload(file, context.settings.max_upload_bytes, "audio")
    return audio_out(context.audio.add_upload(data, file.filename or "audio"))


def voices() -> VoiceList:
    """The bundled voice, then those in $AVATARLAB_VOICES; use ``name`` as ``voice``."""
    return VoiceList(
        voices=[
            VoiceOut(name=v.name, language=v.language, sample_rate=v.sample_rate, bundled=v.bundled)
            for v in list_voices()
        ]
    )


def config(context: Context) -> ServerConfig:
    """This server's limits, and the range of every option a request may set."""
    settings = context.settings
    options = [
        OptionSpec(name=name, type=kind.__name__, default=default, **meta)
        for name, kind, default, meta in request_options()
    ]
    return ServerConfig(
        max_text_chars=settings.max_text_chars,
        max_upload_mb=settings.max_upload_mb,
        max_image_pixels=settings.max_image_pixels,
        max_audio_seconds=settings.max_audio_seconds,
        max_queued_jobs=settings.max_queued_jobs,
        workers=settings.workers,
        options=options,
    )


def health(context: Context) -> Health:
    """Open without an API key: for load balancers and `curl`."""
    return Health(
        status="ok",
        version=__version__,
        workers=context.settings.workers,
        jobs=context.store.counts(),
    )


def resources_router() -> APIRouter:
    router = APIRouter(prefix="/v1")

    def route(path: str, endpoint: Callable, method: str = "GET", *errors: int, **extra) -> None:
        tag = path.split("/")[1]
        responses = error_responses(*errors) | extra.pop("responses", {})
        router.add_api_route(
            path, endpoint, methods=[method], tags=[tag], responses=responses, **extra
        )

    route("/avatars", upload_avatar, "POST", 413, 422, status_code=201)
    route("/avatars", list_avatars)
    route("/avatars/{avatar_id}", get_avatar, "GET", 404)
    route(
        "/avatars/{avatar_id}/thumbnail", avatar_thumbnail, "GET", 404, response_class=FileResponse
    )
    route("/audio", upload_audio, "POST", 413, 422, status_code=201)
    route("/voices", voices)
    route("/config", config)
    return router
