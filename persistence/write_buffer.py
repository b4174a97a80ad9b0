"""The write buffer: collect a worker's effects, write them in one transaction.

Rows are coalesced by key (an order placed and filled inside one batch is
written once, in its last state), written with bulk upserts and inserts
through the ORM, and committed together with the worker's stream position
and lease epoch. The plan: flush at 100 items or 10 ms.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.db import DatabaseError, connection, models, transaction

from persistence.offsets import CommittedPosition, commit_position

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

    __slots__ = ("_buffer", "_key_of", "fields", "key_fields", "model", "rows", "upsert")

    def __init__(
        self,
        buffer: WriteBuffer,
        model: type[models.Model],
        fields: tuple[str, ...],
        key_fields: tuple[str, ...],
        upsert: bool,
    ) -> None:
        missing = [name for name in key_fields if name not in fields]
        if missing:
            raise ValueError(f"{model.__name__}: key fields {missing} are not among the row's fields")
        self._buffer = buffer
        self.model = model
        self.fields = fields
        self.key_fields = key_fields
        self.upsert = upsert
        # A row's key: the value itself for one key field, a tuple for several.
        self._key_of: Callable[[Row], Any] = itemgetter(*(fields.index(name) for name in key_fields))
        self.rows: dict[Any, Row] = {}

    def add(self, values: Row) -> None:
        """Add a row: its values in the order of `fields`."""
        key = self._key_of(values)
        rows = self.rows
        buffer = self._buffer
        if not self.upsert or key not in rows:
            buffer._items += 1
        rows[key] = values
        if buffer._dirty_since is None:
            buffer._dirty_since = buffer._clock()


Statement = tuple[str, list[list[Any]] | None]  # SQL, and the parameter rows of an executemany


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
        with connection.cursor() as cursor:
            for sql, parameters in self.statements:
                if parameters is None:
                    cursor.execute(sql)
                else:
                    cursor.executemany(sql, parameters)
        commit_position(self.consumer, self.stream, self.position, epoch)


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
        self._tables: dict[tuple[type[models.Model], tuple[str, ...], tuple[str, ...], bool], TableRows] = {}
        self._items = 0
        self._dirty_since: float | None = None

    # ------------------------------------------------------------ collecting

    def table(
        self,
        model: type[models.Model],
        fields: Sequence[str],
        key: Sequence[str] = ("id",),
        upsert: bool = False,
    ) -> TableRows:
        """The handle for adding rows of `fields` to a model's table (made once, kept across batches).

        Tables are written in the order they were first asked for, so a
        caller that asks for parents first keeps foreign keys satisfied.
        """
        spec = (model, tuple(fields), tuple(key), upsert)
        table = self._tables.get(spec)
        if table is None:
            table = self._tables[spec] = TableRows(self, model, spec[1], spec[2], upsert)
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
    """
    statement, prepare = _statement(table)
    rows = list(table.rows.values())
    if connection.vendor == "mysql":
        return _mysql_statements(statement, _row_renderer(table.model, table.fields), rows)
    return [(statement, [prepare(row) for row in rows])]


_STATEMENTS: dict[tuple[str, type[models.Model], tuple[str, ...], tuple[str, ...], bool], Any] = {}


def _statement(table: TableRows) -> tuple[str, Callable[[Row], list[Any]]]:
    key = (connection.vendor, table.model, table.fields, table.key_fields, table.upsert)
    cached = _STATEMENTS.get(key)
    if cached is None:
        cached = _STATEMENTS[key] = _build_statement(table)
    return cached


def _build_statement(table: TableRows) -> tuple[str, Callable[[Row], list[Any]]]:
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
    if connection.vendor == "mysql":
        if table.upsert:
            assignments = ", ".join(f"{quote(c)} = VALUES({quote(c)})" for c in updates)
            statement += f" ON DUPLICATE KEY UPDATE {assignments}"
        else:
            statement = statement.replace("INSERT INTO", "INSERT IGNORE INTO", 1)
    else:
        target = ", ".join(quote(column) for column in columns if column in key_columns)
        if table.upsert:
            assignments = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in updates)
            statement += f" ON CONFLICT ({target}) DO UPDATE SET {assignments}"
        else:
            statement += f" ON CONFLICT ({target}) DO NOTHING"
    converters = [_converter(field) for field in fields]

    def prepare(row: Row) -> list[Any]:
        return [convert(value) for convert, value in zip(converters, row, strict=True)]

    return statement, prepare


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


_MYSQL_CHUNK = 1000


