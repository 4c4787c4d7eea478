"""One error format for every failure: ``{"error": {"code", "message", "field"}}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["ApiError", "error_body", "install_error_handlers"]

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """A request the service understood but cannot serve.

    ``details``: for a request with several problems (a batch of events), one error per problem,
    each ``{"code", "message", "field"}``; the error itself names the first.
    """

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, details: list[dict] | None = None
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.field, self.details = status, code, message, field, details


def error_body(code: str, message: str, field: str | None, details: list[dict] | None = None) -> dict:
    error = {"code": code, "message": message, "field": field}
    return {"error": error | ({"details": details} if details is not None else {})}


def _field_path(location: tuple) -> str | None:
    parts = [str(p) for p in location if p != "body"]
    return ".".join(parts) or None


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        return JSONResponse(
            error_body("malformed_json", f"request body is not valid JSON: {first.get('msg')}", None), 400
        )
    field = _field_path(tuple(first.get("loc", ())))
    extra = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return JSONResponse(error_body("invalid_request", f"{first.get('msg')}{extra}", field), 422)


async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
    return JSONResponse(error_body(exc.code, exc.message, exc.field, exc.details), exc.status)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail), None), exc.status_code)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s", request.url.path)
    return JSONResponse(error_body("internal", "unexpected server error; see the service log", None), 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
