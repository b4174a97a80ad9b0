"""Field shapes shared by the models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models

# Crypto amounts: 18 decimal places (wei) and 18 integer digits.
AMOUNT_DIGITS = 36
AMOUNT_PLACES = 18


def amount_field(**kwargs: Any) -> models.DecimalField[Any, Decimal]:
    kwargs.setdefault("max_digits", AMOUNT_DIGITS)
    kwargs.setdefault("decimal_places", AMOUNT_PLACES)
    return models.DecimalField(**kwargs)


def rate_field(**kwargs: Any) -> models.DecimalField[Any, Decimal]:
    """A fee rate as a fraction (0.001 = 0.1 %)."""
    kwargs.setdefault("max_digits", 12)
    kwargs.setdefault("decimal_places", 8)
    return models.DecimalField(**kwargs)
