"""The market page in a real browser: Playwright driving Debian's chromium against the real stack."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect, sync_playwright

from exchange.services.api_keys import IssuedKey, issue_api_key
from tests.realtime.test_end_to_end import place_over_rest
from tests.web.conftest import STACK_TIMEOUT_S, Stack

SYMBOL = "BTC/USDT"
CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/ensure-system-packages.sh); no browser download
WAIT_MS = STACK_TIMEOUT_S * 1000

# True once the page's table `tbody` has a row whose first cell is `price` (compared as numbers).
HAS_PRICE = """([tbody, price]) => Array.from(document.querySelectorAll(tbody + ' tr td:first-child'))
    .some((cell) => Number(cell.textContent) === Number(price))"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop on this thread, and Django then refuses
    # the test's own ORM calls as "async"; they are plain blocking calls (Playwright's advice).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "1"
    try:
        with sync_playwright() as playwright:
            # Root in a container has no user namespaces for chromium's sandbox.
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            yield launched
            launched.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def alice_key(alice: User) -> IssuedKey:
    return issue_api_key(alice, "alice bot", can_read=True, can_trade=True)


@pytest.fixture
def bob_key(bob: User) -> IssuedKey:
    return issue_api_key(bob, "bob bot", can_read=True, can_trade=True)


def limit(side: str, price: str, quantity: str) -> dict[str, Any]:
    return {"market": SYMBOL, "side": side, "type": "LIMIT", "price": price, "quantity": quantity}


def wait_for_price(page: Page, tbody: str, price: str) -> None:
    page.wait_for_function(HAS_PRICE, arg=[tbody, price], timeout=WAIT_MS)


def test_the_page_loads_and_draws_the_book(
    stack: Stack, page: Page, alice: User, bob: User, alice_key: IssuedKey, bob_key: IssuedKey
) -> None:
    stack.deposit(alice, "BTC", "1")
    stack.deposit(bob, "USDT", "100000")
    place_over_rest(stack.daphne, alice_key, limit("SELL", "30100.00", "0.2"))
    page.goto(stack.daphne.http_url + "/")
    expect(page.get_by_role("combobox", name="Market")).to_have_value(SYMBOL)
    wait_for_price(page, "#asks", "30100")
    expect(page.locator("#connection")).to_have_text("live")
    # Live: a bid placed after the page has its snapshot arrives as an update.
    place_over_rest(stack.daphne, bob_key, limit("BUY", "29900.00", "0.1"))
    wait_for_price(page, "#bids", "29900")
    expect(page.locator("#spread")).to_have_text("Spread 200.00")
    expect(page.locator("#asks tr").first).to_have_text("30100" + "0.2")  # amounts as the API writes them
    expect(page.locator("#chart canvas").first).to_be_attached()


def test_a_trade_made_over_rest_appears_without_a_reload(
    stack: Stack, page: Page, alice: User, bob: User, alice_key: IssuedKey, bob_key: IssuedKey
) -> None:
    stack.deposit(alice, "BTC", "1")
    stack.deposit(bob, "USDT", "100000")
    page.goto(stack.daphne.http_url + "/")
    expect(page.locator("#connection")).to_have_text("live")
    expect(page.locator("#spread")).to_have_text("No orders on one side")
    place_over_rest(stack.daphne, alice_key, limit("SELL", "30500.00", "0.25"))
    place_over_rest(stack.daphne, bob_key, limit("BUY", "30500.00", "0.25"))
    wait_for_price(page, "#trades", "30500")
    expect(page.locator("#trades tr").first).to_have_class("buy")
    expect(page.locator("#t-last")).to_have_text("30500")
    expect(page.locator("#t-trades")).to_have_text("1")


def test_an_order_placed_from_the_page_reaches_the_book_and_is_cancelled_from_it(
    stack: Stack, page: Page, alice: User
) -> None:
    alice.set_password("alice-web-pass-123")
    alice.save()
    stack.deposit(alice, "USDT", "50000")
    page.goto(stack.daphne.http_url + "/")
    page.get_by_role("link", name="Log in to trade").click()
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("alice-web-pass-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Signed in as")).to_be_visible()
    # The balances come over REST once the session's private channel is subscribed.
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#balances tr'))"
        ".some((row) => row.cells[0].textContent === 'USDT' && Number(row.cells[1].textContent) === 50000)"
    )

    page.get_by_role("radio", name="Buy").check()
    page.get_by_role("textbox", name="Price (USDT)").fill("29000.50")
    page.get_by_role("textbox", name="Quantity (BTC)").fill("0.1")
    page.get_by_role("button", name="Place order").press("Enter")
    expect(page.get_by_role("status").filter(has_text="BUY 0.1 BTC")).to_be_visible()
    wait_for_price(page, "#bids", "29000.5")
    open_row = page.locator("#open-orders tr")
    expect(open_row).to_have_count(1)
    expect(open_row.first).to_contain_text("29000.5")
    # The engine's book agrees with what the page drew.
    depth = page.evaluate("() => fetch('/api/v1/markets/BTC/USDT/depth').then((r) => r.json())")
    assert [[Decimal(p), Decimal(q)] for p, q in depth["bids"]] == [[Decimal("29000.5"), Decimal("0.1")]]
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#balances tr'))"
        ".some((row) => row.cells[0].textContent === 'USDT' && Number(row.cells[2].textContent) > 0)"
    )

    page.get_by_role("button", name="Cancel BUY 0.1 at 29000.5").click()
    expect(open_row).to_have_count(0)
    expect(page.locator("#bids tr")).to_have_count(0)


def test_the_page_fits_a_phone_screen(stack: Stack, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    context.set_default_timeout(WAIT_MS)
    phone = context.new_page()
    try:
        phone.goto(stack.daphne.http_url + "/")
        expect(phone.locator("#connection")).to_have_text("live")
        overflow = phone.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        book, trades = phone.locator(".book").bounding_box(), phone.locator(".trades").bounding_box()
        assert book is not None and trades is not None
        assert trades["y"] >= book["y"] + book["height"]  # one column: stacked, not side by side
    finally:
        context.close()
