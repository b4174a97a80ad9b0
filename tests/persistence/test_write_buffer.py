"""The write buffer against the real database: coalescing, replayed inserts, and text of any content."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, connection

from exchange.models import Asset
from persistence.models import StreamOffset
from persistence.mysql_rows import BulkLoad
from persistence.offsets import CommittedPosition
from persistence.write_buffer import WriteBuffer

NASTY = ["it's", 'say "hi"', "back\\slash", "é€ 🚀", "'); DROP TABLE exchange_asset; --", ""]


def asset_row(pk: int, name: str) -> dict[str, object]:
    return {
        "id": pk,
        "code": f"T{pk}",
        "name": name,
        "display_precision": 8,
        "created_at": datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC),
    }


@pytest.mark.django_db(transaction=True)
def test_text_of_any_content_is_stored_as_given_and_the_position_with_it() -> None:
    buffer = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
    for pk, name in enumerate(NASTY, start=900):
        buffer.upsert(Asset, asset_row(pk, name))
    buffer.advance("1764000000000-7")
    buffer.flush(epoch=1)
    stored = dict(Asset.objects.filter(pk__gte=900).values_list("pk", "name"))
    assert stored == dict(enumerate(NASTY, start=900))
    assert Asset.objects.get(pk=900).created_at == datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
    assert StreamOffset.objects.get(consumer="test-consumer").last_entry_id == "1764000000000-7"


@pytest.mark.django_db(transaction=True)
def test_repeated_upserts_of_a_row_write_its_last_state_and_a_replayed_insert_changes_nothing() -> None:
    buffer = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
    buffer.upsert(Asset, asset_row(950, "first"))
    buffer.upsert(Asset, asset_row(950, "second"))
    assert buffer.pending_items == 1
    buffer.advance("1-1")
    buffer.flush(epoch=1)
    appender = WriteBuffer("test-consumer", "test-stream", CommittedPosition())  # a table of inserts
    appender.insert(Asset, asset_row(950, "a replay must not overwrite"))
    appender.advance("1-2")
    appender.flush(epoch=1)
    assert Asset.objects.get(pk=950).name == "second"


@pytest.mark.django_db(transaction=True)
def test_out_of_autocommit_a_batch_commits_on_its_own_and_a_failed_one_leaves_nothing(monkeypatch) -> None:
    """The flusher's connection stays out of autocommit: COMMIT ends a batch, ROLLBACK a failed one."""
    from django.db import OperationalError, connection

    import persistence.write_buffer as write_buffer

    connection.set_autocommit(False)
    try:
        failing = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
        failing.upsert(Asset, asset_row(960, "lost with its batch"))
        failing.advance("1-1")

        def connection_lost(*args: object) -> None:
            raise OperationalError("2013, Lost connection to server during query")

        monkeypatch.setattr(write_buffer, "commit_position", connection_lost)
        with pytest.raises(OperationalError):
            failing.flush(epoch=1)
        monkeypatch.undo()
        assert not Asset.objects.filter(pk=960).exists()

        buffer = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
        buffer.upsert(Asset, asset_row(961, "committed"))
        buffer.advance("1-2")
        buffer.flush(epoch=1)
        assert not connection.get_autocommit()
    finally:
        connection.set_autocommit(True)
    assert Asset.objects.get(pk=961).name == "committed"
    assert not Asset.objects.filter(pk=960).exists()
    assert StreamOffset.objects.get(consumer="test-consumer").last_entry_id == "1-2"


