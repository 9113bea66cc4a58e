"""The whole events path (a write through the gateway → outbox → Redis → relay → socket, and
replay after a reconnect) on each engine TaskFlow grows on: a Redis Cluster of three masters,
Redis Sentinel (with a failover in the middle of a stream of writes), PostgreSQL behind PgBouncer
in transaction mode. The engines come from tests/engines; the stack from tests/e2e/stack.py."""
