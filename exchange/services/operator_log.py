"""The audit trail of the operators' console: who did what to what, and when.

Every console action and every operators' management command calls `record`
once per action, after it took effect, with what an investigation needs in
`detail` (the entry replayed, the orders cancelled, the reason given).
"""

from __future__ import annotations

import getpass
from typing import Any

from django.http import HttpRequest

from exchange.models import OperatorAction

ADMIN = "admin"
COMMAND = "command"


def record(
    operator: str, action: str, target: str, detail: dict[str, Any] | None = None, via: str = ADMIN
) -> OperatorAction:
    return OperatorAction.objects.create(
        operator=operator[:150], via=via, action=action, target=target[:200], detail=detail or {}
    )


def admin_operator(request: HttpRequest) -> str:
    """The name an admin action is recorded under: the logged-in user's."""
    return request.user.get_username()


def command_operator(given: str | None) -> str:
    """The name a management command is recorded under: `--operator`, else the OS user."""
    if given:
        return given
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's arbitrary uid)
        return "unknown"
