"""Answers for requests under /api/ that no operation takes: JSON, like every other refusal.

Django answers an unknown route with its HTML 404 page, and ninja answers a
method a path does not take with a bare 405. A client of a JSON API reads
``{"code", "message"}`` for every refusal, so `api_not_found` is the last
route under /api/ (spot/urls.py), and `json_refusals` wraps each of the API's
views to turn ninja's 405 into METHOD_NOT_ALLOWED JSON with its Allow header
(and the Http404 of ninja's root view, /api/v1/, into NOT_FOUND). The lean
order path passes every such request to Django, so both serving paths answer
alike.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver
from django.views.decorators.csrf import csrf_exempt

from exchange.api.errors import ApiError, NotFound, error_payload

View = Callable[..., HttpResponse]


class MethodNotAllowed(ApiError):
    """The path exists but does not take this method; Allow lists those it takes."""

    status = 405
    code = "METHOD_NOT_ALLOWED"


def error_response(error: ApiError) -> HttpResponse:
    response = HttpResponse(
        json.dumps(error_payload(error), separators=(",", ":")),
        status=error.status,
        content_type="application/json; charset=utf-8",
    )
    for name, value in error.headers().items():
        response[name] = value
    return response


@csrf_exempt  # a POST to a route that does not exist is a 404, not a CSRF failure
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return error_response(NotFound(f"{request.method} {request.path} is not an endpoint of this API"))


def json_refusals(view: View) -> View:
    @functools.wraps(view)  # keeps ninja's csrf_exempt mark
    def answered(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return api_not_found(request)
        if not isinstance(response, HttpResponseNotAllowed):
            return response
        allowed = response["Allow"]
        refusal = error_response(MethodNotAllowed(f"{request.method} is not allowed here; use {allowed}"))
        refusal["Allow"] = allowed
        return refusal

    return answered


def with_json_refusals(
    urls: tuple[list[URLResolver | URLPattern], str, str],
) -> tuple[list[URLResolver | URLPattern], str, str]:
    """The API's URL patterns (NinjaAPI.urls), each view answering 404 and 405 as JSON."""
    patterns, app_name, namespace = urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = json_refusals(pattern.callback)
    return patterns, app_name, namespace
