"""The demo market maker and taker (`manage.py run_market_maker`): outside traders of the exchange.

They trade only through the REST API with their own signed keys, as any bot
would; nothing here touches the order pipeline directly.
"""
