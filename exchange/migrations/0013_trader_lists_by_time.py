"""A trader's orders and trades of a market from or up to a time, read from an index led by the time.

Binance's allOrders and myTrades with startTime or endTime (ccxt's `since`)
filtered on the time with no index leading with it: MariaDB walked the
user's orders or trades of that market from the oldest (or the newest) to
the first one in the window, a cost that grew with the history
(docs/adr/0019). MariaDB builds a secondary index in place without
blocking writes, so the workers keep committing while this is applied.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0012_live_audit_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["user", "market", "created_at"], name="order_user_market_time"),
        ),
        migrations.AddIndex(
            model_name="trade",
            index=models.Index(
                fields=["maker_user", "market", "executed_at"], name="trade_maker_market_time"
            ),
        ),
        migrations.AddIndex(
            model_name="trade",
            index=models.Index(
                fields=["taker_user", "market", "executed_at"], name="trade_taker_market_time"
            ),
        ),
    ]
