"""Settings of the Spot exchange, all read from the environment (see README)."""

from __future__ import annotations

from pathlib import Path

import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from spot.env import (
    env_amounts,
    env_bool,
    env_choice,
    env_database,
    env_int,
    env_list,
    env_redis_url,
    env_shard_map,
    env_str,
)

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", False)
_DEV_SECRET = "insecure-development-key-do-not-use-in-production-0000"  # noqa: S105  (refused below unless DEBUG)
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET if DEBUG else None)
if not DEBUG and SECRET_KEY == _DEV_SECRET:
    raise ImproperlyConfigured("SECRET_KEY: the development key cannot be used with DEBUG off")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_prometheus",
    "channels",
    "persistence",
    "exchange",
]

MIDDLEWARE = [
    # Outermost: it times and counts every answer, the middleware's own refusals included.
    "exchange.api.metrics.request_metrics",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Public market data: a rate limit per client address, and cache headers.
    "exchange.api.public_data.public_data",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "spot.urls"
WSGI_APPLICATION = "spot.wsgi.application"
ASGI_APPLICATION = "spot.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'spot.sqlite3'}")}
# A read replica for the traders' read queries (exchange.replica): order lists, fills, trades,
# candles, ticker. The pipeline's writes and the API's checks never use it.
if env_str("DATABASE_REPLICA_URL", ""):
    DATABASES["replica"] = {
        **env_database("DATABASE_REPLICA_URL", ""),
        # Under tests the alias is the test database itself.
        "TEST": {"MIRROR": "default"},
    }
# Reads leave the replica for the primary while it is further behind than this.
DATABASE_REPLICA_MAX_LAG_MS = env_int("DATABASE_REPLICA_MAX_LAG_MS", 1000, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_redis_url("REDIS_URL")
# Every Redis key of this deployment starts with this prefix; tests use their own.
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "spot")

# Users are partitioned over accounts shards by user_id % ACCOUNT_SHARDS.
ACCOUNT_SHARDS = env_int("ACCOUNT_SHARDS", 1, minimum=1)
# Base asset -> matching shard; '*' is the shard of every other symbol (the plan's map).
SYMBOL_SHARDS, SYMBOL_DEFAULT_SHARD = env_shard_map("SYMBOL_SHARDS", "btc=1,eth=2,sol=3,doge=3,*=4")

# What "acknowledged" means for a command in a stream (docs/adr/0003):
#   NONE    - in Redis memory; as durable as Redis's own persistence setting
#   REPLICA - also on a replica (WAIT 1)
#   AOF     - also fsynced to the append-only file (WAITAOF, Redis >= 7.2)
STREAM_DURABILITY = env_choice("STREAM_DURABILITY", "NONE", ("NONE", "REPLICA", "AOF"))
STREAM_DURABILITY_TIMEOUT_MS = env_int("STREAM_DURABILITY_TIMEOUT_MS", 100, minimum=1)

# A client order id names one order while it is open and for this long after it
# was placed: a retry within the window is answered with that order, never a
# second one; after both, the id may name a new order (docs/adr/0015).
CLIENT_ORDER_ID_WINDOW_S = env_int("CLIENT_ORDER_ID_WINDOW_S", 300, minimum=1)

FEE_ACCOUNT_USERNAME = env_str("FEE_ACCOUNT_USERNAME", "fees")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "daphne": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

