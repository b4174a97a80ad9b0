"""The operators' console in the admin, driven with the admin's own client against the real pipeline."""

from __future__ import annotations

import json
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from exchange.models import Balance, FrozenAccount, Market, MarketStatus, OperatorAction, Order, OrderHold
from exchange.pipeline.keys import accounts_keys
from exchange.pipeline.messages import decode
from exchange.pipeline.workers import AccountsWorker
from exchange.services.dead_letters import dead_letters

User = get_user_model()


def changelist(model_name: str) -> str:
    return reverse(f"admin:{model_name}_changelist")


def run_action(client, model_name: str, action: str, *pks: int):
    return client.post(
        changelist(model_name), {"action": action, "_selected_action": [str(pk) for pk in pks]}
    )


def funded_orders(pipeline, alice, bob):
    """Alice and bob each with an order resting in BTC/USDT, alice with one in ETH/USDT too."""
    pipeline.deposit(alice, "USDT", "1000")
    pipeline.deposit(bob, "BTC", "1")
    pipeline.run()
    orders = [
        pipeline.place(alice, "BTC/USDT", "BUY", price="90.00", quantity="1"),
        pipeline.place(alice, "ETH/USDT", "BUY", price="10.00", quantity="1"),
        pipeline.place(bob, "BTC/USDT", "SELL", price="110.00", quantity="0.5"),
    ]
    pipeline.run()
    assert [Order.objects.get(pk=pk).status for pk in orders] == ["NEW"] * 3
    return orders


def test_the_admin_index_links_to_the_console(client, operator):
    client.force_login(operator)
    page = client.get(reverse("admin:index")).content.decode()
    assert reverse("console-shards") in page
    assert reverse("console-dead-letters") in page
    assert changelist("exchange_operatoraction") in page


def test_console_pages_need_a_staff_login(client, alice):
    for name in ("console-shards", "console-dead-letters"):
        assert "/admin/login/" in client.get(reverse(name))["Location"]
        client.force_login(alice)
        assert "/admin/login/" in client.get(reverse(name))["Location"]
        client.logout()


def test_the_shards_page_shows_leader_standby_epoch_backlog_and_dead_letters(
    client, operator, pipeline, alice, redis_conn
):
    pipeline.deposit(alice, "USDT", "10")
    pipeline.run()
    redis_conn.xadd(accounts_keys(0).dead_letters, {"entry": "1-0", "reason": "test", "fields": "{}"})
    pipeline.deposit(alice, "USDT", "5")  # in the stream, not processed yet
    standby = AccountsWorker(0, redis_conn)
    standby.consumer = standby.lease.holder = "standby-host-1"
    assert not standby.become_leader()
    standby._stand_by()
    client.force_login(operator)

    page = client.get(reverse("console-shards"))

    assert page.status_code == 200
    [accounts] = [s for s in page.context["shards"] if s.name == "accounts-0"]
    leader = pipeline.workers[0]
    assert accounts.leader == leader.consumer
    assert [s.identity for s in accounts.standbys] == ["standby-host-1"]
    assert accounts.epoch == leader.lease.epoch == accounts.committed_epoch
    assert accounts.unprocessed == 1
    assert accounts.dead_letters == 1
    assert accounts.last_commit_at is not None
    assert {s.name for s in page.context["shards"]} >= {"accounts-0", "matching-1", "matching-2"}
    html = page.content.decode()
    assert "standby-host-1" in html and leader.consumer in html


def test_a_standby_leaves_the_list_when_it_becomes_leader(pipeline, redis_conn):
    from exchange.services.shards import shard_statuses

    standby = AccountsWorker(0, redis_conn)
    standby.consumer = standby.lease.holder = "standby-host-2"
    assert not standby.become_leader()
    standby._stand_by()
    pipeline.workers[0].shutdown()  # the leader lets go

    assert standby.become_leader()

    [accounts] = [s for s in shard_statuses(redis_conn) if s.name == "accounts-0"]
    assert accounts.leader == "standby-host-2"
    assert accounts.standbys == []
    standby.shutdown()


