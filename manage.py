#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spot.settings")
    from django.core.management import execute_from_command_line

    from spot.config_errors import exit_on_config_error

    exit_on_config_error(lambda: execute_from_command_line(sys.argv))


if __name__ == "__main__":
    main()
