from __future__ import annotations

from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    name = "exchange"
    verbose_name = "Exchange"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from exchange import checks  # noqa: F401  (registers the system checks)
        from exchange.api.keys import connect_signals

        # Every process, not only those serving the API: a revoke from a shell
        # or a worker must reach the API's key cache at once.
        connect_signals()
