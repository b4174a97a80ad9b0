"""The operators' console: shard status, dead letters, the audit trail.

The shard and dead-letter pages are admin views (spot/urls.py mounts them
under /admin/console/ through `admin.site.admin_view`, so they take the
admin's login and CSRF protection); the admin index links to them. Acting
on a dead letter, like the kill switches on the user and market pages, needs
the `exchange.use_console` permission and writes an OperatorAction.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from exchange.admin.readonly import ReadOnlyAdmin
from exchange.models import OperatorAction
from exchange.services import dead_letters as letters
from exchange.services.invariants import worker_streams
from exchange.services.operator_log import admin_operator
from exchange.services.shards import shard_statuses
from spot.redis_connection import redis_client

CONSOLE_PERMISSION = "exchange.use_console"


def require_console(request: HttpRequest) -> None:
    if not request.user.has_perm(CONSOLE_PERMISSION):
        raise PermissionDenied


def shards_view(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Shards",
        "shards": shard_statuses(redis_client()),
    }
    return TemplateResponse(request, "admin/exchange/console/shards.html", context)


def dead_letters_view(request: HttpRequest) -> HttpResponse:
    worker = request.GET.get("worker") or None
    context = {
        **admin.site.each_context(request),
        "title": "Dead letters",
        "workers": list(worker_streams()),
        "worker": worker,
        "letters": letters.dead_letters(redis_client(), worker),
        "can_act": request.user.has_perm(CONSOLE_PERMISSION),
    }
    return TemplateResponse(request, "admin/exchange/console/dead_letters.html", context)


@require_POST
def dead_letter_action_view(request: HttpRequest) -> HttpResponse:
    require_console(request)
    worker, letter_id = request.POST.get("worker", ""), request.POST.get("id", "")
    action = request.POST.get("action")
    operator = admin_operator(request)
    try:
        if action == "replay":
            entry = letters.replay(redis_client(), worker, letter_id, operator)
            messages.success(request, f"{worker} dead letter {letter_id} replayed as entry {entry}.")
        elif action == "discard":
            letters.discard(redis_client(), worker, letter_id, operator)
            messages.success(request, f"{worker} dead letter {letter_id} discarded.")
        else:
            messages.error(request, f"unknown action {action!r}")
    except letters.DeadLetterError as exc:
        messages.error(request, str(exc))
    return HttpResponseRedirect(reverse("console-dead-letters"))


def console_urls() -> list[Any]:
    """The console's pages, for spot/urls.py: each behind the admin's login and staff check."""
    return [
        path("shards/", admin.site.admin_view(shards_view), name="console-shards"),
        path("dead-letters/", admin.site.admin_view(dead_letters_view), name="console-dead-letters"),
        path(
            "dead-letters/act/",
            admin.site.admin_view(dead_letter_action_view),
            name="console-dead-letter-action",
        ),
    ]


@admin.register(OperatorAction)
class OperatorActionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "operator", "via", "action", "target", "short_detail"]
    list_filter = ["action", "via"]
    search_fields = ["operator", "target", "action"]
    date_hierarchy = "created_at"
    ordering = ["-id"]

    @admin.display(description="Detail")
    def short_detail(self, obj: OperatorAction) -> str:
        text = ", ".join(f"{key}={value}" for key, value in (obj.detail or {}).items())
        return format_html("<code>{}</code>", text[:200])
