# Fewer index writes per ledger entry, trade and hold (ADR 0003, "Fewer index writes").
# hold_user_open is made before the user column's own index goes: MariaDB
# keeps a foreign key only while an index leads with its column. Django drops
# and re-adds the user constraint to alter the field; with foreign key checks
# off (the rows were just checked by the same constraint) MariaDB re-adds it
# in place instead of copying the table.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _asset_link() -> models.ForeignKey:
    return models.ForeignKey(
        db_constraint=False,
        db_index=False,
        on_delete=django.db.models.deletion.PROTECT,
        related_name="+",
        to="exchange.asset",
    )


def _foreign_key_checks(enabled: bool):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "mysql":  # a session setting, not DDL
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(f"SET foreign_key_checks = {int(enabled)}")

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0003_ledger_fee"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="orderhold",
            index=models.Index(fields=["user", "is_open"], name="hold_user_open"),
        ),
        migrations.RemoveIndex(model_name="orderhold", name="hold_open_user"),
        migrations.RunPython(_foreign_key_checks(False), _foreign_key_checks(True)),
        migrations.AlterField(
            model_name="orderhold",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(_foreign_key_checks(True), _foreign_key_checks(False)),
        migrations.AlterField(model_name="orderhold", name="asset", field=_asset_link()),
        migrations.AlterField(model_name="ledgerentry", name="asset", field=_asset_link()),
        migrations.AlterField(model_name="trade", name="maker_fee_asset", field=_asset_link()),
        migrations.AlterField(model_name="trade", name="taker_fee_asset", field=_asset_link()),
    ]
