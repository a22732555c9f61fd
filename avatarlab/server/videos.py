"""Video jobs: create (202 at once), watch (status, server-sent events), fetch, delete.

A request is checked completely before it is queued (text, avatar, voice, option limits),
so a job fails later only for reasons no check could foresee.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse, StreamingResponse

from ..errors import InputError
from ..options import Options
from ..speech import list_voices
from .context import Context, ServerContext
from .errors import ApiError, error_responses, not_found
from .events import Listener
from .jobs import DONE, FINISHED, RUNNING, Job, QueueFull
from .models import VideoJob, VideoList, VideoRequest, request_options
from .tasks import EXPORTS, export_content

KEEPALIVE = 15.0
"""Seconds between comments on a quiet event stream, so proxies keep it open; each one
also re-reads the job, in case an event was missed."""
RETRY_MS = 2000

EXPORT_PATHS = {
    "srt": "subtitles.srt",
    "vtt": "subtitles.vtt",
    "visemes": "visemes.json",
    "rhubarb": "visemes.tsv",
}
"""Where each of ``EXPORTS`` is served, under ``/v1/videos/{id}/``."""


def job_urls(job: Job) -> dict[str, str]:
    base = f"/v1/videos/{job.id}"
    urls = {"self": base, "events": f"{base}/events"}
    if job.status == DONE:
        urls |= {"video": f"{base}/file", "download": f"{base}/file?download=1"}
        urls |= {kind: f"{base}/{path}" for kind, path in EXPORT_PATHS.items()}
    return urls


def job_view(job: Job) -> VideoJob:
    request = job.request
    return VideoJob(
        id=job.id,
        status=job.status,
        stage=job.stage,
        progress=job.progress,
        created=job.created,
        started=job.started,
        finished=job.finished,
        text=request.get("text"),
        audio_id=request.get("audio_id"),
        avatar_id=request["avatar_id"],
        options=request["options"],
        error=job.error,
        result=job.result,
        urls=job_urls(job),
    )


def _check_text(text: str | None, limit: int) -> str:
    if text is None or not text.strip():
        raise ApiError(422, "empty_text", "give a text to say (or an audio_id)")
    if len(text) > limit:
        raise ApiError(
            422, "text_too_long", f"the text is {len(text):,} characters; the limit is {limit:,}"
        )
    return text


def _check_voice(voice: str | None) -> None:
    """Only voices the server lists: a path here would let a client probe the server's disk."""
    if voice is None:
        return
    names = [info.name for info in list_voices()]
    if voice not in names:
        raise ApiError(422, "bad_voice", f"unknown voice {voice!r}; available: {', '.join(names)}")


def _job_request(body: Any, context: ServerContext) -> dict[str, Any]:
    """The job as stored: every field checked, options complete and validated. The longest
    recording is the server's setting (already enforced at upload), not the client's."""
    settings = context.settings
    limit = settings.max_text_chars
    if body.audio_id is not None:
        if context.audio.get(body.audio_id) is None:
            raise not_found("audio", body.audio_id)
        text = None if body.text is None else _check_text(body.text, limit)
    else:
        text = _check_text(body.text, limit)
    if context.avatars.get(body.avatar_id) is None:
        raise not_found("avatar", body.avatar_id)
    _check_voice(body.voice)
    try:
        chosen = {name: getattr(body, name) for name, *_ in request_options()}
        options = Options(**chosen, max_audio_seconds=settings.max_audio_seconds).validated()
    except InputError as error:
        raise ApiError(422, error.code, error.message) from None
    return {
        "text": text,
        "audio_id": body.audio_id,
        "avatar_id": body.avatar_id,
        "options": asdict(options),
    }


def create_video(body: VideoRequest, context: Context, response: Response) -> VideoJob:
    """Queue a render; answers 202 at once. Follow ``urls.events`` (SSE) or poll
    ``urls.self``. 429 ``queue_full`` when ``max_queued_jobs`` are already waiting."""
    request = _job_request(body, context)
    try:
        job = context.store.create(request, context.settings.max_queued_jobs)
    except QueueFull as error:
        raise ApiError(429, "queue_full", str(error), {"Retry-After": "10"}) from None
    context.pool.wake()
    response.headers["Location"] = f"/v1/videos/{job.id}"
    return job_view(job)


def _job(context: ServerContext, video_id: str) -> Job:
    job = context.store.get(video_id)
    if job is None:
        raise not_found("video", video_id)
    return job


