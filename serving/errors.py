"""One error format for every failure: ``{"error": {"code", "message", "field"}}``."""

from __future__ import annotations

import logging
from enum import StrEnum

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["COMMON_ERRORS", "ApiError", "ErrorCode", "ErrorResponse", "error_body", "errors", "install_error_handlers"]

logger = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    """Every ``error.code`` the service answers with."""

    # the request as a whole
    MALFORMED_JSON = "malformed_json"
    INVALID_REQUEST = "invalid_request"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    OVERLOADED = "overloaded"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    HTTP_ERROR = "http_error"
    INTERNAL = "internal"
    # forecasts
    UNKNOWN_SERIES = "unknown_series"
    HORIZON_TOO_LONG = "horizon_too_long"
    TOO_MANY_SERIES = "too_many_series"
    TOO_MANY_FUTURE_ROWS = "too_many_future_rows"
    TOO_MANY_HISTORY_ROWS = "too_many_history_rows"
    INVALID_FUTURE = "invalid_future"
    MISSING_FUTURE_VALUE = "missing_future_value"
    INVALID_HISTORY = "invalid_history"
    HISTORY_NOT_SUPPORTED = "history_not_supported"
    # plans
    NO_SITE = "no_site"
    PLAN_TOO_LARGE = "plan_too_large"
    TIME_LIMIT_TOO_LONG = "time_limit_too_long"
    NO_PLAN = "no_plan"
    INVALID_LOCK = "invalid_lock"
    INVALID_UNAVAILABLE = "invalid_unavailable"
    UNKNOWN_DEMAND_COLUMN = "unknown_demand_column"
    SITE_DOES_NOT_FIT = "site_does_not_fit"
    NO_LEDGER_STOCK = "no_ledger_stock"
    UNKNOWN_PLAN = "unknown_plan"
    UNKNOWN_JOB = "unknown_job"
    NOT_A_DRAFT = "not_a_draft"
    # stock
    INVALID = "invalid"
    INVALID_EVENTS = "invalid_events"
    CONFLICT = "conflict"
    SEQUENCE = "sequence"
    PAIRING = "pairing"
    OVER_RELEASE = "over_release"
    NEGATIVE_STOCK = "negative_stock"
    OVER_RESERVATION = "over_reservation"
    RESERVATION_CONFLICT = "reservation_conflict"
    UNKNOWN_RESERVATION = "unknown_reservation"
    # the model
    RELOAD_FAILED = "reload_failed"


class ErrorDetail(BaseModel):
    code: ErrorCode
    message: str = Field(description="what is wrong, for a person")
    field: str | None = Field(description='the path of the field at fault, e.g. "unique_ids.3" or "future.12.price"')
    details: list[dict] | None = Field(
        None, description="a batch's problems, one per bad item (its index, code, field, message)"
    )


class ErrorResponse(BaseModel):
    """Every error the service answers, whatever the status."""

    error: ErrorDetail


_REASONS = {
    400: "The body is not JSON (malformed_json)",
    401: "No token, or one the service does not know (unauthorized)",
    403: "The token's role may not do this (forbidden)",
    404: "Not found (unknown_series, unknown_plan, unknown_job, ...)",
    409: "In conflict with what is stored",
    413: "The body is larger than the service accepts (payload_too_large)",
    422: "The request cannot be served as asked; error.field names the field",
    500: "An error of the service's own (internal); see its log",
    502: "A new model version could not be loaded (reload_failed)",
    503: "The worker is answering as many requests as it may (overloaded); retry after Retry-After seconds",
}


def errors(*statuses: int) -> dict[int | str, dict]:
    """The OpenAPI ``responses`` of the error statuses an endpoint may answer with."""
    return {status: {"model": ErrorResponse, "description": _REASONS[status]} for status in statuses}


# What any request may meet: its body refused before the endpoint, the worker full, a fault.
COMMON_ERRORS = errors(413, 422, 500, 503)


class ApiError(Exception):
    """A request the service understood but cannot serve.

    ``details``: for a request with several problems (a batch of events), one error per problem,
    each ``{"code", "message", "field"}``; the error itself names the first. ``code`` must be an
    ``ErrorCode``: clients generated from the document know no other (a ValueError here otherwise).
    """

    def __init__(
        self,
        status: int,
        code: ErrorCode | str,
        message: str,
        field: str | None = None,
        details: list[dict] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.code = ErrorCode(code).value
        self.status, self.message, self.field, self.details = status, message, field, details
        self.headers = headers


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
    return JSONResponse(error_body(exc.code, exc.message, exc.field, exc.details), exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(error_body(code, str(exc.detail), None), exc.status_code, headers=exc.headers)


# What a database says when other writers hold it longer than this one may wait (SQLite's busy
# timeout, PostgreSQL's lock timeout): the request was fine, the service is busy.
_BUSY = ("database is locked", "database table is locked", "lock timeout", "could not obtain lock")


async def _database_error(request: Request, exc: OperationalError) -> JSONResponse:
    if not any(sign in str(exc.orig).lower() for sign in _BUSY):
        return await _unexpected(request, exc)
    logger.warning("database busy on %s: %s", request.url.path, exc.orig)
    message = "the database is busy with other writes; nothing was changed, retry shortly"
    return JSONResponse(error_body("overloaded", message, None), 503, headers={"Retry-After": "1"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s", request.url.path)
    return JSONResponse(error_body("internal", "unexpected server error; see the service log", None), 500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
