"""Django settings for django-core.

Configuration is environment only (12-factor); every variable is listed with its default in
`.env.example` at the repository root. Defaults are for a developer machine; production
(`DJANGO_ENV=production`) refuses to start on placeholder secrets or missing JWT keys.
"""

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from taskflow_contracts import RedisTopology
from taskflow_contracts.logs import LOG_FORMATS

from common.observability.logs import django_logging

BASE_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BASE_DIR.parent

env = environ.Env()
env.smart_cast = False  # values are cast explicitly below, never guessed

# `.env` at the repository root is read when present (values already in the environment win).
if (REPO_DIR / ".env").is_file():
    environ.Env.read_env(REPO_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV must be development, test or production, not {DJANGO_ENV!r}")
IS_PRODUCTION = DJANGO_ENV == "production"

PLACEHOLDER_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 (refused in production)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=PLACEHOLDER_SECRET_KEY)
DEBUG = env.bool("DJANGO_DEBUG", default=not IS_PRODUCTION)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list(
    "DJANGO_CSRF_TRUSTED_ORIGINS", default=["http://localhost:8080", "http://127.0.0.1:8080"]
)
# Public base URL of the gateway: used in links sent by email (invites, preferences).
PUBLIC_URL = env.str("PUBLIC_URL", default="http://127.0.0.1:8080").rstrip("/")

if IS_PRODUCTION:
    if SECRET_KEY == PLACEHOLDER_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is a placeholder or shorter than 32 characters; "
            "set a long random value (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(50))'`)."
        )
    if DEBUG:
        raise ImproperlyConfigured("DJANGO_DEBUG must be false when DJANGO_ENV=production.")
    SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# --- Behind a TLS-terminating proxy ------------------------------------------------------------
# Only when the operator says so: then, and only then, X-Forwarded-Proto (set by the gateway, which
# passes on the proxy's value only from GATEWAY_TRUSTED_PROXIES) decides whether a request came over
# HTTPS. Plain-HTTP requests are redirected to HTTPS, HTTPS answers carry HSTS, cookies are secure.
# The health checks and the bot's internal API are reached over the service network in plain HTTP
# (no proxy, no X-Forwarded-Proto): never redirected.
DJANGO_BEHIND_TLS_PROXY = env.bool("DJANGO_BEHIND_TLS_PROXY", default=False)
if DJANGO_BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^api/health", r"^internal/"]
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

INSTALLED_APPS = [
    # modeltranslation must come before django.contrib.admin to patch the admin forms.
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served as our static files (no CDN)
    "common",
    "accounts",
    "projects",
    "tasks",
    "notifications",
    "realtime",
    "django_celery_beat",
    "mailing",
    "reminders",
    "telegram",
]

MIDDLEWARE = [
    # First: the request id and the access line cover every other middleware's work.
    "common.observability.http.RequestObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "common.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
CSRF_FAILURE_VIEW = "common.errors.csrf_failure"
WSGI_APPLICATION = "config.wsgi.application"
# Paths accept an optional trailing slash through the URL patterns themselves.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL through psycopg 3 with a connection pool -------------------------------
# Nothing relies on session state, so DATABASE_URL may point at PgBouncer in transaction mode
# unchanged (docs/scaling.md "PostgreSQL"): no server-side prepared statements (psycopg's
# prepare_threshold off; Django binds parameters on the client), no server-side cursors, no
# session SET (but Django's TimeZone at connect, which PgBouncer tracks and sets again on every
# server connection it hands the client), no advisory lock held across transactions, no LISTEN.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/taskflow"),
}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool owns connection lifetime
# Health checks: with the pool, Django has it try a connection (an empty query) before handing
# it out, and replace one that broke meanwhile (PostgreSQL or PgBouncer restarted).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"]["connect_timeout"] = env.int("DATABASE_CONNECT_TIMEOUT", default=3)
DATABASES["default"]["OPTIONS"]["prepare_threshold"] = None
# QuerySet.iterator() would otherwise declare a cursor WITH HOLD, which outlives its transaction.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
if env.bool("DATABASE_POOL", default=True):
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
        # How long a request waits for a free connection before it gets a 503.
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=5.0),
        # How long one background attempt to (re)open a connection keeps retrying, at 1, 2, 4 s...
        # apart, before it gives up and the next request starts a fresh one at once. psycopg_pool's
        # default (5 min) let the gaps grow past the outage: after PostgreSQL was down 7 s, writes
        # kept failing 6 s after it was back (tests/faults/test_postgres_restart.py).
        "reconnect_timeout": env.float("DATABASE_POOL_RECONNECT_TIMEOUT", default=2.0),
    }
