"""The bearer token that mutating routes require."""

from __future__ import annotations

import secrets

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from core import names
from core.errors import UnauthorizedError


class BearerToken(HTTPBearer):
    """``Authorization: Bearer <token>`` must carry the service's token (constant-time check).

    The token is the app's (``app.state.api_token``), so one dependency serves every app.
    """

    def __init__(self) -> None:
        super().__init__(auto_error=False, description=names.ENV_API_TOKEN)

    async def __call__(self, request: Request) -> HTTPAuthorizationCredentials:  # type: ignore[override]
        creds = await super().__call__(request)
        if creds is None:
            raise UnauthorizedError(f"missing bearer token: send 'Authorization: Bearer ${names.ENV_API_TOKEN}'")
        token: bytes = request.app.state.api_token
        if not secrets.compare_digest(creds.credentials.encode(), token):
            raise UnauthorizedError("invalid bearer token")
        return creds


#: ``dependencies=[REQUIRE_TOKEN]`` on a route makes it authenticated.
REQUIRE_TOKEN = Depends(BearerToken())
