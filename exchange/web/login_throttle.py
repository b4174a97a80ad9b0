"""Login attempts are rate limited, per client address and per username.

Both the traders' /login/ and the operators' /admin/login/ take a password
from anyone: without a limit, a password can be guessed at the speed of the
server. Each POST spends a token of two buckets in Redis (the API's gate,
exchange.api.ratelimit): the client address's and the username's, each
LOGIN_RATE_LIMIT_BURST tokens refilled at LOGIN_RATE_LIMIT_PER_MIN. The
username's bucket stops guessing one account from many addresses; the
address's, many accounts from one. With Redis down, logins are let through:
operators need the admin most during an outage.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render

from exchange.api.errors import RateLimited, Unavailable
from exchange.api.ratelimit import admit

logger = logging.getLogger(__name__)


def admit_login(remote_addr: str | None, username: str) -> None:
    """Spend one attempt of the address and of the username, or raise RateLimited."""
    per_s = settings.LOGIN_RATE_LIMIT_PER_MIN / 60
    burst = settings.LOGIN_RATE_LIMIT_BURST
    admit(f"login-ip:{remote_addr or 'unknown'}", per_s=per_s, burst=burst)
    admit(f"login-user:{username.strip().lower()[:150]}", per_s=per_s, burst=burst)


def throttled_login(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """The login view, answering 429 (with Retry-After) to a POST over either limit."""

    @wraps(view)
    def throttled(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method == "POST":
            try:
                admit_login(request.META.get("REMOTE_ADDR"), str(request.POST.get("username", "")))
            except RateLimited as exc:
                response = render(
                    request, "exchange/too_many_logins.html", {"retry_after_s": exc.retry_after_s}, status=429
                )
                response["Retry-After"] = str(exc.retry_after_s)
                return response
            except Unavailable:
                logger.warning("login attempts not counted: Redis is unavailable")
        return view(request, *args, **kwargs)

    return throttled