def _dead_letter_unknown_user(pipeline, redis_conn) -> tuple[str, int]:
    """A place of a user the database does not know yet: the accounts worker dead-letters it."""
    user_id = User.objects.latest("pk").pk + 10
    place = {
        "t": "place",
        "uid": user_id,
        "cid": "late-user",
        "m": "BTC/USDT",
        "side": "BUY",
        "type": "LIMIT",
    }
    place.update({"tif": "GTC", "px": "90.00", "qty": "1", "qq": None, "po": False, "stp": "CANCEL_NEWEST"})
    redis_conn.xadd(accounts_keys(0).stream, {"d": json.dumps(place)})
    pipeline.run()
    [letter] = dead_letters(redis_conn, "accounts-0")
    return letter.id, user_id


def test_the_dead_letters_page_lists_each_with_its_reason(client, operator, pipeline, redis_conn):
    letter_id, user_id = _dead_letter_unknown_user(pipeline, redis_conn)
    client.force_login(operator)

    page = client.get(reverse("console-dead-letters"), {"worker": "accounts-0"})

    assert page.status_code == 200
    html = page.content.decode()
    assert letter_id in html
    assert f"unknown user {user_id}" in html
    assert "late-user" in html
    assert 'value="replay"' in html


def test_replaying_a_dead_letter_applies_it_once_its_cause_is_fixed(
    client, operator, pipeline, redis_conn, usdt
):
    letter_id, user_id = _dead_letter_unknown_user(pipeline, redis_conn)
    late = User.objects.create_user("late", id=user_id)
    pipeline.entry.change_funds(late.pk, "USDT", "DEPOSIT", Decimal("100"), "test", None)
    pipeline.run()
    client.force_login(operator)

    response = client.post(
        reverse("console-dead-letter-action"), {"worker": "accounts-0", "id": letter_id, "action": "replay"}
    )
    pipeline.run()

    assert response.status_code == 302
    assert dead_letters(redis_conn, "accounts-0") == []
    order = Order.objects.get(user=late)
    assert (order.client_order_id, order.status) == ("late-user", "NEW")
    action = OperatorAction.objects.get(action="replay_dead_letter")
    assert (action.operator, action.via, action.target) == ("operator", "admin", f"accounts-0 {letter_id}")
    assert action.detail["reason"] == f"unknown user {user_id}"
    assert action.detail["new_entry"]


def test_discarding_a_dead_letter_removes_it_and_records_its_content(client, operator, pipeline, redis_conn):
    letter_id, _ = _dead_letter_unknown_user(pipeline, redis_conn)
    client.force_login(operator)

    client.post(
        reverse("console-dead-letter-action"), {"worker": "accounts-0", "id": letter_id, "action": "discard"}
    )

    assert dead_letters(redis_conn) == []
    action = OperatorAction.objects.get(action="discard_dead_letter")
    assert json.loads(action.detail["fields"]["d"])["cid"] == "late-user"
    # Replaying it now finds nothing, and says so.
    again = client.post(
        reverse("console-dead-letter-action"),
        {"worker": "accounts-0", "id": letter_id, "action": "replay"},
        follow=True,
    )
    assert "has no dead letter" in again.content.decode()
    assert OperatorAction.objects.count() == 1


def test_a_settlement_group_dead_letter_cannot_be_replayed(
    client, operator, pipeline, fee_account, redis_conn
):
    groups = [["1764000000000-1", [{"k": "bogus"}]]]
    redis_conn.xadd(accounts_keys(0).stream, {"d": json.dumps({"t": "batch", "p": "{m9}", "g": groups})})
    pipeline.run()
    [letter] = dead_letters(redis_conn)
    client.force_login(operator)
    assert 'value="replay"' not in client.get(reverse("console-dead-letters")).content.decode()

    page = client.post(
        reverse("console-dead-letter-action"),
        {"worker": "accounts-0", "id": letter.id, "action": "replay"},
        follow=True,
    )

    assert "cannot be replayed" in page.content.decode()
    assert len(dead_letters(redis_conn)) == 1
    assert not OperatorAction.objects.exists()


