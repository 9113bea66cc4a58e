from tests.engines.fixtures import pgbouncer, redis_cluster, redis_sentinel  # noqa: F401
