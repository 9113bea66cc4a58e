import pytest

from tests.engines.fixtures import pgbouncer, redis_cluster, redis_sentinel  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    # Also in tests/scaling/conftest.py: either directory may be run alone.
    config.addinivalue_line(
        "markers", "scaling: real Redis Cluster, Sentinel and PgBouncer started by the suite (run in one process)"
    )
