from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from exchange.models import (
    ApiKey,
    Asset,
    Balance,
    LedgerEntry,
    LedgerKind,
    OperatorAction,
    Order,
    OrderHold,
    Trade,
)
from exchange.pipeline.keys import accounts_keys
from exchange.pipeline.messages import decode
from exchange.pipeline.workers import AccountsWorker
from exchange.services.api_keys import issue_api_key
from persistence.models import StreamOffset

User = get_user_model()


def give(user, code: str, amount: str) -> None:
    """Test data straight into the tables (operators go through the accounts stream)."""
    balance = Balance.objects.create(user=user, asset=Asset.objects.get(code=code), available=Decimal(amount))
    LedgerEntry.objects.create(
        id=LedgerEntry.objects.count() + 1,
        user=user,
        asset=balance.asset,
        kind=LedgerKind.DEPOSIT,
        available_delta=balance.available,
        available_after=balance.available,
        locked_after=Decimal(0),
        created_at=timezone.now(),
    )


@pytest.fixture
def populated(alice, bob, operator, btc_usdt):
    """One row of every model the admin shows."""
    give(alice, "USDT", "1000")
    issue_api_key(alice, label="bot", can_trade=True)
    now = timezone.now()
    maker = Order.objects.create(
        id=11,
        user=bob,
        market=btc_usdt,
        client_order_id="b1",
        side="SELL",
        type="LIMIT",
        price=Decimal("100"),
        quantity=Decimal("1"),
        created_at=now,
        updated_at=now,
    )
    taker = Order.objects.create(
        id=12,
        user=alice,
        market=btc_usdt,
        client_order_id="a1",
        side="BUY",
        type="LIMIT",
        price=Decimal("100"),
        quantity=Decimal("1"),
        created_at=now,
        updated_at=now,
    )
    Trade.objects.create(
        id=21,
        market=btc_usdt,
        price=Decimal("100"),
        quantity=Decimal("1"),
        quote_quantity=Decimal("100"),
        taker_side="BUY",
        maker_order=maker,
        taker_order=taker,
        maker_user=bob,
        taker_user=alice,
        maker_fee_asset=btc_usdt.quote,
        taker_fee_asset=btc_usdt.base,
        executed_at=now,
    )
    StreamOffset.objects.create(consumer="matching-1", stream="spot:{m1}:in", last_entry_id="1-0")
    Group.objects.create(name="support")
    OperatorAction.objects.create(
        operator="operator", via="admin", action="freeze_user", target="user alice", detail={"n": 1}
    )
    OrderHold.objects.create(
        order_id=12,
        user=alice,
        asset=btc_usdt.quote,
        market_symbol="BTC/USDT",
        client_order_id="a1",
        remaining=Decimal("100.1"),
        price=Decimal("100"),
        quantity=Decimal("1"),
        updated_at=timezone.now(),
    )
    return btc_usdt


