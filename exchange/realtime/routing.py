"""WebSocket URL routes, mounted by spot.asgi."""

from __future__ import annotations

from django.urls import path

from exchange.realtime.consumers import StreamConsumer

websocket_urlpatterns = [path("ws/", StreamConsumer.as_asgi())]
