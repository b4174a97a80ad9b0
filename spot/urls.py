"""URL configuration."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from exchange.api.urls import api
from spot.health import healthz

admin.site.site_header = "Spot exchange operations"
admin.site.site_title = "Spot operations"
admin.site.index_title = "Operations"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("healthz", healthz, name="healthz"),
    path("", include("django_prometheus.urls")),
]
