"""Real engines the scaling suites start themselves, from the Debian packages `make test` installs
(`scripts/ensure_tools.sh`): a Redis Cluster of three masters, Redis Sentinel (a primary, a
replica, three Sentinels) and PgBouncer in transaction mode in front of the local PostgreSQL.

Each runs on free loopback ports under a temporary directory, in its own process group that dies
with the test process, and is stopped at the end. `tests/engines/fixtures.py` has the pytest
fixtures (one engine per session); the context managers work outside pytest too (benchmarks).
"""
