"""The write buffer: collect a worker's effects, write them in one transaction.

Rows are coalesced by key (an order placed and filled inside one batch is
written once, in its last state), written with bulk upserts and inserts
through the ORM, and committed together with the worker's stream position
and lease epoch. The plan: flush at 100 items or 10 ms.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction

from persistence.offsets import CommittedPosition, commit_position

Row = dict[str, Any]


@dataclass(frozen=True)
class FlushResult:
    rows: int
    seconds: float


class _Table:
    __slots__ = ("key_fields", "model", "rows", "upsert")

    def __init__(self, model: type[models.Model], key_fields: tuple[str, ...], upsert: bool) -> None:
        self.model = model
        self.key_fields = key_fields
        self.upsert = upsert
        self.rows: dict[tuple[Any, ...], Row] = {}


class WriteBuffer:
    def __init__(
        self,
        consumer: str,
        stream: str,
        position: CommittedPosition,
        max_items: int = 100,
        max_delay_s: float = 0.010,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.consumer = consumer
        self.stream = stream
        self.position = position
        self.max_items = max_items
        self.max_delay_s = max_delay_s
        self._clock = clock
        self._tables: dict[type[models.Model], _Table] = {}
        self._items = 0
        self._dirty_since: float | None = None

    # ------------------------------------------------------------ collecting

    def upsert(self, model: type[models.Model], row: Row, key: Sequence[str] = ("id",)) -> None:
        """Insert or update a row; a later upsert of the same key replaces the earlier one."""
        table = self._table(model, tuple(key), upsert=True)
        row_key = tuple(row[name] for name in table.key_fields)
        pending = table.rows.get(row_key)
        if pending is None:
            table.rows[row_key] = row
            self._touched()
        else:
            pending.update(row)

    def insert(self, model: type[models.Model], row: Row, key: Sequence[str] = ("id",)) -> None:
        """Insert an append-only row; a replayed insert of an existing key is a no-op."""
        table = self._table(model, tuple(key), upsert=False)
        table.rows[tuple(row[name] for name in table.key_fields)] = row
        self._touched()

    def advance(self, entry_id: str) -> None:
        """Mark the input up to entry_id as covered by what is collected."""
        self.position.last_entry_id = entry_id
        if self._dirty_since is None:
            self._dirty_since = self._clock()

    # -------------------------------------------------------------- flushing

    @property
    def pending_items(self) -> int:
        return self._items

    @property
    def has_pending(self) -> bool:
        return self._dirty_since is not None

    def due(self) -> bool:
        if self._dirty_since is None:
            return False
        return self._items >= self.max_items or self._clock() - self._dirty_since >= self.max_delay_s

    def flush(self, epoch: int) -> FlushResult:
        """Write everything and the position in one transaction; raises Fenced if outvoted.

        On any error nothing is written and the buffer keeps its rows, so the
        caller can retry the same flush.
        """
        started = time.perf_counter()
        rows = self._items
        with transaction.atomic():
            for table in self._tables.values():
                if table.rows:
                    self._write(table)
            commit_position(self.consumer, self.stream, self.position, epoch)
        for table in self._tables.values():
            table.rows.clear()
        self._items = 0
        self._dirty_since = None
        return FlushResult(rows, time.perf_counter() - started)

    # --------------------------------------------------------------- helpers

    def _table(self, model: type[models.Model], key: tuple[str, ...], upsert: bool) -> _Table:
        table = self._tables.get(model)
        if table is None:
            # Tables are written in the order first seen, so a caller that
            # registers parents first keeps foreign keys satisfied.
            table = self._tables[model] = _Table(model, key, upsert)
        return table

    def _touched(self) -> None:
        self._items += 1
        if self._dirty_since is None:
            self._dirty_since = self._clock()

    @staticmethod
    def _write(table: _Table) -> None:
        model = table.model
        by_shape: dict[tuple[str, ...], list[models.Model]] = {}
        for row in table.rows.values():
            by_shape.setdefault(tuple(row), []).append(model(**row))
        for shape, objects in by_shape.items():
            if table.upsert:
                update_fields = [name for name in shape if name not in table.key_fields]
                unique_fields = (
                    list(table.key_fields) if connection.features.supports_update_conflicts_with_target else None
                )
                model._default_manager.bulk_create(
                    objects,
                    update_conflicts=True,
                    update_fields=update_fields,
                    unique_fields=unique_fields,
                )
            else:
                model._default_manager.bulk_create(objects, ignore_conflicts=True)
