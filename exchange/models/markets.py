"""Assets and the markets that trade them."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from exchange.models.fields import amount_field, rate_field


class Asset(models.Model):
    code = models.CharField(
        max_length=16,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9]{2,16}$", "Upper-case letters and digits only.")],
    )
    name = models.CharField(max_length=64, blank=True)
    display_precision = models.PositiveSmallIntegerField(
        default=8, help_text="Decimal places shown to traders."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(display_precision__lte=18), name="asset_precision_at_most_18"
            )
        ]

    def __str__(self) -> str:
        return self.code


class MarketStatus(models.TextChoices):
    TRADING = "trading", "Trading"
    HALTED = "halted", "Halted"
    CLOSED = "closed", "Closed"


_POSITIVE = [MinValueValidator(Decimal("0.000000000000000001"))]


class Market(models.Model):
    symbol = models.CharField(
        max_length=33,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9]{2,16}/[A-Z0-9]{2,16}$", "Like BTC/USDT.")],
    )
    base = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="base_markets")
    quote = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="quote_markets")
    tick_size = amount_field(validators=_POSITIVE, help_text="Price increment, in quote.")
    lot_size = amount_field(validators=_POSITIVE, help_text="Quantity increment, in base.")
    min_quantity = amount_field(default=Decimal(0), help_text="Smallest order, in base.")
    min_notional = amount_field(default=Decimal(0), help_text="Smallest price times quantity.")
    maker_fee_rate = rate_field(default=Decimal("0.001"))
    taker_fee_rate = rate_field(default=Decimal("0.001"))
    status = models.CharField(max_length=8, choices=MarketStatus.choices, default=MarketStatus.TRADING)
    shard_override = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Matching shard for this market; empty means SYMBOL_SHARDS decides.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(condition=models.Q(tick_size__gt=0), name="market_tick_positive"),
            models.CheckConstraint(condition=models.Q(lot_size__gt=0), name="market_lot_positive"),
            models.CheckConstraint(
                condition=models.Q(min_quantity__gte=0, min_notional__gte=0),
                name="market_minimums_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(
                    maker_fee_rate__gte=0,
                    maker_fee_rate__lt=1,
                    taker_fee_rate__gte=0,
                    taker_fee_rate__lt=1,
                ),
                name="market_fee_rates_in_range",
            ),
            models.CheckConstraint(
                condition=~models.Q(base=models.F("quote")), name="market_base_differs_from_quote"
            ),
            models.UniqueConstraint(fields=["base", "quote"], name="market_unique_pair"),
        ]

    def __str__(self) -> str:
        return self.symbol

    @property
    def is_trading(self) -> bool:
        return self.status == MarketStatus.TRADING

    def clean(self) -> None:
        if self.base_id and self.quote_id:
            if self.base_id == self.quote_id:
                raise ValidationError("Base and quote must differ.")
            expected = f"{self.base.code}/{self.quote.code}"
            if self.symbol and self.symbol != expected:
                raise ValidationError({"symbol": f"Symbol must be {expected}."})
            if not self.symbol:
                self.symbol = expected
        for field in ("min_quantity",):
            value = getattr(self, field)
            if value and self.lot_size and value % self.lot_size:
                raise ValidationError({field: "Must be a multiple of the lot size."})