def test_a_compiled_row_renderer_writes_each_value_as_the_generic_literals_do() -> None:
    from decimal import Decimal

    from exchange.models import LedgerEntry
    from persistence.mysql_rows import LITERALS, compile_sql_row

    shape = ("id", "user_id", "kind", "available_delta", "locked_delta", "fee", "trade_id", "created_at")
    render = compile_sql_row(LedgerEntry, shape)
    amounts = ["0E-18", "1E+2", "-1.5E-7", "12345.678900000000000000", "-0.51", "0", "1E-18"]
    when = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
    for n, text in enumerate(amounts):
        row = {
            "id": n,
            "user_id": True if n == 1 else 7,  # an unexpected type still goes through the generic literal
            "kind": NASTY[n % len(NASTY)] if n % 3 else "TRADE",  # a choice is looked up
            "available_delta": Decimal(text),
            "locked_delta": -Decimal(text),
            "fee": Decimal(0),
            "trade_id": None if n % 2 else 10**15 + n,
            "created_at": when if n % 2 else datetime(2026, 1, n + 1, tzinfo=UTC),
        }
        generic = "(" + ",".join(LITERALS[type(value)](value) for value in row.values()) + ")"
        rendered = render(tuple(row.values()))
        assert rendered == generic
        assert "E" not in rendered  # never an amount in exponent form (hex digits are lower case)


def test_a_non_finite_amount_is_refused_before_it_reaches_the_database() -> None:
    from decimal import Decimal

    from exchange.models import LedgerEntry
    from persistence.mysql_rows import sql_row, sql_values_statements, tsv_row

    shape = ("id", "available_delta")
    statement = "INSERT INTO t (id, available_delta) VALUES (%s, %s)"
    for bad in ("NaN", "Infinity", "-Infinity", "sNaN"):
        with pytest.raises(ValueError, match="non-finite"):
            sql_values_statements(statement, sql_row(LedgerEntry, shape), [(1, Decimal(bad))])
        with pytest.raises(ValueError, match="non-finite"):
            tsv_row(LedgerEntry, shape)((1, Decimal(bad)))


@pytest.mark.django_db(transaction=True)
def test_a_table_handle_keeps_adding_rows_across_batches() -> None:
    buffer = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
    assets = buffer.table(Asset, ("id", "code", "name", "display_precision", "created_at"), upsert=True)
    when = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assets.add((970, "T970", "first batch", 8, when))
    buffer.advance("1-1")
    buffer.flush(epoch=1)
    assets.add((971, "T971", "second batch", 8, when))
    assets.add((970, "T970", "renamed in the second batch", 8, when))
    assert buffer.pending_items == 2
    buffer.advance("1-2")
    buffer.flush(epoch=1)
    stored = dict(Asset.objects.filter(pk__in=(970, 971)).values_list("pk", "name"))
    assert stored == {970: "renamed in the second batch", 971: "second batch"}


def test_a_table_handle_needs_its_key_among_its_fields() -> None:
    buffer = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
    with pytest.raises(ValueError, match="key fields"):
        buffer.table(Asset, ("code", "name"), key=("id",))


MYSQL_ONLY = pytest.mark.skipif(
    connection.vendor != "mysql", reason="LOAD DATA is the MySQL/MariaDB path for append-only rows"
)
AWKWARD = [*NASTY, "tab\there", "line\nbreak", "\\N", "\r\n", "ends with a backslash\\", "\\t not a tab"]


@MYSQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_appended_rows_of_any_text_are_loaded_as_given_and_a_replayed_load_changes_nothing(settings) -> None:
    settings.WRITE_BUFFER_BULK_LOAD_MIN_ROWS = 1
    buffer = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
    for pk, name in enumerate(AWKWARD, start=980):
        buffer.insert(Asset, asset_row(pk, name))
    buffer.advance("1-1")
    [load] = buffer.detach().statements
    assert isinstance(load, BulkLoad)
    load_batch = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
    for pk, name in enumerate(AWKWARD, start=980):
        load_batch.insert(Asset, asset_row(pk, name))
    load_batch.advance("1-1")
    load_batch.flush(epoch=1)
    replay = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
    replay.insert(Asset, asset_row(980, "a replay must not overwrite"))
    replay.advance("1-2")
    replay.flush(epoch=1)
    stored = dict(Asset.objects.filter(pk__gte=980).values_list("pk", "name"))
    assert stored == dict(enumerate(AWKWARD, start=980))
    assert Asset.objects.get(pk=980).created_at == datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)


