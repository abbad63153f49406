"""Provider settings: the local provider sandbox, Razorpay, and the channels' Meta and Google
credentials and URLs. Development points every provider at the sandbox with public values;
production refuses those values and needs https:// URLs."""

from django.core.exceptions import ImproperlyConfigured

from flexoraa.settings.environment import PRODUCTION, env

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
