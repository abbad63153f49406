"""Flexoraa settings: one package, driven by environment variables (see .env.example).

With no environment at all the project runs on the embedded default: SQLite in var/
and a filesystem Celery broker, so a newcomer needs no server. DATABASE_URL and
CELERY_BROKER_URL switch the same code to PostgreSQL and Redis. The environment is read in
``environment``; the providers' settings live in ``providers``.
"""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from flexoraa.settings.environment import BASE_DIR, PRODUCTION, env
from flexoraa.settings.environment import DJANGO_ENV as DJANGO_ENV  # a setting others read
from flexoraa.settings.providers import *  # noqa: F403  (Razorpay, Meta, Google, the sandbox)

VAR_DIR = Path(env.str("FLEXORAA_VAR_DIR", default=str(BASE_DIR / "var")))

# --- Security -------------------------------------------------------------------------------

if PRODUCTION:
    try:
        SECRET_KEY = env.str("SECRET_KEY")
        ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(
            f"Production mode needs SECRET_KEY and ALLOWED_HOSTS in the environment: {exc}"
        ) from exc
    if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters of real entropy.")
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must name at least one host in production.")
    DEBUG = False
else:
    SECRET_KEY = env.str(
        "SECRET_KEY", default="development-only-key-never-used-in-production-0123456789abcdef"
    )
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
    DEBUG = env.bool("DEBUG", default=True)

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A stale form gets a page in the layout that says to reload, and JSON callers the API's shape.
CSRF_FAILURE_VIEW = "flexoraa.views.csrf_failure"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = PRODUCTION and env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Health checks come from the load balancer over plain HTTP inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- Applications ---------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    "axes",
    "flexoraa",
    "flexoraa.lockout",
    "billing",
    "experiments",
    "monitoring",
    "leads",
    "appointments",
    "agents",
    "compliance",
]
# The local provider fakes (its provider_sandbox command, which run_stack starts) are a
# development tool: a production process never loads them, and nothing above imports them.
if not PRODUCTION:
    INSTALLED_APPS.append("sandbox")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "flexoraa.middleware.RequestBodyLimitMiddleware",
    "flexoraa.middleware.NulQueryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "flexoraa.middleware.OrganizationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, so it sees the flag the login sets and answers with the locked-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "flexoraa.urls"
WSGI_APPLICATION = "flexoraa.wsgi.application"

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
                "flexoraa.context_processors.tenancy",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------

