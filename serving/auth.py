"""Who may write: every write endpoint asks for a bearer token, and each token has a role.

Roles: ``planner`` (plan jobs, approvals), ``source`` (a node's stock events, to come: a source
token writes only its own), ``admin`` (everything). Tokens come from settings
(``CAPCAST_TOKENS``: name, role, token) plus the planner token (``CAPCAST_PLANNER_TOKEN``, or,
when none is set, a file in ``CAPCAST_HOME`` that the first start creates with a random token,
readable by its owner only). No token, or an unknown one, is a 401; a known token whose role
may not do the thing is a 403. Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from serving.errors import ApiError

__all__ = ["TOKEN_FILE", "Principal", "Role", "Tokens", "load_or_create_token"]

TOKEN_FILE = "planner-token"


class Role(StrEnum):
    ADMIN = "admin"
    PLANNER = "planner"
    SOURCE = "source"


@dataclass(frozen=True)
class Principal:
    """Who a request's token says it is: the token's name and its role."""

    name: str
    role: Role


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


class Tokens:
    """The service's tokens: ``(name, role, token)`` each."""

    def __init__(self, tokens: list[tuple[str, Role, str]]):
        if any(not token for _, _, token in tokens):
            raise ValueError("a token must not be empty")
        self._tokens = [(name, Role(role), token.encode("utf-8")) for name, role, token in tokens]

    def check(self, authorization: str | None, *roles: Role) -> Principal:
        """The principal of a request's ``Authorization: Bearer <token>`` header when its role is one
        of ``roles`` (admin always is); 401 ``ApiError`` without a known token, 403 for another role."""
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise ApiError(401, "unauthorized", "this needs a token: Authorization: Bearer <token>", None)
        found = None
        offered = given.strip().encode("utf-8")
        for name, role, token in self._tokens:  # every token compared: the time says nothing of which matched
            if hmac.compare_digest(offered, token):
                found = Principal(name, role)
        if found is None:
            raise ApiError(401, "unauthorized", "the token is not one this service knows", None)
        if found.role is not Role.ADMIN and found.role not in roles:
            wanted = " or ".join(roles)
            raise ApiError(
                403, "forbidden", f"token {found.name!r} ({found.role}) may not do this: it needs {wanted}", None
            )
        return found
