"""A hold remembers its amends, so matching's answer to the latest can size it exactly (ADR 0003).

Both columns have defaults in the database (MariaDB adds them in place), so
workers of the previous release go on inserting holds while it is applied;
a hold with no amend answered is counted from its whole size, as before.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0010_client_order_id_window"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderhold",
            name="amends_sent",
            field=models.PositiveIntegerField(
                db_default=0,
                default=0,
                help_text="Amends sent to matching; its answer to the latest releases any surplus.",
            ),
        ),
        migrations.AddField(
            model_name="orderhold",
            name="filled_when_sized",
            field=models.DecimalField(db_default=0, decimal_places=18, default=0, max_digits=36),
        ),
    ]
