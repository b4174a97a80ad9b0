"""Errors of the API: one small hierarchy, one shape on the wire.

Every refusal is an `ApiError` carrying an HTTP status and a stable code; one
handler turns it (and ninja's own validation and auth errors) into
``{"code": "...", "message": "..."}``. The fast order path uses the same
`error_payload`, so both paths answer byte for byte alike.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

logger = logging.getLogger(__name__)


class ErrorOut(Schema):
    code: str
    message: str


class ApiError(Exception):
    """A request the API refuses; nothing was enqueued."""

    status = 400
    code = "INVALID_REQUEST"

    def __init__(self, message: str, code: str | None = None, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after_s is None else {"Retry-After": str(self.retry_after_s)}


class BadRequest(ApiError):
    """The body, a parameter or an order rule is wrong."""


class Unauthenticated(ApiError):
    """No valid credentials: signature, key, timestamp or session."""

    status = 401
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    """Valid credentials without the scope the operation needs."""

    status = 403
    code = "SCOPE_MISSING"


class NotFound(ApiError):
    """No such resource for this user; other users' resources look the same."""

    status = 404
    code = "NOT_FOUND"


class Conflict(ApiError):
    """The resource is in a state that forbids the operation (e.g. a closed order)."""

    status = 409
    code = "CONFLICT"


class PayloadTooLarge(ApiError):
    """The body is larger than API_MAX_BODY_BYTES."""

    status = 413
    code = "BODY_TOO_LARGE"


class RateLimited(ApiError):
    """The key's token bucket is empty; Retry-After says when it has a token again."""

    status = 429
    code = "RATE_LIMITED"


class Unavailable(ApiError):
    """Redis is unreachable or the stream is momentarily full; retry the same request."""

    status = 503
    code = "UNAVAILABLE"


ERROR_STATUSES = (400, 401, 403, 404, 409, 413, 429, 503)


def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The `response=` entries of the error statuses an operation can answer."""
    unknown = set(statuses) - set(ERROR_STATUSES)
    assert not unknown, f"undocumented error statuses {unknown}"
    return dict.fromkeys(statuses, ErrorOut)


def error_payload(exc: ApiError) -> dict[str, str]:
    return {"code": exc.code, "message": exc.message}


# pydantic error types -> our codes; the first error of a request decides.
_TYPE_CODES = {
    "extra_forbidden": "UNKNOWN_FIELD",
    "missing": "MISSING_FIELD",
    "malformed_decimal": "MALFORMED_DECIMAL",
    "too_many_decimals": "TOO_MANY_DECIMALS",
    "not_positive": "NOT_POSITIVE",
    "literal_error": "INVALID_VALUE",
    "enum": "INVALID_VALUE",
    "string_pattern_mismatch": "INVALID_VALUE",
    "string_too_long": "INVALID_VALUE",
    "string_too_short": "INVALID_VALUE",
    "greater_than_equal": "INVALID_VALUE",
    "less_than_equal": "INVALID_VALUE",
    "greater_than": "INVALID_VALUE",
    "less_than": "INVALID_VALUE",
    "json_invalid": "MALFORMED_JSON",
}


def from_validation_errors(errors: Iterable[Mapping[str, Any]]) -> BadRequest:
    """One BadRequest from pydantic's (or ninja's) list of errors."""
    first = next(iter(errors), None)
    if first is None:
        return BadRequest("the request is not valid")
    kind = str(first.get("type", ""))
    code = _TYPE_CODES.get(kind)
    if code is None:
        code = "INVALID_TYPE" if kind.endswith("_type") or kind.endswith("_parsing") else "INVALID_REQUEST"
    # ninja prefixes the source ("body", "query", "path"); the field is what a trader knows.
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    field = ".".join(location)
    message = str(first.get("msg", "invalid"))
    if code == "UNKNOWN_FIELD":
        message = "is not a field of this request"
    return BadRequest(f"{field}: {message}" if field else message, code)


def install_handlers(api: NinjaAPI) -> None:
    # ninja types a handler's exception loosely (instance or class); each handler
    # is registered for one class and checks what it got.
    def respond(request: HttpRequest, exc: object) -> HttpResponse:
        assert isinstance(exc, ApiError)
        response = api.create_response(request, error_payload(exc), status=exc.status)
        for name, value in exc.headers().items():
            response[name] = value
        return response

    def validation(request: HttpRequest, exc: object) -> HttpResponse:
        assert isinstance(exc, ValidationError)
        return respond(request, from_validation_errors(exc.errors))

    def unauthenticated(request: HttpRequest, exc: object) -> HttpResponse:
        return respond(
            request, Unauthenticated("sign the request (X-Spot-Key, X-Spot-Timestamp, X-Spot-Signature)")
        )

    def http_error(request: HttpRequest, exc: object) -> HttpResponse:
        assert isinstance(exc, HttpError)
        code = {403: "FORBIDDEN", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(
            exc.status_code, "INVALID_REQUEST"
        )
        error = ApiError(exc.message, code)
        error.status = exc.status_code if exc.status_code in ERROR_STATUSES else 400
        return respond(request, error)

    def not_found(request: HttpRequest, exc: object) -> HttpResponse:
        return respond(request, NotFound(f"{request.method} {request.path} is not an endpoint of this API"))

    def internal(request: HttpRequest, exc: object) -> HttpResponse:
        # The lean order path answers the same; Django's HTML 500 page is no answer for a bot.
        logger.error(
            "%s %s failed",
            request.method,
            request.path,
            exc_info=exc if isinstance(exc, BaseException) else None,
        )
        error = ApiError("internal error", "INTERNAL")
        error.status = 500
        return respond(request, error)

    def database_down(request: HttpRequest, exc: object) -> HttpResponse:
        logger.warning("database error answered as 503: %s", exc)
        return respond(request, Unavailable("the exchange is briefly unavailable; retry", retry_after_s=1))

    api.add_exception_handler(ApiError, respond)
    api.add_exception_handler(DatabaseError, database_down)
    api.add_exception_handler(ValidationError, validation)
    api.add_exception_handler(AuthenticationError, unauthenticated)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(Exception, internal)