DATABASES["default"]["TEST"] = {"NAME": env.str("DATABASE_TEST_NAME", default="test_taskflow")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis ---------------------------------------------------------------------------------------
# Where the realtime data lives (events, history, presence, tickets, the bot's stream, throttling
# counters), read by common.redis through taskflow_contracts.RedisTopology: REDIS_CLUSTER_URL (any
# node of a Redis Cluster), else REDIS_SENTINELS (`host:port,host:port`) with
# REDIS_SENTINEL_MASTER (database and password from REDIS_URL; REDIS_SENTINEL_PASSWORD for the
# Sentinels themselves), else the single node REDIS_URL.
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_CLUSTER_URL = env.str("REDIS_CLUSTER_URL", default="")
REDIS_SENTINELS = env.str("REDIS_SENTINELS", default="")
REDIS_SENTINEL_MASTER = env.str("REDIS_SENTINEL_MASTER", default="")
REDIS_SENTINEL_PASSWORD = env.str("REDIS_SENTINEL_PASSWORD", default="")
try:  # fail fast on a topology that names no primary or a malformed Sentinel list
    RedisTopology.from_env(
        {
            "REDIS_URL": REDIS_URL,
            "REDIS_CLUSTER_URL": REDIS_CLUSTER_URL,
            "REDIS_SENTINELS": REDIS_SENTINELS,
            "REDIS_SENTINEL_MASTER": REDIS_SENTINEL_MASTER,
        }
    )
except ValueError as error:
    raise ImproperlyConfigured(str(error)) from error
# Redis calls never hang a request: connect and read time out quickly.
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=1.0)

# --- Events: outbox, realtime history --------------------------------------------------------
# Each user's history stream keeps about this many messages (replay on reconnect) and expires
# when the user has had no event for REALTIME_HISTORY_TTL seconds.
REALTIME_HISTORY_LENGTH = env.int("REALTIME_HISTORY_LENGTH", default=500)
REALTIME_HISTORY_TTL = env.int("REALTIME_HISTORY_TTL", default=3 * 24 * 3600)
# After a failed publish the request-path publisher stands aside this long (the relay delivers).
OUTBOX_FAST_PATH_PAUSE = env.float("OUTBOX_FAST_PATH_PAUSE", default=5.0)
OUTBOX_RELAY_INTERVAL = env.float("OUTBOX_RELAY_INTERVAL", default=0.5)
OUTBOX_RELAY_GRACE = env.float("OUTBOX_RELAY_GRACE", default=1.0)
# The relay's longest wait between attempts while Redis or the database is down (it doubles from
# OUTBOX_RELAY_INTERVAL). Short, because once Redis is back the fast path publishes new board
# events at once, and each waits (held, up to OUTBOX_FORCE_AFTER) for its predecessors, which only
# the relay's next pass delivers: a live board stands still until then.
OUTBOX_RELAY_RETRY_MAX = env.float("OUTBOX_RELAY_RETRY_MAX", default=5.0)
# A delivery the relay finds still waiting for its board predecessor this many seconds after its
# row was written is delivered regardless (the predecessor would have to be lost for that to
# matter: DELIVER_LUA's force flag, docs/scaling.md).
OUTBOX_FORCE_AFTER = env.float("OUTBOX_FORCE_AFTER", default=30.0)
# The relay moves its watermark past a done row only once the row is this many seconds old, after
# asking Redis again: longer than a Redis failover's window of lost writes (a Sentinel
# switch-over: the demoted primary takes writes for ~10 s, then loses them, done markers
# included). The fast path and the relay still deliver at once; only the watermark waits.
OUTBOX_SETTLE = env.float("OUTBOX_SETTLE", default=20.0)
# WebSocket tickets (POST /api/realtime/ticket): single-use, at most 60 seconds.
REALTIME_TICKET_TTL = env.int("REALTIME_TICKET_TTL", default=30)
if not 1 <= REALTIME_TICKET_TTL <= 60:
    raise ImproperlyConfigured("REALTIME_TICKET_TTL must be between 1 and 60 seconds.")
