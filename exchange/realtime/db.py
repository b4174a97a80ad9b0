"""channels' database_sync_to_async with types (channels ships none)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from channels.db import database_sync_to_async as _untyped

P = ParamSpec("P")
R = TypeVar("R")


def database_sync_to_async(function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """Run `function` in the thread that owns the database connection, closing stale connections."""
    wrapped: Callable[P, Awaitable[R]] = _untyped(function)
    return wrapped
