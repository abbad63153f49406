"""The public lead form of each tenant (no sign-in), for the tenant to embed on its own site.

Two ways in, both ending in ``services.lead_intake(source=WEB_FORM)``:

* ``/f/<slug>/``: a standalone HTML page, made to sit in an ``<iframe>`` on the tenant's
  site (the embed snippet is in the template's comment). A POST redirects to the thank-you
  page or shows the form again with each field's reason.
* ``/f/<slug>/token/`` and ``/f/<slug>/submit/``: JSON for a site that posts with its own
  JavaScript, answering any origin (CORS).

What protects them, since there is no sign-in and no CSRF cookie:

* a signed token (``django.core.signing``) binding the organization, valid for
  ``LEAD_FORM_TOKEN_MAX_AGE_SECONDS``: a form must have been fetched from us recently and
  for this tenant;
* a honeypot field a person never sees: a bot that fills it is told "thank you" and
  nothing is stored, so it learns nothing;
* a rate limit per IP address and tenant, counted atomically in the cache.

Whether a lead already existed is never revealed: a merge answers like a creation.
"""

import logging
import math
import time

import phonenumbers
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from flexoraa import selectors as core_selectors
from flexoraa.actors import Actor
from flexoraa.client_address import client_address
from flexoraa.errors import FlexoraaError
from flexoraa.jsonsafe import JsonRejected, json_parse
from flexoraa.models import Organization
from flexoraa.responses import error_response
from flexoraa.storable import unstorable_text_reason
from leads import selectors, services
from leads.csv_import import plain_amount
from leads.models import Lead, Source, Timeline

logger = logging.getLogger(__name__)

FORM_SIGNING_SALT = "leads.web-form"
HONEYPOT_FIELD = "website"
FIELDS = ("name", "phone", "email", "need", "budget_amount", "budget_currency", "timeline")
JSON_FIELDS = frozenset({"token", HONEYPOT_FIELD, *FIELDS})
LABELS = {
    "name": "Your name",
    "phone": "Phone",
    "email": "Email",
    "need": "What do you need?",
    "budget_amount": "Budget",
    "budget_currency": "Currency",
    "timeline": "When do you want to start?",
}
EMAIL_MAX_LENGTH = Lead._meta.get_field("email").max_length
MAX_LENGTHS = {"name": 200, "phone": 32, "email": EMAIL_MAX_LENGTH, "need": 5000,
               "budget_amount": 20}

EXPIRED_MESSAGE = "This form has expired; reload the page and send it again."
FIX_FIELDS_MESSAGE = "Some answers need another look; each one says why below."

# The tenant's currency by its country, for the form's default (other tenants fall back to
# the currency of their target deal size).
_EURO = "AT BE CY DE EE ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK"
CURRENCY_BY_COUNTRY = {
    **dict.fromkeys(_EURO.split(), "EUR"),
    "IN": "INR", "US": "USD", "GB": "GBP", "AE": "AED", "SA": "SAR", "QA": "QAR", "KW": "KWD",
    "OM": "OMR", "BH": "BHD", "SG": "SGD", "MY": "MYR", "ID": "IDR", "PH": "PHP", "TH": "THB",
    "VN": "VND", "HK": "HKD", "CN": "CNY", "JP": "JPY", "KR": "KRW", "AU": "AUD", "NZ": "NZD",
    "CA": "CAD", "MX": "MXN", "BR": "BRL", "ZA": "ZAR", "NG": "NGN", "KE": "KES", "EG": "EGP",
    "BD": "BDT", "LK": "LKR", "NP": "NPR", "PK": "PKR", "CH": "CHF", "SE": "SEK", "NO": "NOK",
    "DK": "DKK", "PL": "PLN",
}
CURRENCY_CHOICES = ("INR", "USD", "EUR", "GBP", "AED", "SGD", "AUD", "CAD")


# --- Token ----------------------------------------------------------------------------------


def form_token(org: Organization) -> str:
    """A signed, timestamped token binding the organization."""
    return signing.dumps({"org": org.pk}, salt=FORM_SIGNING_SALT)


def form_token_valid(token, org: Organization) -> bool:
    """Signed by us, for this organization, and younger than the form's max age."""
    if not isinstance(token, str) or not token:
        return False
    if unstorable_text_reason(token) is not None:
        return False  # never ours, and signing cannot encode a lone surrogate to check it
    try:
        payload = signing.loads(token, salt=FORM_SIGNING_SALT,
                                max_age=settings.LEAD_FORM_TOKEN_MAX_AGE_SECONDS)
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return False
    return isinstance(payload, dict) and payload.get("org") == org.pk