OUTBOX_RETENTION = timedelta(days=env.int("OUTBOX_RETENTION_DAYS", default=7))

# --- Auth ----------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if DJANGO_ENV == "test":
    # Hashing dominates test time; production keeps Django's default (PBKDF2).
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

REGISTRATION_OPEN = env.bool("REGISTRATION_OPEN", default=True)
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=10)
LOGIN_LOCKOUT = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
INVITE_TTL = timedelta(days=env.int("INVITE_TTL_DAYS", default=7))
# Failed sign-ins (API and admin alike, accounts.services.auth_authenticate), counted in Redis in
# windows of LOGIN_THROTTLE_WINDOW seconds: a client address past LOGIN_FAILURES_PER_ADDRESS, or
# an email with no account past LOGIN_FAILURES_PER_ACCOUNT, is refused (429) until its window
# ends. Existing accounts lock after LOGIN_MAX_FAILURES in a row (above).
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=30)
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=LOGIN_MAX_FAILURES)
LOGIN_THROTTLE_WINDOW = env.int("LOGIN_THROTTLE_WINDOW", default=int(LOGIN_LOCKOUT.total_seconds()))
# The request header holding the client's address as the gateway saw it (nginx overwrites it);
# empty: the peer address (django-core reached directly, no proxy in front).
CLIENT_ADDRESS_HEADER = env.str("CLIENT_ADDRESS_HEADER", default="X-Real-IP")
# A refresh token presented again within this many seconds of its rotation (two tabs refreshing
# at once) gets the same new pair instead of counting as theft.
REFRESH_REUSE_GRACE = env.int("REFRESH_REUSE_GRACE", default=10)
# Mailed single-use links (accounts.services): verifying the address, resetting the password. A
# verification mail may be asked for again once per EMAIL_VERIFICATION_RESEND_INTERVAL seconds;
# reset mails go out at most PASSWORD_RESETS_PER_EMAIL times per address (and requests from one
# client address are refused past PASSWORD_RESETS_PER_ADDRESS) per PASSWORD_RESET_THROTTLE_WINDOW.
EMAIL_VERIFICATION_TTL = timedelta(hours=48)
EMAIL_VERIFICATION_RESEND_INTERVAL = 60
PASSWORD_RESET_TTL = timedelta(hours=1)
PASSWORD_RESET_THROTTLE_WINDOW = 3600
PASSWORD_RESETS_PER_EMAIL = 3
PASSWORD_RESETS_PER_ADDRESS = 20


DEV_KEY_DIR = REPO_DIR / "var" / "keys"


def _repo_path(value: str) -> Path:
    """Relative paths in the environment are relative to the repository root."""
    path = Path(value)
    return path if path.is_absolute() else REPO_DIR / path


def _read_key(name: str, default_file: str) -> tuple[str, Path | None]:
    """A PEM key from `<name>` (inline) or the file at `<name>_FILE`; ("", path) when missing."""
    inline = env.str(name, default="")
    if inline:
        return inline.replace("\\n", "\n"), None
    path = _repo_path(env.str(f"{name}_FILE", default=str(DEV_KEY_DIR / default_file)))
    return (path.read_text() if path.is_file() else ""), path


