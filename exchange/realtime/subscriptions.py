"""Who in this process listens to which channel, and handing a frame to all of them."""

from __future__ import annotations

from exchange.realtime.frames import Frame, Position
from exchange.realtime.outlet import Outlet


class Subscription:
    """One outlet on one channel.

    A new subscription starts pending: while its snapshot or replay is being
    read, live frames wait in `pending`; `activate` then sends the snapshot
    and only the waiting frames that are newer than it. On positioned
    channels (depth, private) a frame not newer than the last one sent is
    dropped, so a replay and the live feed can overlap without duplicates;
    a snapshot older than the client's book is dropped too.
    """

    __slots__ = ("channel", "floor", "outlet", "pending")

    def __init__(self, outlet: Outlet, channel: str) -> None:
        self.outlet = outlet
        self.channel = channel
        self.pending: list[Frame] | None = []
        self.floor: Position = (-1,)

    def deliver(self, frame: Frame) -> None:
        if self.pending is not None:
            self.pending.append(frame)
            return
        position = frame.position
        if position is not None:
            if position < self.floor or (position == self.floor and not frame.resets):
                return
            self.floor = position
        self.outlet.offer(frame)

    def deliver_many(self, frames: list[Frame]) -> None:
        """Frames that came together (one entry's events): what is new goes to the outlet at once."""
        if self.pending is not None:
            self.pending.extend(frames)
            return
        kept = []
        for frame in frames:
            position = frame.position
            if position is not None:
                if position < self.floor or (position == self.floor and not frame.resets):
                    continue
                self.floor = position
            kept.append(frame)
        if kept:
            self.outlet.offer_many(kept)

    def send_now(self, frame: Frame) -> None:
        """A frame of the subscription's own start (snapshot, replay), ahead of what waits."""
        if frame.position is not None:
            self.floor = max(self.floor, frame.position)
        self.outlet.offer(frame)

    def activate(self) -> None:
        waiting, self.pending = self.pending or [], None
        for frame in waiting:
            self.deliver(frame)


class Registry:
    def __init__(self) -> None:
        self.channels: dict[str, dict[Outlet, Subscription]] = {}
        self.by_outlet: dict[Outlet, dict[str, Subscription]] = {}

    def add(self, outlet: Outlet, channel: str) -> Subscription:
        """Subscribe, replacing an earlier subscription of the outlet to the channel (a resync)."""
        subscription = Subscription(outlet, channel)
        self.channels.setdefault(channel, {})[outlet] = subscription
        self.by_outlet.setdefault(outlet, {})[channel] = subscription
        return subscription

    def remove(self, outlet: Outlet, channel: str) -> bool:
        subscription = self.by_outlet.get(outlet, {}).pop(channel, None)
        if subscription is None:
            return False
        listeners = self.channels.get(channel)
        if listeners is not None:
            listeners.pop(outlet, None)
            if not listeners:
                del self.channels[channel]
        return True

    def drop(self, outlet: Outlet) -> list[str]:
        """Every channel of a connection that went away; returns them."""
        channels = list(self.by_outlet.get(outlet, {}))
        for channel in channels:
            self.remove(outlet, channel)
        self.by_outlet.pop(outlet, None)
        return channels

    def is_current(self, subscription: Subscription) -> bool:
        return self.channels.get(subscription.channel, {}).get(subscription.outlet) is subscription

    def listened(self, channel: str) -> bool:
        return channel in self.channels

    def holds(self, outlet: Outlet, channel: str) -> bool:
        return channel in self.by_outlet.get(outlet, ())

    def count(self, outlet: Outlet) -> int:
        return len(self.by_outlet.get(outlet, ()))

    def publish(self, channel: str, frame: Frame) -> None:
        """The same frame object to every subscriber: serialized once, however many listen."""
        listeners = self.channels.get(channel)
        if listeners:
            for subscription in listeners.values():
                subscription.deliver(frame)

    def publish_many(self, channel: str, frames: list[Frame]) -> None:
        """Frames that came together, to every subscriber in one write each (a trader's updates)."""
        if len(frames) == 1:
            self.publish(channel, frames[0])
            return
        listeners = self.channels.get(channel)
        if listeners and frames:
            for subscription in listeners.values():
                subscription.deliver_many(frames)
