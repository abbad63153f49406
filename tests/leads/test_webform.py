"""The public lead form: the embeddable HTML page and the JSON endpoints, their token,
honeypot, rate limit and CORS."""

import html
import itertools
import re
import time
from decimal import Decimal

import pytest
from django.core import signing
from django.core.cache import cache
from django.test import Client

from leads import webform
from leads.models import Lead, LeadEvent, Source
from tests.factories import OrganizationFactory
from tests.leads.factories import make_lead, next_phone
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db

_emails = itertools.count(1)
EXPIRED = "This form has expired; reload the page and send it again."


@pytest.fixture(autouse=True)
def _empty_rate_counters():
    # The rate limit counts in the shared cache; each test starts from zero.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def browser():
    """A visitor's browser that enforces CSRF like a real one would."""
    return Client(enforce_csrf_checks=True)


def token_in(page: str) -> str:
    match = re.search(r'name="token" value="([^"]+)"', page)
    assert match, page[:2000]
    return match.group(1)


def fresh_token(client, slug="acme") -> str:
    return token_in(client.get(f"/f/{slug}/").content.decode())


def form_data(token, **overrides):
    data = {
        "token": token, "name": "Asha Rao", "phone": next_phone(),
        "email": f"asha{next(_emails)}@example.com", "need": "A CRM for our 20 reps",
        "budget_amount": "250000", "budget_currency": "INR", "timeline": "month",
        "website": "",
    }
    data.update(overrides)
    return data


def post_json(client, slug, body, **extra):
    return client.post(f"/f/{slug}/submit/", body, content_type="application/json", **extra)


def old_token(org, monkeypatch, *, seconds_ago):
    real_time = time.time
    with monkeypatch.context() as patched:
        patched.setattr(signing.time, "time", lambda: real_time() - seconds_ago)
        return webform.form_token(org)


# --- The page -------------------------------------------------------------------------------


