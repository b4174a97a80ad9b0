"""A signed REST client of /api/v1, as a trader's bot writes one (README, "Trading over REST")."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlencode, urlsplit

from exchange.api.signing import private_key_from_text, signed_headers


class ApiUnreachable(Exception):
    """No answer from the API (connection refused, reset, timed out)."""


class ApiClient:
    """One kept-alive HTTP connection, every request signed with the key's Ed25519 private half."""

    def __init__(self, base_url: str, key_id: str, private_key: str, timeout_s: float = 10) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.secure = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.secure else 80)
        self.key_id = key_id
        self._private_key = private_key_from_text(private_key)
        self.timeout_s = timeout_s
        self._connection: http.client.HTTPConnection | None = None

    def get(self, path: str, **query: Any) -> tuple[int, Any]:
        return self.request("GET", f"{path}?{urlencode(query)}" if query else path)

    def request(self, method: str, target: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        """(status, decoded JSON) of a request to `target` under /api/v1."""
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        target = f"/api/v1{target}"
        headers = signed_headers(self.key_id, self._private_key, method, target, data)
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection = self._connect()
        try:
            connection.request(method, target, data, headers)
            response = connection.getresponse()
            text = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise ApiUnreachable(f"{method} {target}: {exc}") from exc
        return response.status, json.loads(text) if text else None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self.secure else http.client.HTTPConnection
            self._connection = kind(self.host, self.port, timeout=self.timeout_s)
        return self._connection
