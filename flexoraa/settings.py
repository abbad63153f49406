"""Flexoraa settings: one module, driven by environment variables (see .env.example).

With no environment at all the project runs on the embedded default: SQLite in var/
and a filesystem Celery broker, so a newcomer needs no server. DATABASE_URL and
CELERY_BROKER_URL switch the same code to PostgreSQL and Redis.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'.")
PRODUCTION = DJANGO_ENV == "production"

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

# --- Provider sandbox -----------------------------------------------------------------------

# Where the local provider sandbox listens (manage.py provider_sandbox; run_stack starts it).
# In development every provider's URL defaults to a path on it.
PROVIDER_SANDBOX_URL = env.str("PROVIDER_SANDBOX_URL", default="http://127.0.0.1:8010")
_SANDBOX = PROVIDER_SANDBOX_URL.rstrip("/")

# --- Billing ---------------------------------------------------------------------------------

# Token packages are paid for through Razorpay. Development talks to the local Razorpay sandbox
# (the sandbox/ package, started by run_stack) with these fixed, public credentials. Production
# refuses them: anyone could sign a webhook with a secret published in this file.
# S105: these are the sandbox's public credentials, refused in production below.
RAZORPAY_SANDBOX_KEY_ID = "rzp_test_sandbox00000001"
RAZORPAY_SANDBOX_KEY_SECRET = "sandbox-key-secret-public-not-for-production"  # noqa: S105
RAZORPAY_SANDBOX_WEBHOOK_SECRET = "sandbox-webhook-secret-public-not-for-production"  # noqa: S105
RAZORPAY_SANDBOX_URL = f"{_SANDBOX}/v1"
RAZORPAY_LIVE_URL = "https://api.razorpay.com/v1"
RAZORPAY_LIVE_CHECKOUT_JS = "https://checkout.razorpay.com/v1/checkout.js"
_RAZORPAY_SANDBOX_CREDENTIALS = {
    RAZORPAY_SANDBOX_KEY_ID, RAZORPAY_SANDBOX_KEY_SECRET, RAZORPAY_SANDBOX_WEBHOOK_SECRET
}

if PRODUCTION:
    try:
        RAZORPAY_KEY_ID = env.str("RAZORPAY_KEY_ID")
        RAZORPAY_KEY_SECRET = env.str("RAZORPAY_KEY_SECRET")
        RAZORPAY_WEBHOOK_SECRET = env.str("RAZORPAY_WEBHOOK_SECRET")
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(
            "Production mode needs RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET and "
            f"RAZORPAY_WEBHOOK_SECRET in the environment: {exc}"
        ) from exc
    if not (RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET and RAZORPAY_WEBHOOK_SECRET):
        raise ImproperlyConfigured(
            "RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET and RAZORPAY_WEBHOOK_SECRET must not be empty "
            "in production."
        )
    if {RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET, RAZORPAY_WEBHOOK_SECRET} & (
        _RAZORPAY_SANDBOX_CREDENTIALS
    ):
        raise ImproperlyConfigured(
            "RAZORPAY_KEY_ID, RAZORPAY_KEY_SECRET and RAZORPAY_WEBHOOK_SECRET hold the public "
            "sandbox credentials; production needs the ones from the Razorpay Dashboard."
        )
    # Never the sandbox by default: an unset or empty value means Razorpay itself.
    RAZORPAY_BASE_URL = env.str("RAZORPAY_BASE_URL", default="") or RAZORPAY_LIVE_URL
    RAZORPAY_CHECKOUT_JS = env.str("RAZORPAY_CHECKOUT_JS", default="") or (
        RAZORPAY_LIVE_CHECKOUT_JS
    )
    if not (RAZORPAY_BASE_URL.startswith("https://")
            and RAZORPAY_CHECKOUT_JS.startswith("https://")):
        raise ImproperlyConfigured(
            "RAZORPAY_BASE_URL and RAZORPAY_CHECKOUT_JS must be https:// URLs in production."
        )
else:
    # An empty value (a copied .env.example) means "not set": the sandbox's.
    RAZORPAY_KEY_ID = env.str("RAZORPAY_KEY_ID", default="") or RAZORPAY_SANDBOX_KEY_ID
    RAZORPAY_KEY_SECRET = env.str("RAZORPAY_KEY_SECRET", default="") or (
        RAZORPAY_SANDBOX_KEY_SECRET
    )
    RAZORPAY_WEBHOOK_SECRET = env.str("RAZORPAY_WEBHOOK_SECRET", default="") or (
        RAZORPAY_SANDBOX_WEBHOOK_SECRET
    )
    RAZORPAY_BASE_URL = env.str("RAZORPAY_BASE_URL", default="") or RAZORPAY_SANDBOX_URL
    # Checkout comes from wherever the API is: the sandbox serves its own checkout.js.
    RAZORPAY_CHECKOUT_JS = env.str("RAZORPAY_CHECKOUT_JS", default="") or (
        RAZORPAY_LIVE_CHECKOUT_JS if RAZORPAY_BASE_URL.startswith(RAZORPAY_LIVE_URL)
        else f"{RAZORPAY_BASE_URL.rstrip('/')}/checkout.js"
    )
# Seconds to wait for Razorpay to connect and to answer, per request.
RAZORPAY_TIMEOUT_SECONDS = env.float("RAZORPAY_TIMEOUT_SECONDS", default=10.0)

# --- Channels (WhatsApp, Instagram, Messenger, Gmail) ------------------------------------

# Meta signs every webhook with the app secret (X-Hub-Signature-256) and checks the endpoint
# with the verify token. Development uses fixed, public values that the local provider sandbox
# and simulate_leads also know; production refuses them.
META_SANDBOX_APP_SECRET = "sandbox-meta-app-secret-public-not-for-production"  # noqa: S105
META_SANDBOX_VERIFY_TOKEN = "sandbox-meta-verify-token"  # noqa: S105
GOOGLE_SANDBOX_CLIENT_ID = "sandbox-client.apps.googleusercontent.com"
GOOGLE_SANDBOX_CLIENT_SECRET = "sandbox-google-client-secret"  # noqa: S105
# Fernet key that encrypts channel credentials (OAuth and access tokens) at rest. Production
# needs its own; this one is public.
CHANNEL_SANDBOX_TOKEN_KEY = "c2FuZGJveC1jaGFubmVsLWtleS1wdWJsaWMtMzJiISE="  # noqa: S105
_CHANNEL_SECRETS = ("META_APP_SECRET", "META_VERIFY_TOKEN", "GOOGLE_CLIENT_ID",
                    "GOOGLE_CLIENT_SECRET", "CHANNEL_TOKEN_KEY")
if PRODUCTION:
    _missing = [name for name in _CHANNEL_SECRETS if not env.str(name, default="")]
    if _missing:
        raise ImproperlyConfigured(
            f"Production mode needs {', '.join(_missing)} in the environment (see .env.example)."
        )
    META_APP_SECRET = env.str("META_APP_SECRET")
    META_VERIFY_TOKEN = env.str("META_VERIFY_TOKEN")
    GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID")
    GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET")
    CHANNEL_TOKEN_KEY = env.str("CHANNEL_TOKEN_KEY")
    if {META_APP_SECRET, META_VERIFY_TOKEN, GOOGLE_CLIENT_SECRET, CHANNEL_TOKEN_KEY} & {
        META_SANDBOX_APP_SECRET, META_SANDBOX_VERIFY_TOKEN, GOOGLE_SANDBOX_CLIENT_SECRET,
        CHANNEL_SANDBOX_TOKEN_KEY,
    }:
        raise ImproperlyConfigured(
            "A Meta, Google or channel-key setting holds the public sandbox value; set your own."
        )
    META_GRAPH_URL = env.str("META_GRAPH_URL", default="https://graph.facebook.com/v21.0")
    GMAIL_API_URL = env.str("GMAIL_API_URL", default="https://gmail.googleapis.com")
    GOOGLE_OAUTH_TOKEN_URL = env.str("GOOGLE_OAUTH_TOKEN_URL",
                                     default="https://oauth2.googleapis.com/token")
    GOOGLE_OAUTH_AUTH_URL = env.str("GOOGLE_OAUTH_AUTH_URL",
                                    default="https://accounts.google.com/o/oauth2/v2/auth")
    _urls = (META_GRAPH_URL, GMAIL_API_URL, GOOGLE_OAUTH_TOKEN_URL, GOOGLE_OAUTH_AUTH_URL)
    if not all(url.startswith("https://") for url in _urls):
        raise ImproperlyConfigured(
            "META_GRAPH_URL, GMAIL_API_URL and the Google OAuth URLs must be https:// in "
            "production."
        )
else:
    META_APP_SECRET = env.str("META_APP_SECRET", default="") or META_SANDBOX_APP_SECRET
    META_VERIFY_TOKEN = env.str("META_VERIFY_TOKEN", default="") or META_SANDBOX_VERIFY_TOKEN
    GOOGLE_CLIENT_ID = env.str("GOOGLE_CLIENT_ID", default="") or GOOGLE_SANDBOX_CLIENT_ID
    GOOGLE_CLIENT_SECRET = env.str("GOOGLE_CLIENT_SECRET", default="") or (
        GOOGLE_SANDBOX_CLIENT_SECRET
    )
    CHANNEL_TOKEN_KEY = env.str("CHANNEL_TOKEN_KEY", default="") or CHANNEL_SANDBOX_TOKEN_KEY
    META_GRAPH_URL = env.str("META_GRAPH_URL", default="") or f"{_SANDBOX}/graph/v21.0"
    GMAIL_API_URL = env.str("GMAIL_API_URL", default="") or f"{_SANDBOX}/google"
    GOOGLE_OAUTH_TOKEN_URL = env.str("GOOGLE_OAUTH_TOKEN_URL", default="") or (
        f"{_SANDBOX}/google/token"
    )
    GOOGLE_OAUTH_AUTH_URL = env.str("GOOGLE_OAUTH_AUTH_URL", default="") or (
        f"{_SANDBOX}/google/auth"
    )
# Webhook endpoints queue the processing of what they stored in batches, this often (seconds;
# 0 queues a task per request). Keeps the Celery publish off the request path.
WEBHOOK_ENQUEUE_INTERVAL_SECONDS = env.float("WEBHOOK_ENQUEUE_INTERVAL_SECONDS", default=0.05)
# Seconds to wait for Meta or Google to connect and to answer, per request.
PROVIDER_TIMEOUT_SECONDS = env.float("PROVIDER_TIMEOUT_SECONDS", default=10.0)
# How many times a send is retried after a timeout or a 5xx, with growing waits.
MESSAGE_SEND_MAX_RETRIES = env.int("MESSAGE_SEND_MAX_RETRIES", default=5)

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