def test_acting_on_dead_letters_needs_the_console_permission(client, pipeline, redis_conn):
    letter_id, _ = _dead_letter_unknown_user(pipeline, redis_conn)
    clerk = User.objects.create_user("clerk", is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("console-dead-letters")).status_code == 200
    assert 'value="discard"' not in client.get(reverse("console-dead-letters")).content.decode()

    refused = client.post(
        reverse("console-dead-letter-action"), {"worker": "accounts-0", "id": letter_id, "action": "discard"}
    )

    assert refused.status_code == 403
    assert len(dead_letters(redis_conn)) == 1
    clerk.user_permissions.add(Permission.objects.get(codename="use_console"))
    client.force_login(User.objects.get(pk=clerk.pk))
    client.post(
        reverse("console-dead-letter-action"), {"worker": "accounts-0", "id": letter_id, "action": "discard"}
    )
    assert dead_letters(redis_conn) == []
    assert OperatorAction.objects.get().operator == "clerk"


def test_the_cancel_all_action_cancels_a_users_resting_orders_and_releases_their_funds(
    client, operator, pipeline, alice, bob
):
    alice_btc, alice_eth, bob_sell = funded_orders(pipeline, alice, bob)
    client.force_login(operator)

    run_action(client, "auth_user", "cancel_all_orders", alice.pk)
    pipeline.run()

    assert Order.objects.get(pk=alice_btc).status == "CANCELED"
    assert Order.objects.get(pk=alice_eth).status == "CANCELED"
    assert Order.objects.get(pk=bob_sell).status == "NEW"
    usdt = Balance.objects.get(user=alice, asset__code="USDT")
    assert (usdt.available, usdt.locked) == (Decimal("1000"), Decimal(0))
    action = OperatorAction.objects.get(action="cancel_user_orders")
    assert (action.operator, action.target) == ("operator", "user alice")


def test_the_market_kill_switch_cancels_every_order_in_the_market_only(
    client, operator, pipeline, alice, bob
):
    alice_btc, alice_eth, bob_sell = funded_orders(pipeline, alice, bob)
    client.force_login(operator)

    run_action(client, "exchange_market", "cancel_market_orders", Market.objects.get(symbol="BTC/USDT").pk)
    pipeline.run()

    assert Order.objects.get(pk=alice_btc).status == "CANCELED"
    assert Order.objects.get(pk=bob_sell).status == "CANCELED"
    assert Order.objects.get(pk=alice_eth).status == "NEW"
    btc = Balance.objects.get(user=bob, asset__code="BTC")
    assert (btc.available, btc.locked) == (Decimal("1"), Decimal(0))
    usdt = Balance.objects.get(user=alice, asset__code="USDT")
    assert usdt.locked == OrderHold.objects.get(order_id=alice_eth).remaining > 0  # the ETH/USDT order's
    assert OperatorAction.objects.get(action="cancel_market_orders").target == "market BTC/USDT"


def test_the_market_kill_switch_also_cancels_an_order_placed_just_before_it(
    client, operator, pipeline, alice, bob
):
    pipeline.deposit(alice, "USDT", "1000")
    pipeline.run()
    # In the stream, not yet seen by any worker: no row, no hold in the database.
    order = pipeline.place(alice, "BTC/USDT", "BUY", price="90.00", quantity="1")
    client.force_login(operator)

    run_action(client, "exchange_market", "cancel_market_orders", Market.objects.get(symbol="BTC/USDT").pk)
    pipeline.run()

    assert Order.objects.get(pk=order).status == "CANCELED"


def test_freeze_and_unfreeze_actions_set_the_flag_and_are_audited(client, operator, alice, redis_conn):
    client.force_login(operator)

    run_action(client, "auth_user", "freeze_users", alice.pk)

    assert FrozenAccount.objects.get(user=alice).frozen_by == "operator"
    assert redis_conn.sismember(accounts_keys(0).frozen, alice.pk)
    page = client.get(changelist("auth_user")).content.decode()
    assert "icon-yes" in page  # the frozen column

    run_action(client, "auth_user", "unfreeze_users", alice.pk)

    assert not FrozenAccount.objects.exists()
    assert not redis_conn.sismember(accounts_keys(0).frozen, alice.pk)
    assert [a.action for a in OperatorAction.objects.order_by("id")] == ["freeze_user", "unfreeze_user"]


def test_kill_switches_need_the_console_permission(client, alice, redis_conn):
    clerk = User.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client.force_login(clerk)

    response = run_action(client, "auth_user", "freeze_users", alice.pk)

    assert response.status_code == 403
    assert not FrozenAccount.objects.exists()


