"""How many rows MariaDB read for this connection's statements: a query's cost that no timing shows.

A query that reads the whole history passes every test on a small table and
gets slower with every order in production; its rows read say so at once.
"""

from __future__ import annotations

import pytest
from django.db import connection


def rows_read() -> int:
    """Rows read so far by this connection (MariaDB's Handler_read_* session counters)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW SESSION STATUS LIKE 'Handler_read%%'")
        return sum(int(value) for _, value in cursor.fetchall())


def skip_unless_mariadb() -> None:
    if connection.vendor != "mysql":
        pytest.skip("counts the rows MariaDB reads")