# --- Workers (docs/adr/0003-order-pipeline.md) ---
# Each commit has a fixed cost in the worker, the database and Redis (its acks): at
# 100 orders/s, 10 ms cost the stack ~2.6 ms of CPU an order more than 50 ms (docs/adr/0014).
# Traders do not wait for a commit: fills are pushed before it.
WRITE_BUFFER_MAX_ITEMS = env_int("WRITE_BUFFER_MAX_ITEMS", 1000, minimum=1)
WRITE_BUFFER_MAX_DELAY_MS = env_int("WRITE_BUFFER_MAX_DELAY_MS", 50, minimum=1)
# While a batch is being written the next one grows; past this many times
# WRITE_BUFFER_MAX_ITEMS the worker stops reading until the database catches up.
WRITE_BUFFER_BACKLOG_FACTOR = env_int("WRITE_BUFFER_BACKLOG_FACTOR", 50, minimum=1)
# On MySQL/MariaDB, append-only rows (ledger entries, trades) go as LOAD DATA LOCAL
# INFILE from a file the worker writes; a server with local_infile off gets INSERTs.
WRITE_BUFFER_BULK_LOAD = env_bool("WRITE_BUFFER_BULK_LOAD", True)
# On MySQL/MariaDB a worker sends a batch's statements and its offset update in one round trip
# (persistence/write_buffer.py, ADR 0018).
WRITE_BUFFER_ONE_ROUND_TRIP = env_bool("WRITE_BUFFER_ONE_ROUND_TRIP", True)
# Fewer rows than this go as an INSERT even so: a file and LOAD DATA's extra round trip cost more.
WRITE_BUFFER_BULK_LOAD_MIN_ROWS = env_int("WRITE_BUFFER_BULK_LOAD_MIN_ROWS", 200, minimum=1)
# The longest an idle worker's read waits; it wakes sooner when the lease or a good-till-date order is due.
WORKER_BLOCK_MS = env_int("WORKER_BLOCK_MS", 1000, minimum=1)
WORKER_READ_COUNT = env_int("WORKER_READ_COUNT", 500, minimum=1)
WORKER_LEASE_TTL_MS = env_int("WORKER_LEASE_TTL_MS", 5000, minimum=500)
WORKER_STANDBY_POLL_S = env_int("WORKER_STANDBY_POLL_MS", 500, minimum=10) / 1000
# A worker whose loop has not come round for this long answers its liveness probe
# (/alive) with 503. A step is a batch; loading a shard's state on taking the lease
# is the longest one, so this must exceed the slowest load (docs/adr/0003).
WORKER_STALL_S = env_int("WORKER_STALL_S", 60, minimum=1)
# Trim input streams below the committed position (off keeps them whole for audits and replays).
STREAM_TRIM_COMMITTED = env_bool("STREAM_TRIM_COMMITTED", True)
# At most one trim this often: finding an accounts stream's floor is a query.
STREAM_TRIM_INTERVAL_MS = env_int("STREAM_TRIM_INTERVAL_MS", 1000, minimum=0)
DEPTH_LEVELS = env_int("DEPTH_LEVELS", 100, minimum=1)
# `manage.py run_invariants`: seconds between two live audits (conservation, holds, backlog).
INVARIANTS_INTERVAL = env_int("INVARIANTS_INTERVAL", 30, minimum=1)
EVENTS_STREAM_MAXLEN = env_int("EVENTS_STREAM_MAXLEN", 100_000, minimum=1000)
# Per-user feed of order, fill and balance updates kept for WebSocket resumes.
USER_EVENTS_MAXLEN = env_int("USER_EVENTS_MAXLEN", 1000, minimum=10)

# --- API ---
# A signed request's X-Spot-Timestamp may differ this much from the server's clock.
API_RECV_WINDOW_MS = env_int("API_RECV_WINDOW_MS", 5000, minimum=100)
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 4096, minimum=256)
# Token bucket per API key (and per session user): refill per second, and burst.
API_RATE_LIMIT_PER_S = env_int("API_RATE_LIMIT_PER_S", 50, minimum=1)
API_RATE_LIMIT_BURST = env_int("API_RATE_LIMIT_BURST", 100, minimum=1)
# Public market data (no key): a token bucket per client address, and how long answers may be cached.
API_PUBLIC_RATE_LIMIT_PER_S = env_int("API_PUBLIC_RATE_LIMIT_PER_S", 20, minimum=1)
API_PUBLIC_RATE_LIMIT_BURST = env_int("API_PUBLIC_RATE_LIMIT_BURST", 40, minimum=1)
# Password logins (/login/ and /admin/login/), per client address and per user name
# (exchange/web/login_throttle.py): a burst, then this many a minute.
LOGIN_RATE_LIMIT_BURST = env_int("LOGIN_RATE_LIMIT_BURST", 10, minimum=1)
LOGIN_RATE_LIMIT_PER_MIN = env_int("LOGIN_RATE_LIMIT_PER_MIN", 5, minimum=1)
# How long an API process trusts what it read of a key or of the markets;
# revocations reach it at once through Redis (docs/adr/0004).
API_KEY_CACHE_MS = env_int("API_KEY_CACHE_MS", 5000, minimum=0)
API_MARKET_CACHE_MS = env_int("API_MARKET_CACHE_MS", 1000, minimum=0)
# Longest wait for the engine's verdict of a POST /orders with response_type RESULT.
API_RESULT_WAIT_MS = env_int("API_RESULT_WAIT_MS", 1000, minimum=1)
# Refuse orders the persisted balance cannot fund (one DB read per order).
API_FUNDS_PRECHECK = env_bool("API_FUNDS_PRECHECK", False)
# Look a client order id up in the database before placing (one DB read per order
# that has one), so a retry finds its order even if Redis lost the claim. Needed
# only while the claim is not durable (STREAM_DURABILITY=NONE): docs/adr/0004.
API_CLIENT_ID_DB_CHECK = env_bool("API_CLIENT_ID_DB_CHECK", STREAM_DURABILITY == "NONE")
# Fernet key (urlsafe base64 of 32 bytes) that encrypts HMAC API secrets at rest; derived from
# SECRET_KEY when unset (exchange.services.api_secrets). API_SECRETS_KEY_FILE reads it from a file.
API_SECRETS_KEY = env_str("API_SECRETS_KEY", "")
# The docs page serves Swagger UI from ninja's static files, not a CDN.
INSTALLED_APPS += ["ninja"]