def test_halting_a_market_is_audited_and_announced(
    client, operator, btc_usdt, redis_conn, django_capture_on_commit_callbacks
):
    client.force_login(operator)

    with django_capture_on_commit_callbacks(execute=True):
        run_action(client, "exchange_market", "halt_markets", btc_usdt.pk)

    assert Market.objects.get(pk=btc_usdt.pk).status == MarketStatus.HALTED
    assert [decode(f)["t"] for _, f in redis_conn.xrange(accounts_keys(0).stream)] == ["markets"]
    action = OperatorAction.objects.get()
    assert (action.action, action.target) == ("halted_markets", "BTC/USDT")


def test_amounts_show_by_the_one_text_rule_in_lists_and_pages(client, operator, alice, btc_usdt):
    from tests.foundation.test_admin import give

    give(alice, "USDT", "1000.5")
    now = timezone.now()
    order = Order.objects.create(
        id=7,
        user=alice,
        market=btc_usdt,
        client_order_id="a",
        side="BUY",
        type="LIMIT",
        price=Decimal("30000.00"),
        quantity=Decimal("0.010"),
        created_at=now,
        updated_at=now,
    )
    client.force_login(operator)

    pages = {
        "orders": client.get(changelist("exchange_order")).content.decode(),
        "order": client.get(reverse("admin:exchange_order_change", args=[order.pk])).content.decode(),
        "balances": client.get(changelist("exchange_balance")).content.decode(),
        "ledger": client.get(changelist("exchange_ledgerentry")).content.decode(),
        "user": client.get(reverse("admin:auth_user_change", args=[alice.pk])).content.decode(),
        "markets": client.get(changelist("exchange_market")).content.decode(),
    }

    for name, html in pages.items():
        assert "000000000000" not in html, name
    assert ">30000<" in pages["orders"] and ">0.01<" in pages["orders"]
    assert "30000" in pages["order"] and "0.01" in pages["order"]
    assert ">1000.5<" in pages["balances"] and ">1000.5<" in pages["ledger"] and ">1000.5<" in pages["user"]
    assert ">0.00001<" in pages["markets"]  # the lot size


def test_a_market_made_in_the_admin_is_announced_to_the_workers_and_audited(
    client, operator, usdt, btc, redis_conn, django_capture_on_commit_callbacks
):
    client.force_login(operator)
    form = {
        "symbol": "BTC/USDT",
        "base": btc.pk,
        "quote": usdt.pk,
        "status": "trading",
        "tick_size": "0.01",
        "lot_size": "0.0001",
        "min_quantity": "0",
        "min_notional": "5",
        "maker_fee_rate": "0.001",
        "taker_fee_rate": "0.001",
        "shard_override": "",
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:exchange_market_add"), form)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert [decode(f)["t"] for _, f in redis_conn.xrange(accounts_keys(0).stream)] == ["markets"]
    action = OperatorAction.objects.get()
    assert (action.operator, action.action, action.target) == ("operator", "create_market", "market BTC/USDT")


def test_a_read_only_page_keeps_the_computed_values_a_subclass_adds(rf):
    from django.contrib import admin

    from exchange.admin.readonly import ReadOnlyAdmin

    class WithExtra(ReadOnlyAdmin):
        readonly_fields = ["journey"]

        def journey(self, obj: Order) -> str:
            return "accepted, matched"

    page = WithExtra(Order, admin.AdminSite())
    request = rf.get("/")

    assert page.get_fields(request)[-1] == "journey"
    assert "journey" in page.get_readonly_fields(request)
    assert "price" in page.get_readonly_fields(request)
    assert "price" not in page.get_fields(request)  # shown by its amount column instead


def test_an_accounts_worker_taking_its_shard_raises_the_frozen_flags_redis_lost(
    pipeline, alice, bob, redis_conn, redis_prefix
):
    from exchange.services.kill_switches import freeze_user

    freeze_user(bob, "operator")
    freeze_user(alice, "operator")
    # Redis lost everything of this deployment: the flags and the leases.
    redis_conn.delete(*redis_conn.scan_iter(match=f"{redis_prefix}*"))
    assert not pipeline.workers[0].lease.renew()

    successor = AccountsWorker(0, redis_conn)
    assert successor.become_leader()

    assert redis_conn.smembers(accounts_keys(0).frozen) == {str(alice.pk).encode(), str(bob.pk).encode()}
    successor.shutdown()
