"""Settings for bench.events' "events off" server: bench.django_settings with
`notifications.events.events_emit` replaced by a no-op (see bench.no_events)."""

from bench.django_settings import *  # noqa: F403
from bench.django_settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.no_events.NoEventsConfig"]
