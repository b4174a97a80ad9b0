"""The market maker's settings, its place in `make run`'s Procfile, and a round that fails."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from exchange.management.commands.run_market_maker import Command
from exchange.marketmaker.client import ApiClient
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


def test_a_failed_round_is_logged_and_the_next_one_comes(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        maker = ApiClient("http://127.0.0.1:9", "sk_x", base64.b64encode(bytes(32)).decode())

        def step(self) -> None:
            raise ValueError("an answer that is not JSON")

    with caplog.at_level("WARNING", logger="spot.market_maker"):
        Command()._round(Broken())  # type: ignore[arg-type]
    assert "round failed" in caplog.text and "not JSON" in caplog.text
