"""Every error the API returns is JSON ``{"error": {"code", "message"}}`` with the status its class
says; a bug is a 500 with a request id (the traceback goes to the server log, never to the client)."""

from __future__ import annotations

import logging
import math
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ner_core import errors

logger = logging.getLogger(__name__)

STATUS = {
    errors.AuthenticationError: 401,
    errors.UnknownModelError: 404,
    errors.EndpointNotFoundError: 404,
    errors.RequestTooLargeError: 413,
    errors.RequestFormatError: 422,
    errors.InputTextError: 422,
    errors.SlaNotMetError: 422,
    errors.ConfigError: 422,
    errors.RateLimitError: 429,
    errors.ModelUnavailableError: 503,
    errors.InternalServerError: 500,
}
KNOWN_PATHS = {
    "/api/v1/predict", "/api/v1/predict/batch", "/api/v1/predict/route", "/api/v1/predict/naive", "/api/v1/health",
    "/api/v1/models/comparison", "/metrics", "/healthz", "/readyz",
}  # fmt: skip


def status_of(error: errors.NerError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def _count(request: Request, status: int) -> None:
    """Refused requests count in /metrics too (arm "none": no model was asked)."""
    gateway = getattr(request.app.state, "gateway", None)
    if gateway is not None:
        path = request.url.path.rstrip("/")
        endpoint = path.rsplit("/", 1)[-1] if path.startswith("/api/v1/predict/") else path.rsplit("/", 1)[-1] or "root"
        if path not in KNOWN_PATHS:
            endpoint = "unknown"
        gateway.metrics.requests.labels(endpoint, "none", str(status)).inc()


def error_response(error: errors.NerError, status: int | None = None) -> JSONResponse:
    status = status or status_of(error)
    headers = {}
    if isinstance(error, errors.RateLimitError):
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after_s)))
    if isinstance(error, errors.AuthenticationError):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse({"error": {"code": error.code, "message": error.message}}, status_code=status, headers=headers)


def _describe(error: dict) -> str:
    location = ".".join(str(part) for part in error.get("loc", ()) if part != "body") or "request body"
    if error.get("type") == "json_invalid":
        return "the request body is not valid JSON" + (f" ({error.get('ctx', {}).get('error')})" if error.get("ctx") else "")
    if error.get("type") == "missing":
        return f"{location} is required"
    if error.get("type") == "extra_forbidden":
        return f"{location} is not a field of this endpoint"
    return f"{location}: {error.get('msg', 'invalid value')}"


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [_describe(error) for error in exc.errors()[:5]]
    message = "; ".join(problems) + ". See /docs for the fields." if problems else "the request body is invalid."
    _count(request, 422)
    return error_response(errors.RequestFormatError(message), 422)


async def _ner_error(request: Request, exc: errors.NerError) -> JSONResponse:
    _count(request, status_of(exc))
    return error_response(exc)


async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    _count(request, exc.status_code)
    if exc.status_code == 404:
        error = errors.EndpointNotFoundError("no such endpoint; see /docs for the API's paths.")
    elif exc.status_code == 405:
        error = errors.EndpointNotFoundError("this endpoint does not accept that method; see /docs.")
    else:
        error = errors.RequestFormatError(str(exc.detail))
    return error_response(error, exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    _count(request, 500)
    reference = uuid.uuid4().hex[:12]
    logger.exception("unexpected error %s", reference, exc_info=exc)
    error = errors.InternalServerError(f"an internal error occurred (reference {reference}); it is logged on the server.")
    return error_response(error, 500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(errors.NerError, _ner_error)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
