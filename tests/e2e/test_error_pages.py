"""The error pages in a real browser, as production serves them (DEBUG off): a rep who follows a
dead link, opens a manager's page, sends a stale form or meets a bug sees a page in the layout
that says what happened, and finds the way back home."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.test_dashboard import signed_in

# The site's routes plus a view that raises (tests/flexoraa/test_error_pages.py).
pytestmark = pytest.mark.urls("tests.flexoraa.test_error_pages")



@pytest.fixture(autouse=True)
def _production_errors(settings):
    settings.DEBUG = False


@pytest.fixture
def shot(page, tmp_path):
    """Screenshots into FLEXORAA_SHOTS_DIR when it is set (to look at them), else tmp_path."""
    folder = Path(os.environ.get("FLEXORAA_SHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> None:
        path = folder / f"errors-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 5_000

    return take


def test_a_rep_meets_the_404_403_and_500_pages_in_the_layout_and_goes_home_from_each(
    page, live_server, sdr, shot
):
    signed_in(page, live_server, sdr)
    home = f"{live_server.url}/"

    response = page.goto(f"{live_server.url}/leads/999999/no-such-thing/")
    assert response.status == 404
    expect(page).to_have_title("Page not found · Flexoraa")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_text("What you can do")).to_be_visible()
    shot("404")
    page.get_by_role("link", name="Back to the home page").click()
    expect(page).to_have_url(home)

    response = page.goto(f"{live_server.url}/operations/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You cannot open this page")).to_be_visible()
    expect(page.get_by_test_id("error-reason")).to_have_text("This page is for managers.")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    shot("403")
    page.get_by_role("link", name="Back to the home page").click()
    expect(page).to_have_url(home)

    response = page.goto(f"{live_server.url}/boom/")
    assert response.status == 500
    expect(page.get_by_role("heading", name="Something went wrong on our side")).to_be_visible()
    expect(page.get_by_text("a bug in a view")).to_have_count(0)
    # Styled by the site's stylesheet, though rendered without the request.
    assert page.locator(".topbar").evaluate("e => getComputedStyle(e).display") == "flex"
    shot("500")
    page.get_by_role("link", name="Back to the home page").click()
    expect(page).to_have_url(home)


def test_a_form_left_open_across_a_new_csrf_cookie_says_to_reload_and_nothing_breaks(
    page, live_server, sdr, shot
):
    signed_in(page, live_server, sdr)
    # Another tab signed in again meanwhile: the cookie no longer matches this page's token.
    page.context.add_cookies([{"name": "csrftoken", "value": "x" * 32,
                               "url": live_server.url}])
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="That form had expired")).to_be_visible()
    expect(page.get_by_text("reload the page and send it again")).to_be_visible()
    shot("403-csrf")
    page.get_by_role("link", name="Back to the home page").click()
    expect(page).to_have_url(f"{live_server.url}/")
    # The rep is still signed in: the refused form changed nothing.
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