@MYSQL_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_server_that_refuses_local_files_gets_the_rows_as_inserts(monkeypatch, settings) -> None:
    import persistence.write_buffer as write_buffer

    settings.WRITE_BUFFER_BULK_LOAD_MIN_ROWS = 1
    monkeypatch.setattr(write_buffer, "_bulk_load_refused", False)
    with connection.cursor() as cursor:
        try:
            cursor.execute("SET GLOBAL local_infile = 0")
        except DatabaseError:
            pytest.skip("this database user may not turn local_infile off")
    try:
        buffer = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
        buffer.insert(Asset, asset_row(990, "inserted instead"))
        buffer.advance("1-1")
        buffer.flush(epoch=1)
        assert write_buffer._bulk_load_refused
        assert not write_buffer.bulk_load_enabled()
        later = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
        later.insert(Asset, asset_row(991, "then INSERTs from the start"))
        later.advance("1-2")
        assert not any(isinstance(statement, BulkLoad) for statement in later.detach().statements)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET GLOBAL local_infile = 1")
    assert Asset.objects.get(pk=990).name == "inserted instead"


def test_a_compiled_load_line_writes_each_value_as_the_generic_texts_do() -> None:
    from decimal import Decimal

    from exchange.models import LedgerEntry
    from persistence.mysql_rows import TSV_TEXTS, compile_tsv_row

    shape = ("id", "user_id", "kind", "available_delta", "reference", "trade_id", "created_at")
    amounts = ["0E-18", "1E+2", "-1.5E-7", "12345.678900000000000000", "-0.51", "0", "1E-18"]
    when = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
    render = compile_tsv_row(LedgerEntry, shape)
    for n, text in enumerate(amounts):
        row = {
            "id": n,
            "user_id": True if n == 1 else 7,
            "kind": AWKWARD[n] if n % 3 else "TRADE",
            "available_delta": Decimal(text),
            "reference": AWKWARD[-n],
            "trade_id": None if n % 2 else 10**15 + n,
            "created_at": when if n % 2 else datetime(2026, 1, n + 1, tzinfo=UTC),
        }
        line = render(tuple(row.values()))
        assert line == "\t".join(TSV_TEXTS[type(value)](value) for value in row.values())
        assert len(line.split("\t")) == len(shape) and "\n" not in line


def test_the_spooled_file_of_a_load_leaves_no_name_behind() -> None:
    import os
    import tempfile
    from pathlib import Path

    from persistence import mysql_rows

    places = [Path(mysql_rows._SHARED_MEMORY), Path(tempfile.gettempdir())]

    def spooled_files() -> set[Path]:
        return {path for place in places if place.is_dir() for path in place.glob("spot-rows-*")}

    before = spooled_files()
    with mysql_rows.spooled("1\tx\n") as path:
        with open(path, encoding="utf-8") as file:
            assert file.read() == "1\tx\n"
        if os.path.isdir("/proc/self/fd"):
            assert path.startswith("/proc/self/fd/")  # no name left even if the process is killed now
            assert spooled_files() <= before
    assert spooled_files() <= before


