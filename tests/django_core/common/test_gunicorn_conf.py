"""django-core/gunicorn.conf.py, which every way of starting gunicorn reads from django-core/."""

import gc
import os
import runpy

from django.conf import settings


def gunicorn_settings() -> dict:
    """The file's names. Importing its hooks sets PROMETHEUS_MULTIPROC_DIR for gunicorn's workers;
    this test process must not keep it (its metrics would go to files, and the tests that scrape
    this process's own registry would find nothing)."""
    before = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    try:
        return runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))
    finally:
        if before is None:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        else:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = before


def test_keepalive_outlasts_the_gateways_pool():
    assert gunicorn_settings()["keepalive"] == 75


def test_a_worker_freezes_what_it_loaded_before_its_first_request():
    hook = gunicorn_settings()["post_worker_init"]
    assert gc.get_freeze_count() == 0
    try:
        hook(object())

        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
