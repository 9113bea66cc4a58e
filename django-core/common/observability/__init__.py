"""What an operator sees of django-core's processes (docs/operations.md): one log schema
(taskflow_contracts.logs) with the request id of the gateway carried through, Prometheus metrics
(prometheus-client; multiprocess under gunicorn) and liveness/readiness checks.

- `logs`: the LOGGING setting and which process this is (the `service` field);
- `http`: the request middleware (request id, access line, request metrics) and the metrics
  and health views on /internal/ (never routed by the gateway);
- `metrics`: the registry, exposition and the little HTTP server of the processes without one
  (outbox relay, Celery worker and beat);
- `outbox_metrics`, `celery`: the outbox's and Celery's metrics and hooks;
- `health`: what "ready" means for each process.
"""
