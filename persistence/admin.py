from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from persistence.models import StreamOffset


@admin.register(StreamOffset)
class StreamOffsetAdmin(admin.ModelAdmin[StreamOffset]):
    list_display = ["consumer", "stream", "last_entry_id", "lease_epoch", "updated_at"]
    search_fields = ["consumer", "stream"]
    readonly_fields = [
        "consumer",
        "stream",
        "last_entry_id",
        "lease_epoch",
        "producer_sequences",
        "updated_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: StreamOffset | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: StreamOffset | None = None) -> bool:
        return False
