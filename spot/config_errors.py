"""Turn a configuration error at start-up into one clear line and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

EXIT_CONFIG_ERROR = 78  # EX_CONFIG from sysexits.h


def exit_on_config_error(start: Callable[[], T]) -> T:
    try:
        return start()
    except ImproperlyConfigured as exc:
        print(f"spot: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG_ERROR) from None
