"""The live audit reads what is open and what came from outside, not the whole history.

Without these, `run_invariants` read every ledger entry (for the deposits,
withdrawals and adjustments) and every hold ever made (for the open ones)
every 30 s, a cost that grew with every order (docs/adr/0019). MariaDB
builds a secondary index in place without blocking writes, so the workers
keep committing while this is applied.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0011_order_hold_amend_answers"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(fields=["kind"], name="ledger_kind"),
        ),
        migrations.AddIndex(
            model_name="orderhold",
            index=models.Index(fields=["is_open"], name="hold_open"),
        ),
    ]
