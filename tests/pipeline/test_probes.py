"""A worker's liveness and readiness probes: leader and standby are ready, a stalled loop is not alive."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from functools import partial

import pytest
import redis
from django.conf import settings
from prometheus_client import REGISTRY

from exchange.pipeline import probes
from exchange.pipeline.keys import accounts_keys
from exchange.pipeline.workers import AccountsWorker, MatchingWorker
from matching import ENGINE_BUILD
from spot.embedded_redis import free_port
from tests.pipeline.processes import WorkerProcess, wait_for


def probe(port: int, path: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except (urllib.error.URLError, ConnectionError):
        return 0, {}


def is_ready(port: int) -> bool:
    return probe(port, "/ready")[0] == 200


@pytest.fixture
def leader(transactional_db, redis_conn) -> Iterator[AccountsWorker]:
    worker = AccountsWorker(0, redis_conn)
    assert worker.become_leader()
    yield worker
    worker.shutdown()


def test_a_worker_that_has_not_tried_for_the_lease_is_alive_but_not_ready(transactional_db, redis_conn):
    status = probes.status(AccountsWorker(0, redis_conn))
    assert (status.alive, status.ready, status.role) == (True, False, "waiting")


def test_the_leader_is_ready(leader):
    status = probes.status(leader)
    assert (status.alive, status.ready, status.role) == (True, True, "leader")


def test_a_standby_that_reached_redis_and_the_database_is_ready(leader, redis_conn):
    standby = AccountsWorker(0, redis_conn)
    standby.consumer = standby.lease.holder = "standby"
    assert not standby.become_leader()
    status = probes.status(standby)
    assert (status.alive, status.ready, status.role) == (True, True, "standby")


def test_a_standby_that_cannot_reach_redis_is_alive_but_not_ready(transactional_db, redis_conn):
    worker = AccountsWorker(0, redis_conn)
    worker.standby_ready = True  # it was, until Redis went away
    worker.lease = AccountsWorker(0, redis.Redis(port=free_port(), socket_connect_timeout=1)).lease
    assert not worker.become_leader()
    status = probes.status(worker)
    assert (status.alive, status.ready, status.role) == (True, False, "waiting")


def test_a_leader_whose_lease_expired_unrenewed_is_not_ready(leader):
    leader._lease_renewed_at -= settings.WORKER_LEASE_TTL_MS / 1000
    assert not probes.status(leader).ready


def test_a_loop_that_has_not_come_round_within_the_stall_limit_is_dead(leader, settings):
    settings.WORKER_STALL_S = 30
    leader.beat = time.monotonic() - 31
    status = probes.status(leader)
    assert (status.alive, status.ready, status.role) == (False, False, "stalled")


def test_the_port_serves_the_probes_beside_the_metrics(leader):
    server = probes.serve(leader, 0, addr="127.0.0.1")
    port = server.server_address[1]
    try:
        code, body = probe(port, "/ready")
        assert (code, body["worker"], body["role"]) == (200, "accounts-0", "leader")
        leader.beat -= settings.WORKER_STALL_S
        assert probe(port, "/alive")[0] == 503
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            assert b"spot_worker_entries_total" in response.read()
    finally:
        server.shutdown()
        server.server_close()


def test_a_matching_worker_says_which_engine_it_runs(redis_conn):
    MatchingWorker(1, redis_conn)
    compiled = REGISTRY.get_sample_value("spot_matching_engine_compiled", {"worker": "matching-1"})
    assert compiled == (1.0 if ENGINE_BUILD.startswith("compiled") else 0.0)


@pytest.mark.timeout(120)
def test_worker_processes_answer_ready_as_leader_and_as_standby(transactional_db, redis_conn, tmp_path):
    ports = free_port(), free_port()
    first = WorkerProcess("accounts", 0, tmp_path, metrics_port=ports[0]).start()
    second = WorkerProcess("accounts", 0, tmp_path, metrics_port=ports[1]).start()
    try:
        wait_for(lambda: redis_conn.get(accounts_keys(0).lease), 60, what="a leader")
        for port in ports:
            wait_for(partial(is_ready, port), 60, what=f"the worker on port {port} to be ready")
        assert sorted(str(probe(port, "/ready")[1]["role"]) for port in ports) == ["leader", "standby"]
        assert all(probe(port, "/alive")[0] == 200 for port in ports)
        assert first.terminate() == 0 and second.terminate() == 0
    finally:
        for worker in (first, second):
            if worker.alive:
                worker.kill()
