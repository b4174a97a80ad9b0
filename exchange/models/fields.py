"""Field shapes shared by the models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models

# Crypto amounts: 18 decimal places (wei) and 18 integer digits.
AMOUNT_DIGITS = 36
AMOUNT_PLACES = 18


def amount_field(**kwargs: Any) -> models.DecimalField[Any, Decimal]:
    return models.DecimalField(**_amount_shape(kwargs))


def _amount_shape(kwargs: dict[str, Any]) -> dict[str, Any]:
    kwargs.setdefault("max_digits", AMOUNT_DIGITS)
    kwargs.setdefault("decimal_places", AMOUNT_PLACES)
    return kwargs


class ExactDecimalField(models.DecimalField[Decimal, Decimal]):
    """A DecimalField that SQLite stores as text, exactly (spot/sqlite_backend); DECIMAL elsewhere.

    For the amounts that grow past SQLite's 15-16 significant digits:
    balances. SQLite compares such a column as text, which tells a negative
    amount from the others and no more: its CHECK (>= 0) and the audit's
    filter for negative balances hold; the admin's sort by balance orders
    them as text on SQLite (a demo database; MySQL sorts them as numbers).
    Nothing takes a MAX or SUM of balances in SQL on SQLite (the audit
    sums them in Python there).
    """

    def db_type(self, connection: Any) -> str | None:
        if connection.vendor == "sqlite":
            return "text"
        return super().db_type(connection)


def balance_field(**kwargs: Any) -> ExactDecimalField:
    """An account's available or locked amount: exact on every database."""
    return ExactDecimalField(**_amount_shape(kwargs))


def rate_field(**kwargs: Any) -> models.DecimalField[Any, Decimal]:
    """A fee rate as a fraction (0.001 = 0.1 %)."""
    kwargs.setdefault("max_digits", 12)
    kwargs.setdefault("decimal_places", 8)
    return models.DecimalField(**kwargs)
