"""Database errors: a refusal no retry can cure stops the worker loudly; an outage is waited out,
but never past a SIGTERM."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError, OperationalError, connection

from exchange.models import Balance
from exchange.pipeline.keys import accounts_keys
from exchange.pipeline.order_entry import OrderEntry
from persistence.failures import DeterministicFailure, is_deterministic
from persistence.models import StreamOffset
from tests.pipeline.processes import WorkerProcess, wait_for

needs_mysql = pytest.mark.skipif(
    connection.vendor != "mysql", reason="a CHECK added to a live table, and a TCP path to cut: MariaDB"
)


@pytest.mark.parametrize(
    "error",
    [
        OperationalError(4025, "CONSTRAINT `balance_available` failed"),
        OperationalError(1366, "Incorrect decimal value"),
        DataError(1264, "Out of range value for column 'available'"),
        IntegrityError(1062, "Duplicate entry '7' for key 'PRIMARY'"),
        IntegrityError("CHECK constraint failed: balance_available"),  # SQLite: no code
    ],
)
def test_errors_about_the_rows_are_deterministic(error) -> None:
    assert is_deterministic(error)


@pytest.mark.parametrize(
    "error",
    [
        OperationalError(2006, "MySQL server has gone away"),
        OperationalError(2013, "Lost connection to server during query"),
        OperationalError(1213, "Deadlock found when trying to get lock"),
        OperationalError(1205, "Lock wait timeout exceeded"),
        OperationalError("2006, MySQL server has gone away"),
        OperationalError("database is locked"),
    ],
)
def test_errors_of_the_moment_are_retried(error) -> None:
    assert not is_deterministic(error)


@pytest.fixture
def balances_under_1000(transactional_db) -> Iterator[None]:
    """A CHECK the next deposit breaks, as a real refusal of the server (MariaDB 4025)."""
    table = connection.ops.quote_name(Balance._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT test_under_1000 CHECK (available < 1000)")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT test_under_1000")


@needs_mysql
def test_a_batch_the_database_refuses_stops_the_worker_and_commits_nothing(
    pipeline, alice, balances_under_1000
):
    pipeline.deposit(alice, "USDT", "5000")
    with pytest.raises(DeterministicFailure, match="4025"):
        pipeline.run()
    assert not Balance.objects.exists()
    assert StreamOffset.objects.get(consumer="accounts-0").last_entry_id == "0-0"


@needs_mysql
@pytest.mark.timeout(120)
def test_a_worker_process_stops_with_status_1_naming_the_entries_and_the_error(
    transactional_db, redis_conn, btc_usdt, alice, balances_under_1000, tmp_path
):
    worker = WorkerProcess("accounts", 0, tmp_path).start()
    try:
        deposit = OrderEntry(redis_conn).change_funds(alice.pk, "USDT", "DEPOSIT", Decimal(5000), "t", None)
        assert worker.process is not None
        assert worker.process.wait(timeout=90) == 1
    finally:
        if worker.alive:
            worker.kill()
    log = worker.log()
    assert "accounts-0 exiting: failed: the database refused the batch of entries" in log
    assert deposit.entry_id in log
    assert "4025" in log
    assert not Balance.objects.exists()


class Cuttable:
    """A TCP path to the database that the test can cut: open connections drop, new ones are refused."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.is_cut = False
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        with self.lock:
            self.is_cut = True
            for each in [self.listener, *self.sockets]:
                # shutdown, not just close: a thread blocked in recv() holds the socket open
                with contextlib.suppress(OSError):
                    each.shutdown(socket.SHUT_RDWR)
                each.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                if self.is_cut:
                    client.close()
                    return
                server = socket.create_connection(self.upstream)
                self.sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for each in (source, sink):
                each.close()


@needs_mysql
@pytest.mark.timeout(180)
def test_sigterm_ends_a_worker_waiting_out_a_database_outage_and_loses_nothing(
    transactional_db, redis_conn, btc_usdt, alice, tmp_path
):
    db = connection.settings_dict
    path = Cuttable(db["HOST"] or "127.0.0.1", int(db["PORT"] or 3306))
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    url = f"mysql://{db['USER']}{password}@127.0.0.1:{path.port}/{db['NAME']}"
    worker = WorkerProcess("accounts", 0, tmp_path, DATABASE_URL=url).start()
    try:
        wait_for(lambda: "accounts-0 is leader" in worker.log(), 60, what="a leader")
        path.cut()
        OrderEntry(redis_conn).change_funds(alice.pk, "USDT", "DEPOSIT", Decimal(500), "t", None)
        wait_for(lambda: "commit failed" in worker.log(), 60, what="the commit to fail and be retried")
        # Without the fix the worker retried for ever and never exited.
        assert worker.terminate(timeout=60) == 0
    finally:
        if worker.alive:
            worker.kill()
    assert "without the last commit (a restart replays it)" in worker.log()
    assert redis_conn.get(accounts_keys(0).lease) is None

    restarted = WorkerProcess("accounts", 0, tmp_path).start()
    try:
        wait_for(lambda: Balance.objects.filter(user=alice, available=500).exists(), 60, what="the replay")
    finally:
        restarted.stop()
