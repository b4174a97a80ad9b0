"""ASGI entry point: HTTP through Django, WebSockets (/ws/) through Channels."""

from __future__ import annotations

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

from spot.config_errors import exit_on_config_error
from spot.garbage import settle_garbage_collector

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "spot.settings")

django_asgi_app = exit_on_config_error(get_asgi_application)

# Imported once Django is set up: the consumers use the models.
from exchange.realtime.routing import websocket_urlpatterns  # noqa: E402

# No origin check here: anyone may read the public channels, and a session cookie counts
# only on a same-origin connection (exchange.realtime.auth, docs/adr/0008).
application = ProtocolTypeRouter({"http": django_asgi_app, "websocket": URLRouter(websocket_urlpatterns)})

settle_garbage_collector()  # spot/garbage.py: no full collection walks the start-up state again
