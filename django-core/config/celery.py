"""The Celery app of django-core: the worker (`celery -A config worker`) and beat
(`celery -A config beat`, django-celery-beat's DatabaseScheduler) run the tasks of every app's
`tasks.py`. Settings are Django's, prefixed `CELERY_` (config/settings.py); schedules are defined
in config/schedules.py and live in the database, editable in the admin."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("taskflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Logs, task headers (request id), metrics and health (common/observability/celery.py).
from common.observability.celery import celery_observe  # noqa: E402

celery_observe(app)