def test_the_form_page_is_standalone_embeddable_and_sets_no_cookie(browser, org):
    response = browser.get("/f/acme/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "X-Frame-Options" not in response.headers
    assert not response.cookies  # a third-party iframe must not depend on cookies
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert "Talk to Acme Leads" in page
    assert "Manager console" not in page and "csrfmiddlewaretoken" not in page
    for field in ("name", "phone", "email", "need", "budget_amount", "budget_currency",
                  "timeline"):
        assert f'name="{field}"' in page
    assert '<option value="INR" selected>' in page
    assert '<option value="month">Within a month</option>' in page
    assert 'lang="en"' in page and '<label for="f-phone">' in page
    assert signing.loads(token_in(page), salt=webform.FORM_SIGNING_SALT) == {"org": org.pk}


def test_the_honeypot_is_hidden_from_people_and_assistive_technology(client, org):
    page = client.get("/f/acme/").content.decode()
    honeypot = re.search(r'<div class="hp" aria-hidden="true">.*?</div>', page, re.S).group(0)
    assert 'name="website"' in honeypot
    assert 'tabindex="-1"' in honeypot and 'autocomplete="off"' in honeypot


def test_a_tenant_outside_india_gets_its_own_currency_and_phone_example(client, db):
    OrganizationFactory(slug="denver", country="US", timezone="America/Denver")
    page = client.get("/f/denver/").content.decode()
    assert '<option value="USD" selected>' in page
    assert "With the country code, like +1 201-555-0123." in page


def test_an_unknown_slug_is_a_404_on_every_form_route(client, org):
    assert client.get("/f/nobody/").status_code == 404
    assert client.post("/f/nobody/", {"name": "x"}).status_code == 404
    assert client.get("/f/nobody/thanks/").status_code == 404
    assert_error_shape(client.get("/f/nobody/token/"), 404, "not_found")
    assert_error_shape(post_json(client, "nobody", {}), 404, "not_found")


# --- HTML posts -----------------------------------------------------------------------------


def test_a_submission_creates_a_web_form_lead_and_redirects_to_the_thank_you_page(browser, org):
    data = form_data(fresh_token(browser), phone="+91 98765 43210")
    response = browser.post("/f/acme/", data)
    assert response.status_code == 303
    assert response["Location"] == "/f/acme/thanks/"
    lead = Lead.objects.for_org(org).get()
    assert (lead.source, lead.name, lead.phone, lead.email) == (
        Source.WEB_FORM, "Asha Rao", "+919876543210", data["email"])
    assert (lead.budget_amount, lead.budget_currency, lead.timeline) == (
        Decimal("250000"), "INR", "month")
    thanks = browser.get(response["Location"])
    assert thanks.status_code == 200
    assert "X-Frame-Options" not in thanks.headers
    assert "Acme Leads has your request" in thanks.content.decode()


def test_a_budget_with_grouping_commas_is_read_as_a_number(client, org):
    client.post("/f/acme/", form_data(fresh_token(client), budget_amount="2,50,000"))
    assert Lead.objects.for_org(org).get().budget_amount == Decimal("250000")


def test_the_currency_is_dropped_when_no_budget_is_given(client, org):
    client.post("/f/acme/", form_data(fresh_token(client), budget_amount=""))
    lead = Lead.objects.for_org(org).get()
    assert (lead.budget_amount, lead.budget_currency) == (None, "")


def test_errors_re_render_the_form_with_each_reason_and_the_values_kept(client, org):
    data = form_data(fresh_token(client), phone="12", budget_amount="2,50,000",
                     need="Need <b>10</b> seats")
    response = client.post("/f/acme/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "'12' has the wrong number of digits" in html.unescape(page)
    assert 'value="Asha Rao"' in page and f'value="{data["email"]}"' in page
    assert 'value="12"' in page and 'value="2,50,000"' in page
    assert "Need &lt;b&gt;10&lt;/b&gt; seats</textarea>" in page  # kept, and escaped
    assert re.search(r'id="f-phone"[^>]*aria-invalid="true"', page)
    assert 'role="alert"' in page and 'href="#f-phone"' in page
    assert token_in(page)  # a fresh token, so sending again works
    assert not Lead.objects.exists()


def test_a_budget_that_is_not_a_number_is_shown_beside_the_budget(client, org):
    response = client.post("/f/acme/", form_data(fresh_token(client), budget_amount="lots"))
    assert response.status_code == 400
    page = response.content.decode()
    assert re.search(r'<p class="error" id="budget-error">Give the budget as a number', page)
    assert re.search(r'id="f-budget_amount"[^>]*aria-invalid="true"', page)
    assert 'value="lots"' in page


def test_a_form_without_phone_or_email_says_what_is_missing(client, org):
    response = client.post("/f/acme/", form_data(fresh_token(client), phone="", email=""))
    assert response.status_code == 400
    assert "Give a phone number or an email address" in response.content.decode()


def test_a_valid_token_is_accepted_until_it_expires(client, org, monkeypatch, settings):
    settings.LEAD_FORM_TOKEN_MAX_AGE_SECONDS = 3600
    token = old_token(org, monkeypatch, seconds_ago=3500)
    assert client.post("/f/acme/", form_data(token)).status_code == 303


def test_an_expired_token_is_refused_with_a_clear_400(client, org, monkeypatch, settings):
    settings.LEAD_FORM_TOKEN_MAX_AGE_SECONDS = 3600
    token = old_token(org, monkeypatch, seconds_ago=3700)
    response = client.post("/f/acme/", form_data(token))
    assert response.status_code == 400
    page = response.content.decode()
    assert EXPIRED in page
    assert 'value="Asha Rao"' in page and token_in(page) != token
    assert not Lead.objects.exists()


def test_a_tampered_token_is_refused(client, org):
    token = fresh_token(client)
    value, timestamp, signature = token.rsplit(":", 2)
    other_org_value = signing.b64_encode(b'{"org":%d}' % (org.pk + 1)).decode()
    bent = "A" if signature[0] != "A" else "B"
    for bad in (f"{value}:{timestamp}:{bent}{signature[1:]}",
                f"{other_org_value}:{timestamp}:{signature}",
                f"{value}:{signing.b62_encode(int(time.time()) + 9999)}:{signature}",
                "", "not-a-token"):
        response = client.post("/f/acme/", form_data(bad))
        assert response.status_code == 400, bad
        assert EXPIRED in response.content.decode()
    assert not Lead.objects.exists()


def test_another_tenants_token_is_refused(client, org, other_org):
    response = client.post("/f/acme/", form_data(fresh_token(client, "other")))
    assert response.status_code == 400
    assert EXPIRED in response.content.decode()
    assert not Lead.objects.exists()


def test_a_filled_honeypot_is_thanked_like_a_person_but_nothing_is_stored(client, org):
    response = client.post("/f/acme/", form_data(fresh_token(client), website="http://spam"))
    assert response.status_code == 303
    assert response["Location"] == "/f/acme/thanks/"
    assert not Lead.objects.exists() and not LeadEvent.objects.exists()


def test_the_html_form_needs_no_csrf_cookie(browser, org):
    assert browser.post("/f/acme/", form_data(fresh_token(browser))).status_code == 303


def test_a_null_character_is_refused_not_stored(client, org):
    response = client.post("/f/acme/", form_data(fresh_token(client), name="Asha\x00"))
    assert response.status_code == 400
    assert "Null characters are not allowed." in response.content.decode()
    assert not Lead.objects.exists()


# --- Rate limit -----------------------------------------------------------------------------


def test_submissions_over_the_limit_get_a_429_with_retry_after(client, org, settings):
    settings.LEAD_FORM_RATE_LIMIT = 2
    settings.LEAD_FORM_RATE_WINDOW_SECONDS = 600
    token = fresh_token(client)
    for _ in range(2):
        assert client.post("/f/acme/", form_data(token)).status_code == 303
    response = client.post("/f/acme/", form_data(token))
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 600
    page = response.content.decode()
    assert "Too many requests were sent from your network" in page
    assert 'value="Asha Rao"' in page
    assert Lead.objects.count() == 2


def test_the_rate_limit_counts_per_ip_address_and_per_tenant(client, org, other_org, settings):
    settings.LEAD_FORM_RATE_LIMIT = 1
    token, other_token = fresh_token(client), fresh_token(client, "other")
    assert client.post("/f/acme/", form_data(token)).status_code == 303
    assert client.post("/f/acme/", form_data(token)).status_code == 429
    # Another address, same tenant: its own count.
    assert client.post("/f/acme/", form_data(token), REMOTE_ADDR="203.0.113.9").status_code == 303
    # Same address, another tenant: its own count.
    assert client.post("/f/other/", form_data(other_token)).status_code == 303
    # A forged X-Forwarded-For does not buy a new count.
    assert client.post("/f/acme/", form_data(token),
                       HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429


def test_behind_a_trusted_proxy_each_visitor_has_their_own_count(client, org, settings):
    settings.LEAD_FORM_RATE_LIMIT = 1
    settings.TRUSTED_PROXY_COUNT = 1
    token = fresh_token(client)
    balancer = {"REMOTE_ADDR": "10.0.0.2"}
    assert client.post("/f/acme/", form_data(token), HTTP_X_FORWARDED_FOR="203.0.113.9",
                       **balancer).status_code == 303
    assert client.post("/f/acme/", form_data(token), HTTP_X_FORWARDED_FOR="203.0.113.9",
                       **balancer).status_code == 429
    # Another visitor through the same balancer.
    assert client.post("/f/acme/", form_data(token), HTTP_X_FORWARDED_FOR="198.51.100.7",
                       **balancer).status_code == 303
    # What the visitor wrote left of the address the proxy vouched for buys nothing.
    assert client.post("/f/acme/", form_data(token),
                       HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.9",
                       **balancer).status_code == 429


def test_bots_and_bad_tokens_count_against_the_limit_too(client, org, settings):
    settings.LEAD_FORM_RATE_LIMIT = 2
    token = fresh_token(client)
    client.post("/f/acme/", form_data(token, website="spam"))
    client.post("/f/acme/", form_data("forged"))
    assert client.post("/f/acme/", form_data(token)).status_code == 429


def test_the_json_endpoint_answers_429_in_the_error_shape(client, org, settings):
    settings.LEAD_FORM_RATE_LIMIT = 1
    token = client.get("/f/acme/token/").json()["token"]
    assert post_json(client, "acme", form_data(token)).status_code == 201
    response = post_json(client, "acme", form_data(token))
    error = assert_error_shape(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) == error["retry_after"]
    assert response["Access-Control-Allow-Origin"] == "*"


def test_a_cache_outage_lets_people_through_rather_than_losing_leads(client, org, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache is down")

    token = fresh_token(client)
    monkeypatch.setattr(webform.cache, "add", broken)
    assert client.post("/f/acme/", form_data(token)).status_code == 303
    assert Lead.objects.count() == 1


# --- JSON endpoints -------------------------------------------------------------------------


def test_the_token_endpoint_gives_a_token_and_its_lifetime_to_any_origin(client, org, settings):
    settings.LEAD_FORM_TOKEN_MAX_AGE_SECONDS = 1800
    response = client.get("/f/acme/token/", HTTP_ORIGIN="https://acme.example")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    body = response.json()
    assert body["expires_in"] == 1800
    assert webform.form_token_valid(body["token"], org)


def test_a_json_submission_creates_the_lead_and_answers_201(browser, org):
    token = browser.get("/f/acme/token/").json()["token"]
    response = post_json(browser, "acme", form_data(token, budget_amount=99000.5),
                         HTTP_ORIGIN="https://acme.example")
    assert response.status_code == 201
    assert response.json() == {"received": True}
    assert response["Access-Control-Allow-Origin"] == "*"
    lead = Lead.objects.for_org(org).get()
    assert (lead.source, lead.budget_amount) == (Source.WEB_FORM, Decimal("99000.50"))


def test_a_merge_answers_exactly_like_a_new_lead(client, org):
    existing = make_lead(org, phone="+919812345678", name="Known Person")
    token = client.get("/f/acme/token/").json()["token"]
    new = post_json(client, "acme", form_data(token))
    merged = post_json(client, "acme", form_data(token, phone="+91 98123 45678", email=""))
    assert (new.status_code, new.content) == (merged.status_code, merged.content)
    assert Lead.objects.for_org(org).count() == 2
    assert existing.events.filter(kind=LeadEvent.Kind.MERGED).exists()


def test_the_json_honeypot_answers_like_a_success_and_stores_nothing(client, org):
    token = client.get("/f/acme/token/").json()["token"]
    response = post_json(client, "acme", form_data(token, website="https://spam.example"))
    assert (response.status_code, response.json()) == (201, {"received": True})
    assert not Lead.objects.exists()


def test_an_invalid_phone_is_a_400_naming_the_field(client, org):
    token = client.get("/f/acme/token/").json()["token"]
    response = post_json(client, "acme", form_data(token, phone="12"))
    error = assert_error_shape(response, 400, "invalid_contact")
    assert "wrong number of digits" in error["fields"]["phone"][0]
    assert response["Access-Control-Allow-Origin"] == "*"
    assert not Lead.objects.exists()


def test_a_bad_budget_is_a_400_naming_the_field(client, org):
    token = client.get("/f/acme/token/").json()["token"]
    response = post_json(client, "acme", form_data(token, budget_amount="lots"))
    error = assert_error_shape(response, 400, "validation_failed")
    assert set(error["fields"]) == {"budget_amount"}


@pytest.mark.parametrize("make_token", ["expired", "tampered", "other tenant", "missing"])
def test_the_json_endpoint_refuses_a_bad_token(client, org, other_org, monkeypatch, settings,
                                                make_token):
    settings.LEAD_FORM_TOKEN_MAX_AGE_SECONDS = 60
    token = {
        "expired": lambda: old_token(org, monkeypatch, seconds_ago=120),
        "tampered": lambda: webform.form_token(org)[:-3] + "abc",
        "other tenant": lambda: webform.form_token(other_org),
        "missing": lambda: None,
    }[make_token]()
    response = post_json(client, "acme", form_data(token))
    error = assert_error_shape(response, 400, "form_expired")
    assert error["message"] == EXPIRED
    assert not Lead.objects.exists()


def test_a_body_that_is_not_json_is_a_415(client, org):
    token = client.get("/f/acme/token/").json()["token"]
    response = client.post("/f/acme/submit/", form_data(token))  # form-encoded
    error = assert_error_shape(response, 415, "unsupported_media_type")
    assert "application/json" in error["message"]
    assert response["Access-Control-Allow-Origin"] == "*"


def test_malformed_json_and_wrong_types_are_400s(client, org):
    token = client.get("/f/acme/token/").json()["token"]
    assert_error_shape(post_json(client, "acme", '{"token": '), 400, "malformed_json")
    assert_error_shape(post_json(client, "acme", "[1, 2]"), 400, "malformed_json")
    error = assert_error_shape(post_json(client, "acme", form_data(token, phone=98765)), 400,
                               "validation_failed")
    assert set(error["fields"]) == {"phone"}
    error = assert_error_shape(post_json(client, "acme", form_data(token, budget_amount=True)),
                               400, "validation_failed")
    assert set(error["fields"]) == {"budget_amount"}


def test_an_email_longer_than_its_column_is_a_400_not_a_server_error(client, org):
    token = client.get("/f/acme/token/").json()["token"]
    email = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".com"  # valid syntax, 312 chars
    response = post_json(client, "acme", form_data(token, email=email))
    error = assert_error_shape(response, 400, "validation_failed")
    assert error["fields"]["email"] == ["Keep the email address to 254 characters."]
    assert not Lead.objects.exists()


def test_an_unknown_json_field_is_refused_not_ignored(client, org):
    token = client.get("/f/acme/token/").json()["token"]
    error = assert_error_shape(post_json(client, "acme", form_data(token, source="api")), 400,
                               "validation_failed")
    assert set(error["fields"]) == {"source"}
    assert not Lead.objects.exists()


def test_the_cors_preflight_allows_a_json_post_from_any_origin(client, org):
    response = client.options("/f/acme/submit/", HTTP_ORIGIN="https://acme.example",
                              HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                              HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "content-type" in response["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in response.headers
    token_preflight = client.options("/f/acme/token/", HTTP_ORIGIN="https://acme.example",
                                     HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert token_preflight.status_code == 204
    assert token_preflight["Access-Control-Allow-Origin"] == "*"


def test_the_json_endpoint_needs_no_csrf_cookie_and_takes_only_post(browser, org):
    token = browser.get("/f/acme/token/").json()["token"]
    assert post_json(browser, "acme", form_data(token)).status_code == 201
    response = browser.get("/f/acme/submit/")
    assert_error_shape(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"