def registered_models():
    return sorted(admin.site._registry, key=lambda model: model._meta.label)


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_every_list_and_change_page_renders_for_staff(client, populated, operator, model):
    client.force_login(operator)
    assert client.get(admin_url(model, "changelist")).status_code == 200
    obj = model._default_manager.first()
    assert obj is not None, f"the fixture has no {model._meta.label} row"
    assert client.get(admin_url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", registered_models(), ids=lambda m: m._meta.label)
def test_admin_pages_are_refused_to_anonymous_and_to_non_staff(client, populated, alice, model):
    url = admin_url(model, "changelist")
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    client.force_login(alice)
    as_trader = client.get(url)
    assert as_trader.status_code == 302 and "/admin/login/" in as_trader["Location"]


def test_staff_without_permissions_get_403(client, populated):
    clerk = User.objects.create_user("clerk", password="clerk-pass-123", is_staff=True)
    client.force_login(clerk)
    assert client.get(admin_url(Balance, "changelist")).status_code == 403
    assert client.get(admin_url(Balance, "add")).status_code == 403


@pytest.mark.parametrize(
    "model", [Order, Trade, Balance, LedgerEntry, ApiKey, User, OperatorAction], ids=lambda m: m.__name__
)
def test_list_pages_make_the_same_number_of_queries_for_more_rows(client, populated, operator, model):
    client.force_login(operator)
    url = admin_url(model, "changelist")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    _add_more_rows(populated)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert model._default_manager.count() > 1
    assert len(many) == len(few)


def _add_more_rows(market):
    now = timezone.now()
    for n in range(3):
        user = User.objects.create_user(f"more{n}")
        OperatorAction.objects.create(operator="ops", via="command", action="deposit", target=user.username)
        give(user, "BTC", "1")
        issue_api_key(user)
        order = Order.objects.create(
            id=100 + n,
            user=user,
            market=market,
            client_order_id="c",
            side="BUY",
            type="LIMIT",
            price=Decimal("1"),
            quantity=Decimal("1"),
            created_at=now,
            updated_at=now,
        )
        Trade.objects.create(
            id=200 + n,
            market=market,
            price=Decimal("1"),
            quantity=Decimal("1"),
            quote_quantity=Decimal("1"),
            taker_side="BUY",
            maker_order=order,
            taker_order=order,
            maker_user=user,
            taker_user=user,
            maker_fee_asset=market.quote,
            taker_fee_asset=market.base,
            executed_at=now,
        )


def test_the_deposit_form_credits_the_balance_and_writes_a_ledger_entry(
    client, operator, alice, usdt, redis_conn, transactional_db
):
    client.force_login(operator)
    response = client.post(
        admin_url(Balance, "add"),
        {"user": alice.pk, "asset": "USDT", "kind": "DEPOSIT", "amount": "250.5", "reference": "tx-1"},
    )
    assert response.status_code == 302
    assert not Balance.objects.exists(), "the admin never writes a balance itself"
    [(_, fields)] = redis_conn.xrange(accounts_keys(0).stream)
    assert decode(fields)["t"] == "funds"
    worker = AccountsWorker(0, redis_conn)
    assert worker.become_leader()
    worker.step()
    worker.shutdown()
    balance = Balance.objects.get(user=alice, asset=usdt)
    assert balance.available == Decimal("250.5")
    entry = LedgerEntry.objects.get(user=alice, asset=usdt)
    assert (entry.kind, entry.available_delta, entry.available_after) == (
        "DEPOSIT",
        Decimal("250.5"),
        Decimal("250.5"),
    )
    assert (entry.reference, entry.created_by) == ("tx-1", operator)


def test_the_same_deposit_form_sent_twice_is_queued_once(client, operator, alice, usdt, redis_conn):
    client.force_login(operator)
    form = client.get(admin_url(Balance, "add")).content.decode()
    request_id = form.split('name="request_id" value="')[1].split('"')[0]
    data = {"user": alice.pk, "asset": "USDT", "kind": "DEPOSIT", "amount": "5", "request_id": request_id}
    first = client.post(admin_url(Balance, "add"), data, follow=True)
    second = client.post(admin_url(Balance, "add"), data, follow=True)
    assert "sent to the accounts worker" in first.content.decode()
    assert "already sent from this form" in second.content.decode()
    assert redis_conn.xlen(accounts_keys(0).stream) == 1
    action = OperatorAction.objects.get()
    assert (action.operator, action.action, action.target) == ("operator", "deposit", "user alice")
    assert action.detail["amount"] == "5"
    other = client.get(admin_url(Balance, "add")).content.decode()
    assert request_id not in other, "each form shown gets its own request id"


def test_a_withdrawal_beyond_the_available_funds_is_refused_and_sends_nothing(
    client, operator, alice, usdt, redis_conn
):
    give(alice, "USDT", "10")
    client.force_login(operator)
    response = client.post(
        admin_url(Balance, "add"),
        {"user": alice.pk, "asset": "USDT", "kind": "WITHDRAWAL", "amount": "10.01"},
    )
    assert response.status_code == 200
    assert "cannot apply" in response.content.decode()
    assert Balance.objects.get(user=alice, asset=usdt).available == Decimal("10")
    assert redis_conn.xlen(accounts_keys(0).stream) == 0


def test_the_balance_action_opens_the_form_for_the_selected_balance(client, operator, alice, usdt):
    give(alice, "USDT", "10")
    balance = Balance.objects.get(user=alice)
    client.force_login(operator)
    response = client.post(
        admin_url(Balance, "changelist"), {"action": "change_funds", "_selected_action": [balance.pk]}
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"?user={alice.pk}&asset=USDT")


def test_a_balance_cannot_be_edited_in_the_admin(client, operator, alice, usdt):
    give(alice, "USDT", "10")
    balance = Balance.objects.get(user=alice)
    client.force_login(operator)
    client.post(admin_url(Balance, "change", balance.pk), {"available": "1000000", "locked": "0"})
    assert Balance.objects.get(pk=balance.pk).available == Decimal("10")


def test_a_new_api_key_shows_its_private_half_once_and_stores_only_the_public_half(client, operator, alice):
    client.force_login(operator)
    response = client.post(
        admin_url(ApiKey, "add"), {"user": alice.pk, "label": "bot", "can_read": "on", "can_trade": "on"}
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(user=alice)
    private = response.context["private_key"]
    assert private and private in response.content.decode()
    assert private not in key.public_key
    assert key.can_trade and key.key_id.startswith("sk_")
    page = client.get(admin_url(ApiKey, "change", key.pk)).content.decode()
    assert private not in page
    assert OperatorAction.objects.get().target == f"key {key.key_id}"


def test_a_new_hmac_key_shows_its_secret_once_and_stores_it_encrypted(client, operator, alice):
    client.force_login(operator)
    response = client.post(
        admin_url(ApiKey, "add"),
        {"user": alice.pk, "label": "ccxt", "kind": "HMAC", "can_read": "on", "can_trade": "on"},
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(user=alice)
    secret = response.context["secret"]
    assert key.kind == ApiKey.HMAC and secret and secret in response.content.decode()
    assert secret not in key.encrypted_secret and key.public_key == ""
    assert secret not in client.get(admin_url(ApiKey, "change", key.pk)).content.decode()


def test_an_operator_can_register_a_traders_own_public_key(client, operator, alice):
    client.force_login(operator)
    response = client.post(
        admin_url(ApiKey, "add"),
        {"user": alice.pk, "public_key": "not-a-key", "can_read": "on"},
    )
    assert response.status_code == 200
    assert not ApiKey.objects.exists()
    assert "Ed25519" in response.content.decode()


def test_the_revoke_action_revokes_keys(client, operator, alice):
    key = issue_api_key(alice).api_key
    client.force_login(operator)
    client.post(admin_url(ApiKey, "changelist"), {"action": "revoke_keys", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None and not key.is_active
    action = OperatorAction.objects.get()
    assert (action.operator, action.action) == ("operator", "revoke_api_key")
    assert action.target == f"key {key.key_id}"


def test_the_halt_action_halts_a_market(client, operator, btc_usdt):
    client.force_login(operator)
    client.post(
        reverse("admin:exchange_market_changelist"),
        {"action": "halt_markets", "_selected_action": [btc_usdt.pk]},
    )
    btc_usdt.refresh_from_db()
    assert btc_usdt.status == "halted"


def test_searching_orders_by_a_name_does_not_break_the_id_search(client, populated, operator):
    client.force_login(operator)
    assert client.get(admin_url(Order, "changelist"), {"q": "alice"}).status_code == 200
    assert client.get(admin_url(Order, "changelist"), {"q": "12"}).status_code == 200


def test_a_list_page_counts_its_rows_only_up_to_the_cap(client, populated, operator, bob, monkeypatch):
    from exchange.admin.readonly import CappedCountPaginator

    monkeypatch.setattr(CappedCountPaginator, "cap", 2)
    client.force_login(operator)
    url = admin_url(LedgerEntry, "changelist")
    assert "1 ledger entry" in client.get(url).content.decode()

    give(bob, "BTC", "1")
    give(bob, "USDT", "1")
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()

    assert "more than 2 ledger entries" in page
    assert page.count("field-kind") == 3  # every row is still listed
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts and all("LIMIT 3" in sql.upper() for sql in counts), counts
