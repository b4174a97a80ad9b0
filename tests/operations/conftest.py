"""The in-process pipeline of tests/pipeline, for the operators' commands that audit and load it."""

from __future__ import annotations

from tests.pipeline.conftest import Pipeline, eth_usdt, fee_account, pipeline

__all__ = ["Pipeline", "eth_usdt", "fee_account", "pipeline"]
