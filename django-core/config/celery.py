"""The Celery app of django-core: the worker (`celery -A config worker`) and beat
(`celery -A config beat`, django-celery-beat's DatabaseScheduler) run the tasks of every app's
`tasks.py`. Settings are Django's, prefixed `CELERY_` (config/settings.py); schedules are defined
in config/schedules.py and live in the database, editable in the admin."""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _worker_metrics_shared() -> None:
    """The worker runs the prefork pool (docs/background.md): its tasks run in pool processes,
    while its /metrics is served by the parent. prometheus-client's multiprocess mode, as under
    gunicorn: every process keeps its values in files of one fresh directory (a pool process
    replaced after a crash keeps its counts there), the scrape adds them up. Set before anything
    imports prometheus-client; removed when the parent exits."""
    # `celery … worker`, or `python -m celery … worker` (argv[0] is then celery/__main__.py)
    if "celery" not in Path(sys.argv[0]).parts[-2:] or "worker" not in sys.argv[1:]:
        return
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    directory = tempfile.mkdtemp(prefix="taskflow-worker-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    parent = os.getpid()

    def remove() -> None:
        if os.getpid() == parent:  # not in a pool process that exits
            shutil.rmtree(Path(directory), ignore_errors=True)

    atexit.register(remove)


_worker_metrics_shared()

app = Celery("taskflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Logs, task headers (request id), metrics and health (common/observability/celery.py).
from common.observability.celery import celery_observe  # noqa: E402

celery_observe(app)
