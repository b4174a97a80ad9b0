"""`manage.py provision_load_users`: users, trading keys and deposits through the pipeline, once."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from exchange.api.signing import private_key_from_text
from exchange.models import ApiKey, Balance
from exchange.pipeline.keys import accounts_keys
from exchange.services.api_keys import load_public_key
from tests.operations.conftest import Pipeline


def provision(out: Path, count: int = 3, deposit: str = "USDT=1000000,BTC=100") -> str:
    output = StringIO()
    call_command(
        "provision_load_users",
        "--count",
        str(count),
        "--prefix",
        "load",
        "--deposit",
        deposit,
        "--out",
        str(out),
        stdout=output,
    )
    return output.getvalue()


def test_it_makes_users_with_trading_keys_and_funds_them_through_the_accounts_stream(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    out = tmp_path / "load-users.json"

    printed = provision(out)
    pipeline.run()

    users = json.loads(out.read_text())["users"]
    assert [user["username"] for user in users] == ["load-0000", "load-0001", "load-0002"]
    assert out.stat().st_mode & 0o777 == 0o600
    for user in users:
        key = ApiKey.objects.get(key_id=user["key_id"], user_id=user["user_id"])
        assert key.can_trade and key.is_active
        signature = private_key_from_text(user["private_key"]).sign(b"probe")
        load_public_key(key.public_key).verify(signature, b"probe")  # raises if the halves differ
    balances = set(Balance.objects.values_list("user__username", "asset__code", "available"))
    assert balances == {
        (f"load-000{i}", code, Decimal(amount))
        for i in range(3)
        for code, amount in (("USDT", 1000000), ("BTC", 100))
    }
    assert "3 load users" in printed and "6 deposits queued" in printed


def test_running_it_again_changes_nothing(pipeline: Pipeline, tmp_path: Path, redis_conn: Any) -> None:
    out = tmp_path / "load-users.json"
    provision(out)
    stream = accounts_keys(0).stream
    queued_once = redis_conn.xlen(stream)

    provision(out)  # before the worker applied the deposits
    pipeline.run()
    first_file = out.read_text()
    provision(out)  # after
    pipeline.run()

    assert redis_conn.xlen(stream) == queued_once
    assert out.read_text() == first_file
    assert ApiKey.objects.count() == 3
    assert set(Balance.objects.values_list("available", flat=True)) == {Decimal(1000000), Decimal(100)}


def test_a_lost_keys_file_gets_new_keys_and_the_old_ones_are_revoked(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    out = tmp_path / "load-users.json"
    provision(out, count=1)
    old_key = json.loads(out.read_text())["users"][0]["key_id"]
    out.unlink()

    provision(out, count=1)

    new_key = json.loads(out.read_text())["users"][0]["key_id"]
    assert new_key != old_key
    assert not ApiKey.objects.get(key_id=old_key).is_active
    assert ApiKey.objects.get(key_id=new_key).is_active


def test_it_refuses_an_unknown_asset_before_making_anything(pipeline: Pipeline, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="unknown asset 'XYZ'"):
        provision(tmp_path / "keys.json", deposit="XYZ=5")

    assert not ApiKey.objects.exists()
