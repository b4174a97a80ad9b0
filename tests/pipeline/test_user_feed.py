"""What a batch sends each trader: every event in order, and only the last balance per asset."""

from __future__ import annotations

import json
from typing import Any

from exchange.pipeline.outbox import user_feed


def test_each_channel_keeps_its_events_in_order_and_only_its_last_balance_per_asset() -> None:
    def balance(asset: str, available: str) -> dict[str, Any]:
        return {"type": "balance", "asset": asset, "available": available}

    publications: list[tuple[str, dict[str, Any]]] = [
        ("u:1", balance("USDT", "10")),
        ("u:1", {"type": "order", "order_id": 7, "status": "NEW"}),
        ("u:2", balance("USDT", "5")),
        ("u:1", balance("BTC", "1")),
        ("u:1", {"type": "fill", "order_id": 7}),
        ("u:1", balance("USDT", "9")),
        ("u:2", {"type": "order", "order_id": 8, "status": "FILLED"}),
    ]
    feed = {channel: [json.loads(t) for t in texts] for channel, texts in user_feed(publications).items()}
    assert feed == {
        "u:1": [
            {"type": "order", "order_id": 7, "status": "NEW"},
            balance("BTC", "1"),
            {"type": "fill", "order_id": 7},
            balance("USDT", "9"),
        ],
        "u:2": [balance("USDT", "5"), {"type": "order", "order_id": 8, "status": "FILLED"}],
    }
