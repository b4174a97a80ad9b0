"""Demo data: assets, the plan's four markets, traders with keys and funds, an admin.

alice and bob also get a password, to log in on the market page (/login/).

Safe to run again: what exists is left as it is.
"""

from __future__ import annotations

import json
import os
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from exchange.models import Asset, Balance, LedgerKind, Market
from exchange.services.api_keys import issue_api_key
from exchange.services.balances import BalanceChange, request_balance_change
from spot.redis_connection import key, redis_client

ASSETS = [
    ("USDT", "Tether USD", 6),
    ("BTC", "Bitcoin", 8),
    ("ETH", "Ether", 8),
    ("SOL", "Solana", 8),
    ("DOGE", "Dogecoin", 8),
]
# symbol, tick size, lot size, min quantity, min notional
MARKETS = [
    ("BTC/USDT", "0.01", "0.00001", "0.00001", "5"),
    ("ETH/USDT", "0.01", "0.0001", "0.0001", "5"),
    ("SOL/USDT", "0.001", "0.001", "0.001", "5"),
    ("DOGE/USDT", "0.00001", "1", "1", "5"),
]
TRADERS = {
    "alice": {"USDT": "100000", "BTC": "2", "ETH": "20"},
    "bob": {"USDT": "100000", "BTC": "2", "SOL": "500"},
    "maker": {"USDT": "1000000", "BTC": "50", "ETH": "500", "SOL": "10000", "DOGE": "1000000"},
}
# Traders who may log in on the market page; the others trade only with their API keys.
PAGE_TRADERS = ("alice", "bob")
SEED_REFERENCE = "seed_demo"
CREDENTIALS_FILE = "demo-credentials.json"


class Command(BaseCommand):
    help = "Create demo assets, markets, traders with API keys and balances, and an admin user."

    def handle(self, *args: Any, **options: Any) -> None:
        credentials_path = Path(settings.VAR_DIR) / CREDENTIALS_FILE
        credentials = self._load(credentials_path)
        with transaction.atomic():
            assets = self._assets()
            self._markets(assets)
            self._fee_account()
            created_admin = self._admin(credentials)
            for username, funds in TRADERS.items():
                self._trader(username, funds, credentials)
        self._save(credentials_path, credentials)
        self._print_login(credentials, credentials_path, created_admin)

    def _assets(self) -> dict[str, Asset]:
        assets = {}
        for code, name, precision in ASSETS:
            assets[code], _ = Asset.objects.get_or_create(
                code=code, defaults={"name": name, "display_precision": precision}
            )
        return assets

    def _markets(self, assets: dict[str, Asset]) -> None:
        for symbol, tick, lot, min_qty, min_notional in MARKETS:
            base, quote = symbol.split("/")
            Market.objects.get_or_create(
                symbol=symbol,
                defaults={
                    "base": assets[base],
                    "quote": assets[quote],
                    "tick_size": Decimal(tick),
                    "lot_size": Decimal(lot),
                    "min_quantity": Decimal(min_qty),
                    "min_notional": Decimal(min_notional),
                },
            )

    def _fee_account(self) -> None:
        user, created = get_user_model().objects.get_or_create(username=settings.FEE_ACCOUNT_USERNAME)
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])

    def _admin(self, credentials: dict[str, Any]) -> bool:
        User = get_user_model()
        if User.objects.filter(username="admin").exists():
            return False
        password = os.environ.get("DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@example.com", password)
        credentials["admin"] = {"username": "admin", "password": password}
        return True

    def _trader(self, username: str, funds: dict[str, str], credentials: dict[str, Any]) -> None:
        user, created = get_user_model().objects.get_or_create(username=username)
        if created and username in PAGE_TRADERS:
            password = os.environ.get("DEMO_TRADER_PASSWORD") or secrets.token_urlsafe(12)
            user.set_password(password)
            user.save(update_fields=["password"])
            credentials.setdefault("traders", {})[username] = {"username": username, "password": password}
        elif created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        if not user.api_keys.exists():
            issued = issue_api_key(user, label="demo", can_read=True, can_trade=True)
            credentials.setdefault("api_keys", {})[username] = {
                "key_id": issued.api_key.key_id,
                "private_key": issued.private_key,
            }
        for code, amount in funds.items():
            if Balance.objects.filter(user=user, asset__code=code).exists():
                continue
            # Deposits are applied by the accounts worker, maybe much later;
            # the marker keeps a second run from queueing them again.
            if redis_client().set(key("seed_demo", user.pk, code), amount, nx=True):
                request_balance_change(
                    BalanceChange(user.pk, code, LedgerKind.DEPOSIT, Decimal(amount), SEED_REFERENCE)
                )

    @staticmethod
    def _load(path: Path) -> dict[str, Any]:
        try:
            loaded: dict[str, Any] = json.loads(path.read_text())
            return loaded
        except (OSError, ValueError):
            return {}

    @staticmethod
    def _save(path: Path, credentials: dict[str, Any]) -> None:
        if not credentials:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # Private keys and a password: readable by the owner only.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(credentials, handle, indent=2)

    def _print_login(self, credentials: dict[str, Any], path: Path, created_admin: bool) -> None:
        admin = credentials.get("admin")
        if admin:
            state = "created" if created_admin else "exists"
            self.stdout.write(
                f"Admin ({state}): http://127.0.0.1:8000/admin/  "
                f"user {admin['username']} / password {admin['password']}"
            )
        else:
            self.stdout.write(
                "Admin user 'admin' exists; set a password with: python manage.py changepassword admin"
            )
        for trader in credentials.get("traders", {}).values():
            self.stdout.write(
                f"Trader on the market page: http://127.0.0.1:8000/login/  "
                f"user {trader['username']} / password {trader['password']}"
            )
        if credentials.get("api_keys"):
            self.stdout.write(f"Demo traders' API keys (Ed25519, private halves): {path}")