def _mysql_statements(statement: str, render: Callable[[Row], str], rows: list[Row]) -> list[Statement]:
    """One multi-row statement per chunk, its literals rendered here.

    mysqlclient's executemany escapes every value through a generic path
    that cost more than the database's own work (profiled). Numbers, dates
    and NULLs need no escaping; strings are written as hexadecimal literals
    of their UTF-8 bytes, which no content can break out of and which need
    no connection to render.
    """
    head, _, tail = statement.partition(" VALUES (")
    tail = tail.partition(")")[2]  # what follows the placeholders: ON DUPLICATE KEY UPDATE ...
    rendered: list[Statement] = []
    for start in range(0, len(rows), _MYSQL_CHUNK):
        values = ",".join([render(row) for row in rows[start : start + _MYSQL_CHUNK]])
        # Only a non-finite Decimal reads so (hex digits are lower case).
        if "NaN" in values or "Inf" in values:
            raise ValueError(f"cannot store a non-finite amount: {values[:200]}")
        rendered.append((f"{head} VALUES {values}{tail}", None))
    return rendered


_RENDERERS: dict[tuple[type[models.Model], tuple[str, ...]], Callable[[Row], str]] = {}


def _row_renderer(model: type[models.Model], shape: tuple[str, ...]) -> Callable[[Row], str]:
    renderer = _RENDERERS.get((model, shape))
    if renderer is None:
        renderer = _RENDERERS[(model, shape)] = _compile_row_renderer(model, shape)
    return renderer


def _compile_row_renderer(model: type[models.Model], shape: tuple[str, ...]) -> Callable[[Row], str]:
    """A function that renders a row (its values in the order of `shape`) as `(literal,...)`.

    Each column's literal is written inline for the type its field stores
    (an int as is, a Decimal as its text, a str as a hex literal); any
    other value (an unexpected type) goes through `_LITERALS`. A field with
    choices looks its literals up, made once; a nullable one checks for
    None first. Measured: 1.5 us per ledger row instead of 3.0 with a call
    per value.
    """
    expressions = []
    namespace: dict[str, Any] = {
        "L": _LITERALS,
        "Decimal": Decimal,
        "EXPONENT": "E",
        "HEX": "X'",
        "END": "'",
        "DATETIMES": _DATETIME_LITERALS,
    }
    for n, name in enumerate(shape):
        field = model._meta.get_field(name)
        internal = field.get_internal_type()
        generic = f"L[type(v{n})](v{n})"
        if internal in _INT_TYPES:
            expression = f"v{n} if type(v{n}) is int else {generic}"
        elif internal == "DecimalField":
            # str() is twice as fast as format(.., "f") but may answer in exponent form (0E-18).
            text = f"(t{n} := str(v{n}))"
            expression = f"t{n} if type(v{n}) is Decimal and EXPONENT not in {text} else {generic}"
        elif internal in ("CharField", "TextField"):
            expression = f"HEX + v{n}.encode().hex() + END if type(v{n}) is str else {generic}"
            choices = [str(value) for value, _ in getattr(field, "choices", None) or ()]
            if choices:
                namespace[f"C{n}"] = {value: _string_literal(value) for value in choices}
                expression = f"C{n}.get(v{n}) or ({expression})"
        elif internal == "DateTimeField":  # the rows of one entry share its time: mostly a lookup
            expression = f"DATETIMES.get(v{n}) or {generic}"
        else:
            expression = generic
        if getattr(field, "null", False):
            expression = f"'NULL' if v{n} is None else {expression}"
        expressions.append(f"{{{expression}}}")
    names = ", ".join(f"v{n}" for n in range(len(shape)))
    source = f'def render(row):\n    {names}, = row\n    return f"({",".join(expressions)})"\n'
    exec(compile(source, f"<row renderer of {model.__name__}>", "exec"), namespace)  # noqa: S102  (our own source)
    renderer: Callable[[Row], str] = namespace["render"]
    return renderer


_INT_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "SmallAutoField",
        "IntegerField",
        "BigIntegerField",
        "SmallIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "ForeignKey",
    }
)


def _decimal_literal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot store {value}")
    return format(value, "f")


_DATETIME_LITERALS: dict[datetime, str] = {}


def _datetime_literal(value: datetime) -> str:
    """Rendered once per distinct time: a batch's rows mostly share the time of their input entry."""
    text = _DATETIME_LITERALS.get(value)
    if text is None:
        if len(_DATETIME_LITERALS) >= 4096:
            _DATETIME_LITERALS.clear()
        naive = _naive_utc(value)
        assert naive is not None
        text = _DATETIME_LITERALS[value] = f"'{naive.isoformat(' ')}'"
    return text


def _string_literal(value: str) -> str:
    return f"X'{value.encode().hex()}'"


_LITERALS: dict[type, Callable[[Any], str]] = {
    type(None): lambda value: "NULL",
    bool: lambda value: "1" if value else "0",
    int: str,
    Decimal: _decimal_literal,
    datetime: _datetime_literal,
    str: _string_literal,
}
