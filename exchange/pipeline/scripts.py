"""Lua scripts registered once per Redis client, not once per call.

redis-py's `register_script` hashes the script's text (SHA1) each time it
is called; the API made three such objects for every order it placed and
one for every request it admitted (a profile of the API at 500 orders/s:
about 5 % of its time). A client's scripts are kept for the client's life.
"""

from __future__ import annotations

import weakref
from typing import Any

import redis
from redis.commands.core import Script

_BY_CLIENT: weakref.WeakKeyDictionary[Any, dict[str, Script]] = weakref.WeakKeyDictionary()


def registered(client: redis.Redis, text: str) -> Script:
    """The client's Script object for this text, made on first use."""
    scripts = _BY_CLIENT.get(client)
    if scripts is None:
        scripts = _BY_CLIENT[client] = {}
    script = scripts.get(text)
    if script is None:
        script = scripts[text] = client.register_script(text)
    return script
