from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from exchange.admin.amounts import amount_column, amount_columns, with_amount_columns
from exchange.admin.console import require_console
from exchange.models import Asset, Market, MarketStatus
from exchange.routing import SymbolRouter
from exchange.services import kill_switches, operator_log
from exchange.services.markets import announce_market_change


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin[Asset]):
    list_display = ["code", "name", "display_precision", "created_at"]
    search_fields = ["code", "name"]


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin[Market]):
    list_display = [
        "symbol",
        "status",
        "tick_size",
        "lot_size",
        "min_quantity",
        "min_notional",
        "maker_fee_rate",
        "taker_fee_rate",
        "matching_shard",
    ]
    list_filter = ["status", "quote"]
    list_select_related = ["base", "quote"]
    search_fields = ["symbol", "base__code", "quote__code"]
    actions = ["halt_markets", "resume_markets", "close_markets", "cancel_market_orders"]
    fieldsets = [
        (None, {"fields": ["symbol", "base", "quote", "status"]}),
        ("Trading rules", {"fields": ["tick_size", "lot_size", "min_quantity", "min_notional"]}),
        ("Fees", {"fields": ["maker_fee_rate", "taker_fee_rate"]}),
        ("Routing", {"fields": ["shard_override"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Market | None = None) -> list[str]:
        # Resting orders are in ticks and lots of these rules; changing them under
        # a live book would reinterpret every order. Create a new market instead.
        if obj is not None:
            return ["symbol", "base", "quote", "tick_size", "lot_size"]
        return []

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = {
            **amount_columns(Market),
            "maker_fee_rate": amount_column("maker_fee_rate", "Maker fee rate"),
            "taker_fee_rate": amount_column("taker_fee_rate", "Taker fee rate"),
        }
        return with_amount_columns(super().get_list_display(request), columns)

    def save_model(self, request: HttpRequest, obj: Market, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        announce_market_change()
        operator_log.record(
            operator_log.admin_operator(request),
            "change_market" if change else "create_market",
            f"market {obj.symbol}",
            {"changed": sorted(form.changed_data)} if change else {},
        )

    @admin.action(description="Cancel every open order in the selected markets")
    def cancel_market_orders(self, request: HttpRequest, queryset: QuerySet[Market]) -> None:
        require_console(request)
        for market in queryset:
            kill_switches.cancel_market_orders(market, operator_log.admin_operator(request))
        self.message_user(
            request,
            f"Cancel sent for every order in {len(queryset)} market(s); "
            "halt a market first to stop new ones.",
            messages.SUCCESS,
        )

    @admin.display(description="Shard")
    def matching_shard(self, obj: Market) -> int:
        return SymbolRouter.from_settings().shard_for_market(obj)

    @admin.action(description="Halt trading in the selected markets")
    def halt_markets(self, request: HttpRequest, queryset: QuerySet[Market]) -> None:
        self._set_status(request, queryset, MarketStatus.HALTED, "halted")

    @admin.action(description="Resume trading in the selected markets")
    def resume_markets(self, request: HttpRequest, queryset: QuerySet[Market]) -> None:
        self._set_status(request, queryset, MarketStatus.TRADING, "resumed")

    @admin.action(description="Close the selected markets")
    def close_markets(self, request: HttpRequest, queryset: QuerySet[Market]) -> None:
        self._set_status(request, queryset, MarketStatus.CLOSED, "closed")

    def _set_status(
        self, request: HttpRequest, queryset: QuerySet[Market], status: MarketStatus, verb: str
    ) -> None:
        symbols = list(queryset.exclude(status=status).values_list("symbol", flat=True))
        changed = queryset.exclude(status=status).update(status=status)
        if changed:
            announce_market_change()
            operator_log.record(
                operator_log.admin_operator(request),
                f"{status.value}_markets",
                ", ".join(symbols),
                {"status": status.value, "markets": symbols},
            )
        self.message_user(request, f"{changed} market(s) {verb}.", messages.SUCCESS)
