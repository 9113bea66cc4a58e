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


def post_worker_init(worker: object) -> None:
    """Once the worker has loaded Django (and before its first request), every object alive then
    goes to the collector's permanent generation: a full collection no longer walks the ~140k
    objects of the loaded project, which took ~80 ms on this machine and landed on whichever
    request triggered it (docs/architecture.md "Performance"). Collected first, so no garbage is
    frozen with them."""
    import gc

    gc.collect()
    gc.freeze()