# --- WebSockets (docs/adr/0005-websocket-fan-out.md) ---
# What may wait for one connection before it is closed as a slow consumer (bytes of JSON).
WS_SEND_BUFFER_BYTES = env_int("WS_SEND_BUFFER_BYTES", 1_048_576, minimum=4096)
# Under daphne, write prebuilt frames straight to the socket (0: through ASGI send, for comparison).
WS_DIRECT_WRITE = env_bool("WS_DIRECT_WRITE", True)
# The shard readers' XREAD: entries per read, and how long one read blocks.
WS_READ_COUNT = env_int("WS_READ_COUNT", 1000, minimum=1)
WS_READ_BLOCK_MS = env_int("WS_READ_BLOCK_MS", 1000, minimum=10)
# A ticker frame goes out at most this often per market; its 24h window is reloaded this often.
WS_TICKER_INTERVAL_MS = env_int("WS_TICKER_INTERVAL_MS", 1000, minimum=10)
WS_TICKER_REFRESH_S = env_int("WS_TICKER_REFRESH_S", 60, minimum=1)
WS_MAX_SUBSCRIPTIONS = env_int("WS_MAX_SUBSCRIPTIONS", 50, minimum=1)
WS_MAX_CLIENT_FRAME_CHARS = env_int("WS_MAX_CLIENT_FRAME_CHARS", 4096, minimum=256)
# How long a process trusts what it read of a market's shard.
WS_MARKET_CACHE_MS = env_int("WS_MARKET_CACHE_MS", 10_000, minimum=0)

# --- The demo market (`manage.py run_market_maker`; on by default only in debug, as `make run`) ---
MARKET_MAKER_ENABLED = env_bool("MARKET_MAKER_ENABLED", DEBUG)
# The REST API the maker and taker trade through, as outside traders (make run: granian on 8001).
MARKET_MAKER_API_URL = env_str(
    "MARKET_MAKER_API_URL", f"http://127.0.0.1:{env_int('SPOT_API_PORT', 8001, minimum=1)}"
)
MARKET_MAKER_SYMBOLS = env_list("MARKET_MAKER_SYMBOLS", ["BTC/USDT", "ETH/USDT", "SOL/USDT", "DOGE/USDT"])
MARKET_MAKER_INTERVAL_MS = env_int("MARKET_MAKER_INTERVAL_MS", 2000, minimum=100)
MARKET_MAKER_LEVELS = env_int("MARKET_MAKER_LEVELS", 5, minimum=1)
# Distance between the best bid and the best ask, and between two levels of a side (basis points).
MARKET_MAKER_SPREAD_BP = env_int("MARKET_MAKER_SPREAD_BP", 20, minimum=1)
MARKET_MAKER_STEP_BP = env_int("MARKET_MAKER_STEP_BP", 10, minimum=1)
# Size of each quote, in quote-asset units (USDT).
MARKET_MAKER_QUOTE_NOTIONAL = env_int("MARKET_MAKER_QUOTE_NOTIONAL", 500, minimum=1)
# One standard deviation of the reference price's move per round (basis points).
MARKET_MAKER_VOLATILITY_BP = env_int("MARKET_MAKER_VOLATILITY_BP", 10, minimum=0)
# Where a market without trades or book starts, by base asset.
MARKET_MAKER_START_PRICES = env_amounts("MARKET_MAKER_START_PRICES", "BTC=60000,ETH=3000,SOL=150,DOGE=0.15")
# The taker: the chance per market and round that it sends an IOC order, its size, how far it reaches.
MARKET_MAKER_TAKER_PERCENT = env_int("MARKET_MAKER_TAKER_PERCENT", 30, minimum=0)
MARKET_MAKER_TAKER_NOTIONAL = env_int("MARKET_MAKER_TAKER_NOTIONAL", 200, minimum=1)
MARKET_MAKER_TAKER_REACH_BP = env_int("MARKET_MAKER_TAKER_REACH_BP", 50, minimum=0)
# Their users (made if missing), the deposits they get once, and the file of their keys' private halves.
MARKET_MAKER_USERNAME = env_str("MARKET_MAKER_USERNAME", "market-maker")
MARKET_MAKER_TAKER_USERNAME = env_str("MARKET_MAKER_TAKER_USERNAME", "market-taker")
MARKET_MAKER_FUNDS = env_amounts(
    "MARKET_MAKER_FUNDS", "USDT=10000000,BTC=100,ETH=2000,SOL=50000,DOGE=50000000"
)
MARKET_MAKER_TAKER_FUNDS = env_amounts(
    "MARKET_MAKER_TAKER_FUNDS", "USDT=1000000,BTC=10,ETH=200,SOL=5000,DOGE=5000000"
)
MARKET_MAKER_KEYS_FILE = Path(env_str("MARKET_MAKER_KEYS_FILE", str(VAR_DIR / "market-maker-keys.json")))
if MARKET_MAKER_TAKER_PERCENT > 100:
    raise ImproperlyConfigured(f"MARKET_MAKER_TAKER_PERCENT: at most 100, got {MARKET_MAKER_TAKER_PERCENT}")