@pytest.mark.django_db(transaction=True)
def test_merged_rows_combine_within_a_batch_and_with_the_stored_row(btc_usdt) -> None:
    """A candle's trades: volumes add, high and low keep the extremes, close is the last, open the first."""
    from decimal import Decimal

    from exchange.models import Candle
    from exchange.pipeline.candles import CandleWriter

    minute = datetime(2026, 12, 3, 7, 45, tzinfo=UTC)
    buffer = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
    candles = CandleWriter(buffer)
    candles.add(btc_usdt.pk, minute.replace(second=5), Decimal("100"), Decimal("1"), Decimal("100"), True, 1)
    candles.add(btc_usdt.pk, minute.replace(second=9), Decimal("90"), Decimal("2"), Decimal("180"), False, 2)
    assert buffer.pending_items == 1  # one row per market and minute
    buffer.advance("1-1")
    buffer.flush(epoch=1)
    candles.add(
        btc_usdt.pk, minute.replace(second=30), Decimal("120"), Decimal("0.5"), Decimal("60"), True, 3
    )
    candles.add(
        btc_usdt.pk, minute.replace(second=50), Decimal("110"), Decimal("1"), Decimal("110"), False, 4
    )
    buffer.advance("1-2")
    buffer.flush(epoch=1)

    stored = Candle.objects.get(market=btc_usdt, open_time=minute)
    assert [stored.open, stored.high, stored.low, stored.close] == [
        Decimal(p) for p in ("100", "120", "90", "110")
    ]
    assert (stored.volume, stored.quote_volume) == (Decimal("4.5"), Decimal("450"))
    assert (stored.taker_buy_volume, stored.taker_buy_quote_volume) == (Decimal("1.5"), Decimal("160"))
    assert (stored.trades, stored.first_trade_id, stored.last_trade_id) == (4, 1, 4)


def test_a_merge_must_be_one_the_buffer_knows() -> None:
    buffer = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
    with pytest.raises(ValueError, match="unknown merges"):
        buffer.table(Asset, ("id", "name"), merge=(("name", "concatenate"),))


def test_appended_rows_fewer_than_the_bulk_load_minimum_go_as_an_insert(settings) -> None:
    settings.WRITE_BUFFER_BULK_LOAD_MIN_ROWS = 3
    small = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
    for pk in (970, 971):
        small.insert(Asset, asset_row(pk, f"small {pk}"))
    small.advance("1-1")
    statements = small.detach().statements
    assert not any(isinstance(statement, BulkLoad) for statement in statements)
    large = WriteBuffer("test-consumer", "test-stream", CommittedPosition())
    for pk in (972, 973, 974):
        large.insert(Asset, asset_row(pk, f"large {pk}"))
    large.advance("1-2")
    expected_kind = BulkLoad if connection.vendor == "mysql" else tuple
    assert [type(statement) for statement in large.detach().statements] == [expected_kind]


# 18 significant digits: a 10,000,000 balance with a fee's ten decimals; SQLite's floats keep 15-16.
LARGE = "10000000.0000000131"
DEEP = "9946.726142853512345678"


@pytest.mark.django_db(transaction=True)
def test_balances_are_stored_exactly_on_every_database(alice) -> None:
    from decimal import Decimal

    from exchange.models import Balance
    from exchange.pipeline.accounts_stage import BALANCE_FIELDS

    usdt = Asset.objects.create(code="USDT", name="Tether USD", display_precision=6)
    btc = Asset.objects.create(code="BTC", name="Bitcoin", display_precision=8)
    Balance.objects.create(user=alice, asset=usdt, available=Decimal(LARGE), locked=Decimal(DEEP))
    buffer = WriteBuffer("test-consumer", "test-stream", CommittedPosition())  # as the accounts stage writes
    balances = buffer.table(Balance, BALANCE_FIELDS, key=("user_id", "asset_id"), upsert=True)
    balances.add((alice.pk, btc.pk, Decimal(DEEP), Decimal(LARGE), datetime(2026, 12, 5, tzinfo=UTC)))
    buffer.advance("1-1")
    buffer.flush(epoch=1)

    stored = {
        code: (a, b) for code, a, b in Balance.objects.values_list("asset__code", "available", "locked")
    }

    assert stored == {"USDT": (Decimal(LARGE), Decimal(DEEP)), "BTC": (Decimal(DEEP), Decimal(LARGE))}
    assert not Balance.objects.filter(available__lt=0).exists()  # the audit's negative check still reads
