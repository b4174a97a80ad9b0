"""What a market's depth subscribers hold: the top DEPTH_LEVELS levels a side, and how it moves.

A client keeps its book from a snapshot and then updates, so the updates
must describe the window it holds, not the whole book. A level that leaves
the top N is sent with size 0, and one that moves up into it (the levels
above it went) is sent with its size, though that size did not change.
Snapshots and updates carry the CRC32 of the window after them, so a client
can prove its copy exact (docs/adr/0005-websocket-fan-out.md).
"""

from __future__ import annotations

import zlib

Level = tuple[int, int]  # price in ticks, total lots


class DepthWindow:
    """The levels last published for one market, in ticks and lots."""

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}

    def move_to(self, bids: list[Level], asks: list[Level]) -> tuple[list[Level], list[Level]]:
        """Become the window of these levels (best first); each side's changes, size 0 for a level gone."""
        bid_changes = _changes(self.bids, bids, best_first_descending=True)
        ask_changes = _changes(self.asks, asks, best_first_descending=False)
        self.bids, self.asks = dict(bids), dict(asks)
        return bid_changes, ask_changes


def _changes(before: dict[int, int], after: list[Level], best_first_descending: bool) -> list[Level]:
    changed = [(price, size) for price, size in after if before.get(price) != size]
    if len(before) + len(changed) > len(after):  # some level of before is not in after
        present = {price for price, _ in after}
        gone = [(price, 0) for price in before if price not in present]
        if gone:
            changed = sorted(changed + gone, reverse=best_first_descending)
    return changed


def depth_checksum(bids: list[list[str]], asks: list[list[str]]) -> int:
    """CRC32 (unsigned) of the window's texts as sent: "p:q,p:q|p:q,p:q", each side best first.

    Bids from the highest price, "|", asks from the lowest; price and size
    exactly as the frames write them. An empty book is the CRC32 of "|".
    """
    text = ",".join(f"{price}:{size}" for price, size in bids)
    text += "|" + ",".join(f"{price}:{size}" for price, size in asks)
    return zlib.crc32(text.encode())
