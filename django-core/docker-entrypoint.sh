#!/bin/sh
# The processes of the django-core image; the same roles as the Procfile's lines.
#   serve   migrate, collect static files (into the volume nginx serves), then gunicorn
#   outbox  the outbox relay          worker  the Celery worker          beat  celery-beat
# Anything else is run as given (e.g. `python manage.py createsuperuser`).
set -e

case "$1" in
  serve)
    python manage.py migrate --noinput
    python manage.py collectstatic --noinput -v 0
    # nginx is the only client (django is not published): trust its X-Forwarded-* headers.
    exec gunicorn config.wsgi --bind "0.0.0.0:${DJANGO_PORT:-8000}" \
      --workers "${DJANGO_WORKERS:-2}" --threads "${DJANGO_THREADS:-4}" --worker-class gthread \
      --access-logfile - --graceful-timeout 10 --forwarded-allow-ips '*'
    ;;
  outbox)
    exec python manage.py outbox_relay
    ;;
  worker)
    exec celery -A config worker --pool prefork --concurrency "${CELERY_CONCURRENCY:-2}" \
      --loglevel INFO --without-gossip --without-mingle
    ;;
  beat)
    # Exactly one beat: docker-compose.yml pins its replicas to 1 (reminders are also claimed in
    # the database, so a second one would not send twice, only waste work).
    exec celery -A config beat --scheduler django_celery_beat.schedulers:DatabaseScheduler \
      --loglevel INFO --schedule /tmp/celerybeat-schedule
    ;;
  *)
    exec "$@"
    ;;
esac
