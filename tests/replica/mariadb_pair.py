"""A real MariaDB primary and a replica of it, each its own mariadbd with its own datadir and port.

Started from the machine's mariadbd (Debian's mariadb-server), replicating
by GTID from the first transaction; torn down with the test. Grants are
skipped on both: the servers listen on 127.0.0.1 only, for this test alone.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import MySQLdb  # type: ignore[import-untyped]

from spot.embedded_redis import free_port

START_WAIT_S = 60  # a cap for a loaded machine


@dataclass
class MariaDb:
    name: str
    root: Path
    server_id: int
    binlog: bool
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def datadir(self) -> Path:
        return self.root / self.name

    def start(self) -> MariaDb:
        install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        server = shutil.which("mariadbd", path="/usr/sbin:/usr/bin") or "/usr/sbin/mariadbd"
        assert install, "mariadb-install-db is missing (Debian's mariadb-server)"
        subprocess.run(
            [install, "--no-defaults", f"--datadir={self.datadir}", "--user=root", "--skip-test-db"],
            check=True,
            capture_output=True,
        )
        args = [
            server,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.root / (self.name + '.sock')}",
            f"--pid-file={self.root / (self.name + '.pid')}",
            f"--log-error={self.root / (self.name + '.err')}",
            f"--server-id={self.server_id}",
            "--user=root",
            "--skip-grant-tables",
            "--innodb-buffer-pool-size=32M",
            "--innodb-log-file-size=16M",
        ]
        if self.binlog:
            args += ["--log-bin=binlog", "--binlog-format=ROW"]
        else:
            args += ["--read-only=1"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_WAIT_S
        while True:
            try:
                self.connect().close()
                return self
            except MySQLdb.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"{self.name} did not start:\n{self.log()}") from None
                time.sleep(0.2)  # waiting for the server to listen

    def connect(self, database: str | None = None) -> Any:
        kwargs: dict[str, Any] = {"host": "127.0.0.1", "port": self.port, "user": "root", "autocommit": True}
        if database:
            kwargs["database"] = database
        return MySQLdb.connect(**kwargs)

    def execute(self, sql: str, database: str | None = None) -> list[tuple[Any, ...]]:
        connection = self.connect(database)
        try:
            cursor = connection.cursor()
            cursor.execute(sql)
            return list(cursor.fetchall())
        finally:
            connection.close()

    def url(self, database: str) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        path = self.root / (self.name + ".err")
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def replicate(primary: MariaDb, replica: MariaDb) -> None:
    replica.execute(
        f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={primary.port}, "
        "MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos"
    )
    replica.execute("START SLAVE")
