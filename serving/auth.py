"""Who may write: every write endpoint asks for the planner token as a bearer token.

The token comes from settings (``CAPCAST_PLANNER_TOKEN``) or, when none is set, from a file in
``CAPCAST_HOME`` that the first start creates with a random token, readable by its owner only.
One shared token proves the right to write; who acted is the name a request gives (``by``).
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from serving.errors import ApiError

__all__ = ["TOKEN_FILE", "PlannerToken", "load_or_create_token"]

TOKEN_FILE = "planner-token"


def load_or_create_token(path: Path) -> str:
    """The token stored at ``path``; a new random one, written with mode 0600, when there is none."""
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    # Created with owner-only permissions from the start, never world-readable for a moment.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(token + "\n")
    return token


class PlannerToken:
    """Checks the ``Authorization: Bearer <token>`` header of a write request."""

    def __init__(self, token: str):
        if not token:
            raise ValueError("the planner token must not be empty")
        self._token = token.encode("utf-8")

    def check(self, authorization: str | None) -> None:
        """Return quietly for the right token; 401 ``ApiError`` otherwise (no token, another scheme,
        a wrong token), compared in constant time."""
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise ApiError(401, "unauthorized", "this needs the planner token: Authorization: Bearer <token>", None)
        if not hmac.compare_digest(given.strip().encode("utf-8"), self._token):
            raise ApiError(401, "unauthorized", "the planner token is not right", None)
