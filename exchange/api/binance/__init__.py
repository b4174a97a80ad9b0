"""A Binance-compatible facade under /api/v3: Binance's clients (ccxt, python-binance) unchanged.

Paths, parameters, answers and error bodies follow Binance's spot REST API;
underneath is the exchange's one order flow (exchange.api.placing and
friends): the same validation, idempotency, rate limits and pipeline as
/api/v1. See docs/adr/0009-binance-compatible-api.md and the README's
"Use your existing Binance client".
"""
