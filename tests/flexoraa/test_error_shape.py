import pytest
from django.test import override_settings

from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db


def test_malformed_json_is_a_400_naming_the_parse_problem(key_client, sdr):
    response = key_client.generic(
        "PATCH", f"/api/memberships/{sdr.pk}/", '{"capacity": 3', content_type="application/json"
    )
    error = assert_error_shape(response, 400, "malformed_json")
    assert error["message"] == ("The body is not JSON: Expecting ',' delimiter at line 1, "
                                "column 15.")


def test_a_body_that_is_not_json_is_a_415(key_client, sdr):
    response = key_client.generic(
        "PATCH", f"/api/memberships/{sdr.pk}/", "capacity=3",
        content_type="application/x-www-form-urlencoded",
    )
    error = assert_error_shape(response, 415, "unsupported_media_type")
    assert "application/x-www-form-urlencoded" in error["message"]


@override_settings(REQUEST_BODY_LIMIT_BYTES=1024)
def test_an_oversized_body_is_a_413_before_any_view_reads_it(key_client):
    body = '{"name": "' + "x" * 2000 + '"}'
    response = key_client.generic("POST", "/api/api-keys/", body,
                                  content_type="application/json")
    error = assert_error_shape(response, 413, "body_too_large")
    assert "1024" in error["message"]


def test_the_default_body_limit_is_one_megabyte(settings):
    assert settings.REQUEST_BODY_LIMIT_BYTES == 1_048_576


def test_an_unknown_api_route_is_a_json_404(key_client):
    response = key_client.get("/api/no-such-thing/")
    error = assert_error_shape(response, 404, "not_found")
    assert "/api/no-such-thing/" in error["message"]


def test_an_unknown_api_route_is_a_json_404_without_a_key_too(client):
    assert_error_shape(client.post("/api/nothing/here/"), 404, "not_found")


def test_an_unknown_webhook_route_is_a_json_404(client):
    assert_error_shape(client.post("/webhooks/nobody/"), 404, "not_found")


def test_a_method_the_route_does_not_take_is_a_405(key_client):
    response = key_client.put("/api/api-keys/", {}, format="json")
    assert_error_shape(response, 405, "method_not_allowed")


def test_an_unknown_object_is_a_404_in_the_error_shape(key_client):
    assert_error_shape(key_client.get("/api/api-keys/987654/"), 404, "not_found")


def test_field_errors_name_each_field(key_client, manager):
    response = key_client.patch(
        f"/api/memberships/{manager.pk}/", {"role": "boss", "capacity": -1}, format="json"
    )
    error = assert_error_shape(response, 400, "validation_failed")
    assert set(error["fields"]) == {"role", "capacity"}
    assert "role" in error["message"] or "capacity" in error["message"]


def test_an_unknown_page_is_an_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_a_field_that_cannot_be_written_is_a_400_not_silently_dropped(key_client, sdr):
    response = key_client.patch(f"/api/memberships/{sdr.pk}/",
                                {"username": "hacker", "capacity": 3}, format="json")
    error = assert_error_shape(response, 400, "validation_failed")
    assert set(error["fields"]) == {"username"}
    assert "capacity, is_available, role" in error["message"]
    sdr.refresh_from_db()
    assert sdr.capacity == 5


@pytest.mark.parametrize(("query", "field"), [
    ("limit=abc", "limit"), ("limit=0", "limit"), ("limit=-1", "limit"), ("limit=201", "limit"),
    ("offset=-5", "offset"), ("offset=x", "offset"),
])
def test_paging_values_out_of_range_are_a_400_naming_the_parameter(key_client, query, field):
    error = assert_error_shape(key_client.get(f"/api/memberships/?{query}"), 400,
                               "validation_failed")
    assert set(error["fields"]) == {field}
    assert "whole number" in error["message"]


def test_paging_within_range_pages(key_client, org, manager, sdr):
    body = key_client.get("/api/memberships/?limit=1&offset=1").json()
    assert body["count"] == 2 and len(body["results"]) == 1
    assert body["previous"] is not None and body["next"] is None


def test_a_route_without_its_trailing_slash_says_so(key_client):
    error = assert_error_shape(key_client.get("/api/memberships"), 404, "not_found")
    assert "/api/memberships/" in error["message"]
    assert "trailing slash" in error["message"]
