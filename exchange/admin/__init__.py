"""Django admin for exchange operators."""

from exchange.admin import accounts, console, markets, trading  # noqa: F401  (registers the admins)
