from __future__ import annotations

from django.contrib import admin
from django.utils.safestring import SafeString

from exchange.admin.journey import journey_html
from exchange.admin.readonly import ReadOnlyAdmin
from exchange.models import LedgerEntry, Order, OrderHold, Trade


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user",
        "market",
        "side",
        "type",
        "time_in_force",
        "price",
        "quantity",
        "executed_quantity",
        "status",
        "created_at",
    ]
    list_filter = ["status", "side", "type", "time_in_force", "market"]
    list_select_related = ["user", "market"]
    search_fields = ["=id", "=client_order_id", "user__username"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    # Not "journey": the reverse accessor of OrderJourney has that name, and the admin would show it.
    readonly_fields = ["stages"]

    @admin.display(description="Journey")
    def stages(self, order: Order) -> SafeString:
        """Each stage of the pipeline the order passed, when, and what it took (exchange/admin/journey.py)."""
        return journey_html(order)


@admin.register(Trade)
class TradeAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "market",
        "price",
        "quantity",
        "quote_quantity",
        "taker_side",
        "maker_user",
        "taker_user",
        "maker_fee",
        "taker_fee",
        "executed_at",
    ]
    list_filter = ["market", "taker_side"]
    list_select_related = ["market", "maker_user", "taker_user"]
    search_fields = [
        "=id",
        "=maker_order__id",
        "=taker_order__id",
        "maker_user__username",
        "taker_user__username",
    ]
    date_hierarchy = "executed_at"
    ordering = ["-id"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "user",
        "asset",
        "kind",
        "available_delta",
        "locked_delta",
        "available_after",
        "locked_after",
        "fee",
        "order_id",
        "trade_id",
        "reference",
        "created_at",
    ]
    list_filter = ["kind", "asset"]
    list_select_related = ["user", "asset"]
    search_fields = ["=id", "=order_id", "=trade_id", "user__username", "reference"]
    date_hierarchy = "created_at"
    ordering = ["-id"]


@admin.register(OrderHold)
class OrderHoldAdmin(ReadOnlyAdmin):
    list_display = [
        "order_id",
        "user",
        "market_symbol",
        "asset",
        "remaining",
        "price",
        "quantity",
        "is_open",
        "updated_at",
    ]
    list_filter = ["is_open", "market_symbol", "asset"]
    list_select_related = ["user", "asset"]
    search_fields = ["=order_id", "=client_order_id", "user__username"]
    ordering = ["-order_id"]
