"""Where each worker stands in its input stream."""

from __future__ import annotations

from typing import Any

from django.db import models


def _no_producers() -> dict[str, Any]:
    return {}


class StreamOffset(models.Model):
    """The last stream entry whose effects are committed, per consuming worker.

    Written in the same transaction as those effects, so after a crash the
    worker resumes right after what the database already holds. The lease
    epoch fences a leader that lost its lease: its commit is refused.
    """

    consumer = models.CharField(max_length=64, primary_key=True, help_text="e.g. matching-3")
    stream = models.CharField(max_length=128)
    last_entry_id = models.CharField(max_length=32, default="0-0")
    lease_epoch = models.BigIntegerField(default=0)
    producer_sequences = models.JSONField(
        default=_no_producers, help_text="Last sequence applied from each producer."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["consumer"]

    def __str__(self) -> str:
        return f"{self.consumer} @ {self.last_entry_id}"
