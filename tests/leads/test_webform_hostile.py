"""The public lead form meets hostile input: bodies nested deeper than any form, NUL and
unpaired surrogates in any field, bytes that are not UTF-8, bodies over the limit. The JSON
endpoint answers each with a 4xx in the one error shape, the HTML form with the form and its
reasons, never a 500; nothing is stored."""

import json

import pytest
from django.core.cache import cache
from django.test import override_settings

from leads import webform
from leads.models import Lead
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db

FIELDS = ("name", "phone", "email", "need", "budget_amount", "budget_currency", "timeline")


@pytest.fixture(autouse=True)
def _empty_rate_counters():
    cache.clear()
    yield
    cache.clear()


def good_values(**overrides) -> dict:
    values = {"name": "Asha Rao", "phone": "+919876543210", "email": "asha@example.com",
              "need": "A CRM for our 20 reps", "budget_amount": "250000",
              "budget_currency": "INR", "timeline": "month", "website": ""}
    values.update(overrides)
    return values


def submit(client, body: bytes | str, content_type="application/json"):
    return client.post("/f/acme/submit/", body, content_type=content_type)


def json_body(org, **overrides) -> str:
    # json.dumps writes a lone surrogate as the escape \udXXX, as a hostile client would.
    return json.dumps({"token": webform.form_token(org), **good_values(**overrides)})


# --- the JSON endpoint ----------------------------------------------------------------------


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(("bad", "reason"), [
    ("\x00", "Null characters are not allowed."),
    ("\ud800", "This contains a character that is not valid text (an unpaired surrogate); "
               "type it again."),
    ("\udfff", "This contains a character that is not valid text (an unpaired surrogate); "
               "type it again."),
], ids=["nul", "high-surrogate", "low-surrogate"])
def test_text_the_database_cannot_store_in_any_field_is_a_400_naming_it(client, org, field,
                                                                         bad, reason):
    response = submit(client, json_body(org, **{field: f"12{bad}3"}))
    error = assert_error_shape(response, 400, "validation_failed")
    assert error["fields"] == {field: [reason]}
    assert response["Access-Control-Allow-Origin"] == "*"
    assert not Lead.objects.exists()


@pytest.mark.parametrize(("case", "body", "code"), [
    ("100,000 nested arrays", "[" * 100_000 + "]" * 100_000, "too_deep"),
    ("a field nested 40 deep", '{"name": ' + "[" * 40 + "]" * 40 + "}", "too_deep"),
    ("bytes that are not UTF-8", b'{"name": "\xff\xfe"}', "malformed_json"),
    ("an integer of 5,000 digits", '{"budget_amount": ' + "9" * 5000 + "}", "malformed_json"),
    ("truncated", '{"name": ', "malformed_json"),
], ids=lambda value: value if isinstance(value, str) and len(value) < 40 else None)
def test_a_body_no_form_sends_is_a_400_naming_why(client, org, case, body, code):
    response = submit(client, body)
    error = assert_error_shape(response, 400, code)
    assert response["Access-Control-Allow-Origin"] == "*"
    if code == "too_deep":
        assert "32 levels" in error["message"]
    assert not Lead.objects.exists()


@pytest.mark.parametrize("amount", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_a_budget_that_is_not_a_finite_number_is_a_400(client, org, amount):
    body = json_body(org, budget_amount=0).replace('"budget_amount": 0',
                                                   f'"budget_amount": {amount}')
    error = assert_error_shape(submit(client, body), 400)
    assert error["code"] in {"validation_failed", "malformed_json"}
    assert not Lead.objects.exists()


def test_a_surrogate_written_as_utf8_bytes_is_caught_like_an_escaped_one(client, org):
    # Python's JSON reader lets the three bytes of an encoded surrogate through as one.
    body = json_body(org, name="Asha").encode().replace(b'"Asha"', b'"As\xed\xa0\x80ha"')
    error = assert_error_shape(submit(client, body), 400, "validation_failed")
    assert list(error["fields"]) == ["name"]
    assert not Lead.objects.exists()


def test_a_lone_surrogate_in_the_token_is_a_stale_form_not_a_crash(client, org):
    body = json.dumps({"token": "a:b:\ud800", **good_values()})
    assert_error_shape(submit(client, body), 400, "form_expired")
    assert not Lead.objects.exists()


def test_an_unknown_field_named_with_a_surrogate_is_refused_in_the_error_shape(client, org):
    body = json.dumps({"token": webform.form_token(org), **good_values(), "\ud800x": "1"})
    error = assert_error_shape(submit(client, body), 400, "validation_failed")
    assert list(error["fields"]) == ["\ud800x"]  # echoed escaped, so the answer renders
    assert not Lead.objects.exists()


@override_settings(REQUEST_BODY_LIMIT_BYTES=4096)
def test_a_body_over_the_limit_is_a_413_in_the_error_shape(client, org):
    response = submit(client, json_body(org, need="x" * 5000))
    error = assert_error_shape(response, 413, "body_too_large")
    assert "4096" in error["message"]
    assert not Lead.objects.exists()


def test_valid_text_beyond_ascii_is_taken(client, org):
    response = submit(client, json_body(org, name="Zoë \U0001f600 \u202eRao"))
    assert response.status_code == 201, response.content
    assert Lead.objects.get().name == "Zoë \U0001f600 \u202eRao"


# --- the HTML form --------------------------------------------------------------------------


def form_post(client, org, **overrides):
    data = {"token": webform.form_token(org), **good_values(**overrides)}
    return client.post("/f/acme/", data)


@pytest.mark.parametrize("field", FIELDS)
def test_a_nul_in_any_html_field_shows_the_form_again_with_the_reason(client, org, field):
    response = form_post(client, org, **{field: "12\x003"})
    assert response.status_code == 400
    assert "Null characters are not allowed." in response.content.decode()
    assert not Lead.objects.exists()


def test_a_surrogate_cannot_arrive_through_the_html_form_it_becomes_a_replacement_character(
    client, org
):
    # %ED%A0%80 would be U+D800 in UTF-8; it is not UTF-8, so Django decodes it to U+FFFD.
    token = webform.form_token(org)
    body = (f"token={token}&name=Asha%ED%A0%80Rao&phone=%2B919876543210&email=&need=&"
            f"budget_amount=&budget_currency=INR&timeline=&website=")
    response = client.post("/f/acme/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 303
    assert Lead.objects.get().name == "Asha\ufffd\ufffd\ufffdRao"


def test_a_multipart_post_with_a_nul_and_bad_bytes_is_a_400_form_not_a_500(client, org):
    token = webform.form_token(org).encode()
    boundary = b"BOUNDARY"
    parts = [(b"token", token), (b"name", b"Asha\x00"), (b"phone", b"+91\xff9876543210")]
    body = b"".join(b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"" + name
                    + b"\"\r\n\r\n" + value + b"\r\n" for name, value in parts)
    body += b"--" + boundary + b"--\r\n"
    response = client.post("/f/acme/", body,
                           content_type="multipart/form-data; boundary=BOUNDARY")
    assert response.status_code == 400
    assert "Null characters are not allowed." in response.content.decode()
    assert not Lead.objects.exists()


@override_settings(REQUEST_BODY_LIMIT_BYTES=4096)
def test_an_html_post_over_the_limit_is_a_413_not_a_500(client, org):
    response = form_post(client, org, need="x" * 5000)
    assert response.status_code == 413
    assert "limit is 4096 bytes" in response.content.decode()
    assert not Lead.objects.exists()


def test_a_nul_in_the_form_pages_query_string_is_a_400(client, org):
    response = client.get("/f/acme/?name=%00")
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()
