"""Order and trade ids on the wire: decimal strings, because they outgrow a double.

Ids are 63-bit integers (exchange.pipeline.ids); above 2^53 a JSON number
loses its last digits in JavaScript and in any client that parses numbers as
doubles. Every answer therefore writes an id as a string ("4611686018427387904"),
and every place that takes an id (a path or a query parameter) accepts the
plain digits or the same digits in double quotes, as a client that
JSON-encodes the id it read would send them (`/orders/%22123%22`).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from exchange.api.errors import BadRequest

MAX_ID = 2**63 - 1
_DIGITS = r"[1-9][0-9]{0,18}"
ID_PATTERN = rf"^{_DIGITS}$"
ID_PARAMETER_PATTERN = rf'^({_DIGITS}|"{_DIGITS}")$'
ID_EXAMPLE = "4611686018427387904"

# What an answer declares for every id field (the OpenAPI schema says string).
IdText = Annotated[
    str, Field(pattern=ID_PATTERN, examples=[ID_EXAMPLE], description="A 63-bit id, as a decimal string.")
]


def id_value(text: str, name: str) -> int:
    """The id a parameter gives (already matched to ID_PARAMETER_PATTERN), or a 400 past 2^63 - 1."""
    value = int(text.strip('"'))
    if value > MAX_ID:
        raise BadRequest(f"{name}: must be at most {MAX_ID}", "INVALID_VALUE")
    return value