def list_videos(
    context: Context,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> VideoList:
    """Newest first."""
    return VideoList(videos=[job_view(job) for job in context.store.list(limit, offset)])


def get_video(video_id: str, context: Context) -> VideoJob:
    return job_view(_job(context, video_id))


def delete_video(video_id: str, context: Context) -> Response:
    """Remove the job and its files; a running render stops at its next frame."""
    job = context.store.delete(video_id)
    if job is None:
        raise not_found("video", video_id)
    if job.status == RUNNING:
        context.pool.cancel(video_id)
    context.render.discard(video_id)
    context.events.publish(video_id, "deleted", {"status": "deleted"})
    return Response(status_code=204)


def _finished_folder(context: ServerContext, video_id: str) -> tuple[Job, Path]:
    job = _job(context, video_id)
    if job.status != DONE or job.result is None:
        raise ApiError(409, "not_ready", f"the video is {job.status}, not done")
    return job, context.render.folder(video_id)


def video_file(
    video_id: str, context: Context, download: Annotated[bool, Query()] = False
) -> FileResponse:
    """The MP4/WebM, with Range support (206) so players can seek."""
    job, folder = _finished_folder(context, video_id)
    path = folder / job.result["file"]
    if not path.is_file():
        raise ApiError(410, "gone", "the video file is no longer on the server")
    return FileResponse(
        path,
        media_type=job.result["content_type"],
        filename=f"avatarlab-{video_id[:8]}.{job.result['format']}",
        content_disposition_type="attachment" if download else "inline",
    )


def _export_route(kind: str) -> Callable[[str, ServerContext], Response]:
    def export(video_id: str, context: Context) -> Response:
        _, folder = _finished_folder(context, video_id)
        spec = EXPORTS[kind]
        name = f"avatarlab-{video_id[:8]}.{spec.suffix}"
        return Response(
            export_content(folder, kind),
            media_type=spec.media_type,
            headers={"Content-Disposition": f'inline; filename="{name}"'},
        )

    export.__name__ = f"video_{kind}"
    export.__doc__ = f"The {kind} export of a finished video ({EXPORTS[kind].format})."
    return export


def _sse(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _next_event(listener: Listener) -> tuple[str, dict[str, Any]]:
    """The next event for this job, or ("quiet", {}) after KEEPALIVE seconds of none."""
    try:
        return await asyncio.wait_for(listener.queue.get(), KEEPALIVE)
    except asyncio.TimeoutError:
        return "quiet", {}


def _progress_event(job: Job) -> str:
    state = {"id": job.id, "status": job.status, "stage": job.stage, "progress": job.progress}
    return _sse("progress", state)


def _final_event(job_id: str, job: Job | None) -> str | None:
    """The closing event if the job is finished or gone, else None."""
    if job is None:
        return _sse("deleted", {"id": job_id, "status": "deleted"})
    if job.status in FINISHED:
        return _sse(job.status, job_view(job).model_dump(mode="json"))
    return None


async def _stream(context: ServerContext, job_id: str) -> AsyncIterator[str]:
    """Now-state first, then each change, then the final job. The listener is registered
    before the state is read, so no change can fall between the two."""
    listener = context.events.subscribe(job_id)
    try:
        current = context.store.get(job_id)
        final = _final_event(job_id, current)
        # One write for the retry hint and the first event: it leaves at once.
        yield f"retry: {RETRY_MS}\n\n" + (final or _progress_event(current))
        if final is not None:
            return
        while final is None:
            kind, data = await _next_event(listener)
            if kind == "progress":
                yield _sse("progress", {"id": job_id, **data})
                continue
            final = _final_event(job_id, context.store.get(job_id))
            if final is None:
                yield ": keep-alive\n\n"
        yield final
    finally:
        context.events.unsubscribe(listener)


async def video_events(video_id: str, context: Context) -> StreamingResponse:
    """Server-sent events: ``progress`` ({status, stage, progress}) at once and as the render
    goes, then one ``done`` or ``failed`` (the whole job, as GET returns it) or ``deleted``."""
    job = _job(context, video_id)
    return StreamingResponse(
        _stream(context, job.id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def videos_router() -> APIRouter:
    router = APIRouter(prefix="/v1/videos", tags=["videos"])

    def route(path: str, endpoint: Callable, method: str = "GET", *errors: int, **extra) -> None:
        responses = error_responses(*errors) | extra.pop("responses", {})
        router.add_api_route(path, endpoint, methods=[method], responses=responses, **extra)

    route("", create_video, "POST", 404, 422, 429, status_code=202)
    route("", list_videos, "GET", 422)
    route("/{video_id}", get_video, "GET", 404)
    route("/{video_id}", delete_video, "DELETE", 404, status_code=204)
    route(
        "/{video_id}/events",
        video_events,
        "GET",
        404,
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    route("/{video_id}/file", video_file, "GET", 404, 409, 410, response_class=FileResponse)
    for kind, path in EXPORT_PATHS.items():
        route(f"/{{video_id}}/{path}", _export_route(kind), "GET", 404, 409)
    return router