DATABASE_URL = env.str("DATABASE_URL", default="")
if PRODUCTION and not DATABASE_URL.startswith(("postgres://", "postgresql://")):
    raise ImproperlyConfigured(
        "Production mode needs DATABASE_URL=postgres://…: the embedded SQLite is for one machine."
    )
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "flexoraa.sqlite3",
            "OPTIONS": {
                # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at
                # BEGIN so web, worker and beat queue for it instead of failing mid-transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------

CACHE_URL = env.str("CACHE_URL", default="")
if CACHE_URL:
    if not CACHE_URL.startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured("CACHE_URL must be a redis:// URL.")
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth, i18n, static ---------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The only password backend: it charges each attempt to the sign-in lockout counters before
# checking the password (flexoraa/lockout). A second backend would check refused attempts.
AUTHENTICATION_BACKENDS = ["flexoraa.lockout.backends.LockoutModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Outside production WhiteNoise serves straight from the apps' static folders, with no
# collectstatic step.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Flexoraa <no-reply@flexoraa.local>")
# Where people reach this site: links in emails point here.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Sign-in lockout (django-axes) ------------------------------------------------------

# How many proxies we run in front of Django, each appending to X-Forwarded-For (a load
# balancer and nginx: 2). 0 = the client connects to Django directly: REMOTE_ADDR, and
# X-Forwarded-For is ignored (a client can write anything there).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
# Failed password attempts that lock an account, and a client address, for the lockout time
# after the last of them. An office shares one address, so its limit is higher.
SIGN_IN_FAILURE_LIMIT = env.int("SIGN_IN_FAILURE_LIMIT", default=5)
SIGN_IN_ADDRESS_FAILURE_LIMIT = env.int("SIGN_IN_ADDRESS_FAILURE_LIMIT", default=20)
SIGN_IN_LOCKOUT_MINUTES = env.int("SIGN_IN_LOCKOUT_MINUTES", default=15)
# Invalid API keys one client address may present before it gets 429 for the lockout time.
API_KEY_ADDRESS_FAILURE_LIMIT = env.int("API_KEY_ADDRESS_FAILURE_LIMIT", default=20)
if min(SIGN_IN_FAILURE_LIMIT, SIGN_IN_ADDRESS_FAILURE_LIMIT, API_KEY_ADDRESS_FAILURE_LIMIT,
       SIGN_IN_LOCKOUT_MINUTES) < 1:
    raise ImproperlyConfigured("Sign-in failure limits and the lockout time must be at least 1.")
SIGN_IN_LOCKOUT_DURATION = timedelta(minutes=SIGN_IN_LOCKOUT_MINUTES)

AXES_ENABLED = True
AXES_HANDLER = "flexoraa.lockout.handler.SignInLockoutHandler"
AXES_FAILURE_LIMIT = SIGN_IN_FAILURE_LIMIT
AXES_COOLOFF_TIME = SIGN_IN_LOCKOUT_DURATION
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "flexoraa.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "flexoraa.lockout.views.locked_out_response"
# A refused attempt is not a new failure: a lock ends its lockout time after the last
# attempt that was let through, however often someone knocks meanwhile.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# A correct password resets the account's count in flexoraa/lockout (not the address's).
AXES_RESET_ON_SUCCESS = False
# No log of every successful sign-in (usernames and addresses kept for ever).
AXES_DISABLE_ACCESS_LOG = True
# The console's "Sign-in locks" page (flexoraa/lockout/admin.py) lists and lifts locks,
# scoped per tenant; axes' own pages would show every tenant's people and addresses.
AXES_ENABLE_ADMIN = False
# Quiet start-up; axes' failure log lines name the path, never the username or address.
AXES_VERBOSE = False

# --- LeadOS -------------------------------------------------------------------------------

# The public web form: how long a rendered form's token stays valid, and how many submissions
# one IP address may make to one tenant's form per window.
LEAD_FORM_TOKEN_MAX_AGE_SECONDS = env.int("LEAD_FORM_TOKEN_MAX_AGE_SECONDS", default=2 * 60 * 60)
LEAD_FORM_RATE_LIMIT = env.int("LEAD_FORM_RATE_LIMIT", default=10)
LEAD_FORM_RATE_WINDOW_SECONDS = env.int("LEAD_FORM_RATE_WINDOW_SECONDS", default=600)

# --- A/B experiments ---------------------------------------------------------------------

# Off: every subject gets the control variant and nothing is assigned or lost, so turning it
# back on resumes each experiment where it stood.
ENABLE_AB_TESTING = env.bool("ENABLE_AB_TESTING", default=True)
# Subjects per variant before results may give a verdict (an experiment may ask for more).
AB_TEST_MIN_SAMPLE_SIZE = env.int("AB_TEST_MIN_SAMPLE_SIZE", default=1050)
if AB_TEST_MIN_SAMPLE_SIZE < 1:
    raise ImproperlyConfigured("AB_TEST_MIN_SAMPLE_SIZE must be at least 1.")

# --- Lead-message NLU ---------------------------------------------------------------------

# Where trained NLU artefacts live (train_nlu writes them; make run / make test build the
# model there when it is missing).
NLU_MODEL_DIR = env.str("NLU_MODEL_DIR", default="") or str(BASE_DIR / "var" / "nlu")

# --- Request limits -------------------------------------------------------------------------

# Bodies above this are refused with 413 before any view reads them.
REQUEST_BODY_LIMIT_BYTES = env.int("REQUEST_BODY_LIMIT_BYTES", default=1_048_576)
# File uploads (CSV imports in the manager console) may be larger, on these paths only.
UPLOAD_BODY_LIMIT_BYTES = env.int("UPLOAD_BODY_LIMIT_BYTES", default=10 * 1_048_576)
UPLOAD_PATH_PREFIXES = ("/admin/leads/lead/import/",)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_LIMIT_BYTES

# --- REST API -------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "flexoraa.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["flexoraa.permissions.HasTenantRole"],
    # JSON only, read with bounded nesting; text PostgreSQL cannot store is a 400 (no form or
    # multipart parser: the API takes nothing else, and anything else is a 415).
    "DEFAULT_PARSER_CLASSES": ["flexoraa.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "flexoraa.pagination.StrictLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "flexoraa.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Flexoraa Intelligence OS API",
    "DESCRIPTION": (
        "Integrations authenticate with `Authorization: Bearer <api key>`. Every error has the "
        'shape `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for a choice set used by a model field and by a request serializer.
    "ENUM_NAME_OVERRIDES": {"IntentVerdictEnum": "agents.models.IntentVerdict"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "flexoraa.openapi.add_error_responses",
    ],
}

# --- Celery ---------------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if PRODUCTION and not CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    raise ImproperlyConfigured(
        "Production mode needs CELERY_BROKER_URL=redis://…: the filesystem broker is for one "
        "machine."
    )
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    # Redelivery of unacknowledged (acks_late) tasks happens after this many seconds; every
    # task's hard time limit stays below it (checked at start-up in flexoraa.celery).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    }
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=540)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# No result backend, so beat needs no result-cleanup job.
CELERY_RESULT_EXPIRES = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_DEFAULT_EXCHANGE = "default"
CELERY_TASK_DEFAULT_ROUTING_KEY = "default"
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name, type="direct"), routing_key=name)
    for name in ("webhooks", "ai", "periodic", "default")
]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULER = "flexoraa.beat:TickRecordingScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
DJANGO_CELERY_BEAT_TZ_AWARE = True

# Beat is reported down by /healthz when its last tick is older than this.
BEAT_STALE_AFTER_SECONDS = env.int("BEAT_STALE_AFTER_SECONDS", default=180)

# --- Logging --------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "structured": {
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # axes' INFO line for every failed sign-in says nothing its WARNING lines do not.
        "axes": {"level": "WARNING"},
    },
}

# --- Demo -----------------------------------------------------------------------------------

# seed_demo creates this key for the demo tenant so scripts can use it across runs.
DEMO_API_KEY = env.str(
    "DEMO_API_KEY", default="flx_demo0000_" + "d" * 40 if not PRODUCTION else ""
)
