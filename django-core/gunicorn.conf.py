"""gunicorn's settings for django-core, read from the working directory by every way it is started
(the Procfile, docker-entrypoint.sh, the end-to-end stack); the command lines add the rest.

keepalive: an idle keep-alive connection stays open on gunicorn's side longer than nginx keeps it
in its upstream pool (`keepalive_timeout`, 60 s by default), so nginx is always the one to close
it. With gunicorn's default of 2 s, gunicorn closed connections nginx still held; a request nginx
sent on one as it closed failed with a 502, and nginx retries only idempotent requests on another
connection, so a POST was lost to the client (seen in bench.board at 50 writes/s)."""

keepalive = 75

# Metrics in multiprocess mode and the log schema (common/observability/gunicorn.py).
from common.observability.gunicorn import child_exit, logconfig_dict, on_exit, on_starting  # noqa: E402, F401
