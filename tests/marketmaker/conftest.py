"""The real stack of the browser tests (tests/web): daphne and the workers."""

from tests.web.conftest import fee_account, stack, web_settings

__all__ = ["fee_account", "stack", "web_settings"]
