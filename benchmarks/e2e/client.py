"""A trader's client of its own: signing, keep-alive HTTP and the WebSocket login, without the project's code.

The end-to-end benchmark drives the exchange as an outside trader would, so
nothing here imports the exchange: the signature follows the README
(Ed25519 over "{timestamp}\\n{METHOD}\\n{path}\\n" + body), HTTP/1.1 is
written by hand on a kept-alive connection (a general-purpose client costs
more CPU per request than the API does, on the same two cores).
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from nacl.signing import SigningKey

# The event loop the sender and the listener run on: "uvloop" (the default) or "asyncio", the
# standard one, on which the two spent 16 to 28 % more CPU an order on the cores the exchange runs on.
CLIENT_LOOP_VARIABLE = "E2E_CLIENT_LOOP"
CLIENT_LOOPS = ("asyncio", "uvloop")
DEFAULT_CLIENT_LOOP = "uvloop"


def run_client(main: Coroutine[Any, Any, None]) -> None:
    """Run a load-generator process's coroutine on the event loop $E2E_CLIENT_LOOP names."""
    if os.environ.get(CLIENT_LOOP_VARIABLE, DEFAULT_CLIENT_LOOP) == "uvloop":
        import uvloop

        uvloop.run(main)
    else:
        asyncio.run(main)


@dataclass(frozen=True)
class Trader:
    user_id: int
    key_id: str
    signing_key: SigningKey

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trader:
        return cls(data["user_id"], data["key_id"], SigningKey(base64.b64decode(data["private_key"])))

    def headers(self, method: str, path: str, body: bytes) -> str:
        timestamp = str(time.time_ns() // 1_000_000)
        signed = self.signing_key.sign(f"{timestamp}\n{method}\n{path}\n".encode() + body).signature
        return (
            f"X-Spot-Key: {self.key_id}\r\nX-Spot-Timestamp: {timestamp}\r\n"
            f"X-Spot-Signature: {base64.b64encode(signed).decode()}\r\n"
        )

    def ws_login(self) -> dict[str, str]:
        timestamp = str(time.time_ns() // 1_000_000)
        signed = self.signing_key.sign(f"{timestamp}\nGET\n/ws/\n".encode()).signature
        return {
            "op": "auth",
            "key": self.key_id,
            "timestamp": timestamp,
            "signature": base64.b64encode(signed).decode(),
        }


class HttpConnection:
    """One kept-alive HTTP/1.1 connection; one request at a time."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(self, trader: Trader, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"{trader.headers(method, path, body)}\r\n"
        )
        self._writer.write(head.encode() + body)
        try:
            status_line = await self._reader.readuntil(b"\r\n")
            headers = await self._reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in headers.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            content = await self._reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
            raise
        return int(status_line.split()[1]), content

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
