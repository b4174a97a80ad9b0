"""Password logins are limited per client address and per user name, on both login pages."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

BURST = 3


@pytest.fixture(autouse=True)
def small_burst(settings: Any) -> None:
    settings.LOGIN_RATE_LIMIT_BURST = BURST
    settings.LOGIN_RATE_LIMIT_PER_MIN = 1


def attempt(path: str, username: str, password: str, address: str = "198.51.100.7") -> Any:
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_guesses_past_the_burst_are_refused_with_retry_after(path: str, alice: Any, operator: Any) -> None:
    guesses = [attempt(path, "operator", f"guess-{n}").status_code for n in range(BURST)]

    refused = attempt(path, "operator", "operator-pass-123")

    assert guesses == [200] * BURST  # the form again, with its error
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert "Too many login attempts" in refused.content.decode()


def test_one_account_guessed_from_many_addresses_is_refused(alice: Any) -> None:
    for n in range(BURST):
        attempt("/login/", "alice", f"guess-{n}", address=f"203.0.113.{n}")

    assert attempt("/login/", "ALICE ", "alice-pass-123", address="203.0.113.99").status_code == 429


def test_many_accounts_guessed_from_one_address_are_refused(alice: Any, bob: Any) -> None:
    for n in range(BURST):
        attempt("/login/", f"user-{n}", "guess")

    assert attempt("/login/", "alice", "alice-pass-123").status_code == 429
    # Another address, another user: untouched.
    assert attempt("/login/", "bob", "bob-pass-123", address="192.0.2.1").status_code == 302


def test_the_form_itself_is_not_counted(alice: Any) -> None:
    client = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(BURST * 2):
        assert client.get("/login/").status_code == 200

    assert attempt("/login/", "alice", "alice-pass-123").status_code == 302
