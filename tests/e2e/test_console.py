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


def test_a_manager_finds_a_failed_webhook_delivery_reads_its_error_and_replays_it(
    page, live_server, org, manager, monkeypatch, request
):
    from flexoraa import tasks as core_tasks
    from flexoraa.models import DeliveryState, WebhookDelivery

    queued = []
    monkeypatch.setattr(core_tasks.process_webhook_deliveries, "delay", queued.append)
    failed = WebhookDelivery.objects.create(
        provider="razorpay", event_id="evt_Broken000001", event_type="payment.captured",
        payload={"event": "payment.captured", "payload": {}}, organization=org,
        state=DeliveryState.FAILED, attempts=1, outcome="malformed",
        last_error="malformed: 'payment'")
    WebhookDelivery.objects.create(
        provider="whatsapp", event_id="wamid.Fine", event_type="message", payload={},
        organization=org, state=DeliveryState.PROCESSED, attempts=1, outcome="stored")

    signed_in(page, live_server, manager)
    page.goto(f"{live_server.url}/admin/flexoraa/webhookdelivery/")
    page.get_by_role("link", name="Failed", exact=True).click()
    expect(page.get_by_text("malformed: 'payment'")).to_be_visible()
    expect(page.get_by_role("link", name="wamid.Fine")).to_have_count(0)
    # Kept beside the failure screenshots (test-results/, a CI artefact) for a person to read.
    results = request.config.rootpath / "test-results"
    results.mkdir(exist_ok=True)
    page.screenshot(path=str(results / "console-webhook-deliveries.png"), full_page=True)

    page.get_by_role("checkbox",
                     name="Select this object for an action - razorpay payment.captured "
                          "evt_Broken000001").check()
    page.select_option("select[name=action]", "replay")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_text("1 deliveries queued again.")).to_be_visible()
    failed.refresh_from_db()
    assert (failed.state, failed.attempts) == (DeliveryState.PENDING, 0)
