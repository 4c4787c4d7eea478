"""What every request goes through before its endpoint, as plain ASGI (no per-request task or
body copy): the model version header, the concurrency cap and the body size cap."""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.errors import error_body

__all__ = ["MODEL_VERSION_HEADER", "BodyLimit", "ConcurrencyLimit", "ModelVersionHeader", "served_by"]

MODEL_VERSION_HEADER = "X-Capcast-Model"
_HEADER = MODEL_VERSION_HEADER.lower().encode()
# Where an endpoint records the version that answered (``served_by``), in the request's state.
_STATE_KEY = "capcast_model_version"


def served_by(scope_state: dict, version: str) -> None:
    """Record, for the response header, the model version that answered this request."""
    scope_state[_STATE_KEY] = version


async def _send_error(send: Send, status: int, code: str, message: str, headers: list | None = None) -> None:
    body = json.dumps(error_body(code, message, None)).encode()
    start_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": start_headers + (headers or [])})
    await send({"type": "http.response.body", "body": body})


class ModelVersionHeader:
    """Every response, errors included, names the model version that produced it: the one the
    endpoint recorded (``served_by``), else the version serving when the response starts."""

    def __init__(self, app: ASGIApp, current: Callable[[], str | None]):
        self.app, self.current = app, current

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})

        async def named(message: Message) -> None:
            if message["type"] == "http.response.start":
                version = state.get(_STATE_KEY) or self.current()
                if version is not None:
                    message = {**message, "headers": [*message.get("headers", []), (_HEADER, version.encode())]}
            await send(message)

        await self.app(scope, receive, named)


class ConcurrencyLimit:
    """At most ``limit`` requests in the endpoints at once; the next ones get 503 ``overloaded``
    with ``Retry-After`` (seconds) at once, rather than a queue that grows without bound."""

    def __init__(self, app: ASGIApp, limit: int, retry_after_s: int = 1):
        self.app, self.limit = app, limit
        self._retry_after = str(retry_after_s).encode()
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.active >= self.limit:
            message = f"the service is answering {self.limit} requests already; retry after {int(self._retry_after)} s"
            return await _send_error(send, 503, "overloaded", message, [(b"retry-after", self._retry_after)])
        self.active += 1  # one event loop per worker: no lock needed
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


class BodyLimit:
    """Request bodies of at most ``limit`` bytes: 413 ``payload_too_large`` for a larger declared
    length before reading it, or as soon as a body without one grows past the limit."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        message = f"request bodies may have at most {self.limit} bytes"
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await _send_error(send, 413, "payload_too_large", message)
        received, answered = 0, False

        async def counted() -> Message:
            nonlocal received, answered
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > self.limit and not answered:
                    # Answer now and tell the app the client left: it stops reading, and whatever it
                    # sends afterwards is dropped.
                    answered = True
                    await _send_error(send, 413, "payload_too_large", message)
                    return {"type": "http.disconnect"}
            return incoming

        async def unless_answered(outgoing: Message) -> None:
            if not answered:
                await send(outgoing)

        try:
            await self.app(scope, counted, unless_answered)
        except ClientDisconnect:
            if not answered:
                raise
