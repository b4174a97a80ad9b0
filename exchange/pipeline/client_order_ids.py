"""Which client order ids the accounts stage refuses as duplicates (docs/adr/0015).

A client order id names one order while that order is open, and for a short
retry window after it was placed (CLIENT_ORDER_ID_WINDOW_S): a retry within
the window is the same order, never a second one. After both, the id may
name a new order, as Binance allows once an order is done. Memory is
bounded by the open orders and the orders of the last window, not by
every order ever placed.

Time is the accounts stream entry's: a replay decides exactly as the first
run did, whatever the clock says when it runs.
"""

from __future__ import annotations

from collections import deque

Key = tuple[int, str]  # (user id, client order id)


class RecentClientOrderIds:
    """The (user, client order id) pairs placed within the last `window_ms` of entry time."""

    def __init__(self, window_ms: int, placed: list[tuple[int, Key]] | None = None) -> None:
        self.window_ms = window_ms
        self._placed_ms: dict[Key, int] = {}
        self._by_time: deque[tuple[int, Key]] = deque()
        for placed_ms, key in sorted(placed or ()):
            self.add(key, placed_ms)

    def __len__(self) -> int:
        return len(self._placed_ms)

    def add(self, key: Key, placed_ms: int) -> None:
        """Remember a place at `placed_ms`; the stream's order makes these never decrease."""
        self._placed_ms[key] = placed_ms
        self._by_time.append((placed_ms, key))

    def placed_within(self, key: Key, now_ms: int) -> bool:
        """Whether `key` was placed less than a window before `now_ms`."""
        self._forget_before(now_ms - self.window_ms)
        placed_ms = self._placed_ms.get(key)
        return placed_ms is not None and placed_ms > now_ms - self.window_ms

    def _forget_before(self, oldest_ms: int) -> None:
        by_time = self._by_time
        while by_time and by_time[0][0] <= oldest_ms:
            placed_ms, key = by_time.popleft()
            # The key may have been placed again since: only its newest place counts.
            if self._placed_ms.get(key) == placed_ms:
                del self._placed_ms[key]
