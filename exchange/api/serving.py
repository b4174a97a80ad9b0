"""The WSGI application of the API processes: a lean path for signed POST /orders, Django for the rest.

Django's middleware stack and ninja's request handling cost more than the
order path itself (docs/BENCHMARKS.md, REST API). A signed `POST /api/v1/orders`
therefore skips them and runs the very functions the ninja view runs
(check_body_size, authenticate_signed, place_order) and answers with the
same JSON; everything else, including that endpoint with a browser session,
goes to Django. Serve it with a WSGI server:

    granian --interface wsgi --workers 1 exchange.api.serving:application
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections

from spot.config_errors import exit_on_config_error
from spot.garbage import settle_garbage_collector

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spot.settings")

logger = logging.getLogger(__name__)

ORDERS_PATH = "/api/v1/orders"
RECYCLE_INTERVAL_S = 1.0
StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class OrderFastPath:
    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        # Imported once Django is set up (get_wsgi_application did that).
        from exchange.api import auth, errors, metrics, placing
        from exchange.api.request_target import signed_targets

        self._auth = auth
        self._errors = errors
        self._metrics = metrics
        self._placing = placing
        self._signed_targets = signed_targets
        self._thread = threading.local()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if (
            environ.get("PATH_INFO") == ORDERS_PATH
            and environ.get("REQUEST_METHOD") == "POST"
            and not environ.get("SCRIPT_NAME")
            and "HTTP_X_SPOT_KEY" in environ
        ):
            return self._place(environ, start_response)
        return self.app(environ, start_response)

    def _place(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        headers: dict[str, str] = {}
        self._recycle_connections()
        try:
            status, payload = self._answer(environ)
        except self._errors.ApiError as exc:
            status, payload, headers = exc.status, self._errors.error_payload(exc), exc.headers()
        except Exception:
            logger.exception("POST /orders failed")
            status, payload = 500, {"code": "INTERNAL", "message": "internal error"}
        body = json.dumps(payload, separators=(",", ":")).encode()
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Length", str(len(body))),
                *headers.items(),
            ],
        )
        code = str(payload.get("code", "")) if status >= 400 else ""
        self._metrics.observe_request("POST", ORDERS_PATH, status, code, time.perf_counter() - started)
        return [body]

    def _recycle_connections(self) -> None:
        """What Django does at every request start, at most once a second per thread.

        close_old_connections also arms CONN_HEALTH_CHECKS, a ping before the next
        query: per request that is a second database round trip for one point read.
        A connection that dies in between fails that read, which reconnects once
        (exchange.api.order_lookup.persisted_order_id).
        """
        now = time.monotonic()
        if now >= getattr(self._thread, "next_recycle", 0.0):
            close_old_connections()
            self._thread.next_recycle = now + RECYCLE_INTERVAL_S

    def _answer(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self._auth.check_body_size(environ)
        body = self._read_body(environ)
        targets = self._signed_targets(environ, ORDERS_PATH)
        principal = self._auth.authenticate_signed(
            environ, "POST", targets, body, self._auth.TRADE, defer_gate=self._placing.defers_gate()
        )
        assert principal is not None  # X-Spot-Key is present, so it authenticated or raised
        answer = self._placing.place_order(principal, body)
        return answer.status, answer.payload

    def _read_body(self, environ: dict[str, Any]) -> bytes:
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH")
        if length:
            return bytes(stream.read(int(length)))
        # No Content-Length (chunked): read one byte past the limit to see an oversized body.
        limit = settings.API_MAX_BODY_BYTES
        body = bytes(stream.read(limit + 1))
        if len(body) > limit:
            raise self._errors.PayloadTooLarge(f"the body is larger than {limit} bytes")
        return body


def _application() -> WsgiApp:
    app = OrderFastPath(get_wsgi_application())
    settle_garbage_collector()  # spot/garbage.py: no full collection walks the start-up state again
    return app


application = exit_on_config_error(_application)
