"""WSGI entry point."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from spot.config_errors import exit_on_config_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spot.settings")

application = exit_on_config_error(get_wsgi_application)
