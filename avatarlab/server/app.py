"""The FastAPI app: the page, the /v1 JSON API and the render workers, in one process.

``create_app`` only wires routes (instant, so tests start fast); the lifespan opens the job
store, prepares the bundled avatar and the voice and starts the workers, and on shutdown
stops them so that interrupted renders go back to the queue.

The API documentation at /docs is a page of this package reading /openapi.json: FastAPI's
own /docs loads Swagger UI from a CDN, which an offline machine cannot reach.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi.responses import FileResponse
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles

from .. import __version__
from .api import health, resources_router
from .context import open_context
from .errors import ApiError, error_responses, install_error_handlers
from .limits import MULTIPART_OVERHEAD, BodyLimit
from .settings import ServerSettings
from .videos import videos_router

STATIC = Path(__file__).parent / "static"
API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False)


def check_api_key(
    request: Request,
    header_key: Annotated[str | None, Security(API_KEY_HEADER)] = None,
    api_key: Annotated[str | None, Query(include_in_schema=False)] = None,
) -> None:
    """X-API-Key, or ?api_key= for what a browser fetches by itself (<video>, <img>, SSE)."""
    expected = request.app.state.settings.api_key
    if expected is None:
        return
    given = header_key or api_key
    if given is None:
        raise ApiError(401, "unauthorized", "this server needs an API key (X-API-Key header)")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "the API key is wrong")


def page() -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def docs_page() -> FileResponse:
    return FileResponse(STATIC / "docs.html", headers={"Cache-Control": "no-cache"})


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    context = await asyncio.to_thread(open_context, app.state.settings)
    app.state.context = context
    try:
        yield
    finally:
        app.state.context = None
        await asyncio.to_thread(context.close)


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """A new app for ``settings``; nothing is opened or loaded until it starts."""
    settings = settings or ServerSettings()
    app = FastAPI(
        title="AvatarLab",
        version=__version__,
        summary="Talking-head videos from a portrait and a script.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.context = None
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes + MULTIPART_OVERHEAD)
    secured = {"dependencies": [Depends(check_api_key)], "responses": error_responses(401)}
    app.include_router(resources_router(), **secured)
    app.include_router(videos_router(), **secured)
    app.add_api_route("/healthz", health, methods=["GET"], tags=["server"])
    app.add_api_route("/", page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/docs", docs_page, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
