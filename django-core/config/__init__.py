# The Celery app is loaded with Django, so `shared_task` tasks bind to it in every process.
from config.celery import app as celery_app

__all__ = ["celery_app"]
