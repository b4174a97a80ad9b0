"""A request's parameters as Binance sends them: query string and form body, and what was signed.

Binance signs `totalParams`: the query string followed directly by the body
(no separator), each as sent, without the `signature` parameter itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl

from django.http import HttpRequest

from exchange.api.binance.errors import BinanceError, illegal, mandatory

SIGNATURE = "signature"


@dataclass
class Params:
    values: dict[str, str]
    signed_payload: str
    signature: str | None
    read: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, request: HttpRequest) -> Params:
        query, query_signature = _without_signature(request.META.get("QUERY_STRING", ""))
        body_text = ""
        if request.method in ("POST", "PUT", "DELETE") and request.body:
            try:
                body_text = request.body.decode()
            except UnicodeDecodeError:
                raise BinanceError(-1100, "Illegal characters found in the request body.") from None
        body, body_signature = _without_signature(body_text)
        values: dict[str, str] = {}
        for text in (query, body):
            for name, value in parse_qsl(text, keep_blank_values=True):
                values.setdefault(name, value)
        return cls(values, query + body, query_signature or body_signature)

    def text(self, name: str, default: str | None = None) -> str | None:
        self.read.add(name)
        value = self.values.get(name)
        return default if value is None or value == "" else value

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise mandatory(name)
        return value

    def integer(
        self, name: str, default: int | None = None, low: int = 0, high: int | None = None
    ) -> int | None:
        value = self.text(name)
        if value is None:
            return default
        if not (value.isascii() and value.lstrip("-").isdigit()):
            raise illegal(name, value)
        number = int(value)
        if number < low or (high is not None and number > high):
            raise illegal(name, value)
        return number

    def decimal(self, name: str) -> Decimal | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise illegal(name, value) from None
        if not number.is_finite() or "e" in value.lower():
            raise illegal(name, value)
        return number

    def refuse_unread(self, ignored: tuple[str, ...] = ()) -> None:
        """Binance answers -1104 for parameters it did not read, rather than ignore them silently."""
        unread = [name for name in self.values if name not in self.read and name not in ignored]
        if unread:
            raise BinanceError(
                -1104,
                f"Not all sent parameters were read; read {len(self.read)} parameter(s) but was sent "
                f"{len(self.values)}: unsupported {', '.join(sorted(unread))}.",
            )


def _without_signature(raw: str) -> tuple[str, str | None]:
    kept, signature = [], None
    for part in raw.split("&") if raw else ():
        if part.startswith(SIGNATURE + "="):
            signature = part[len(SIGNATURE) + 1 :]
        else:
            kept.append(part)
    return "&".join(kept), signature
