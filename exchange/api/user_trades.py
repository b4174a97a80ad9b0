"""A user's trades, as maker or as taker, read so that the cost is the page, not the history.

`WHERE maker_user_id = u OR taker_user_id = u ORDER BY id DESC LIMIT n` makes
MariaDB merge both indexes over every trade the user ever made, sort them
all and keep n (EXPLAIN: index_merge sort_union, filesort): a market maker's
fills page would read millions of rows. Each side alone is read from its own
index (`trade_maker_user`, `trade_taker_user`: user, id descending) and stops
after n rows; the two short lists are merged here. The trades are read
without joins (a join to the market let the optimizer start from the market
and read all of its trades); their markets and fee assets are fetched after,
for the page only.
"""

from __future__ import annotations

from django.db.models import QuerySet, prefetch_related_objects

from exchange.models import Trade


def trades_of(
    user_id: int, trades: QuerySet[Trade], limit: int, order_by: tuple[str, ...] = ("-id",)
) -> list[Trade]:
    """The first `limit` of `trades` the user made as maker or taker, in `order_by`'s order.

    `trades` filters by the trade's own columns only, and `order_by` names
    fields of the trade, all ascending or all descending. A trade between two
    of the user's own orders is on both sides; it is listed once.
    """
    sides = (trades.filter(maker_user_id=user_id), trades.filter(taker_user_id=user_id))
    found = {trade.id: trade for side in sides for trade in side.order_by(*order_by)[:limit]}
    fields = [field.lstrip("-") for field in order_by]
    page = sorted(
        found.values(),
        key=lambda trade: tuple(getattr(trade, field) for field in fields),
        reverse=order_by[0].startswith("-"),
    )[:limit]
    prefetch_related_objects(page, "market", "maker_fee_asset", "taker_fee_asset")
    return page
