"""Plain ASGI middleware (no BaseHTTPMiddleware: it costs a task per request): the body-size limit,
and counting prediction requests as they arrive so dynamic batching knows who is on the way."""

from __future__ import annotations

import json

from ner_core.errors import RequestTooLargeError
from ner_core.serving.dynamic_batching import ArrivingRequests

PREDICT_PREFIX = "/api/v1/predict"


class Arrival:
    """A prediction request counted in :class:`ArrivingRequests` until it reaches a model (or ends)."""

    __slots__ = ("_arriving", "_counted")

    def __init__(self, arriving: ArrivingRequests):
        self._arriving = arriving
        self._counted = True
        arriving.arrive()

    def leave(self) -> None:
        if self._counted:
            self._counted = False
            self._arriving.leave()


async def _send_too_large(send, limit: int) -> None:
    error = RequestTooLargeError(f"the request body is over the server's limit of {limit:,} bytes; send less text per request.")
    body = json.dumps({"error": {"code": error.code, "message": error.message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitAndArrivals:
    """Refuse bodies over ``max_body_bytes`` with 413 (by Content-Length first, else while reading them),
    and count POSTs to /api/v1/predict* in ``arriving`` from their first byte."""

    def __init__(self, app, *, max_body_bytes: int, arriving: ArrivingRequests, in_flight: ArrivingRequests):
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.arriving = arriving
        self.in_flight = in_flight  # every HTTP request inside the app now (the /metrics gauge)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.max_body_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    too_large = int(value) > limit
                except ValueError:
                    too_large = False
                if too_large:
                    return await _send_too_large(send, limit)
                break
        self.in_flight.arrive()
        arrival = None
        if scope["method"] == "POST" and scope["path"].startswith(PREDICT_PREFIX):
            arrival = Arrival(self.arriving)
            scope.setdefault("state", {})["arrival"] = arrival
        try:
            if scope["method"] not in ("POST", "PUT", "PATCH"):
                return await self.app(scope, receive, send)
            # Read the whole body here (the endpoint needs all of it anyway), so a chunked body over
            # the limit is refused with 413 before the app sees any of it.
            chunks, size = [], 0
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    return await _send_too_large(send, limit)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            replayed = False

            async def replay():
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
                return await receive()

            await self.app(scope, replay, send)
        finally:
            self.in_flight.leave()
            if arrival is not None:
                arrival.leave()
