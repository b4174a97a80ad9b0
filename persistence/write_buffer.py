"""The write buffer: collect a worker's effects, write them in one transaction.

Rows are coalesced by key (an order placed and filled inside one batch is
written once, in its last state), written with bulk upserts and inserts
through the ORM, and committed together with the worker's stream position
and lease epoch. The plan: flush at 100 items or 10 ms.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, models, transaction

from persistence import mysql_rows
from persistence.offsets import CommittedPosition, commit_position, position_update, settle_position

logger = logging.getLogger(__name__)

Row = tuple[Any, ...]


@dataclass(frozen=True)
class FlushResult:
    rows: int
    seconds: float


class TableRows:
    """The rows of one table waiting in a buffer, each a tuple of values in the order of `fields`.

    A stage that writes many rows of a table asks the buffer for its handle
    once (`WriteBuffer.table`) and adds tuples: no dict per row, no shape
    to find out when the batch is rendered. An upserted row replaces the
    waiting row of the same key (an order placed and filled inside one
    batch is written once, in its last state); an inserted row is written
    unless its key is in the database already.
    """

    __slots__ = ("_buffer", "_key_of", "_merges", "fields", "key_fields", "merge", "model", "rows", "upsert")

    def __init__(
        self,
        buffer: WriteBuffer,
        model: type[models.Model],
        fields: tuple[str, ...],
        key_fields: tuple[str, ...],
        upsert: bool,
        merge: tuple[tuple[str, str], ...] = (),
    ) -> None:
        for role, names in (("key", key_fields), ("merged", tuple(name for name, _ in merge))):
            missing = [name for name in names if name not in fields]
            if missing:
                raise ValueError(f"{model.__name__}: {role} fields {missing} are not among the row's fields")
        unknown = [how for _, how in merge if how not in MERGES]
        if unknown:
            raise ValueError(f"{model.__name__}: unknown merges {unknown}; known: {sorted(MERGES)}")
        self._buffer = buffer
        self.model = model
        self.fields = fields
        self.key_fields = key_fields
        self.upsert = upsert or bool(merge)
        self.merge = merge
        # A row's key: the value itself for one key field, a tuple for several.
        self._key_of: Callable[[Row], Any] = itemgetter(*(fields.index(name) for name in key_fields))
        self._merges = tuple((fields.index(name), MERGES[how]) for name, how in merge)
        self.rows: dict[Any, Row] = {}

    def add(self, values: Row) -> None:
        """Add a row: its values in the order of `fields`."""
        key = self._key_of(values)
        rows = self.rows
        buffer = self._buffer
        waiting = rows.get(key)
        if waiting is None or not self.upsert:
            buffer._items += 1
        elif self._merges:
            merged = list(waiting)  # unmerged columns keep the first value, as in the table
            for index, combine in self._merges:
                merged[index] = combine(waiting[index], values[index])
            values = tuple(merged)
        rows[key] = values
        if buffer._dirty_since is None:
            buffer._dirty_since = buffer._clock()


# How a merged column combines the stored value with a new one: in memory within a batch,
# and in SQL with the row already in the table (`_merge_assignment`).
MERGES: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda old, new: old + new,
    "max": max,
    "min": min,
    "first": lambda old, new: old,
    "last": lambda old, new: new,
}


# SQL and the parameter rows of an executemany (None: execute it as it is), or rows to bulk-load.
Statement = tuple[str, list[list[Any]] | None] | mysql_rows.BulkLoad


class Batch:
    """Statements and the stream position they bring the database to, committed together.

    The statements are rendered by the worker's own thread when it hands
    the batch over (see `WriteBuffer.detach`), so the thread that commits
    spends its time waiting on the database with the GIL released. On any
    error nothing is written and the batch is kept, so it can be committed
    again.
    """

    def __init__(
        self, consumer: str, stream: str, statements: list[Statement], position: CommittedPosition, items: int
    ) -> None:
        self.consumer = consumer
        self.stream = stream
        self.statements = statements
        self.position = position
        self.items = items

    def commit(self, epoch: int) -> FlushResult:
        """Write the statements and the position in one transaction; raises Fenced if outvoted.

        A connection its owner keeps out of autocommit (the flusher's) commits
        with COMMIT alone, the next transaction beginning with the next
        statement; otherwise the batch is an atomic block of its own.
        """
        started = time.perf_counter()
        if connection.get_autocommit() or connection.in_atomic_block:
            with transaction.atomic():
                self._write(epoch)
        else:
            try:
                self._write(epoch)
                connection.commit()
            except BaseException:
                try:
                    connection.rollback()
                except DatabaseError:
                    connection.close()  # a broken connection: the server drops the transaction with it
                raise
        return FlushResult(self.items, time.perf_counter() - started)

    def _write(self, epoch: int) -> None:
        if one_round_trip_commits() and all(
            not isinstance(statement, mysql_rows.BulkLoad) and statement[1] is None
            for statement in self.statements
        ):
            self._write_at_once(epoch)
            return
        with connection.cursor() as cursor:
            for statement in self.statements:
                if isinstance(statement, mysql_rows.BulkLoad):
                    _load(cursor, statement)
                    continue
                sql, parameters = statement
                if parameters is None:
                    cursor.execute(sql)
                else:
                    cursor.executemany(sql, parameters)
        commit_position(self.consumer, self.stream, self.position, epoch)

    def _write_at_once(self, epoch: int) -> None:
        """The rows and the fenced position update as one multi-statement: one round trip, not one each.

        The server runs the statements in order and stops at the first that
        fails; its error comes with that statement's result and the caller
        rolls the transaction back as for any failed write. The COMMIT stays
        a round trip of its own, after the update is known to have matched
        the offset row (or the row is created, or Fenced raised).
        """
        sql, parameters = position_update(self.consumer, self.stream, self.position, epoch)
        with connection.cursor() as cursor, connection.wrap_database_errors:
            update = cursor.mogrify(sql, parameters)
            texts = [statement[0] for statement in self.statements if isinstance(statement, tuple)]
            cursor.execute(";\n".join([*texts, update]))
            updated = cursor.rowcount
            while cursor.nextset():
                updated = cursor.rowcount
        settle_position(self.consumer, self.stream, self.position, epoch, updated)


# mysqlclient's CLIENT.MULTI_STATEMENTS and CLIENT.FOUND_ROWS (MySQLdb.constants.CLIENT), here so
# that a process on SQLite needs no MySQL client library to read them.
_MULTI_STATEMENTS = 1 << 16
_FOUND_ROWS = 1 << 1


def enable_one_round_trip_commits() -> bool:
    """Let this process's MySQL connections take several statements at once; for worker processes.

    A batch then costs two round trips (its statements with the offset
    update, then COMMIT) instead of one a statement: on a virtual machine
    each round trip wakes the flusher's thread and the database (ADR
    0018). Only the workers ask for it: they send SQL they rendered
    themselves, every value escaped by the client library, and no other
    process's connections accept stacked statements. FOUND_ROWS stays on:
    the offset update's fence reads matched rows. Returns whether it is on.
    """
    if connection.vendor != "mysql" or not settings.WRITE_BUFFER_ONE_ROUND_TRIP:
        return False
    options = connection.settings_dict.setdefault("OPTIONS", {})
    options["client_flag"] = options.get("client_flag", 0) | _FOUND_ROWS | _MULTI_STATEMENTS
    connection.close()  # this thread's next connection has the flag; other threads' are made later
    return True


def one_round_trip_commits() -> bool:
    if connection.vendor != "mysql":
        return False
    return bool(connection.settings_dict.get("OPTIONS", {}).get("client_flag", 0) & _MULTI_STATEMENTS)


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
        self._tables: dict[
            tuple[type[models.Model], tuple[str, ...], tuple[str, ...], bool, tuple[tuple[str, str], ...]],
            TableRows,
        ] = {}
        self._items = 0
        self._dirty_since: float | None = None

    # ------------------------------------------------------------ collecting

    def table(
        self,
        model: type[models.Model],
        fields: Sequence[str],
        key: Sequence[str] = ("id",),
        upsert: bool = False,
        merge: Sequence[tuple[str, str]] = (),
    ) -> TableRows:
        """The handle for adding rows of `fields` to a model's table (made once, kept across batches).

        Tables are written in the order they were first asked for, so a
        caller that asks for parents first keeps foreign keys satisfied.
        With `merge` ((field, how) pairs, how one of MERGES), a row of a key
        already waiting or stored is combined with it column by column
        (e.g. a candle's volume added, its high kept the greater); the other
        non-key columns keep the first value written.
        """
        spec = (model, tuple(fields), tuple(key), upsert, tuple(merge))
        table = self._tables.get(spec)
        if table is None:
            table = self._tables[spec] = TableRows(self, model, spec[1], spec[2], upsert, spec[4])
        return table

    def upsert(self, model: type[models.Model], row: dict[str, Any], key: Sequence[str] = ("id",)) -> None:
        """Insert or update a row given as a dict; a later upsert of the same key replaces it."""
        self.table(model, tuple(row), key, upsert=True).add(tuple(row.values()))

    def insert(self, model: type[models.Model], row: dict[str, Any], key: Sequence[str] = ("id",)) -> None:
        """Insert an append-only row given as a dict; a replayed insert of an existing key is a no-op."""
        self.table(model, tuple(row), key, upsert=False).add(tuple(row.values()))

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

    def detach(self) -> Batch:
        """Hand over everything collected, with the position it covers, and start afresh."""
        position = self.position
        statements = []
        for table in self._tables.values():
            if table.rows:
                statements.extend(_render(table))
                table.rows = {}
        batch = Batch(
            self.consumer,
            self.stream,
            statements,
            CommittedPosition(
                position.last_entry_id,
                position.lease_epoch,
                dict(position.producer_sequences),
                dict(position.counters),
                dict(position.forwarded),
            ),
            self._items,
        )
        self._items = 0
        self._dirty_since = None
        return batch

    def flush(self, epoch: int) -> FlushResult:
        """Write everything and the position in one transaction; raises Fenced if outvoted."""
        return self.detach().commit(epoch)


def _render(table: TableRows) -> list[Statement]:
    """The statements that write a table's rows (one per chunk), from the model's metadata.

    Measured on MariaDB: Django's bulk_create spends more time compiling
    the statement (about 80 us a row) than the database spends writing it;
    a multi-row statement built here keeps the same rows at about a quarter.
    On MySQL an append-only table's rows go as LOAD DATA lines when bulk
    loading is on (see persistence/mysql_rows.py).
    """
    statement, prepare, columns = _statement(table)
    rows = list(table.rows.values())
    if connection.vendor != "mysql":
        return [(statement, [prepare(row) for row in rows])]

    def as_inserts() -> list[str]:
        return mysql_rows.sql_values_statements(
            statement, mysql_rows.sql_row(table.model, table.fields), rows
        )

    if table.upsert or not bulk_load_enabled() or len(rows) < settings.WRITE_BUFFER_BULK_LOAD_MIN_ROWS:
        return [(sql, None) for sql in as_inserts()]
    return [
        mysql_rows.BulkLoad(
            table.model._meta.db_table,
            columns,
            mysql_rows.tsv_chunks(mysql_rows.tsv_row(table.model, table.fields), rows),
            as_inserts,
        )
    ]


# MySQL's and MariaDB's refusals of LOAD DATA LOCAL: not allowed (MySQL 5, MariaDB), local files
# disabled (MySQL 8), the client refused the file (MySQL's client library).
_LOCAL_INFILE_REFUSED = {1148, 3948, 4166, 2068}
_bulk_load_refused = False


def bulk_load_enabled() -> bool:
    """Whether append-only rows go as LOAD DATA: the setting, unless the server refused it once."""
    return bool(settings.WRITE_BUFFER_BULK_LOAD) and not _bulk_load_refused


def _load(cursor: Any, load: mysql_rows.BulkLoad) -> None:
    """Send the rows with LOAD DATA; if the server refuses local files, as INSERTs from now on."""
    global _bulk_load_refused
    if not _bulk_load_refused:
        try:
            for chunk in load.chunks:
                with mysql_rows.spooled(chunk) as path:
                    cursor.execute(load.statement(path))
            return
        except DatabaseError as exc:
            code = exc.args[0] if exc.args else None
            if code not in _LOCAL_INFILE_REFUSED:
                raise
            # A refused statement changes nothing and leaves the transaction as it was.
            _bulk_load_refused = True
            logger.warning("the database refuses LOAD DATA LOCAL (%s); writing rows as INSERTs", exc)
    for sql in load.fallback():
        cursor.execute(sql)


_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def _statement(table: TableRows) -> tuple[str, Callable[[Row], list[Any]], tuple[str, ...]]:
    """The table's INSERT, the function that prepares a row's parameters, and its column names."""
    key = (connection.vendor, table.model, table.fields, table.key_fields, table.upsert, table.merge)
    cached = _STATEMENTS.get(key)
    if cached is None:
        cached = _STATEMENTS[key] = _build_statement(table)
    return cached


def _build_statement(table: TableRows) -> tuple[str, Callable[[Row], list[Any]], tuple[str, ...]]:
    shape = table.fields
    meta = table.model._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in shape]
    columns = [str(field.column) for field in fields]  # type: ignore[union-attr]
    key_columns = {str(meta.get_field(name).column) for name in table.key_fields}  # type: ignore[union-attr]
    placeholders = ", ".join(["%s"] * len(columns))
    statement = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(map(quote, columns))}) VALUES ({placeholders})"  # noqa: S608
    )
    updates = [column for column in columns if column not in key_columns]
    mysql = connection.vendor == "mysql"
    if table.merge:
        merged = {str(meta.get_field(name).column): how for name, how in table.merge}  # type: ignore[union-attr]
        # Unmerged columns keep the value first written; merged ones combine with the stored row.
        updates = [column for column in updates if column in merged and merged[column] != "first"]
        assignments = ", ".join(_merge_assignment(quote(c), merged[c], mysql) for c in updates)
    elif mysql:
        assignments = ", ".join(f"{quote(c)} = VALUES({quote(c)})" for c in updates)
    else:
        assignments = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in updates)
    if mysql:
        if table.upsert:
            statement += f" ON DUPLICATE KEY UPDATE {assignments}"
        else:
            statement = statement.replace("INSERT INTO", "INSERT IGNORE INTO", 1)
    else:
        target = ", ".join(quote(column) for column in columns if column in key_columns)
        if table.upsert:
            statement += f" ON CONFLICT ({target}) DO UPDATE SET {assignments}"
        else:
            statement += f" ON CONFLICT ({target}) DO NOTHING"
    converters = [_converter(field) for field in fields]

    def prepare(row: Row) -> list[Any]:
        return [convert(value) for convert, value in zip(converters, row, strict=True)]

    return statement, prepare, tuple(columns)


def _merge_assignment(column: str, how: str, mysql: bool) -> str:
    new = f"VALUES({column})" if mysql else f"excluded.{column}"
    if how == "add":
        return f"{column} = {column} + {new}"
    if how in ("max", "min"):
        function = {"max": "GREATEST", "min": "LEAST"}[how] if mysql else how.upper()
        return f"{column} = {function}({column}, {new})"
    return f"{column} = {new}"  # last


def _converter(field: Any) -> Callable[[Any], Any]:
    """What the driver needs for one column, as Django's backends would pass it.

    Both drivers take Decimal as is (Django registers it with sqlite3); an
    aware datetime becomes naive UTC, as Django stores it with USE_TZ.
    """
    if isinstance(field, models.DateTimeField):
        return _naive_utc
    if isinstance(field, models.JSONField):
        return json.dumps
    return _same


def _same(value: Any) -> Any:
    return value


def _naive_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)
