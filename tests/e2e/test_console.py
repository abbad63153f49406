"""The manager console in a real browser: an API key is issued, shown once, and revoked."""

from playwright.sync_api import expect

from flexoraa.models import ApiKey
from tests.e2e.test_dashboard import signed_in


def test_a_manager_issues_a_key_sees_it_once_and_revokes_it(page, live_server, org, manager):
    signed_in(page, live_server, manager)
    page.goto(f"{live_server.url}/admin/flexoraa/apikey/add/")
    page.fill("#id_name", "Website form")
    page.get_by_role("button", name="Save", exact=True).click()

    shown = page.get_by_test_id("new-api-key")
    raw_key = shown.input_value()
    api_key = ApiKey.objects.for_org(org).get(name="Website form")
    assert raw_key.startswith(f"flx_{api_key.prefix}_")
    expect(page.get_by_text("will not be shown again")).to_be_visible()

    page.get_by_role("link", name="I have copied it: back to API keys").click()
    expect(page.get_by_role("link", name="Website form")).to_be_visible()
    assert raw_key not in page.content()

    page.get_by_role("checkbox", name="Select this object for an action - Website form").check()
    page.select_option("select[name=action]", "revoke_keys")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_text("1 key(s) revoked.")).to_be_visible()
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
