"""URL configuration."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path

from exchange.admin.console import console_urls
from exchange.api import urls as api
from exchange.api.route_errors import api_not_found
from spot.health import healthz

admin.site.site_header = "Spot exchange operations"
admin.site.site_title = "Spot operations"
admin.site.index_title = "Operations"
admin.site.index_template = "admin/exchange/index.html"  # the admin's own, with the console's links

urlpatterns = [
    path("admin/console/", include(console_urls())),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    # Whatever else is under /api/ answers as the API does: JSON, not Django's HTML page.
    re_path(r"^api/", api_not_found),
    path("healthz", healthz, name="healthz"),
    path("", include("django_prometheus.urls")),
]
