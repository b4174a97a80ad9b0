from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from spot.env import env_bool, env_database, env_int, env_shard_map, env_str

ROOT = Path(__file__).resolve().parents[2]


def test_it_reads_the_plans_shard_map():
    mapping, default = env_shard_map("SYMBOL_SHARDS", "btc=1,eth=2,sol=3,doge=3,*=4", environ={})
    assert mapping == {"btc": 1, "eth": 2, "sol": 3, "doge": 3}
    assert default == 4


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("btc=1", "needs a default entry"),
        ("btc=one,*=2", "not an integer"),
        ("btc,*=2", "asset=shard pairs"),
        ("btc=0,*=2", "at least 1"),
    ],
)
def test_it_refuses_a_bad_shard_map(value, message):
    with pytest.raises(ImproperlyConfigured, match=f"SYMBOL_SHARDS: .*{message}"):
        env_shard_map("SYMBOL_SHARDS", "*=1", environ={"SYMBOL_SHARDS": value})


def test_it_parses_a_mysql_url():
    config = env_database(
        "DATABASE_URL", "", environ={"DATABASE_URL": "mysql://spot:p%40ss@db:3307/exchange"}
    )
    assert config["ENGINE"] == "django.db.backends.mysql"
    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"], config["NAME"]) == (
        "spot",
        "p@ss",
        "db",
        "3307",
        "exchange",
    )


def test_it_parses_a_relative_sqlite_url():
    config = env_database("DATABASE_URL", "", environ={"DATABASE_URL": "sqlite:///var/x.sqlite3"})
    assert config["NAME"] == "var/x.sqlite3"


@pytest.mark.parametrize("url", ["postgres://db/x", "mysql://db", "mysql://db:port/x", "sqlite://"])
def test_it_refuses_a_database_url_it_cannot_use(url):
    with pytest.raises(ImproperlyConfigured, match="^DATABASE_URL: "):
        env_database("DATABASE_URL", "", environ={"DATABASE_URL": url})


def test_it_refuses_a_bad_boolean_and_integer():
    with pytest.raises(ImproperlyConfigured, match="^DEBUG: expected a boolean"):
        env_bool("DEBUG", False, environ={"DEBUG": "maybe"})
    with pytest.raises(ImproperlyConfigured, match="^ACCOUNT_SHARDS: must be at least 1"):
        env_int("ACCOUNT_SHARDS", 1, minimum=1, environ={"ACCOUNT_SHARDS": "0"})


def test_it_reads_a_secret_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    assert env_str("SECRET_KEY", None, environ={"SECRET_KEY_FILE": str(secret)}) == "from-a-file"


def run_check(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DEBUG", "SECRET_KEY")}
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({}, "SECRET_KEY"),
        ({"SECRET_KEY": "x" * 40, "DATABASE_URL": "oracle://db/x"}, "DATABASE_URL"),
        ({"SECRET_KEY": "x" * 40, "ACCOUNT_SHARDS": "many"}, "ACCOUNT_SHARDS"),
        ({"DEBUG": "1", "SYMBOL_SHARDS": "btc=1"}, "SYMBOL_SHARDS"),
        ({"DEBUG": "1", "LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ],
)
def test_a_bad_setting_stops_start_up_with_one_line_naming_it(overrides, variable):
    result = run_check(**overrides)
    assert result.returncode == 78
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"spot: configuration error: {variable}: ")


def test_a_short_secret_key_fails_the_system_check():
    result = run_check(SECRET_KEY="short", ALLOWED_HOSTS="spot.example", DATABASE_URL="mysql://u@h/db")
    assert result.returncode != 0
    assert "exchange.E001" in result.stderr
