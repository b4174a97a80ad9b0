"""Reading the database as of one moment while the workers keep committing.

Every worker commits its rows and its stream offset in one transaction, so a
single REPEATABLE READ snapshot sees each worker's state exactly as of one of
its commits: never half a batch. A consistent snapshot takes no locks (InnoDB
reads old row versions from its undo log), so the workers are not slowed
beyond the undo history the snapshot keeps alive while it lasts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet, Sum


@contextmanager
def consistent_snapshot() -> Iterator[None]:
    """Run the block's queries in one read-only snapshot of the whole database."""
    if connection.in_atomic_block:
        # Already inside a transaction (a caller's own): it is the snapshot.
        yield
        return
    if connection.vendor != "mysql":
        # SQLite: a transaction reads one version of the database file.
        with transaction.atomic():
            yield
        return
    connection.ensure_connection()
    with connection.cursor() as cursor:
        # Django opens MySQL connections in READ COMMITTED, where each
        # statement would see newer commits than the one before it.
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ROLLBACK")


def sums_by(
    queryset: QuerySet[Any], keys: tuple[str, ...], fields: tuple[str, ...]
) -> dict[Any, list[Decimal]]:
    """Σ of each field per key (a tuple of the key columns' values, or the value for one key).

    MySQL sums DECIMAL columns exactly; SQLite would sum them as floats, so
    there the rows are summed here, in Decimal.
    """
    totals: dict[Any, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(fields))
    if connection.vendor == "mysql":
        names = {f"total_{index}": Sum(name) for index, name in enumerate(fields)}
        rows = queryset.order_by().values(*keys).annotate(**names).values_list(*keys, *names)
        for row in rows:
            totals[_key(row, len(keys))] = [value or Decimal(0) for value in row[len(keys) :]]
        return dict(totals)
    for row in queryset.order_by().values_list(*keys, *fields).iterator(chunk_size=5000):
        total = totals[_key(row, len(keys))]
        for index, value in enumerate(row[len(keys) :]):
            total[index] += value
    return dict(totals)


def _key(row: tuple[Any, ...], size: int) -> Any:
    return row[0] if size == 1 else tuple(row[:size])
