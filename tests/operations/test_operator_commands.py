"""The operators' management commands: what the admin does, from a shell, each audited."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from exchange.models import ApiKey, Asset, Balance, FrozenAccount, LedgerEntry, Market, OperatorAction, Order
from exchange.pipeline.keys import accounts_keys
from exchange.pipeline.messages import decode
from exchange.services.api_keys import issue_api_key
from exchange.services.dead_letters import dead_letters

User = get_user_model()


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, "--operator", "ops-jane", stdout=out)
    return out.getvalue()


def last_action() -> OperatorAction:
    return OperatorAction.objects.order_by("-id").first()  # type: ignore[return-value]


@pytest.mark.django_db
def test_create_trader_makes_a_user_with_a_trading_key_and_prints_its_private_half_once():
    out = run("create_trader", "carol", "--api-key", "--trade")

    carol = User.objects.get(username="carol")
    key = ApiKey.objects.get(user=carol)
    assert "created trader carol" in out
    assert key.key_id in out and "private key:" in out
    assert key.can_trade and not carol.has_usable_password()
    action = last_action()
    assert (action.operator, action.via, action.action, action.target) == (
        "ops-jane",
        "command",
        "create_trader",
        "user carol",
    )


@pytest.mark.django_db
def test_create_trader_refuses_a_taken_name(alice):
    with pytest.raises(CommandError, match="already exists"):
        run("create_trader", "alice")
    assert not OperatorAction.objects.exists()


@pytest.mark.django_db
def test_issue_and_revoke_api_key(alice, redis_conn):
    out = run("issue_api_key", "alice", "--label", "bot", "--trade")
    key = ApiKey.objects.get(user=alice)
    assert key.key_id in out and key.scopes == ["read", "trade"]
    assert last_action().action == "issue_api_key"

    out = run("revoke_api_key", key.key_id)

    key.refresh_from_db()
    assert not key.is_active
    assert f"revoked 1 key(s): {key.key_id}" in out
    assert last_action().target == f"key {key.key_id}"


@pytest.mark.django_db
def test_issue_api_key_prints_the_pem_form_and_makes_hmac_keys(alice):
    from exchange.services import api_secrets

    out = run("issue_api_key", "alice", "--trade")
    assert "-----BEGIN PRIVATE KEY-----" in out
    out = run("issue_api_key", "alice", "--hmac", "--label", "ccxt")
    key = ApiKey.objects.get(user=alice, label="ccxt")
    secret = out.split("secret: ")[1].split()[0]
    assert key.kind == ApiKey.HMAC and api_secrets.decrypt(key.encrypted_secret) == secret
    assert last_action().detail["kind"] == "HMAC"


@pytest.mark.django_db
def test_issue_api_key_takes_a_traders_own_public_key_and_refuses_a_bad_one(alice):
    from exchange.api.signing import private_key_from_text
    from exchange.services.api_keys import _b64_public

    own = issue_api_key(alice)
    public = _b64_public(private_key_from_text(own.private_key or "").public_key())
    out = run("issue_api_key", "alice", "--public-key", public)
    assert "private key" not in out

    with pytest.raises(CommandError, match="public-key"):
        run("issue_api_key", "alice", "--public-key", "not-a-key")


@pytest.mark.django_db
def test_revoke_api_key_refuses_unknown_ids_and_revokes_nothing(alice):
    key = issue_api_key(alice).api_key
    with pytest.raises(CommandError, match="no API key sk_nope"):
        run("revoke_api_key", key.key_id, "sk_nope")
    key.refresh_from_db()
    assert key.is_active


@pytest.mark.django_db
def test_create_asset_and_its_errors():
    assert "created asset ETH (18 places)" in run(
        "create_asset", "ETH", "--name", "Ether", "--precision", "18"
    )
    assert last_action().action == "create_asset"
    with pytest.raises(CommandError, match="code"):
        run("create_asset", "eth!")
    with pytest.raises(CommandError, match="precision"):
        run("create_asset", "XRP", "--precision", "19")


def test_create_market_announces_it_and_the_workers_trade_it(pipeline, alice):
    run("create_asset", "SOL", "--precision", "8")

    out = run("create_market", "SOL/USDT", "--tick", "0.01", "--lot", "0.001", "--min-notional", "1")

    assert "created market SOL/USDT" in out and "the workers are told" in out
    assert last_action().target == "market SOL/USDT"
    pipeline.deposit(alice, "USDT", "100")
    order = pipeline.place(alice, "SOL/USDT", "BUY", price="10.00", quantity="1")
    pipeline.run()
    assert Order.objects.get(pk=order).status == "NEW"


@pytest.mark.django_db
def test_create_market_says_what_is_wrong(usdt, redis_conn):
    with pytest.raises(CommandError, match="unknown asset DOGE"):
        run("create_market", "DOGE/USDT", "--tick", "0.01", "--lot", "1")
    Asset.objects.create(code="DOGE")
    with pytest.raises(CommandError, match="not a decimal"):
        run("create_market", "DOGE/USDT", "--tick", "abc", "--lot", "1")
    with pytest.raises(CommandError, match="tick_size"):
        run("create_market", "DOGE/USDT", "--tick", "0", "--lot", "1")
    assert not Market.objects.exists()
    assert redis_conn.xlen(accounts_keys(0).stream) == 0


def test_deposit_and_withdraw_reach_the_ledger_with_the_operators_reference(pipeline, alice):
    out = run("deposit", "alice", "usdt", "250.5", "--reference", "TX-1")
    assert "deposit of 250.5 USDT for alice queued" in out
    pipeline.run()
    run("withdraw", "alice", "USDT", "50", "--reference", "TX-2")
    pipeline.run()

    balance = Balance.objects.get(user=alice, asset__code="USDT")
    assert balance.available == Decimal("200.5")
    assert sorted(LedgerEntry.objects.filter(user=alice).values_list("reference", flat=True)) == [
        "TX-1",
        "TX-2",
    ]
    assert [a.action for a in OperatorAction.objects.order_by("id")] == ["deposit", "withdrawal"]
    assert last_action().detail["amount"] == "50"


@pytest.mark.django_db
def test_a_retried_deposit_with_its_request_id_is_queued_once(alice, usdt, redis_conn):
    run("deposit", "alice", "USDT", "1", "--request-id", "ticket-9")
    out = run("deposit", "alice", "USDT", "1", "--request-id", "ticket-9")

    assert "not sent again" in out
    assert redis_conn.xlen(accounts_keys(0).stream) == 1
    assert OperatorAction.objects.count() == 1


@pytest.mark.django_db
def test_funds_commands_refuse_what_the_admin_refuses(alice, usdt, redis_conn):
    with pytest.raises(CommandError, match="withdrawal refused: USDT available is 0"):
        run("withdraw", "alice", "USDT", "5")
    with pytest.raises(CommandError, match="unknown asset"):
        run("deposit", "alice", "NOPE", "5")
    with pytest.raises(CommandError, match="no user 'zed'"):
        run("deposit", "zed", "USDT", "5")
    with pytest.raises(CommandError, match="positive"):
        run("deposit", "alice", "USDT", "-5")
    assert redis_conn.xlen(accounts_keys(0).stream) == 0
    assert not OperatorAction.objects.exists()


@pytest.mark.django_db
def test_freeze_and_unfreeze(alice, redis_conn):
    assert "alice frozen" in run("freeze_user", "alice", "--reason", "chargeback")
    assert FrozenAccount.objects.get(user=alice).reason == "chargeback"
    assert redis_conn.sismember(accounts_keys(0).frozen, alice.pk)
    assert "already frozen" in run("freeze_user", "alice")

    redis_conn.delete(accounts_keys(0).frozen)
    assert "1 user(s) frozen" in run("freeze_user", "--restore-flags")
    assert redis_conn.sismember(accounts_keys(0).frozen, alice.pk)

    assert "alice unfrozen" in run("unfreeze_user", "alice")
    assert not redis_conn.sismember(accounts_keys(0).frozen, alice.pk)
    assert [a.action for a in OperatorAction.objects.order_by("id")] == [
        "freeze_user",
        "freeze_user",
        "restore_frozen_flags",
        "unfreeze_user",
    ]
    with pytest.raises(CommandError, match="name the user"):
        run("freeze_user")


def test_cancel_orders_by_user_and_by_market(pipeline, alice, bob):
    pipeline.deposit(alice, "USDT", "1000")
    pipeline.deposit(bob, "BTC", "1")
    pipeline.run()
    alice_btc = pipeline.place(alice, "BTC/USDT", "BUY", price="90.00", quantity="1")
    alice_eth = pipeline.place(alice, "ETH/USDT", "BUY", price="10.00", quantity="1")
    bob_btc = pipeline.place(bob, "BTC/USDT", "SELL", price="110.00", quantity="0.5")
    pipeline.run()

    run("cancel_orders", "--user", "alice", "--market", "ETH/USDT")
    pipeline.run()
    assert [Order.objects.get(pk=pk).status for pk in (alice_btc, alice_eth, bob_btc)] == [
        "NEW",
        "CANCELED",
        "NEW",
    ]

    out = run("cancel_orders", "--market", "BTC/USDT")
    pipeline.run()
    assert "every order in BTC/USDT" in out
    assert [Order.objects.get(pk=pk).status for pk in (alice_btc, bob_btc)] == ["CANCELED", "CANCELED"]
    assert [a.action for a in OperatorAction.objects.order_by("id")] == [
        "cancel_user_orders",
        "cancel_market_orders",
    ]
    with pytest.raises(CommandError, match="give --user"):
        run("cancel_orders")
    with pytest.raises(CommandError, match="no market"):
        run("cancel_orders", "--market", "XYZ/USDT")


def test_dead_letters_list_replay_discard(pipeline, redis_conn):
    for cid in ("one", "two"):
        place = {"t": "place", "uid": 987654, "cid": cid, "m": "BTC/USDT", "side": "BUY", "type": "LIMIT"}
        redis_conn.xadd(accounts_keys(0).stream, {"d": json.dumps(place)})
    pipeline.run()
    first, second = sorted(dead_letters(redis_conn), key=lambda letter: letter.id)

    listing = run("dead_letters", "list")
    assert "2 dead letter(s)" in listing and "unknown user 987654" in listing and first.id in listing

    out = run("dead_letters", "replay", "accounts-0", first.id)
    entry = out.rsplit(" ", 1)[-1].strip()
    [(_, fields)] = redis_conn.xrange(accounts_keys(0).stream, entry, entry)
    assert decode(fields)["cid"] == "one"

    run("dead_letters", "discard", "accounts-0", second.id)
    pipeline.run()  # the replayed entry is dead-lettered again: the user still does not exist
    [again] = dead_letters(redis_conn)
    assert again.fields["d"] == first.fields["d"]
    assert [a.action for a in OperatorAction.objects.order_by("id")] == [
        "replay_dead_letter",
        "discard_dead_letter",
    ]
    with pytest.raises(CommandError, match="has no dead letter"):
        run("dead_letters", "discard", "accounts-0", second.id)
    with pytest.raises(CommandError, match="no worker 'accounts-9'"):
        run("dead_letters", "replay", "accounts-9", "1-0")
    with pytest.raises(CommandError, match="needs the worker"):
        run("dead_letters", "replay")
