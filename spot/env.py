"""Typed readers of settings from the environment.

Each helper names the variable in its error, so a bad or missing value stops
start-up with one line an operator can act on. A secret may also be given as
``NAME_FILE`` (a path), the way Kubernetes mounts secrets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    if name in env:
        return env[name]
    path = env.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path!r} ({exc.strerror})") from exc
    return None


def env_str(name: str, default: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    value = _raw(name, environ)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"{name}: required but not set")
        return default
    return value


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}: expected a boolean (1/0, true/false), got {value!r}")


def env_int(
    name: str,
    default: int,
    minimum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None or value.strip() == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}: expected an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}: must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(
    name: str, default: str, choices: tuple[str, ...], environ: Mapping[str, str] | None = None
) -> str:
    value = env_str(name, default, environ).strip().upper()
    allowed = tuple(choice.upper() for choice in choices)
    if value not in allowed:
        raise ImproperlyConfigured(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def env_amounts(name: str, default: str, environ: Mapping[str, str] | None = None) -> dict[str, Decimal]:
    """Parse ``BTC=100,USDT=1000000`` into {"BTC": Decimal("100"), ...}: positive amounts per asset code."""
    amounts: dict[str, Decimal] = {}
    for item in filter(None, (piece.strip() for piece in env_str(name, default, environ).split(","))):
        code, sep, text = item.partition("=")
        try:
            amount = Decimal(text.strip())
        except InvalidOperation:
            amount = Decimal("NaN")
        if not sep or not code.strip() or not amount.is_finite() or amount <= 0:
            raise ImproperlyConfigured(f"{name}: expected ASSET=positive amount pairs, got {item!r}")
        amounts[code.strip().upper()] = amount
    return amounts


def env_shard_map(
    name: str, default: str, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, int], int]:
    """Parse ``btc=1,eth=2,*=4`` into ({"btc": 1, "eth": 2}, 4).

    Keys are base-asset codes, lower-cased; ``*`` is the shard of every other
    symbol and must be present, so no symbol is ever left without a shard.
    """
    text = env_str(name, default, environ)
    mapping: dict[str, int] = {}
    fallback: int | None = None
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, shard_text = item.partition("=")
        key = key.strip().lower()
        if not sep or not key:
            raise ImproperlyConfigured(f"{name}: expected asset=shard pairs, got {item!r}")
        try:
            shard = int(shard_text)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: shard of {key!r} is not an integer") from None
        if shard < 1:
            raise ImproperlyConfigured(f"{name}: shard of {key!r} must be at least 1")
        if key == "*":
            fallback = shard
        else:
            mapping[key] = shard
    if fallback is None:
        raise ImproperlyConfigured(f"{name}: needs a default entry '*=N' for other symbols")
    return mapping, fallback


def env_database(name: str, default: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Parse a database URL: ``sqlite:///path`` or ``mysql://user:pass@host:port/db``."""
    url = env_str(name, default, environ)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = unquote(parts.path)
        # sqlite:///var/x.db is relative, sqlite:////abs/x.db absolute.
        path = path[1:] if path.startswith("/") else path
        if not path:
            raise ImproperlyConfigured(f"{name}: sqlite URL needs a file path, got {url!r}")
        return {
            # Django's, reading back exactly the amounts it keeps as text (spot/sqlite_backend).
            "ENGINE": "spot.sqlite_backend",
            "NAME": path,
            "OPTIONS": {
                # Several processes (API, workers) share the file: WAL lets
                # readers run beside the one writer, and IMMEDIATE takes the
                # write lock at BEGIN instead of failing at the first write.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # A file, not memory: tests start real worker processes on it.
            "TEST": {"NAME": f"{path}.test-{os.getpid()}"},
        }
    if scheme in ("mysql", "mariadb"):
        database = unquote(parts.path.lstrip("/"))
        if not database:
            raise ImproperlyConfigured(f"{name}: mysql URL needs a database name, got {url!r}")
        try:
            port = parts.port
        except ValueError:
            raise ImproperlyConfigured(f"{name}: port is not a number in {url!r}") from None
        options: dict[str, Any] = {
            "charset": "utf8mb4",
            "isolation_level": "read committed",
            "init_command": "SET sql_mode='STRICT_TRANS_TABLES'",
        }
        options.update(dict(parse_qsl(parts.query)))
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": database,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "127.0.0.1",
            "PORT": str(port or 3306),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_bin"},
        }
    raise ImproperlyConfigured(f"{name}: unsupported scheme {parts.scheme!r} (use sqlite:/// or mysql://)")


def env_redis_url(name: str, environ: Mapping[str, str] | None = None) -> str:
    url = env_str(name, "redis://127.0.0.1:6379/0", environ)
    scheme = urlsplit(url).scheme
    if scheme not in ("redis", "rediss", "unix", "redis+cluster"):
        raise ImproperlyConfigured(
            f"{name}: expected a redis://, rediss://, unix:// or redis+cluster:// URL, got {url!r}"
        )
    return url
