"""``avatarlab serve``: the web page, the JSON API (/v1, documented at /docs) and the render
workers in one process.

>>> from avatarlab.server import ServerSettings, serve
>>> serve(port=8000, settings=ServerSettings(workers=2))  # doctest: +SKIP

``create_app(settings)`` gives the FastAPI app itself, for tests or another ASGI server.
Importing this package is cheap: FastAPI and the pipeline load when an app is created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .settings import ServerSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["ServerSettings", "create_app", "serve"]

SHUTDOWN_GRACE_S = 5
"""How long open connections (event streams, downloads) get at shutdown before they are cut."""


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    from .app import create_app as build

    return build(settings)


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: ServerSettings | None = None,
    *,
    log_level: str = "info",
) -> None:
    """Run the server until interrupted (Ctrl+C): renders in progress go back to the queue
    and run on the next start. ``settings`` defaults to ``ServerSettings()`` (data in
    $AVATARLAB_DATA or ~/.local/share/avatarlab, one worker per core)."""
    import uvicorn

    app = create_app(settings or ServerSettings())
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
