"""A local Redis Cluster: 3 masters and 3 replicas from the system's redis-server, on free ports.

For the tests that run on a cluster (tests/cluster.py), the failover
benchmark (benchmarks/cluster/failover.py) and trying it by hand:

    python -m spot.local_cluster   # prints REDIS_URL=redis+cluster://...; Ctrl-C stops it

Each node runs in a directory of its own under a temporary one, with its
cluster bus on its port + 10000. `redis-cli --cluster create` assigns the
slots and a replica to each master; `start` returns once every node says
`cluster_state:ok` and every replica is in sync with its master.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

MASTERS = 3
NODES = 2 * MASTERS
BUS_OFFSET = 10_000


class ClusterUnavailable(Exception):
    """redis-server or redis-cli is not installed, or the cluster did not come up."""


def binaries() -> tuple[str, str]:
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        raise ClusterUnavailable("redis-server and redis-cli are needed (Debian: redis-server, redis-tools)")
    return server, cli


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """`count` consecutive ports, free along with their cluster bus ports."""
    for base in range(30_000 + (time.monotonic_ns() // 1000) % 7_000, 45_000, 11):
        ports = list(range(base, base + count))
        if all(_free(port) and _free(port + BUS_OFFSET) for port in ports):
            return ports
    raise ClusterUnavailable(f"no {count} free ports for a cluster")


@dataclass
class LocalCluster:
    node_timeout_ms: int = 2000
    appendonly: bool = False
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="spot-cluster-")))
    ports: list[int] = field(default_factory=list)
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def start(self, timeout: float = 30) -> LocalCluster:
        server, cli = binaries()
        self.ports = free_ports(NODES)
        try:
            for port in self.ports:
                self._start_node(server, port)
            for port in self.ports:
                self._wait_listening(port, timeout)
        except BaseException:
            self.stop()
            raise
        created = subprocess.run(
            [cli, "--cluster", "create", *self.addresses(), "--cluster-replicas", "1", "--cluster-yes"],
            capture_output=True,
            timeout=timeout,
        )
        try:
            if created.returncode != 0:
                raise ClusterUnavailable(f"redis-cli --cluster create failed: {created.stdout[-2000:]!r}")
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.ports]

    def _start_node(self, server: str, port: int) -> None:
        node_dir = self.directory / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        options = {
            "port": port,
            "bind": "127.0.0.1",
            "dir": node_dir,
            "cluster-enabled": "yes",
            "cluster-config-file": "nodes.conf",
            "cluster-node-timeout": self.node_timeout_ms,
            "appendonly": "yes" if self.appendonly else "no",
            "save": "",
            "logfile": node_dir / "redis.log",
        }
        self.processes[port] = subprocess.Popen(
            [server, *(part for name, value in options.items() for part in (f"--{name}", str(value)))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _wait_listening(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise ClusterUnavailable(f"redis-server on port {port} did not listen within {timeout:.0f}s")

    def node(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, socket_connect_timeout=1, socket_timeout=2)

    def wait_healthy(self, timeout: float = 30) -> None:
        """Until every running node says cluster_state:ok, with 3 masters each replicated in sync."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._healthy():
                return
            time.sleep(0.1)
        raise ClusterUnavailable(
            f"the cluster was not healthy within {timeout:.0f}s (logs in {self.directory})"
        )

    def _healthy(self) -> bool:
        try:
            for port in self.running_ports():
                client = self.node(port)
                try:
                    if client.cluster("info").get("cluster_state") != "ok":
                        return False
                    info = client.info("replication")
                    if info["role"] == "slave" and info.get("master_link_status") != "up":
                        return False
                finally:
                    client.close()
            return len(self.masters()) == MASTERS
        except redis.RedisError:
            return False

    def running_ports(self) -> list[int]:
        return [port for port, process in self.processes.items() if process.poll() is None]

    def masters(self) -> dict[int, list[tuple[int, int]]]:
        """Each live master's port and the slot ranges it serves."""
        client = self.node(self.running_ports()[0])
        try:
            slots: Any = client.execute_command("CLUSTER SLOTS")  # type: ignore[no-untyped-call]
        finally:
            client.close()
        served: dict[int, list[tuple[int, int]]] = {}
        for start, end, master, *_ in slots:
            served.setdefault(int(master[1]), []).append((int(start), int(end)))
        return served

    def master_of(self, key: str) -> int:
        slot = redis.crc.key_slot(key.encode())
        for port, ranges in self.masters().items():
            if any(start <= slot <= end for start, end in ranges):
                return port
        raise ClusterUnavailable(f"no master serves slot {slot}")

    def replica_of(self, master: int) -> int:
        """The port of a live replica of the master on `master`."""
        for port in self.running_ports():
            client = self.node(port)
            try:
                info = client.info("replication")
            finally:
                client.close()
            if info["role"] == "slave" and int(info["master_port"]) == master:
                return port
        raise ClusterUnavailable(f"no live replica of {master}")

    def kill(self, port: int) -> None:
        """SIGKILL one node: no shutdown, no last write to disk."""
        self.processes[port].send_signal(signal.SIGKILL)
        self.processes[port].wait()

    def restart(self, port: int) -> None:
        """Start a killed node again, on its own directory: it rejoins, as a replica if it was failed over."""
        server, _ = binaries()
        self._start_node(server, port)
        self._wait_listening(port, 30)

    def flush(self) -> None:
        for port in self.masters():
            client = self.node(port)
            try:
                client.flushall()
            finally:
                client.close()

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
        for process in self.processes.values():
            process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def main() -> None:
    cluster = LocalCluster().start()
    print(f"REDIS_URL={cluster.url}  (nodes {cluster.ports}, data in {cluster.directory})", flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        cluster.stop()


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    main()
