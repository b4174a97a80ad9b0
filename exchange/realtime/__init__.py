"""Real-time WebSocket streams: public market channels and each trader's private channel.

One endpoint, ``/ws/``. Each daphne process runs one Hub: it reads the
matching shards' events streams and the connected users' event streams from
Redis, serializes each message once per channel and hands the same frame to
every local subscriber (docs/adr/0005-websocket-fan-out.md).
"""