JWT_PRIVATE_KEY, _private_key_path = _read_key("JWT_PRIVATE_KEY", "jwt_private.pem")
JWT_PUBLIC_KEY, _public_key_path = _read_key("JWT_PUBLIC_KEY", "jwt_public.pem")
if not (JWT_PRIVATE_KEY and JWT_PUBLIC_KEY):
    raise ImproperlyConfigured(
        "No JWT key pair configured. Set JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY_FILE (or the keys "
        "inline in JWT_PRIVATE_KEY / JWT_PUBLIC_KEY). On a developer machine `make keys` creates a "
        "pair under var/keys/."
    )
if IS_PRODUCTION and _private_key_path is not None and _private_key_path.parent == DEV_KEY_DIR:
    raise ImproperlyConfigured(
        "Production needs its own JWT key pair: set JWT_PRIVATE_KEY_FILE / JWT_PUBLIC_KEY_FILE outside "
        "var/keys/ (that pair is generated for development only)."
    )

ACCESS_TOKEN_LIFETIME = timedelta(minutes=env.int("ACCESS_TOKEN_MINUTES", default=10))
if timedelta(minutes=15) < ACCESS_TOKEN_LIFETIME:
    raise ImproperlyConfigured("ACCESS_TOKEN_MINUTES must be at most 15.")

SIMPLE_JWT = {
    "ALGORITHM": "EdDSA",
    "SIGNING_KEY": JWT_PRIVATE_KEY,
    "VERIFYING_KEY": JWT_PUBLIC_KEY,
    "ISSUER": "taskflow",
    "AUDIENCE": "api",
    "ACCESS_TOKEN_LIFETIME": ACCESS_TOKEN_LIFETIME,
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("REFRESH_TOKEN_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    # Tokens carry a digest of the password hash: a password change invalidates them all.
    "CHECK_REVOKE_TOKEN": True,
    "CHECK_USER_IS_ACTIVE": True,
}

RENDERER_CLASSES = ["rest_framework.renderers.JSONRenderer"]
if DEBUG:
    RENDERER_CLASSES.append("rest_framework.renderers.BrowsableAPIRenderer")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.UserJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": RENDERER_CLASSES,
    "DEFAULT_PARSER_CLASSES": ["common.parsers.BoundedJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "common.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": False,
    # Rates of common.throttling.WriteRateThrottle (counted in Redis), by the view's throttle_scope.
    "DEFAULT_THROTTLE_RATES": {
        "register": env.str("THROTTLE_RATE_REGISTER", default="30/hour"),
        "invite": env.str("THROTTLE_RATE_INVITE", default="50/hour"),
    },
}

# /api/docs (Swagger UI) and /api/schema: on by default outside production; off there unless
# enabled (then both answer a JSON 404).
API_DOCS_ENABLED = env.bool("API_DOCS_ENABLED", default=not IS_PRODUCTION)

SPECTACULAR_SETTINGS = {
    "TITLE": "TaskFlow API",
    "DESCRIPTION": "The django-core HTTP API. Authenticate with `Authorization: Bearer <access>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from drf-spectacular-sidecar's static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api",
    "PREPROCESSING_HOOKS": ["common.schema.drop_trailing_slash_duplicates"],
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "projects.models.Role",
        "TaskStatusEnum": "tasks.models.TaskStatus",
        "TaskPriorityEnum": "tasks.models.TaskPriority",
        "InviteStatusEnum": "projects.models.InviteStatus",
        "LanguageEnum": "config.settings.LANGUAGES",
        "HealthStatusEnum": "common.selectors.HEALTH_WORDS",
    },
}

