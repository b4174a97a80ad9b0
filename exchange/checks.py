"""System checks across settings (run by `manage.py check` and at server start)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


@register()
def check_production_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if settings.DEBUG:
        return problems
    if len(settings.SECRET_KEY) < 32:
        problems.append(
            Error(
                "SECRET_KEY is shorter than 32 characters while DEBUG is off.",
                hint="Generate one: python -c 'import secrets; print(secrets.token_urlsafe(50))'",
                id="exchange.E001",
            )
        )
    if "*" in settings.ALLOWED_HOSTS:
        problems.append(
            Warning(
                "ALLOWED_HOSTS accepts any host while DEBUG is off.",
                hint="List the exchange's host names.",
                id="exchange.W001",
            )
        )
    if not settings.API_SECRETS_KEY:
        problems.append(
            Warning(
                "API_SECRETS_KEY is not set while DEBUG is off: HMAC API secrets are encrypted with a key "
                "derived from SECRET_KEY, and rotating SECRET_KEY would make them unreadable.",
                hint="Set API_SECRETS_KEY (or API_SECRETS_KEY_FILE) to a Fernet key.",
                id="exchange.W003",
            )
        )
    if "sqlite" in settings.DATABASES["default"]["ENGINE"]:
        problems.append(
            Warning(
                "SQLite is the database while DEBUG is off; it serves one writer at a time and keeps "
                "amounts other than balances to 15-16 significant digits.",
                hint="Set DATABASE_URL to mysql://... for production.",
                id="exchange.W002",
            )
        )
    return problems


@register()
def check_shards(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if settings.ACCOUNT_SHARDS > 1024:
        problems.append(
            Error(
                f"ACCOUNT_SHARDS is {settings.ACCOUNT_SHARDS}; at most 1024 are supported.",
                id="exchange.E002",
            )
        )
    shards = {*settings.SYMBOL_SHARDS.values(), settings.SYMBOL_DEFAULT_SHARD}
    if max(shards) > 1024:
        problems.append(Error("SYMBOL_SHARDS names a shard above 1024.", id="exchange.E003"))
    return problems
