"""Run the demo market: a maker quoting around a random-walking price, and a small taker.

Both trade through the REST API (MARKET_MAKER_API_URL) with their own signed
keys, made with their users and deposits when missing. SIGTERM or Ctrl-C
stops it after the round in progress; its quotes stay on the book, and the
next start picks them up from GET /orders.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from exchange.marketmaker.accounts import ensure_trader
from exchange.marketmaker.client import ApiClient, ApiUnreachable
from exchange.marketmaker.maker import MakerConfig, MakerError, MarketMaker

logger = logging.getLogger("spot.market_maker")


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rounds", type=int, default=0, help="Stop after this many rounds (0: run until stopped)."
        )
        parser.add_argument("--seed", type=int, default=None, help="Seed of the random walk and the taker.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.MARKET_MAKER_ENABLED:
            logger.info("market maker disabled (MARKET_MAKER_ENABLED=0)")
            return
        self.stopping = threading.Event()
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        maker = self._client(settings.MARKET_MAKER_USERNAME, settings.MARKET_MAKER_FUNDS)
        taker = None
        if settings.MARKET_MAKER_TAKER_PERCENT:
            taker = self._client(settings.MARKET_MAKER_TAKER_USERNAME, settings.MARKET_MAKER_TAKER_FUNDS)
        market = MarketMaker(maker, taker, MakerConfig.from_settings(), random.Random(options["seed"]))
        logger.info("market maker trading %s through %s", ", ".join(market.config.symbols), maker.host)
        rounds = 0
        interval_s = settings.MARKET_MAKER_INTERVAL_MS / 1000
        while not self.stopping.is_set():
            self._round(market)
            rounds += 1
            if rounds == options["rounds"]:
                break
            self.stopping.wait(interval_s)
        logger.info("market maker stopped after %d rounds", rounds)

    def _round(self, market: MarketMaker) -> None:
        try:
            done = market.step()
        except (ApiUnreachable, MakerError) as exc:
            # The API is starting or restarting (make run starts everything at once): next round.
            logger.warning("round skipped: %s", exc)
            market.maker.close()
            return
        except Exception:
            # A demo trader must not end make run (honcho stops every process when one exits).
            logger.exception("round failed")
            market.maker.close()
            return
        logger.debug(
            "round: %d placed, %d amended, %d cancelled, %d taken, %d refused",
            done.placed,
            done.amended,
            done.cancelled,
            done.taken,
            len(done.refused),
        )

    def _client(self, username: str, funds: Any) -> ApiClient:
        trader = ensure_trader(username, funds, settings.MARKET_MAKER_KEYS_FILE)
        return ApiClient(settings.MARKET_MAKER_API_URL, trader.key_id, trader.private_key)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping.is_set():
            raise SystemExit(1)  # a second signal: stop at once
        logger.info("market maker stopping (signal %d)", signum)
        self.stopping.set()
