"""django-core/gunicorn.conf.py, which every way of starting gunicorn reads from django-core/."""

import gc
import runpy

from django.conf import settings


def gunicorn_settings() -> dict:
    return runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))


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
