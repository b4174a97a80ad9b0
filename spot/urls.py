"""URL configuration."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path, re_path

from exchange.admin.console import console_urls
from exchange.api import urls as api
from exchange.api.route_errors import api_not_found
from exchange.web.login_throttle import throttled_login
from exchange.web.views import TraderLoginView, market_page
from spot.health import healthz

admin.site.site_header = "Spot exchange operations"
admin.site.site_title = "Spot operations"
admin.site.index_title = "Operations"
admin.site.index_template = "admin/exchange/index.html"  # the admin's own, with the console's links

urlpatterns = [
    path("admin/console/", include(console_urls())),
    # Before the admin's own URLs: the same login view, its attempts limited.
    path("admin/login/", throttled_login(admin.site.login)),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    # Binance's REST API, for the clients traders already use (exchange.api.binance).
    path("api/v3/", include("exchange.api.binance.urls")),
    # Whatever else is under /api/ answers as the API does: JSON, not Django's HTML page.
    re_path(r"^api/", api_not_found),
    path("healthz", healthz, name="healthz"),
    path("login/", throttled_login(TraderLoginView.as_view()), name="login"),
    path("logout/", LogoutView.as_view(next_page="market"), name="logout"),
    path("", market_page, name="market"),
    path("", include("django_prometheus.urls")),
]
