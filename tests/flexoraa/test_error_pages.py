"""Error pages with DEBUG off: 403, 404 and 500 in the layout with a way back home, the 500 page
whatever else is broken, and JSON callers keep the API's error shape.

This module is also the URL conf of its tests: the site's routes plus one view that raises."""

import json

import pytest
from django.db import DatabaseError
from django.test import Client
from django.urls import path

from flexoraa.urls import urlpatterns as site_urlpatterns


def _view_that_breaks(request):
    raise RuntimeError("a bug in a view")


def _view_whose_database_is_gone(request):
    raise DatabaseError("could not connect to server")


urlpatterns = [
    path("boom/", _view_that_breaks),
    path("api/boom/", _view_that_breaks),
    path("no-database/", _view_whose_database_is_gone),
    *site_urlpatterns,
]
handler403 = "flexoraa.views.handler403"
handler404 = "flexoraa.views.handler404"
handler500 = "flexoraa.views.handler500"

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture(autouse=True)
def _production_errors(settings):
    settings.DEBUG = False


def broken_context_processor(request):
    raise RuntimeError("a context processor that fails")


def _page(response) -> str:
    return response.content.decode()


def _in_the_layout(page: str) -> bool:
    return 'class="topbar"' in page and "css/app.css" in page


def test_an_unknown_address_shows_the_styled_404_with_what_to_do_and_the_navigation(
    login_client, sdr, django_assert_num_queries
):
    client = login_client(sdr)
    # The session, the user, the membership, and the organization's navigation.
    with django_assert_num_queries(3):
        response = client.get("/no/such/page/")
    assert response.status_code == 404
    page = _page(response)
    assert _in_the_layout(page) and 'aria-label="Main"' in page
    assert "<h1 id=\"error-title\">Page not found</h1>" in page
    assert "What you can do" in page
    assert 'href="/" data-testid="error-home"' in page
    assert "Traceback" not in page


def test_a_signed_out_visitor_gets_the_404_without_the_navigation(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    page = _page(response)
    assert _in_the_layout(page) and 'aria-label="Main"' not in page
    assert "Page not found" in page


def test_an_sdr_opening_a_managers_page_gets_the_styled_403_with_the_reason(
    login_client, sdr, django_assert_num_queries
):
    client = login_client(sdr)
    with django_assert_num_queries(3):
        response = client.get("/operations/")
    assert response.status_code == 403
    page = _page(response)
    assert _in_the_layout(page) and 'aria-label="Main"' in page
    assert "You cannot open this page" in page
    assert '<p data-testid="error-reason">This page is for managers.</p>' in page
    assert 'data-testid="error-home"' in page


def test_a_view_that_raises_shows_the_styled_500_without_a_traceback(sdr):
    client = Client(raise_request_exception=False)
    client.force_login(sdr.user)
    response = client.get("/boom/")
    assert response.status_code == 500
    page = _page(response)
    assert _in_the_layout(page)
    assert "Something went wrong on our side" in page
    assert 'href="/" data-testid="error-home"' in page
    assert "a bug in a view" not in page and "Traceback" not in page


def test_the_500_page_needs_no_database_nor_context_processors(
    sdr, settings, django_assert_num_queries
):
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "OPTIONS": {
        **engine["OPTIONS"],
        "context_processors": [*engine["OPTIONS"]["context_processors"],
                               f"{__name__}.broken_context_processor"],
    }}]
    client = Client(raise_request_exception=False)
    # Signed out: a signed-in request would read its session before the view raises.
    with django_assert_num_queries(0):
        response = client.get("/no-database/")
    assert response.status_code == 500
    assert "Something went wrong on our side" in _page(response)


def test_the_500_page_falls_back_to_plain_html_when_its_template_cannot_render(
    settings, monkeypatch
):
    from flexoraa import views

    def template_gone(*args, **kwargs):
        raise OSError("templates unreadable")

    monkeypatch.setattr(views, "render_to_string", template_gone)
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert "Something went wrong" in _page(response) and 'href="/"' in _page(response)


def test_debug_shows_the_technical_pages_instead(settings, login_client, sdr):
    settings.DEBUG = True
    response = login_client(sdr).get("/no/such/page/")
    assert response.status_code == 404
    assert "Using the URLconf defined in" in _page(response)


@pytest.mark.parametrize(("address", "status", "code"), [
    ("/api/no-such-route/", 404, "not_found"),
    ("/api/boom/", 500, "server_error"),
])
def test_the_api_still_answers_json_errors(api_client, address, status, code):
    api_client.raise_request_exception = False
    response = api_client.get(address)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)["error"]["code"] == code


def test_a_json_caller_refused_a_page_gets_the_json_error_shape(login_client, sdr):
    response = login_client(sdr).get("/operations/", HTTP_ACCEPT="application/json")
    assert response.status_code == 403
    assert json.loads(response.content) == {"error": {
        "code": "permission_denied", "message": "This page is for managers.", "fields": {}}}


def test_the_api_refuses_an_sdr_in_its_own_json_shape(api_client, sdr):
    api_client.force_login(sdr.user)
    response = api_client.post("/api/leads/", {"name": "Asha"}, format="json")
    assert response.status_code == 403
    assert json.loads(response.content)["error"]["code"] == "permission_denied"


def test_a_form_sent_without_its_csrf_token_gets_the_page_that_says_to_reload(sdr):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sdr.user)
    response = client.post("/availability/")
    assert response.status_code == 403
    page = _page(response)
    assert _in_the_layout(page) and 'aria-label="Main"' in page
    assert "That form had expired" in page and "reload the page" in page


def test_a_json_caller_without_its_csrf_token_gets_the_json_error_shape(sdr):
    client = Client(enforce_csrf_checks=True)
    client.force_login(sdr.user)
    response = client.post("/availability/", "{}", content_type="application/json")
    assert response.status_code == 403
    assert json.loads(response.content)["error"]["code"] == "csrf_failed"
