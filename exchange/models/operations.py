"""What operators did, and the accounts they froze.

Every action of the operators' console and of the operators' management
commands writes an `OperatorAction` (exchange.services.operator_log); the
admin shows them read-only. A `FrozenAccount` row is the lasting record of a
freeze; the API refuses a frozen user's orders through a flag in Redis that
the order script reads (exchange.services.kill_switches).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


def _no_detail() -> dict[str, Any]:
    return {}


class OperatorAction(models.Model):
    """One thing an operator did, from the admin or a management command."""

    # The operator's name as given: an admin username, `--operator`, or the OS user.
    operator = models.CharField(max_length=150)
    # "admin" or "command": where it was done.
    via = models.CharField(max_length=16)
    action = models.CharField(max_length=48, help_text="e.g. freeze_user, replay_dead_letter")
    target = models.CharField(max_length=200, help_text="What it acted on: a user, a market, an entry.")
    detail = models.JSONField(default=_no_detail, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("use_console", "Can replay dead letters and use the kill switches")]
        indexes = [models.Index(fields=["action", "-id"], name="operator_action_kind")]

    def __str__(self) -> str:
        return f"{self.operator}: {self.action} {self.target}"


class FrozenAccount(models.Model):
    """A user whose new orders are refused (ACCOUNT_FROZEN) until an operator unfreezes them."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="freeze")
    reason = models.CharField(max_length=200, blank=True)
    frozen_by = models.CharField(max_length=150)
    frozen_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} (frozen)"
