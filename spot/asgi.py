"""ASGI entry point: HTTP through Django, WebSockets through Channels."""

from __future__ import annotations

import os

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

from spot.config_errors import exit_on_config_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spot.settings")

django_asgi_app = exit_on_config_error(get_asgi_application)

application = ProtocolTypeRouter({"http": django_asgi_app})
