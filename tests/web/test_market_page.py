"""The market page's HTML: markets, the trader's login, the vendored chart (no CDN)."""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from exchange.models import Market


def config_of(html: str) -> dict[str, Any]:
    found = re.search(r'<script id="market-config" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def test_the_page_at_the_root_lists_every_market_with_its_grid(client: Client, btc_usdt: Market) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    config = config_of(html)
    assert config["user"] is None
    assert config["markets"] == [
        {
            "symbol": "BTC/USDT",
            "base": "BTC",
            "quote": "USDT",
            "status": "trading",
            "tick_size": "0.01",
            "lot_size": "0.00001",
            "min_notional": "5",
        }
    ]
    assert '<option value="BTC/USDT">' in html
    assert 'href="/login/?next=/"' in html and 'id="order-form"' not in html


def test_a_logged_in_trader_gets_the_order_form_and_a_csrf_token(
    client: Client, alice: User, btc_usdt: Market
) -> None:
    client.force_login(alice)
    html = client.get("/").content.decode()
    assert config_of(html)["user"] == {"id": alice.pk, "username": "alice"}
    assert 'id="order-form"' in html and "csrfmiddlewaretoken" in html
    assert 'aria-live="polite"' in html


def test_scripts_and_styles_come_from_the_exchange_itself(client: Client, btc_usdt: Market) -> None:
    html = client.get("/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert sources and all(source.startswith("/static/") for source in sources)
    assert "/static/vendor/lightweight-charts/lightweight-charts.standalone.production.js" in sources


def test_a_trader_logs_in_with_a_password_and_comes_back_to_the_page(client: Client, alice: User) -> None:
    response = client.post("/login/", {"username": "alice", "password": "alice-pass-123", "next": "/"})
    assert (response.status_code, response.headers["Location"]) == (302, "/")
    assert client.get("/").context["user"] == alice
    assert client.post("/logout/").status_code == 302
    assert not client.get("/").context["user"].is_authenticated
