"""Readiness probe for Kubernetes: the database and Redis answer."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse

from spot.redis_connection import redis_client


def healthz(request: HttpRequest) -> JsonResponse:
    problems: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"
        problems["database"] = str(exc)
    try:
        redis_client().ping()
    except Exception as exc:  # connection refused, timeout, auth: all "not ready"
        problems["redis"] = str(exc)
    if problems:
        return JsonResponse({"status": "unavailable", **problems}, status=503)
    return JsonResponse({"status": "ok"})