# --- Internationalisation ------------------------------------------------------------------------
# LANGUAGES is the one list of supported languages: translated model fields and their columns,
# the API's `title_<lang>` fields, search, the admin's tabs and the user's `language` all derive
# from it. Adding a language is a line here plus its catalogs (locales/<lang>/) and a migration.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian")), ("es", _("Spanish"))]
LOCALE_PATHS = [REPO_DIR / "locales"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"


def modeltranslation_languages(
    languages: Sequence[tuple[str, Any]],
) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    """(MODELTRANSLATION_LANGUAGES, MODELTRANSLATION_FALLBACK_LANGUAGES) for `languages`: a
    settings module that extends LANGUAGES derives both again with this.

    A field missing in the requested language falls back to English, then to any language
    written (in LANGUAGES order)."""
    codes = tuple(code for code, _label in languages)
    return codes, {"default": (LANGUAGE_CODE, *(code for code in codes if code != LANGUAGE_CODE))}


MODELTRANSLATION_DEFAULT_LANGUAGE = LANGUAGE_CODE
MODELTRANSLATION_LANGUAGES, MODELTRANSLATION_FALLBACK_LANGUAGES = modeltranslation_languages(LANGUAGES)

# The admin's language tabs (modeltranslation) use jQuery UI: served from our own static files
# (jquery-ui 1.14.2 from the npm registry, MIT, vendored under common/static/vendor/), never from
# a CDN, so a self-hosted instance works offline and its admin loads no third-party script.
JQUERY_UI_URL = "vendor/jquery-ui/jquery-ui.min.js"

# --- Static files (served by WhiteNoise here, by nginx behind the gateway) ----------------------
STATIC_URL = "/static/"
STATIC_ROOT = _repo_path(env.str("STATIC_ROOT", default="django-core/staticfiles"))

# Bodies above this size get a 413 JSON error before any parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
# JSON bodies nested deeper than this many levels get a 400 (common.parsers).
JSON_MAX_DEPTH = env.int("JSON_MAX_DEPTH", default=64)

# --- Email (Django's names; with no EMAIL_HOST mail goes to the console) ------------------------
EMAIL_HOST = env.str("EMAIL_HOST", default="")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="TaskFlow <noreply@taskflow.localhost>")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)

# --- Background work: Celery worker + beat, emails, reminders, digests, clean-up ----------------
# Redis is the broker, configured apart from the realtime data (by default the single node
# REDIS_URL). kombu speaks a single node (`redis://`) or Sentinel: `sentinel://host1:26379;
# sentinel://host2:26379` (database and password as in a redis:// URL) with the primary's name in
# CELERY_BROKER_SENTINEL_MASTER (default REDIS_SENTINEL_MASTER), passed as the transport option
# `master_name`. It does not speak Redis Cluster: with REDIS_CLUSTER_URL the broker stays a single
# node or Sentinel. No result backend: tasks record what they did in the database
# (mailing.EmailDelivery, reminders.DeadlineReminder).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Every task is idempotent, so a message is acknowledged only after the task ran, and one whose
# worker died mid-task goes back to the queue (at least once; the tasks dedupe). The worker runs
# the prefork pool (Procfile, docker-entrypoint.sh): when a pool process dies (OOM killer, a
# crash, SIGKILL), the parent sees it and rejects its message with requeue at once. With the
# threads pool there is no such parent: the message would wait in the broker's unacked set for
# the visibility timeout. When the whole worker dies, that is what happens: the message comes
# back after CELERY_VISIBILITY_TIMEOUT, and the email redispatch sweep (EMAIL_REDISPATCH_AFTER)
# hands the event on sooner (docs/background.md "Lost tasks").
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# How long the parent waits for a dead pool process's result before it requeues the message
# (Celery's default, 10 s, is for result backends; there is none here).
CELERY_WORKER_LOST_WAIT = 1.0
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # An unacknowledged message is redelivered after this many seconds; longer than any task runs
    # and than the longest retry countdown (EMAIL_RETRY_BACKOFF_MAX).
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "socket_timeout": 5,
    "socket_connect_timeout": 3,
}
if CELERY_BROKER_URL.startswith("sentinel://"):
    CELERY_BROKER_TRANSPORT_OPTIONS["master_name"] = env.str(
        "CELERY_BROKER_SENTINEL_MASTER", default=REDIS_SENTINEL_MASTER
    )
    if not CELERY_BROKER_TRANSPORT_OPTIONS["master_name"]:
        raise ImproperlyConfigured("CELERY_BROKER_URL names Sentinels: set CELERY_BROKER_SENTINEL_MASTER.")
