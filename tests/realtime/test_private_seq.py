"""The private channel's seq: a stream entry id, with an index for all but an entry's last event."""

from __future__ import annotations

import json

import pytest

from exchange.realtime.frames import WHOLE_ENTRY, parse_private_seq
from exchange.realtime.user_feed import private_frames


def test_a_whole_entry_sorts_after_every_event_inside_it() -> None:
    assert parse_private_seq("1795604592925-3") == (1795604592925, 3, WHOLE_ENTRY)
    assert parse_private_seq("1795604592925-3.1") == (1795604592925, 3, 1)
    ordered = [
        "1795604592925-2",
        "1795604592925-3.0",
        "1795604592925-3.1",
        "1795604592925-3",
        "1795604592926-0",
    ]
    assert sorted(ordered, key=parse_private_seq) == ordered


@pytest.mark.parametrize(
    "bad", ["", "1795604592925", "1795604592925-3.", "1795604592925-3.x", "a-1", "1-1.1234567"]
)
def test_anything_else_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_private_seq(bad)


def test_the_frames_of_an_entry_carry_their_place_and_resume_after_one() -> None:
    fields = {str(n).encode(): json.dumps({"type": "order", "n": n}).encode() for n in range(3)}
    frames = [json.loads(frame.text) for frame in private_frames(b"1795604592925-3", fields)]
    assert [f["seq"] for f in frames] == ["1795604592925-3.0", "1795604592925-3.1", "1795604592925-3"]
    assert [f["data"]["n"] for f in frames] == [0, 1, 2]
    rest = [
        json.loads(frame.text)["data"]["n"] for frame in private_frames(b"1795604592925-3", fields, after=0)
    ]
    assert rest == [1, 2]


def test_an_entry_written_before_batching_is_one_event() -> None:
    [frame] = private_frames(b"1-1", {b"d": b'{"type":"balance","asset":"USDT"}'})
    assert json.loads(frame.text)["seq"] == "1-1"
