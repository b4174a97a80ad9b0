"""Amounts in the admin as the API writes them: "0.01", not "0.010000000000000000".

Every amount column holds 18 places; Django's admin would show all of
them. These columns show the one text rule of exchange.amounts instead:
the exact value, no trailing zeros. Exact, not rounded to the asset's
display precision: an operator must see the dust a fee or a rounding left
below it, which a rounded figure would hide.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db import models

from exchange.amounts import amount_text
from exchange.models.fields import AMOUNT_PLACES

Column = Callable[[Any], str]


def amount_column(name: str, description: str | None = None) -> Column:
    """A list or read-only column showing the amount attribute `name` by the one text rule."""

    def show(obj: Any) -> str:
        return readable(getattr(obj, name))

    show.__name__ = name  # the column's CSS class, as for the field itself
    return admin.display(description=description or name.replace("_", " "), ordering=name)(show)


def readable(value: Decimal | None) -> str:
    return "-" if value is None else amount_text(value)


def is_amount(field: models.Field[Any, Any]) -> bool:
    return isinstance(field, models.DecimalField) and field.decimal_places == AMOUNT_PLACES


def amount_columns(model: type[models.Model]) -> dict[str, Column]:
    """A column for each amount field of the model, labelled as the field is."""
    return {
        field.name: amount_column(field.name, str(field.verbose_name).capitalize())
        for field in model._meta.fields
        if is_amount(field)
    }


def with_amount_columns(names: Any, columns: dict[str, Column]) -> list[Any]:
    """The list of field names, with each amount field's name replaced by its column."""
    return [columns.get(name, name) if isinstance(name, str) else name for name in names]
