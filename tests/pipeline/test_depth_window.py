"""The depth window: what a subscriber's book must change, and the checksum it can verify."""

from __future__ import annotations

import zlib

from exchange.pipeline.depth_window import DepthWindow, depth_checksum


def test_levels_that_move_up_into_the_window_are_sent_and_those_that_leave_are_removed() -> None:
    window = DepthWindow()
    asks = [(price, 1) for price in range(100, 104)]  # a window of 3 levels: 100, 101, 102
    assert window.move_to([], asks[:3]) == ([], [(100, 1), (101, 1), (102, 1)])
    # 100 is taken: 103 moves up into the window, though its own size did not change.
    assert window.move_to([], asks[1:4]) == ([], [(100, 0), (103, 1)])


def test_bids_come_best_first_and_an_unchanged_window_has_no_changes() -> None:
    window = DepthWindow()
    window.move_to([(99, 1), (98, 1)], [])
    assert window.move_to([(99, 2), (97, 5)], []) == ([(99, 2), (98, 0), (97, 5)], [])
    assert window.move_to([(99, 2), (97, 5)], []) == ([], [])


def test_the_checksum_is_the_crc32_of_the_texts_as_documented() -> None:
    bids = [["100.5", "1"], ["100", "0.25"]]
    asks = [["101", "2"], ["102", "3"]]
    assert depth_checksum(bids, asks) == zlib.crc32(b"100.5:1,100:0.25|101:2,102:3") == 2298141732
    assert depth_checksum([], []) == zlib.crc32(b"|") == 2343686810
