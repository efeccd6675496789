"""Django settings for Listonian. Every value comes from the environment.

See README.md ("Configuration") for the variables and their defaults.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

from listonian_site.env import (
    ConfigurationError,
    envbool,
    envint,
    envlist,
    envsecret,
    envstr,
    persistent_secret,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DJANGO_DEBUG", False)

SECRET_KEY = envsecret("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    # Development convenience: one random key, generated once, kept out of git.
    SECRET_KEY = persistent_secret(BASE_DIR / ".secret_key")

ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_celery_beat",
    "django_htmx",
    "axes",
    "trading",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.middleware.OperatorTimezoneMiddleware",
    # Axes must come last: it turns locked-out logins into a clear page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "listonian_site.urls"
ASGI_APPLICATION = "listonian_site.asgi.application"

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
                "dashboard.context_processors.bot_pill",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------

DATABASE_URL = envstr("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
except Exception as exc:  # dj-database-url raises several types for bad URLs
    raise ConfigurationError(f"DATABASE_URL cannot be parsed: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the dashboard read while the engine writes; IMMEDIATE avoids
        # "database is locked" on write upgrades in the embedded process.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels and Celery --------------------------------------------------------

REDIS_URL = envstr("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # A read timeout longer than the layer's 5 s blocking receive, so an
                # idle channel waits instead of failing.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
                "prefix": envstr("LISTONIAN_CHANNEL_PREFIX", "asgi"),
                "capacity": 1000,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Without Redis there is no broker to hand jobs to: run them in-process.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
# Short broker timeouts: queuing an alert or a job with Redis down or hung fails
# within seconds instead of blocking its caller (a pending alert is queued again
# by the "requeue alerts" job).
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3, "socket_timeout": 5}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

# --- Auth and login --------------------------------------------------------------

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard:overview"
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = envint("LISTONIAN_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = envint("LISTONIAN_LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# Failures from one address across all usernames (password spraying).
LISTONIAN_LOGIN_IP_FAILURE_LIMIT = envint("LISTONIAN_LOGIN_IP_FAILURE_LIMIT", 20)
AXES_HANDLER = "listonian_site.login_limits.LoginLockoutHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True

# --- TLS deployment and browser policy -------------------------------------------------

# DJANGO_SECURE=true: the site is served over HTTPS only, behind a TLS proxy that
# sets X-Forwarded-Proto (and overwrites any a client sent). `manage.py check
# --deploy` is then clean.
SECURE_DEPLOYMENT = envbool("DJANGO_SECURE", False)
SESSION_COOKIE_SECURE = envbool("DJANGO_SECURE_COOKIES", SECURE_DEPLOYMENT)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
if SECURE_DEPLOYMENT:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = envint("DJANGO_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Every page runs only the scripts and styles served from here: no inline script,
# no inline style, no other origin (static assets are local, never from a CDN).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation ----------------------------------------------------------

LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"
# The time zone dates are shown in on the dashboard (an IANA name).
LISTONIAN_TIME_ZONE = envstr("LISTONIAN_TIME_ZONE", "UTC")

# --- Static files --------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Browser libraries come from package.json and are served locally, never from a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx-ext-ws", BASE_DIR / "node_modules" / "htmx-ext-ws" / "dist"),
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]

# --- Listonian ------------------------------------------------------------------------

# Overrides the active network's RPC URLs (comma-separated: first is primary).
LISTONIAN_RPC_URLS = envlist("LISTONIAN_RPC_URL")
# The signing key is read only where a transaction is signed, and where it comes
# from by trading.chain.signer.signing_key_source(): settings never hold it.

# Prometheus metrics: the web process serves /metrics; the engine and the Celery
# worker serve theirs on these ports (0 turns a port off). Scrapes are allowed
# from loopback, or from anywhere with "Authorization: Bearer <token>".
LISTONIAN_METRICS_TOKEN = envsecret("LISTONIAN_METRICS_TOKEN")
LISTONIAN_METRICS_HOST = envstr("LISTONIAN_METRICS_HOST", "127.0.0.1")
LISTONIAN_ENGINE_METRICS_PORT = envint("LISTONIAN_ENGINE_METRICS_PORT", 9101)
LISTONIAN_WORKER_METRICS_PORT = envint("LISTONIAN_WORKER_METRICS_PORT", 9102)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "listonian_site.log_filters.RedactSecretsFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": envstr("LISTONIAN_LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"level": "INFO"},
        "daphne": {"level": "WARNING"},
        "web3": {"level": "WARNING"},
        "asyncio": {"level": "WARNING"},
    },
}
