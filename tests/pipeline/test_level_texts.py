"""Depth level texts, formatted once per price and size."""

from __future__ import annotations

from decimal import Decimal

from exchange.pipeline.workers import LevelTexts


def test_levels_read_as_the_decimals_they_stand_for_and_repeat_from_the_cache() -> None:
    texts = LevelTexts(Decimal("0.01"), Decimal("0.0001"))
    first = texts.levels([(3000012, 15000), (3000000, 1)])
    assert [[Decimal(p), Decimal(q)] for p, q in first] == [
        [Decimal("30000.12"), Decimal("1.5")],
        [Decimal("30000.00"), Decimal("0.0001")],
    ]
    assert texts.levels([(3000012, 15000)]) == first[:1]


def test_the_cache_is_bounded() -> None:
    texts = LevelTexts(Decimal("1"), Decimal("1"))
    texts.levels([(n, n) for n in range(LevelTexts._LIMIT + 2)])
    texts.levels([(1, 1)])
    assert len(texts._prices) <= LevelTexts._LIMIT + 2
    assert texts.levels([(7, 7)]) == [["7", "7"]]