# Enqueueing (done by the outbox relay, never by a request) gives up quickly when the broker is
# down: the outbox rows stay undispatched and the next relay cycle tries again.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
# Schedules live in the database (editable in the admin); config/schedules.py defines them.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
DJANGO_CELERY_BEAT_TZ_AWARE = True

# Emails: a failed SMTP send is retried with exponential backoff and jitter, starting at
# EMAIL_RETRY_BACKOFF seconds, at most EMAIL_RETRY_BACKOFF_MAX apart, EMAIL_MAX_RETRIES times.
EMAIL_MAX_RETRIES = env.int("EMAIL_MAX_RETRIES", default=8)
EMAIL_RETRY_BACKOFF = env.float("EMAIL_RETRY_BACKOFF", default=30.0)
EMAIL_RETRY_BACKOFF_MAX = env.float("EMAIL_RETRY_BACKOFF_MAX", default=1800.0)
# A worker sending one email holds its delivery for this many seconds; a worker that died
# mid-send is taken over after it. Longer than one SMTP conversation can last (EMAIL_TIMEOUT per
# network step).
EMAIL_SEND_LEASE = timedelta(seconds=env.int("EMAIL_SEND_LEASE", default=300))
# An event handed to the worker this many seconds ago whose emails are not all finished (its task
# was lost: the broker lost its queue, the whole worker was killed) is handed on again by beat's
# "Email redispatch" job; never while a delivery is being sent or waits for its retry.
EMAIL_REDISPATCH_AFTER = timedelta(seconds=env.int("EMAIL_REDISPATCH_AFTER", default=900))
# The daily digest goes out at this hour of each user's own time zone (0-23).
DIGEST_HOUR = env.int("DIGEST_HOUR", default=8)
if not 0 <= DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("DIGEST_HOUR must be an hour of the day, 0-23.")
# "Due soon" in the digest: open tasks due within this many hours.
DIGEST_DUE_SOON_HOURS = env.int("DIGEST_DUE_SOON_HOURS", default=48)
# Clean-up: read notifications and the email log are kept this many days.
NOTIFICATION_RETENTION = timedelta(days=env.int("NOTIFICATION_RETENTION_DAYS", default=90))
EMAIL_LOG_RETENTION = timedelta(days=env.int("EMAIL_LOG_RETENTION_DAYS", default=90))

# --- Telegram (telegram-bot; docs/telegram.md) ----------------------------------------------------
# The bot calls django-core's internal API (/internal/telegram/, not routed by the gateway) with
# this shared secret in X-Service-Token. Production refuses the placeholder.
PLACEHOLDER_TELEGRAM_SERVICE_TOKEN = "dev-insecure-telegram-token-change-me"  # noqa: S105
TELEGRAM_SERVICE_TOKEN = env.str("TELEGRAM_SERVICE_TOKEN", default=PLACEHOLDER_TELEGRAM_SERVICE_TOKEN)
if IS_PRODUCTION and (TELEGRAM_SERVICE_TOKEN == PLACEHOLDER_TELEGRAM_SERVICE_TOKEN or len(TELEGRAM_SERVICE_TOKEN) < 32):
    raise ImproperlyConfigured(
        "TELEGRAM_SERVICE_TOKEN is a placeholder or shorter than 32 characters; set the same long random "
        "value for django-core and the bot (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)."
    )
# The bot's username for deep links; empty: the one the bot reported from getMe at start-up.
TELEGRAM_BOT_USERNAME = env.str("TELEGRAM_BOT_USERNAME", default="").lstrip("@")
# A link token lives this many seconds (at most 15 minutes).
TELEGRAM_LINK_TTL = env.int("TELEGRAM_LINK_TTL", default=900)
if not 60 <= TELEGRAM_LINK_TTL <= 900:
    raise ImproperlyConfigured("TELEGRAM_LINK_TTL must be between 60 and 900 seconds.")
