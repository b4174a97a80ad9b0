"""What a user holds: balances per asset and the API keys that act for them."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from exchange.models.fields import amount_field, balance_field
from exchange.models.markets import Asset


class Balance(models.Model):
    """Funds of one user in one asset.

    Only the accounts stage changes these (see exchange.services.balances);
    `locked` holds funds reserved by open orders.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="balances")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="balances")
    available = balance_field(default=Decimal(0))
    locked = balance_field(default=Decimal(0))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [("change_funds", "Can deposit, withdraw and adjust balances")]
        constraints = [
            models.UniqueConstraint(fields=["user", "asset"], name="balance_unique_user_asset"),
            models.CheckConstraint(
                condition=models.Q(available__gte=0), name="balance_available_not_negative"
            ),
            models.CheckConstraint(condition=models.Q(locked__gte=0), name="balance_locked_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.asset}"

    @property
    def total(self) -> Decimal:
        return self.available + self.locked


class ApiKey(models.Model):
    """A key a trader signs requests with: Ed25519, or an HMAC secret for Binance's clients.

    Of an Ed25519 key only the public half is stored, so a copy of the
    database cannot be used to sign requests; the private half is shown once,
    when the key is made. An HMAC secret can only be checked if the server
    keeps it: it is stored encrypted (exchange.services.api_secrets), shown
    once, and such a key signs only on the Binance-compatible /api/v3.
    """

    ED25519 = "ED25519"
    HMAC = "HMAC"
    KINDS = [(ED25519, "Ed25519"), (HMAC, "HMAC-SHA256 (Binance-compatible API only)")]

    key_id = models.CharField(max_length=32, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=8, choices=KINDS, default=ED25519)
    public_key = models.CharField(max_length=64, blank=True, help_text="Raw Ed25519 public key, base64.")
    encrypted_secret = models.CharField(
        max_length=255, blank=True, editable=False, help_text="An HMAC key's secret, Fernet-encrypted."
    )
    can_read = models.BooleanField(default=True)
    can_trade = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        indexes = [models.Index(fields=["user", "revoked_at"], name="apikey_user_active")]

    def __str__(self) -> str:
        return f"{self.key_id} ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def scopes(self) -> list[str]:
        return [name for name, on in (("read", self.can_read), ("trade", self.can_trade)) if on]

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])


class OrderHold(models.Model):
    """Funds the accounts stage holds for one open order, until the order ends.

    Persisted with the balances so that a restarted accounts worker knows
    what each open order may still spend and what to release when it ends.
    """

    order_id = models.BigIntegerField(primary_key=True)
    # hold_user_open leads with the user: it serves the constraint and the loader.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    market_symbol = models.CharField(max_length=33)
    client_order_id = models.CharField(max_length=36)
    remaining = amount_field(help_text="What the order may still spend.")
    # The highest limit price and the largest size (filled included) the order
    # has been sent with since its hold was last sized exactly, and what had
    # filled then: what an amend's extra hold is counted from (ADR 0003).
    price = amount_field(null=True, blank=True)
    quantity = amount_field(null=True, blank=True)
    # Defaults in the database too: workers of the previous release, still
    # running while the migration is applied, insert holds without them.
    filled_when_sized = amount_field(default=0, db_default=0)
    amends_sent = models.PositiveIntegerField(
        default=0,
        db_default=0,
        help_text="Amends sent to matching; its answer to the latest releases any surplus.",
    )
    is_open = models.BooleanField(default=True)
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["user", "is_open"], name="hold_user_open"),
            # The live audit's open holds without reading every hold ever made; holds open and
            # close in about the order of their ids, so both ends of it stay in a few pages.
            models.Index(fields=["is_open"], name="hold_open"),
        ]

    def __str__(self) -> str:
        return f"hold of order {self.order_id}"
