"""The market maker's settings: amounts per asset, and its place in `make run`'s Procfile."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from spot.env import env_amounts


def test_it_reads_amounts_per_asset() -> None:
    amounts = env_amounts("MARKET_MAKER_FUNDS", "", environ={"MARKET_MAKER_FUNDS": "btc=2, USDT=1000.5"})
    assert amounts == {"BTC": Decimal(2), "USDT": Decimal("1000.5")}


@pytest.mark.parametrize("value", ["BTC", "BTC=0", "BTC=-1", "BTC=lots", "=5", "BTC=NaN"])
def test_it_refuses_an_amount_that_is_not_positive(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="MARKET_MAKER_FUNDS: expected ASSET=positive amount"):
        env_amounts("MARKET_MAKER_FUNDS", "", environ={"MARKET_MAKER_FUNDS": value})


@pytest.mark.parametrize("enabled", [True, False])
def test_the_procfile_runs_the_maker_only_when_it_is_enabled(
    enabled: bool, settings: Any, db: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.MARKET_MAKER_ENABLED = enabled
    call_command("worker_procfile")
    lines = capsys.readouterr().out.splitlines()
    assert ("market-maker: python manage.py run_market_maker" in lines) is enabled


def test_a_disabled_maker_exits_at_once(settings: Any, db: Any, caplog: pytest.LogCaptureFixture) -> None:
    settings.MARKET_MAKER_ENABLED = False
    with caplog.at_level("INFO", logger="spot.market_maker"):
        call_command("run_market_maker")
    assert "disabled" in caplog.text