# The Redis stream the outbox relay feeds and the bot reads (consumer group "bot"), kept to about
# this many entries.
TELEGRAM_STREAM = env.str("TELEGRAM_STREAM", default="telegram:deliveries")
TELEGRAM_STREAM_LENGTH = env.int("TELEGRAM_STREAM_LENGTH", default=100_000)
# A send that failed (not 429, not 403) is retried by the bot until this many attempts, then
# the delivery is parked (status failed, visible and retryable in the admin).
TELEGRAM_MAX_ATTEMPTS = env.int("TELEGRAM_MAX_ATTEMPTS", default=5)
# A claimed delivery is the claimer's for this many seconds (another consumer skips it).
TELEGRAM_CLAIM_LEASE = env.int("TELEGRAM_CLAIM_LEASE", default=60)
# A delivery still pending this long after it was queued is put on the stream again (the stream
# was lost, say); one pending this long after it was created is parked as expired.
TELEGRAM_REQUEUE_AFTER = timedelta(seconds=env.int("TELEGRAM_REQUEUE_AFTER", default=600))
TELEGRAM_DELIVERY_MAX_AGE = timedelta(seconds=env.int("TELEGRAM_DELIVERY_MAX_AGE", default=24 * 3600))
# Finished deliveries are kept this many days (replies to a message become comments while it is).
TELEGRAM_DELIVERY_RETENTION = timedelta(days=env.int("TELEGRAM_DELIVERY_RETENTION_DAYS", default=30))

# What the outbox relay hands committed events on to, each cycle, each with its own backoff:
# `callable(limit=...) -> int` (rows handed on).
OUTBOX_CHANNEL_DISPATCHERS = ["mailing.dispatch.dispatch_pending", "telegram.dispatch.telegram_dispatch_pending"]

# --- Observability (docs/operations.md) ------------------------------------------------------------
# Logs: one schema for every process (common.observability.logs), one JSON object per line
# (LOG_FORMAT=json, what a collector reads) or the same fields readably (console, `make run`).
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if IS_PRODUCTION else "console")
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or console, not {LOG_FORMAT!r}")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = django_logging(log_format=LOG_FORMAT, level=LOG_LEVEL)
# Metrics (prometheus-client) at /internal/metrics (gunicorn; multiprocess through
# PROMETHEUS_MULTIPROC_DIR, see gunicorn.conf.py) and, for the processes without an HTTP server,
# on a port of their own with /metrics, /live and /ready; 0 turns that server off. METRICS_ENABLED
# off: no request metrics and no access line (the bench's "off" side).
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)
OUTBOX_METRICS_PORT = env.int("OUTBOX_METRICS_PORT", default=9101)
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=9102)
BEAT_METRICS_PORT = env.int("BEAT_METRICS_PORT", default=9103)
METRICS_HOST = env.str("METRICS_HOST", default="127.0.0.1")

# --- Read replica (common.db_router) ---------------------------------------------------------------
# An optional PostgreSQL replica for the reads of list endpoints that opt in
# (common.db_router.reads_from_replica), with the primary's engine, options and pool settings.
# Read your writes: after a user's write, that user's reads go to the primary for
# REPLICA_PIN_SECONDS (common.read_your_writes, docs/scaling.md "Read replica"). Unset: one
# database, no router, no middleware, nothing changes. Tests use the primary's test database
# under this alias too (TEST MIRROR).
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
REPLICA_PIN_SECONDS = env.float("REPLICA_PIN_SECONDS", default=5.0)
if REPLICA_PIN_SECONDS <= 0:
    raise ImproperlyConfigured("REPLICA_PIN_SECONDS must be a positive number of seconds.")
if DATABASE_REPLICA_URL:
    _replica = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"] = {
        **DATABASES["default"],
        **{key: _replica[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT") if key in _replica},
        "OPTIONS": {**DATABASES["default"].get("OPTIONS", {}), **_replica.get("OPTIONS", {})},
        "TEST": {"MIRROR": "default"},
    }
    DATABASE_ROUTERS = ["common.db_router.ReplicaRouter"]
    MIDDLEWARE = [*MIDDLEWARE, "common.read_your_writes.ReadYourWritesMiddleware"]
