"""Django's SQLite backend, with amounts that SQLite keeps as text read back exactly.

SQLite has no decimal type: a DECIMAL column has NUMERIC affinity and keeps
a value as a float, 15-16 significant digits, and Django's backend reads
every decimal through a 15-digit context besides. A balance of 10,000,000
with a fee's ten decimals has 18 digits: stored, it came back rounded, and
`manage.py audit` rightly found the books off (make run, 2026-12-05).
Columns of `exchange.models.fields.ExactDecimalField` are TEXT on SQLite,
so the value is stored as written; here such a value, a str, is read back
as the Decimal it was. Everything else is Django's backend unchanged.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from typing import Any

from django.db.backends.sqlite3 import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def get_decimalfield_converter(self, expression: Any) -> Callable[[Any, Any, Any], Any]:
        rounded = super().get_decimalfield_converter(expression)
        field: Any = getattr(expression, "output_field", None)
        places = getattr(field, "decimal_places", None)
        # To the column's places, as MySQL returns a DECIMAL column (and Django's converter does).
        quantum = None if places is None else decimal.Decimal(1).scaleb(-places)

        def converter(value: Any, expression: Any, connection: Any) -> Any:
            if isinstance(value, str):  # a TEXT column: the value as it was written
                exact = decimal.Decimal(value)
                return exact if quantum is None else exact.quantize(quantum, context=field.context)
            return rounded(value, expression, connection)

        return converter


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
