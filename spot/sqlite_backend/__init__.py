"""Django's SQLite backend, reading exactly the amounts it stores as text (spot/sqlite_backend/base.py)."""
