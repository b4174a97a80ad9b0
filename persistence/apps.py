from __future__ import annotations

from django.apps import AppConfig


class PersistenceConfig(AppConfig):
    name = "persistence"
    verbose_name = "Persistence"
    default_auto_field = "django.db.models.BigAutoField"