# --- Rate limit -----------------------------------------------------------------------------


def client_ip(request) -> str:
    # The one client-address rule (X-Forwarded-For only as far as TRUSTED_PROXY_COUNT
    # proxies vouch for it): a bot cannot name a new address per request to dodge the limit,
    # and behind a load balancer visitors do not all share its address.
    return client_address(request) or "unknown"


def rate_limit_retry_after(org: Organization, request) -> int | None:
    """Count this submission; None when it is within the limit, else the seconds to wait.

    Fixed windows of LEAD_FORM_RATE_WINDOW_SECONDS: the key names the window, so the wait
    is known exactly. ``cache.add`` then ``cache.incr`` is atomic on Redis (INCR) and on
    the local-memory cache (a lock), so concurrent posts cannot slip past the limit.
    """
    window = max(1, settings.LEAD_FORM_RATE_WINDOW_SECONDS)
    now = time.time()
    bucket = int(now // window)
    window_left = (bucket + 1) * window - now
    key = f"leads:web-form:rate:{org.pk}:{client_ip(request)}:{bucket}"
    try:
        cache.add(key, 0, timeout=math.ceil(window_left) + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # the key expired between add and incr
            cache.add(key, 0, timeout=math.ceil(window_left) + 1)
            count = cache.incr(key)
    except Exception:
        # A cache outage must not turn real leads away; the token and the honeypot still
        # hold. Logged, so the outage is seen.
        logger.warning("lead web form rate limit unavailable org=%s", org.pk, exc_info=True)
        return None
    if count > settings.LEAD_FORM_RATE_LIMIT:
        return max(1, math.ceil(window_left))
    return None


def _wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    return "about a minute" if minutes == 1 else f"about {minutes} minutes"


def _rate_message(seconds: int) -> str:
    return (f"Too many requests were sent from your network in a short time. Wait "
            f"{_wait_text(seconds)} and send it again.")


# --- Intake ---------------------------------------------------------------------------------


def _input_problems(values: dict[str, str]) -> dict[str, list[str]]:
    """What a Django form would refuse before any service sees it: text PostgreSQL cannot
    store (a NUL character, or an unpaired surrogate, which JSON can spell as ``\\ud800``),
    and an email longer than its column."""
    problems = {}
    for name, value in values.items():
        if "\x00" in value:
            problems[name] = ["Null characters are not allowed."]
        elif unstorable_text_reason(value) is not None:
            problems[name] = ["This contains a character that is not valid text (an unpaired "
                              "surrogate); type it again."]
    if len(values.get("email", "").strip()) > EMAIL_MAX_LENGTH:
        problems.setdefault("email", []).append(
            f"Keep the email address to {EMAIL_MAX_LENGTH} characters."
        )
    return problems


def _lead_input(values: dict[str, str]) -> services.LeadInput:
    amount = plain_amount(values.get("budget_amount", ""))
    return services.LeadInput(
        name=values.get("name", ""), phone=values.get("phone", ""),
        email=values.get("email", ""), need=values.get("need", ""),
        budget_amount=amount,
        # The currency select always has a value; it means something only with an amount.
        budget_currency=values.get("budget_currency", "").strip() if amount else "",
        timeline=values.get("timeline", "").strip(),
    )


# The public form is filled in by the lead, who is no member: the platform takes it in.
WEB_FORM_ACTOR = Actor.system("web_form")


def _intake(org: Organization, values: dict[str, str]) -> None:
    """Raises the service's ``FlexoraaError`` (InvalidContact, ValidationFailed, Conflict)."""
    result = services.lead_intake(org=org, data=_lead_input(values), source=Source.WEB_FORM,
                                  actor=WEB_FORM_ACTOR)
    logger.info("lead web form accepted org=%s lead=%s created=%s", org.pk, result.lead.pk,
                result.created)


def _honeypot_caught(org: Organization, value) -> bool:
    if value in (None, ""):
        return False
    logger.info("lead web form honeypot filled org=%s", org.pk)
    return True


# --- HTML form ------------------------------------------------------------------------------


def default_currency(org: Organization) -> str:
    return CURRENCY_BY_COUNTRY.get(org.country) or (
        selectors.lead_settings_for(org).target_deal_currency
    )


def phone_example(org: Organization) -> str:
    """A made-up mobile number of the tenant's country, written with its country code."""
    number = phonenumbers.example_number_for_type(org.country or "IN",
                                                  phonenumbers.PhoneNumberType.MOBILE)
    if number is None:
        return "+91 81234 56789"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _form_context(org: Organization, values: dict[str, str], errors: dict[str, list[str]],
                  form_error: str) -> dict:
    fields = {
        name: {"id": f"f-{name}", "name": name, "label": LABELS[name],
               "value": values.get(name, ""), "errors": errors.get(name, []),
               "maxlength": MAX_LENGTHS.get(name)}
        for name in FIELDS
    }
    currency = values.get("budget_currency") or default_currency(org)
    currencies = list(CURRENCY_CHOICES)
    if currency not in currencies:
        currencies.insert(0, currency)
    # Reasons for fields the form does not show still reach the person, in the summary.
    summary = [{"id": fields[name]["id"] if name in fields else "",
                "label": LABELS.get(name, name.replace("_", " ").capitalize()),
                "message": message}
               for name, messages in errors.items() for message in messages]
    return {
        "org": org, "token": form_token(org), "fields": fields, "form_error": form_error,
        "error_summary": summary, "currency": currency, "currencies": currencies,
        "timelines": [(value, "Not sure yet" if not value else label)
                      for value, label in Timeline.choices],
        "honeypot": HONEYPOT_FIELD,
        "phone_hint": f"With the country code, like {phone_example(org)}.",
    }


def _render_form(request, org, *, values=None, errors=None, form_error="", status=200):
    context = _form_context(org, values or {}, errors or {}, form_error)
    return render(request, "leads/form/form.html", context, status=status)


def _thanks_redirect(org: Organization) -> HttpResponseRedirect:
    # 303: the browser follows with a GET, so a reload never posts the form again.
    return HttpResponseRedirect(reverse("lead_forms:thanks", args=[org.slug]), status=303)


# No CSRF cookie: in an iframe on the tenant's site our cookies are third-party cookies,
# which browsers block more and more, so Django's CSRF check would refuse real people. The
# form carries nothing a forged post could abuse (no session, no signed-in user); the signed
# token, the honeypot and the rate limit guard it instead.
@csrf_exempt
@xframe_options_exempt  # made to be embedded on the tenant's own site
@never_cache  # each page carries a fresh token
def form_view(request, slug: str):
    org = _org_or_404(slug)
    if request.method in ("GET", "HEAD"):
        return _render_form(request, org)
    if request.method != "POST":
        response = HttpResponse("This page takes GET and POST.", status=405,
                                content_type="text/plain; charset=utf-8")
        response["Allow"] = "GET, HEAD, POST"
        return response
    values = {name: request.POST.get(name, "") for name in FIELDS}
    retry_after = rate_limit_retry_after(org, request)
    if retry_after is not None:
        response = _render_form(request, org, values=values, status=429,
                                form_error=_rate_message(retry_after))
        response["Retry-After"] = str(retry_after)
        return response
    if _honeypot_caught(org, request.POST.get(HONEYPOT_FIELD)):
        return _thanks_redirect(org)
    if not form_token_valid(request.POST.get("token"), org):
        # A fresh token comes with the page, so sending it again just works.
        return _render_form(request, org, values=values, form_error=EXPIRED_MESSAGE,
                            status=400)
    problems = _input_problems(values)
    if problems:
        return _render_form(request, org, values=values, errors=problems,
                            form_error=FIX_FIELDS_MESSAGE, status=400)
    try:
        _intake(org, values)
    except FlexoraaError as exc:
        if exc.fields:
            return _render_form(request, org, values=values, errors=exc.fields,
                                form_error=FIX_FIELDS_MESSAGE, status=exc.status_code)
        return _render_form(request, org, values=values, form_error=exc.message,
                            status=exc.status_code)
    return _thanks_redirect(org)


@xframe_options_exempt
@require_GET
def thanks_view(request, slug: str):
    org = _org_or_404(slug)
    return render(request, "leads/form/thanks.html", {"org": org})


# --- JSON endpoints -------------------------------------------------------------------------


def _cors(response: HttpResponse, methods: str) -> HttpResponse:
    # Any origin: the endpoints use no cookies or credentials (a token in the body is the
    # only proof), so letting every site read the answers exposes nothing.
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = methods
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "86400"
    return response


def _preflight(methods: str) -> HttpResponse:
    return _cors(HttpResponse(status=204), methods)


def _json_error(status: int, code: str, message: str, fields=None, **extra) -> JsonResponse:
    return error_response(status=status, code=code, message=message, fields=fields, **extra)


def _method_not_allowed(request, allowed: str) -> JsonResponse:
    response = _json_error(405, "method_not_allowed",
                           f"Method \"{request.method}\" not allowed; use {allowed}.")
    response["Allow"] = allowed
    return response


def _org_or_none(slug: str) -> Organization | None:
    return core_selectors.organization_for_slug(slug)


def _org_or_404(slug: str) -> Organization:
    org = core_selectors.organization_for_slug(slug)
    if org is None:
        raise Http404("No such form.")
    return org


def _no_form(slug: str) -> JsonResponse:
    return _json_error(404, "not_found", f"There is no form at /f/{slug}/.")


@never_cache
def token_view(request, slug: str):
    """GET: {"token": ..., "expires_in": seconds} for a site's own JavaScript form."""
    methods = "GET, OPTIONS"
    if request.method == "OPTIONS":
        return _preflight(methods)
    if request.method not in ("GET", "HEAD"):
        return _cors(_method_not_allowed(request, "GET"), methods)
    org = _org_or_none(slug)
    if org is None:
        return _cors(_no_form(slug), methods)
    return _cors(JsonResponse({"token": form_token(org),
                               "expires_in": settings.LEAD_FORM_TOKEN_MAX_AGE_SECONDS}), methods)


def _json_values(body: dict) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The form's fields as text, and type problems by field."""
    values, problems = {}, {}
    for name in FIELDS:
        value = body.get(name)
        if value is None:
            values[name] = ""
        elif name == "budget_amount" and isinstance(value, int | float) and not isinstance(
            value, bool
        ):
            values[name] = str(value)
        elif isinstance(value, str):
            values[name] = value
        else:
            problems[name] = ["Give this as text" + (" or a number." if name == "budget_amount"
                                                     else ".")]
    return values, problems


def _submit(request, org: Organization) -> JsonResponse:
    retry_after = rate_limit_retry_after(org, request)
    if retry_after is not None:
        response = _json_error(429, "rate_limited", _rate_message(retry_after),
                               retry_after=retry_after)
        response["Retry-After"] = str(retry_after)
        return response
    if request.content_type != "application/json":
        sent = request.content_type or "no content type"
        return _json_error(415, "unsupported_media_type",
                           f"Send the form as JSON (Content-Type: application/json), "
                           f"not {sent}.")
    try:
        body = json_parse(request.body)
    except JsonRejected as exc:
        return _json_error(400, exc.code, exc.message)
    if not isinstance(body, dict):
        return _json_error(400, "malformed_json", "Send one JSON object with the form's fields.")
    unknown = sorted(set(body) - JSON_FIELDS)
    if unknown:
        known = ", ".join(sorted(JSON_FIELDS))
        return _json_error(400, "validation_failed",
                           f"{unknown[0]}: Unknown field; the form takes {known}.",
                           fields={name: ["Unknown field."] for name in unknown})
    if _honeypot_caught(org, body.get(HONEYPOT_FIELD)):
        return JsonResponse({"received": True}, status=201)
    if not form_token_valid(body.get("token"), org):
        return _json_error(400, "form_expired", EXPIRED_MESSAGE)
    values, problems = _json_values(body)
    problems = problems or _input_problems(values)
    if problems:
        field, reasons = next(iter(problems.items()))
        return _json_error(400, "validation_failed", f"{field}: {reasons[0]}", fields=problems)
    try:
        _intake(org, values)
    except FlexoraaError as exc:
        return _json_error(exc.status_code, exc.code, exc.message, fields=exc.fields,
                           **exc.extra)
    # The same answer for a new lead and a merge: the form never tells who is on file.
    return JsonResponse({"received": True}, status=201)


@csrf_exempt  # no cookies are involved; the signed token in the body is the proof
def submit_view(request, slug: str):
    """POST a JSON object {token, name, phone, email, need, budget_amount, budget_currency,
    timeline, website}: 201 {"received": true}, or the one JSON error shape."""
    methods = "POST, OPTIONS"
    if request.method == "OPTIONS":
        return _preflight(methods)
    if request.method != "POST":
        return _cors(_method_not_allowed(request, "POST"), methods)
    org = _org_or_none(slug)
    if org is None:
        return _cors(_no_form(slug), methods)
    return _cors(_submit(request, org), methods)
