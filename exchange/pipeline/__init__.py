"""The order pipeline: accounts and matching stages on Redis Streams.

    API/admin --XADD--> accounts stream of the user's shard --> accounts worker
    accounts worker --XADD--> matching stream of the symbol's shard --> matching worker
    matching worker --XADD--> settlements to the accounts streams, events stream

See docs/adr/0003-order-pipeline.md for the guarantees and how they hold.
"""
