"""Admin pages that show rows the workers own, without letting anyone edit them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from exchange.admin.amounts import Column, amount_columns, with_amount_columns


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    # Counting every row of a large table on each list page is slow on InnoDB.
    show_full_result_count = False

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
