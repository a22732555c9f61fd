"""Every failure leaves the server as ``{"error": {"code", "message"}}`` with a 4xx/5xx status.

Clients branch on ``code`` (stable, snake_case) and show ``message`` (written for a person).
The library's own errors keep their codes; the statuses they declare for the CLI's sake
(400 for anything the user got wrong) become 422 here, because by the time the pipeline
sees a request it has been parsed fine: it is its content that cannot be used.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import AvatarLabError
from .models import ErrorResponse

log = logging.getLogger("avatarlab.server")


class ApiError(Exception):
    """An error raised by the server's own checks (not found, queue full, too large...)."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers


ERROR_STATUSES = {
    401: "API key missing or wrong",
    404: "unknown id",
    409: "not finished yet",
    410: "the file is gone",
    413: "upload too large",
    422: "invalid request or unusable input",
    429: "queue full",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these statuses, all with the error body."""
    return {
        status: {"model": ErrorResponse, "description": ERROR_STATUSES[status]}
        for status in statuses
    }


def not_found(kind: str, item_id: str) -> ApiError:
    return ApiError(404, f"{kind}_not_found", f"no {kind} with id {item_id!r}")


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


def status_of(error: AvatarLabError) -> int:
    return 422 if error.http_status == 400 else error.http_status


def _code_for_status(status: int) -> str:
    """404 → not_found, 405 → method_not_allowed, 413 → too_large ..."""
    if status == 413:
        return "too_large"
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def _field_problem(problem: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
    return f"{where}: {problem.get('msg', 'invalid')}" if where else problem.get("msg", "invalid")


async def _on_api_error(_: Request, error: ApiError) -> JSONResponse:
    return JSONResponse(error_body(error.code, error.message), error.status, error.headers)


async def _on_library_error(_: Request, error: AvatarLabError) -> JSONResponse:
    return JSONResponse(error_body(error.code, error.message), status_of(error))


async def _on_validation(_: Request, error: RequestValidationError) -> JSONResponse:
    problems = list(error.errors())
    details = [
        {"field": ".".join(str(p) for p in item.get("loc", ())[1:]), "type": item.get("type")}
        for item in problems
    ]
    message = "; ".join(_field_problem(item) for item in problems) or "invalid request"
    return JSONResponse(error_body("invalid_request", message, details=details), 422)


async def _on_http(_: Request, error: HTTPException) -> JSONResponse:
    code = _code_for_status(error.status_code)
    message = error.detail if isinstance(error.detail, str) else code.replace("_", " ")
    if error.status_code == 404 and message == "Not Found":
        message = "no such endpoint: see /docs for the API"
    return JSONResponse(error_body(code, message), error.status_code, error.headers)


async def _on_unexpected(_: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=error)
    return JSONResponse(error_body("internal", "internal server error; see the server log"), 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(AvatarLabError, _on_library_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
