"""Balances exact on SQLite: their two columns become TEXT there (exchange.models.fields.ExactDecimalField).

On MySQL and MariaDB the column stays DECIMAL(36,18): nothing is altered.
On SQLite the table is rebuilt; a balance already stored as a float is
copied as its text.
"""

from decimal import Decimal

from django.db import migrations

import exchange.models.fields


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0013_trader_lists_by_time"),
    ]

    operations = [
        migrations.AlterField(
            model_name="balance",
            name="available",
            field=exchange.models.fields.ExactDecimalField(
                decimal_places=18, default=Decimal("0"), max_digits=36
            ),
        ),
        migrations.AlterField(
            model_name="balance",
            name="locked",
            field=exchange.models.fields.ExactDecimalField(
                decimal_places=18, default=Decimal("0"), max_digits=36
            ),
        ),
    ]
