"""Body-size limits enforced before a route reads the body (pure ASGI middleware)."""

from __future__ import annotations

import json
from typing import Any


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413 before the route reads them.

    The declared ``content-length`` is checked first; a body sent without one (chunked) is
    counted as it arrives and refused as soon as it passes the limit.
    """

    def __init__(self, app: Any, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"].endswith("/classify") else self.json_limit
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await too_large(send, limit)
            return
        received = 0

        async def limited_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLargeError:
            await too_large(send, limit)


class BodyTooLargeError(Exception):
    """Raised inside ``receive`` when a streamed body passes the limit."""


async def too_large(send: Any, limit: int) -> None:
    """Answer 413 with the service's usual ``{"detail": ...}`` body."""
    body = json.dumps({"detail": f"request body is larger than the limit of {limit:,} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
