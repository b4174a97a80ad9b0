"""A client order id may name a new order once the last is done and its window passed (ADR 0015).

The index comes first: it also serves the user foreign key, which MySQL will
not leave without an index when the unique one goes.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0009_order_stop_gtd_iceberg"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["user", "client_order_id", "-id"], name="order_user_client_id"),
        ),
        migrations.RemoveConstraint(
            model_name="order",
            name="order_unique_client_id",
        ),
    ]
