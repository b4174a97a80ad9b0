"""The request target a client signed: the path and the query exactly as sent.

Servers hand an application the path percent-decoded (`/by-client-id/a b`),
and decoding forgets how it was written (`%20`, `%2F`, `%22`). The query
string arrives undecoded under WSGI and ASGI alike. So the path as sent is
read where the server keeps it: ASGI's `raw_path` (daphne), or WSGI's
`RAW_URI` / `REQUEST_URI` (gunicorn, uWSGI, werkzeug). granian keeps it
nowhere; there the decoded path is encoded again the two ways clients encode
a path (every byte outside RFC 3986's unreserved characters, or only those
outside its path characters; upper-case hex), and the decoded form itself is
kept for a client that sent its characters unencoded. The signature must
match one of these; for a path of plain characters they are one and the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

# RFC 3986 pchar, less the unreserved characters quote() never encodes.
_PATH_CHARACTERS = "/:@!$&'()*+,;="
_RAW_URI_KEYS = ("RAW_URI", "REQUEST_URI")


def signed_targets(meta: Mapping[str, Any], path: str, raw_path: bytes | None = None) -> tuple[str, ...]:
    """`path?query` as the client may have signed it, the exact one first when the server kept it.

    `path` is the decoded path the application routes on; `raw_path` is
    ASGI's, when there is one.
    """
    query = meta.get("QUERY_STRING", "")
    sent = _sent_path(meta, raw_path)
    if sent is not None:
        paths: tuple[str, ...] = (sent,)
    else:
        paths = tuple(dict.fromkeys((path, quote(path, safe=_PATH_CHARACTERS), quote(path, safe="/"))))
    return tuple(f"{each}?{query}" if query else each for each in paths)


def _sent_path(meta: Mapping[str, Any], raw_path: bytes | None) -> str | None:
    if raw_path:
        return raw_path.decode("utf-8", "replace")
    for key in _RAW_URI_KEYS:
        uri = meta.get(key)
        if uri:
            # A WSGI environ holds the request's bytes as latin-1 text.
            text = str(uri).encode("latin-1", "replace").decode("utf-8", "replace")
            return text.split("?", 1)[0] if text.startswith("/") else urlsplit(text).path or "/"
    return None
