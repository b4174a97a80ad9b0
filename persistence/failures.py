"""Which database errors a retry can cure, and what a worker does about the others.

A batch fails for one of two kinds of reason. The database was unreachable,
restarting or busy, or picked the transaction as a deadlock victim: the same
statements succeed later, so the worker backs off and tries again. Or the
database refuses the rows themselves (a CHECK constraint, a value out of
range, a duplicate key the writers never expect): the same statements are
refused however often they are sent. Retried, that wedged a worker silently
(issue 19); now it stops the worker with the entries and the error in its
log, and a restart replays the same entries and stops again until someone
removes the cause.

The codes are MariaDB's and MySQL's; an error without a known code is told
by its class (IntegrityError and DataError are about the rows), and any
other error is retried as before.
"""

from __future__ import annotations

from django.db import DataError, IntegrityError

TRANSIENT_CODES = frozenset(
    {
        1040,  # too many connections
        1053,  # server shutdown in progress
        1205,  # lock wait timeout exceeded
        1213,  # deadlock found: this transaction was rolled back
        1927,  # connection was killed (MariaDB)
        2002,  # cannot connect (socket)
        2003,  # cannot connect (TCP)
        2006,  # server has gone away
        2013,  # lost connection during query
        2055,  # lost connection (system error)
        4031,  # disconnected by the server for inactivity
    }
)
DETERMINISTIC_CODES = frozenset(
    {
        1048,  # a column cannot be NULL
        1062,  # duplicate key: the writers insert with IGNORE or upsert, so one is never expected
        1264,  # value out of range for a column
        1265,  # data truncated for a column
        1292,  # incorrect value (a date, a number)
        1366,  # incorrect value for a column
        1406,  # data too long for a column
        1451,  # a foreign key refuses the delete or update
        1452,  # a foreign key refuses the insert or update
        1690,  # value out of range in an expression
        3819,  # CHECK constraint violated (MySQL)
        4025,  # CONSTRAINT failed (MariaDB's CHECK)
    }
)


class DeterministicFailure(Exception):
    """The database refused statements for a reason no retry can change; the worker must stop."""


def error_code(exc: BaseException) -> int | None:
    """The server's error number, when the driver gave one (mysqlclient: the first argument)."""
    code = exc.args[0] if exc.args else None
    return code if isinstance(code, int) else None


def is_deterministic(exc: BaseException) -> bool:
    """Whether sending the same statements again cannot succeed."""
    code = error_code(exc)
    if code in TRANSIENT_CODES:
        return False
    if code in DETERMINISTIC_CODES:
        return True
    return isinstance(exc, IntegrityError | DataError)
