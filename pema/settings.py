"""Pema settings.

Everything comes from the environment (django-environ). With nothing set the
project runs on embedded defaults that need no server: SQLite in WAL mode and
Celery's filesystem broker, both under ``var/``. Production sets
``DATABASE_URL`` and ``REDIS_URL`` and turns ``DEBUG`` off, and then refuses
to start without a real ``SECRET_KEY`` and ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env("PEMA_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=True)
PEMA_VERSION = "0.1.0"


def _development_secret() -> str:
    """A per-checkout secret for development, kept under var/ so sessions survive restarts."""
    path = VAR_DIR / "dev-secret-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = _development_secret()

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    if not DEBUG:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "bookings",
    "channels",
    "pms",
    "sandbox",
    "backups",
    "suppliers",
    "payments",
]

MIDDLEWARE = [
    # First, so every response and log record carries the request id.
    "bookings.api.middleware.ApiMiddleware",
    # /healthz/ and /readyz/ for probes: before host checks, HTTPS redirects and sessions.
    "pema.health.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves the collected admin and API-docs assets under gunicorn (no web server needed).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # request.htmx: the admin's in-place edits, live quotes and progress bars answer
    # htmx requests with fragments.
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "pema.urls"
WSGI_APPLICATION = "pema.wsgi.application"

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

# --- Database ----------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'pema.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write
    # lock at BEGIN so two bookings serialise instead of failing mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Several test runs may share one PostgreSQL server: each can name its own test database.
if env("PEMA_TEST_DB_NAME", default=""):
    DATABASES["default"]["TEST"] = {"NAME": env("PEMA_TEST_DB_NAME")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and broker ----------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
# Parallel test workers (pytest-xdist: gw0, gw1, ...) and the processes they start
# (which inherit the variable) each take their own Redis database and cache folder,
# so one worker's caches, rate limits and broker queues never meet another's
# (a cache.clear() is a FLUSHDB). Outside the test suite the variable is never set.
_TEST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_TEST_WORKER_INDEX = int(_TEST_WORKER[2:]) if _TEST_WORKER[2:].isdigit() else 0
if REDIS_URL and _TEST_WORKER_INDEX:
    _parts = urlsplit(REDIS_URL)
    _db = int(_parts.path.strip("/") or 0)
    REDIS_URL = urlunsplit(_parts._replace(path=f"/{(_db - _TEST_WORKER_INDEX) % 16}"))
# After a Redis cache call fails, each process skips Redis this long (pema/cache.py).
PEMA_CACHE_BREAKER_SECONDS = env.float("PEMA_CACHE_BREAKER_SECONDS", default=10.0)
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's Redis backend, reusing one redis-py client per pool (see pema/cache.py).
            "BACKEND": "pema.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="pema"),
            # A Redis that does not answer costs a request at most this, not minutes.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
else:
    # File cache, so rate limits and short-lived answers are shared by the
    # web, worker and beat processes of `make run`.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / (f"cache-{_TEST_WORKER}" if _TEST_WORKER else "cache")),
        }
    }
    _broker_dir = VAR_DIR / (f"broker-{_TEST_WORKER}" if _TEST_WORKER else "broker")
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Broadcast (pidbox) files, which otherwise land in the working directory.
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=CELERY_BROKER_URL)
# Enqueues run on requests' paths (pema/tasks.py): a broker that is down may cost
# one short connect, never Celery's default of about 6 s of retries, and after a
# failure each process skips the broker this long (the beat sweeps deliver).
PEMA_BROKER_CONNECT_TIMEOUT = env.float("PEMA_BROKER_CONNECT_TIMEOUT", default=0.5)
PEMA_BROKER_SOCKET_TIMEOUT = env.float("PEMA_BROKER_SOCKET_TIMEOUT", default=2.0)
PEMA_BROKER_BREAKER_SECONDS = env.float("PEMA_BROKER_BREAKER_SECONDS", default=30.0)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": PEMA_BROKER_CONNECT_TIMEOUT,
        # A Redis that accepts but never answers (frozen, swapping) must not hang a send.
        "socket_timeout": PEMA_BROKER_SOCKET_TIMEOUT,
        # A publish connects once: no retry loop. The worker's consumer keeps its
        # own reconnect loop (broker_connection_max_retries), untouched by this.
        "max_retries": 0,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# --- Auth, i18n, static ----------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# The project's own admin assets (CSS); htmx comes from django-htmx's static files.
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns about a missing one
LOGIN_URL = "admin:login"
# Messages can carry a new API key's secret once: keep them server-side, not in a cookie.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

# --- Security (production) -------------------------------------------------------
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading binds every subdomain to HTTPS for good: the operator's choice, not ours.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- REST API ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser with a bound on nesting (a deep body is a 400, not a RecursionError).
    "DEFAULT_PARSER_CLASSES": ["bookings.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # django-filter's, refusing a filter sent empty (pema/api.py).
    "DEFAULT_FILTER_BACKENDS": ["pema.api.StrictFilterBackend"],
    # API keys first: their 401 carries the WWW-Authenticate header; staff sessions too.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "bookings.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["bookings.api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env("PEMA_API_RATE_LIMIT", default="600/min"),
        "api_anon": env("PEMA_API_ANON_RATE_LIMIT", default="60/min"),
        # Failed authentications (401s) per client address (bookings/api/auth_failures.py).
        "auth_failure": env("PEMA_API_AUTH_FAILURE_RATE_LIMIT", default="20/min"),
    },
    # Reverse proxies in front of the web process that append to X-Forwarded-For;
    # 0: the connection's own address is the client's (the header is not trusted).
    "NUM_PROXIES": env.int("PEMA_API_PROXIES", default=0),
    "EXCEPTION_HANDLER": "bookings.api.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Pema API",
    "DESCRIPTION": "Booking-engine and staff API of the Pema channel manager.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed sidecar package: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "pema.api.document_response_headers",
    ],
    # Reservations and backups both have a "status": each its own named enum.
    "ENUM_NAME_OVERRIDES": {"BackupStatusEnum": "backups.models.SystemBackup.Status"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "bookings.api.request_id.RequestIdFilter"},
        "one_line_for_forbidden": {"()": "pema.logs.OneLineForForbidden"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's records reach the console once, through the root handler above
        # (Django's own development console handler would print each a second time).
        "django": {"handlers": [], "level": "INFO"},
        "django.request": {"filters": ["one_line_for_forbidden"]},
        "django.db.backends": {"level": "WARNING"},
    },
}

# --- Pema ----------------------------------------------------------------------------
# How many days ahead the calendar is kept and synchronised.
PEMA_CALENDAR_DAYS = env.int("PEMA_CALENDAR_DAYS", default=500)
# Each web process remembers a checked API key this long, so a busy key costs no
# query per request; revoking a key (or changing its scopes or hotels) therefore
# reaches every process within this many seconds. Expiry is always exact. 0: off.
PEMA_API_KEY_CACHE_SECONDS = env.float("PEMA_API_KEY_CACHE_SECONDS", default=5.0)
# Availability answers are cached per hotel under the hotel's ARI version, which
# every committed change of its calendar, catalogue or reservations bumps; this
# is only the safety net for changes made behind the application's back. 0: off.
PEMA_AVAILABILITY_CACHE_SECONDS = env.int("PEMA_AVAILABILITY_CACHE_SECONDS", default=300)

# --- Backups (backups/) ------------------------------------------------------------------
# Backup files go through the "backups" storage; point it at S3-compatible
# storage by changing its BACKEND and OPTIONS here.
BACKUP_DIR = Path(env("BACKUP_DIR", default=str(VAR_DIR / "backups")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "backups": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(BACKUP_DIR), "file_permissions_mode": 0o600},
    },
}
# 32 bytes, URL-safe base64 (a Fernet key). Needed for --encrypt and to read encrypted backups.
BACKUP_ENCRYPTION_KEY = env("BACKUP_ENCRYPTION_KEY", default="")
# Audit and log models left out by --exclude-audit; models not installed yet are ignored.
BACKUP_AUDIT_MODELS = env.list(
    "BACKUP_AUDIT_MODELS",
    default=["admin.LogEntry", "channels.SyncLog", "bookings.ApiAuditLog"],
)
# What the nightly prune keeps.
BACKUP_KEEP_DAILY = env.int("BACKUP_KEEP_DAILY", default=7)
BACKUP_KEEP_WEEKLY = env.int("BACKUP_KEEP_WEEKLY", default=4)
BACKUP_KEEP_MONTHLY = env.int("BACKUP_KEEP_MONTHLY", default=6)

# --- Channels and the PMS (IDS Next) ----------------------------------------------------
# Partner credentials are encrypted with this key (pema/crypto.py). Production
# must set it; development derives one from SECRET_KEY so a checkout just runs.
FIELD_ENCRYPTION_KEY = env("FIELD_ENCRYPTION_KEY", default="")
if not FIELD_ENCRYPTION_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY must be set when DEBUG is off.")
    FIELD_ENCRYPTION_KEY = "dev:" + SECRET_KEY
# Older keys, comma-separated, that still decrypt while `manage.py rotate_encryption_key`
# rewrites every value with FIELD_ENCRYPTION_KEY (README: Key rotation).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
PEMA_HTTP_CONNECT_TIMEOUT = env.float("PEMA_HTTP_CONNECT_TIMEOUT", default=5.0)
PEMA_HTTP_READ_TIMEOUT = env.float("PEMA_HTTP_READ_TIMEOUT", default=30.0)
# The whole of one call, however slowly the partner drips its answer (pema/http.py).
PEMA_HTTP_DEADLINE_SECONDS = env.float("PEMA_HTTP_DEADLINE_SECONDS", default=60.0)
# A 429 is tried again inside the call this many times (after 1 s, 2 s, 4 s, or the
# partner's Retry-After), each wait capped; then the job goes back to the outbox's backoff.
PEMA_HTTP_429_RETRIES = env.int("PEMA_HTTP_429_RETRIES", default=3)
PEMA_HTTP_429_MAX_WAIT = env.float("PEMA_HTTP_429_MAX_WAIT", default=30.0)
# The outbox (pema/outbox.py: SyncJobs and webhook deliveries): capped exponential backoff
# with jitter for up to the maximum age (seconds), then `dead`; an unreachable partner or
# webhook receiver is probed every CHANNELS_PROBE_SECONDS.
CHANNELS_RETRY_BASE_SECONDS = env.float("CHANNELS_RETRY_BASE_SECONDS", default=1.0)
CHANNELS_RETRY_MAX_SECONDS = env.float("CHANNELS_RETRY_MAX_SECONDS", default=300.0)
CHANNELS_RETRY_MAX_AGE = env.float("CHANNELS_RETRY_MAX_AGE", default=24 * 3600.0)
CHANNELS_PROBE_SECONDS = env.float("CHANNELS_PROBE_SECONDS", default=30.0)
# Every partner that is sent ARI gets the whole calendar again this often: it heals
# any drift, and sends the days that have just come inside a partner's window
# (Booking.com's 365 days) since no change ever marked them.
CHANNELS_FULL_SYNC_MINUTES = env.int("CHANNELS_FULL_SYNC_MINUTES", default=24 * 60)
# Status messages per ARI document (one SyncJob sends one document).
CHANNELS_ARI_BATCH_SIZE = env.int("CHANNELS_ARI_BATCH_SIZE", default=200)
# Events younger than this may still have lower-id siblings in flight (see channels/dispatch.py).
CHANNELS_OUTBOX_SETTLE_SECONDS = env.float("CHANNELS_OUTBOX_SETTLE_SECONDS", default=60.0)
# How long a worker owns a connection's delivery before another may take over; the
# worker renews it every third of that while it delivers (pema/outbox.py). The same holds
# for a webhook endpoint.
CHANNELS_LEASE_SECONDS = env.float("CHANNELS_LEASE_SECONDS", default=15.0)
# Tries a job may lose to a worker dying mid-call before it is not sent again.
CHANNELS_MAX_INTERRUPTED_ATTEMPTS = env.int("CHANNELS_MAX_INTERRUPTED_ATTEMPTS", default=3)
# The provider registry: key -> dotted path of the provider class (channels/providers).
# Adding a partner is one entry here; Connection.provider needs no migration for it.
# The environment may replace it as "key=path,key=path".
PEMA_PROVIDERS = env.dict(
    "PEMA_PROVIDERS",
    default={
        "ids_next": "partners.ids_next.provider.IdsNextProvider",
        "booking_com": "partners.booking_com.provider.BookingComProvider",
        "airbnb": "partners.airbnb.provider.AirbnbProvider",
        "expedia": "partners.expedia.provider.ExpediaProvider",
        "mock": "partners.mock.provider.MockProvider",
        "cloudbeds": "partners.cloudbeds.provider.CloudbedsProvider",
        "mews": "partners.mews.provider.MewsProvider",
        "opera": "partners.opera.provider.OperaProvider",
        "agoda": "partners.agoda.provider.AgodaProvider",
    },
)
# Airbnb (partners/airbnb/, iCalendar): seconds between reads of each listing's feed.
AIRBNB_POLL_SECONDS = env.int("AIRBNB_POLL_SECONDS", default=600)
# IDS Next (partners/ids_next/): the connection `manage.py ensure_ids_connection` makes.
IDS_BASE_URL = env("IDS_BASE_URL", default="http://127.0.0.1:8100")
IDS_HOTEL_CODE = env("IDS_HOTEL_CODE", default="PEMA001")
IDS_API_KEY = env("IDS_API_KEY", default="sandbox-key")
IDS_API_SECRET = env("IDS_API_SECRET", default="sandbox-secret")
IDS_SYNC_INTERVAL_MINUTES = env.int("IDS_SYNC_INTERVAL_MINUTES", default=15)
IDS_ENABLE_BACKGROUND_SYNC = env.bool("IDS_ENABLE_BACKGROUND_SYNC", default=True)
# PMS availability answers are cached this long per room type and stay (0 = never).
IDS_AVAILABILITY_CACHE_SECONDS = env.float("IDS_AVAILABILITY_CACHE_SECONDS", default=5.0)
# PMS booking webhooks (/api/v1/pms/<provider>/bookings/): the token a connection without
# its own webhook secret accepts, per provider (PMS_<PROVIDER>_TOKEN, read from the
# environment when used) and then for every provider. Empty: only connection secrets.
PMS_WEBHOOK_TOKEN = env("PMS_WEBHOOK_TOKEN", default="")
# Where partners reach Pema (webhook URLs a PMS is subscribed to); the dev server by default.
PEMA_PUBLIC_URL = env("PEMA_PUBLIC_URL", default="http://127.0.0.1:8000")
# Cloudbeds (partners/cloudbeds/): what `manage.py ensure_connection cloudbeds` uses by
# default - the sandbox's simulator and its key. Production sets all three.
CLOUDBEDS_BASE_URL = env("CLOUDBEDS_BASE_URL", default="http://127.0.0.1:8100/cloudbeds/api/v1.3")
CLOUDBEDS_API_KEY = env("CLOUDBEDS_API_KEY", default="cbat_sandbox_key")
CLOUDBEDS_PROPERTY_ID = env("CLOUDBEDS_PROPERTY_ID", default="318267")
# Mews (partners/mews/): `manage.py ensure_connection mews` defaults to the sandbox's
# simulator with Mews' published demo tokens, which are never production's.
MEWS_BASE_URL = env("MEWS_BASE_URL", default="http://127.0.0.1:8100/mews")
MEWS_CLIENT_TOKEN = env("MEWS_CLIENT_TOKEN", default="")
MEWS_ACCESS_TOKEN = env("MEWS_ACCESS_TOKEN", default="")
MEWS_SERVICE_ID = env("MEWS_SERVICE_ID", default="")
# OPERA Cloud (partners/opera/): `manage.py ensure_connection opera` defaults to the
# sandbox's simulator and its sandbox client; production sets the gateway and all four.
OPERA_BASE_URL = env("OPERA_BASE_URL", default="http://127.0.0.1:8100/opera")
OPERA_CLIENT_ID = env("OPERA_CLIENT_ID", default="")
OPERA_CLIENT_SECRET = env("OPERA_CLIENT_SECRET", default="")
OPERA_APP_KEY = env("OPERA_APP_KEY", default="")
OPERA_HOTEL_ID = env("OPERA_HOTEL_ID", default="SAND01")
# Seconds `?wait=true` on the PMS sync API waits for the run to end.
PMS_SYNC_WAIT_SECONDS = env.float("PMS_SYNC_WAIT_SECONDS", default=30.0)
# The queue channel tasks are sent to (tests give their worker a private one).
CHANNELS_TASK_QUEUE = env("CHANNELS_TASK_QUEUE", default="celery")

# --- Sandbox harness (manage.py runsandbox) ------------------------------------------------
# Partner -> simulator class, each served under /<partner>/ (control: /_control/<partner>/).
PEMA_SANDBOX_SIMULATORS = env.dict(
    "PEMA_SANDBOX_SIMULATORS",
    default={
        "ids_next": "partners.ids_next.simulator.IDSNextSimulator",
        "booking_com": "partners.booking_com.simulator.BookingSimulator",
        "airbnb": "partners.airbnb.simulator.AirbnbSimulator",
        "expedia": "partners.expedia.simulator.ExpediaSimulator",
        # Two Hotelbeds accounts, each its own catalogue and state: two suppliers to try.
        "hotelbeds": "partners.hotelbeds.simulator.HotelbedsSimulator",
        "hotelbeds2": "partners.hotelbeds.simulator.HotelbedsSimulator",
        "cloudbeds": "partners.cloudbeds.simulator.CloudbedsSimulator",
        "mews": "partners.mews.simulator.MewsSimulator",
        "opera": "partners.opera.simulator.OperaSimulator",
        "agoda": "partners.agoda.simulator.AgodaSimulator",
        "payu": "payments.gateways.payu.simulator.PayUSimulator",
    },
)
# The OpenTravel 2011B schemas simulators validate documents against (<dir>/2011B/schemas).
PEMA_OTA_DIR = Path(env("PEMA_OTA_DIR", default=str(BASE_DIR.parent / "shared" / "ota")))
# The Booking.com simulator's machine account and property (mapped by Pema's codes).
BOOKING_SANDBOX_USERNAME = env("BOOKING_SANDBOX_USERNAME", default="sandbox-user")
BOOKING_SANDBOX_PASSWORD = env("BOOKING_SANDBOX_PASSWORD", default="sandbox-password")
BOOKING_SANDBOX_HOTEL_ID = env("BOOKING_SANDBOX_HOTEL_ID", default="1000001")
BOOKING_SANDBOX_CURRENCY = env("BOOKING_SANDBOX_CURRENCY", default="INR")
BOOKING_SANDBOX_ROOMS = env.list(
    "BOOKING_SANDBOX_ROOMS",
    default=["EXT", "EXQ", "SUI", "PES", "STT", "STQ", "PBT", "PBQ", "PGT", "PEV"],
)
BOOKING_SANDBOX_RATES = env.list("BOOKING_SANDBOX_RATES", default=["BAR-BB", "NRF-BB"])
# The Expedia (EQC) simulator's account and property (room types and rate plans by Pema's codes).
EXPEDIA_SANDBOX_USERNAME = env("EXPEDIA_SANDBOX_USERNAME", default="sandbox-eqc")
EXPEDIA_SANDBOX_PASSWORD = env("EXPEDIA_SANDBOX_PASSWORD", default="sandbox-eqc-password")
EXPEDIA_SANDBOX_HOTEL_ID = env("EXPEDIA_SANDBOX_HOTEL_ID", default="35499")
EXPEDIA_SANDBOX_CURRENCY = env("EXPEDIA_SANDBOX_CURRENCY", default="INR")
# The Agoda simulator's property and credentials (its products are configured per test).
AGODA_SANDBOX_PROPERTY_ID = env("AGODA_SANDBOX_PROPERTY_ID", default="1949542")
AGODA_SANDBOX_API_KEY = env("AGODA_SANDBOX_API_KEY", default="sandbox-agoda-key")
AGODA_SANDBOX_CLIENT_ID = env("AGODA_SANDBOX_CLIENT_ID", default="sandbox-agoda-client")
AGODA_SANDBOX_CLIENT_SECRET = env("AGODA_SANDBOX_CLIENT_SECRET", default="sandbox-agoda-secret")
AGODA_SANDBOX_CURRENCY = env("AGODA_SANDBOX_CURRENCY", default="INR")

# --- Booking-engine webhooks ---------------------------------------------------------------
# Deliveries go through the one outbox (pema/outbox.py): its lease, backoff, retry window and
# probe are the CHANNELS_* settings above.
PEMA_WEBHOOK_TIMEOUT_SECONDS = env.float("PEMA_WEBHOOK_TIMEOUT_SECONDS", default=10.0)
CELERY_BEAT_SCHEDULE = globals().get("CELERY_BEAT_SCHEDULE", {})
# The sweeper turns change events into deliveries: nothing is lost when the broker was down.
CELERY_BEAT_SCHEDULE["bookings-webhook-sweep"] = {
    "task": "bookings.tasks.sweep_webhooks",
    "schedule": 60.0,
}
# A killed worker's webhook endpoint goes to another worker once its lease has run out.
CELERY_BEAT_SCHEDULE["bookings-webhook-lease-takeover"] = {
    "task": "bookings.tasks.take_over_webhooks",
    "schedule": 10.0,
}
# A killed worker's connection goes to another worker once its lease has run out.
CELERY_BEAT_SCHEDULE["channels-lease-takeover"] = {
    "task": "channels.tasks.take_over_abandoned",
    "schedule": 10.0,
    "options": {"queue": CHANNELS_TASK_QUEUE},
}

# --- Suppliers (suppliers/, partners/hotelbeds/): other hotels' rooms ----------------------------
# Supplier registry: key -> dotted path of the class implementing suppliers.interface.Supplier.
PEMA_SUPPLIERS = env.dict(
    "PEMA_SUPPLIERS",
    default={"hotelbeds": "partners.hotelbeds.provider.HotelbedsSupplier"},
)
# Search answers are cached this long, keyed by the normalised query (0 = never).
PEMA_SUPPLIER_SEARCH_CACHE_SECONDS = env.int("PEMA_SUPPLIER_SEARCH_CACHE_SECONDS", default=120)
# Which suppliers are enabled is remembered per process this long (a change shows within it).
PEMA_SUPPLIER_CONFIG_CACHE_SECONDS = env.float("PEMA_SUPPLIER_CONFIG_CACHE_SECONDS", default=5.0)
# Suppliers asked at once across all searches of one process (each search waits its turn).
PEMA_SUPPLIER_SEARCH_WORKERS = env.int("PEMA_SUPPLIER_SEARCH_WORKERS", default=16)
# A pace wait longer than this refuses the call instead (the caller sees the supplier busy).
PEMA_SUPPLIER_MAX_PACE_WAIT_SECONDS = env.float("PEMA_SUPPLIER_MAX_PACE_WAIT_SECONDS", default=2.0)
# After a 403 "Developer Over QPS" the supplier is left alone this long.
PEMA_SUPPLIER_QPS_BACKOFF_SECONDS = env.float("PEMA_SUPPLIER_QPS_BACKOFF_SECONDS", default=2.0)
# A failed request is not sent again within this window (Hotelbeds answers 410 to a repeat).
PEMA_SUPPLIER_REPEAT_WINDOW_SECONDS = env.int("PEMA_SUPPLIER_REPEAT_WINDOW_SECONDS", default=900)
# After a booking's answer is lost, the supplier's list is read again after these pauses (s).
PEMA_SUPPLIER_SETTLE_DELAYS = [
    float(x) for x in env.list("PEMA_SUPPLIER_SETTLE_DELAYS", default=["1", "2", "4"])
]
# The supplier's status endpoint is asked at most once per this many seconds (health check).
PEMA_SUPPLIER_STATUS_CACHE_SECONDS = env.int("PEMA_SUPPLIER_STATUS_CACHE_SECONDS", default=60)
# Content refresh by beat (a periodic task made on migrate): a delta since the last sync.
PEMA_SUPPLIER_CONTENT_SYNC_HOURS = env.int("PEMA_SUPPLIER_CONTENT_SYNC_HOURS", default=24)
# The Hotelbeds sandbox simulator: its key and secret, and how slowly it answers.
HOTELBEDS_SANDBOX_API_KEY = env("HOTELBEDS_SANDBOX_API_KEY", default="hb-sandbox-key")
HOTELBEDS_SANDBOX_SECRET = env("HOTELBEDS_SANDBOX_SECRET", default="hb-sandbox-secret")
HOTELBEDS_SANDBOX_LATENCY_MS = env.int("HOTELBEDS_SANDBOX_LATENCY_MS", default=300)
HOTELBEDS_SANDBOX_HOTELS = env.int("HOTELBEDS_SANDBOX_HOTELS", default=300)
# Extra reports in the health check (name -> dotted path of a callable returning JSON-able data).
PEMA_HEALTH_REPORTS = env.dict(
    "PEMA_HEALTH_REPORTS", default={"suppliers": "suppliers.health.report"}
)
# --- Payments (payments/) ------------------------------------------------------------------
# Apps that add to the booking flow (bookings/extensions.py), by dotted path.
PEMA_BOOKING_EXTENSIONS = env.list(
    "PEMA_BOOKING_EXTENSIONS", default=["payments.hooks.PaymentsExtension"]
)
# How long a booking awaiting payment holds its rooms.
PAYMENT_HOLD_MINUTES = env.int("PAYMENT_HOLD_MINUTES", default=15)
# A payment still pending this long is verified with the gateway by the reconciliation.
PAYMENT_RECONCILE_AFTER_MINUTES = env.int("PAYMENT_RECONCILE_AFTER_MINUTES", default=10)
# PayU for the hotel PAYU_HOTEL (`manage.py ensure_payu_config`): key and salt from the
# environment only. PAYU_MODE test|production picks PayU's URLs; PAYU_BASE_URL overrides both
# (the simulator: http://127.0.0.1:8100/payu).
PAYU_KEY = env("PAYU_KEY", default="")
PAYU_SALT = env("PAYU_SALT", default="")
PAYU_MODE = env("PAYU_MODE", default="test")
PAYU_BASE_URL = env("PAYU_BASE_URL", default="")
PAYU_HOTEL = env("PAYU_HOTEL", default="PEMA")
# The PayU simulator's merchant (runsandbox): the same key and salt as Pema's test config.
PAYU_SANDBOX_KEY = env("PAYU_SANDBOX_KEY", default="sandboxkey")
PAYU_SANDBOX_SALT = env("PAYU_SANDBOX_SALT", default="sandboxsalt")
CELERY_BEAT_SCHEDULE["payments-reconcile"] = {
    "task": "payments.tasks.reconcile_payments",
    "schedule": 60.0,
    "options": {"queue": CHANNELS_TASK_QUEUE},
}
CELERY_BEAT_SCHEDULE["payments-expire-holds"] = {
    "task": "payments.tasks.expire_holds",
    "schedule": 60.0,
    "options": {"queue": CHANNELS_TASK_QUEUE},
}
