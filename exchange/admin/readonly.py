"""Admin pages that show rows the workers own, without letting anyone edit them."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

from exchange.admin.amounts import Column, amount_columns, with_amount_columns


class MoreThan(int):
    """A count that stopped past its cap: it pages like the number, it reads "more than N"."""

    def __str__(self) -> str:
        return f"more than {self - 1:,}"


class CappedCountPaginator(Paginator[Any]):
    """Counts the rows of a list page up to `cap`: InnoDB's COUNT(*) reads every row it counts.

    The workers' tables grow by several rows an order; counting them all for
    each list page would make the page slower every day. Past the cap the
    page says "more than 10,000 ledger entries" and links pages up to it; the
    filters and the search narrow down the rest.
    """

    cap = 10_000

    @cached_property
    def count(self) -> int:
        rows = cast("QuerySet[Any]", self.object_list)  # the admin pages a queryset
        counted = rows[: self.cap + 1].count()
        return MoreThan(counted) if counted > self.cap else counted


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    # Counting every row of a large table on each list page is slow on InnoDB.
    show_full_result_count = False
    paginator = CappedCountPaginator

    def __init__(self, model: type[models.Model], admin_site: admin.AdminSite) -> None:
        super().__init__(model, admin_site)
        # Amounts are shown by the one text rule (exchange.admin.amounts), in lists and on the page.
        self._amounts: dict[str, Column] = amount_columns(model)

    def get_list_display(self, request: HttpRequest) -> Any:
        return with_amount_columns(super().get_list_display(request), self._amounts)

    def get_fields(self, request: HttpRequest, obj: models.Model | None = None) -> Any:
        names = [field.name for field in self.model._meta.fields]
        # Then what a subclass shows beside the fields (its own readonly_fields: computed values).
        extra = [name for name in self.readonly_fields if name not in names]
        return with_amount_columns(names, self._amounts) + extra

    def get_readonly_fields(self, request: HttpRequest, obj: models.Model | None = None) -> Any:
        # The raw amount fields too, so that no form field is made for them.
        names = [field.name for field in self.model._meta.fields]
        extra = [name for name in self.readonly_fields if name not in names]
        return names + list(self._amounts.values()) + extra

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
