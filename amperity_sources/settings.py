"""Settings, driven by environment variables with safe local defaults (see README)."""

from .env import BASE_DIR, DATA_DIR, database_from_url, env, env_bool

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env("DJANGO_SECRET_KEY", "insecure-local-only-key-set-DJANGO_SECRET_KEY")
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
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "amperity_sources.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

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
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

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
