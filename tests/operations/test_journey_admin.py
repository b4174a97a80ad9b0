"""An order's journey on its admin page, driven with the admin's own client against the real pipeline."""

from __future__ import annotations

import re

from django.conf import settings
from django.urls import reverse

from exchange.models import OrderJourney
from exchange.realtime.push_times import pushed_key

STAGES = ("Accepted by the API", "Accounts in", "Accounts out", "Matching in", "Matching out", "Committed")


def order_page(client, order_id: int) -> str:
    page: str = client.get(reverse("admin:exchange_order_change", args=[order_id])).content.decode()
    return page


def test_an_orders_page_shows_each_stage_with_its_time_and_delta(
    pipeline, alice, operator, client, redis_conn
):
    pipeline.deposit(alice, "USDT", "1000")
    pipeline.run()
    order_id = pipeline.place(alice, "BTC/USDT", "BUY", price="90.00", quantity="1")
    pipeline.run()
    journey = OrderJourney.objects.get(order_id=order_id)
    redis_conn.zadd(
        pushed_key(settings.REDIS_KEY_PREFIX, alice.pk), {str(order_id): journey.matching_out_us + 1500}
    )
    client.force_login(operator)

    page = order_page(client, order_id)

    for stage in (*STAGES, "Pushed on the WebSocket"):
        assert f"<td>{stage}</td>" in page
    assert len(re.findall(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}</td>", page)) == 7
    # Each stage after acceptance, since the one before and since accepted; the push since accepted.
    assert page.count(" ms</td>") == 2 * 5 + 1
    assert "+1.500 ms after matching out" in page  # the push, measured from matching out


def test_an_order_refused_by_accounts_says_why_it_has_no_journey(pipeline, alice, operator, client):
    order_id = pipeline.place(alice, "BTC/USDT", "BUY", price="90.00", quantity="1")  # no funds
    pipeline.run()
    client.force_login(operator)

    page = order_page(client, order_id)

    assert "No journey recorded in the pipeline" in page
    assert "<td>Accepted by the API</td>" in page and "<td>Matching in</td>" not in page
    assert "no private WebSocket subscription" in page
