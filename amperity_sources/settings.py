"""Settings, driven by environment variables with safe local defaults (see README)."""

from datetime import timedelta

from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from .env import BASE_DIR, DATA_DIR, database_from_url, env, env_bool

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env("DJANGO_SECRET_KEY", "") or ""
if not SECRET_KEY:
    if not DEBUG:  # no built-in fallback: a known key would let anyone forge sessions
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random value (for example "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`), or start the "
            "product with `python3 sources.py start`, which keeps one in .data/."
        )
    SECRET_KEY = "insecure-debug-only-key"
ALLOWED_HOSTS = (env("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]") or "").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in (env("DJANGO_CSRF_TRUSTED_ORIGINS", "") or "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "bootstrap",  # Bootstrap 5 static files, from the django-bootstrap-static package
    "js_lib_htmx",  # htmx static files, from the django-js-lib-htmx package
    "amperity_sources",
    "notifications",
    "credentials",
    "feeds",
    "couriers",
    "courier_groups",
    "demo",  # management commands seed_demo and generate_heap_demo
    "axes",  # login throttling and lockout (django-axes)
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every view needs a signed-in user unless marked login_not_required (amperity_sources/urls.py).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

# Content-Security-Policy (django-csp): scripts, styles and everything else only from here; no
# inline script or style (page behaviours live in static/js/). Bootstrap's icons are data: URIs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out login before checking it
    "django.contrib.auth.backends.ModelBackend",
]
# After this many failed logins for one user name from one address, logins from there for that
# name are refused for SOURCES_LOGIN_LOCKOUT_MINUTES.
AXES_FAILURE_LIMIT = int(env("SOURCES_LOGIN_FAILURE_LIMIT", "5") or 5)
AXES_COOLOFF_TIME = timedelta(minutes=int(env("SOURCES_LOGIN_LOCKOUT_MINUTES", "15") or 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

ROOT_URLCONF = "amperity_sources.urls"
WSGI_APPLICATION = "amperity_sources.wsgi.application"

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
    }
]

DATABASES = {
    "default": database_from_url(
        env("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sources") or ""
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Domain tables live in their own Postgres schema, apart from the product's own tables.
DOMAIN_SCHEMA = env("SOURCES_DOMAIN_SCHEMA", "domain")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# Behind HTTPS (SOURCES_HTTPS=1): HSTS, redirect to https, cookies only over https. Behind a
# proxy that terminates TLS, SOURCES_TRUST_X_FORWARDED_PROTO=1 makes its X-Forwarded-Proto count.
SOURCES_HTTPS = env_bool("SOURCES_HTTPS", False)
if SOURCES_HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = int(env("SOURCES_HSTS_SECONDS", "31536000") or 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SOURCES_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SOURCES_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("SOURCES_TRUST_X_FORWARDED_PROTO", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A session unused for this long ends (every request renews it).
SESSION_COOKIE_AGE = int(env("SOURCES_SESSION_IDLE_MINUTES", "480") or 480) * 60
SESSION_SAVE_EVERY_REQUEST = True
# Networks a user-supplied endpoint (S3, webhooks) may be in besides the public internet:
# comma-separated CIDRs. Link-local and metadata addresses are refused whatever this says.
SOURCES_ALLOWED_PRIVATE_NETWORKS = [
    n.strip() for n in (env("SOURCES_ALLOWED_PRIVATE_NETWORKS", "") or "").split(",") if n.strip()
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "sources"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it; assets come from finders
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from the installed packages, no collectstatic step
MEDIA_ROOT = DATA_DIR / "media"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Secrets at rest: comma-separated Fernet keys, newest first (older ones still decrypt).
SOURCES_SECRET_KEYS = env("SOURCES_SECRET_KEYS", "")

REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# A broker blip must not kill a load: the run's state lives in Postgres, not in the broker.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Workers and beat wait for a broker that is down (at start or later) instead of exiting.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# How often a run waiting for late files looks again.
SOURCES_WAIT_RETRY_SECONDS = int(env("SOURCES_WAIT_RETRY_SECONDS", "60") or 60)
# A run whose worker has not reported for this long is presumed dead and requeued (a live
# worker beats every 5 s; beat runs the watchdog every SOURCES_WATCHDOG_SECONDS and the run
# outbox every SOURCES_DISPATCH_SECONDS: both read from the environment in celery.py).
SOURCES_RUN_STALE_SECONDS = int(env("SOURCES_RUN_STALE_SECONDS", "30") or 30)
# Run events, rejected rows and notifications of runs finished this long ago are pruned.
SOURCES_RETENTION_DAYS = int(env("SOURCES_RETENTION_DAYS", "90") or 90)
# A load waits this long for another load of the same table to finish, then gives up.
SOURCES_LOAD_LOCK_WAIT_SECONDS = float(env("SOURCES_LOAD_LOCK_WAIT_SECONDS", "900") or 900)
# Reader limits (feeds/readers/settings.py): a file past one is refused, naming the setting.
SOURCES_MAX_JSON_DEPTH = int(env("SOURCES_MAX_JSON_DEPTH", "64") or 64)
SOURCES_MAX_QUOTED_VALUE_BYTES = int(
    env("SOURCES_MAX_QUOTED_VALUE_BYTES", str(1024 * 1024)) or 1024 * 1024
)
# Avro: the largest block (compressed or not) a file may hold, and how deeply its schema may
# nest records, arrays and maps. A corrupt block size or a hostile schema is refused, not read.
SOURCES_AVRO_MAX_BLOCK_BYTES = int(env("SOURCES_AVRO_MAX_BLOCK_BYTES", "268435456") or 268435456)
SOURCES_AVRO_MAX_NESTING = int(env("SOURCES_AVRO_MAX_NESTING", "32") or 32)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# Bounds on compressed files and archives (decompression bombs); refusals name the setting.
# One file, ZIP member, TAR or PGP plaintext may not decompress to more than this many bytes.
SOURCES_MAX_DECOMPRESSED_BYTES = int(
    env("SOURCES_MAX_DECOMPRESSED_BYTES", str(10 * 1024**3)) or 10 * 1024**3
)
# ... nor to more than this many times its compressed size, once past the first bytes below.
SOURCES_MAX_COMPRESSION_RATIO = float(env("SOURCES_MAX_COMPRESSION_RATIO", "100") or 100)
SOURCES_COMPRESSION_RATIO_AFTER_BYTES = int(
    env("SOURCES_COMPRESSION_RATIO_AFTER_BYTES", str(16 * 1024**2)) or 16 * 1024**2
)
# An archive may hold at most this many files.
SOURCES_MAX_ARCHIVE_MEMBERS = int(env("SOURCES_MAX_ARCHIVE_MEMBERS", "1000") or 1000)

# The S3 endpoint the demo credential points at (the embedded moto server, MinIO, ...).
SOURCES_DEMO_S3_ENDPOINT = env("S3_ENDPOINT_URL", "")

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
SOURCES_NOTIFY_EMAILS = [a for a in (env("SOURCES_NOTIFY_EMAILS", "") or "").split(",") if a]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "pgserver": {"level": "WARNING"},  # it narrates every pg_ctl call at INFO
    },
}
