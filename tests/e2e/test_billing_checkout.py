"""Buying tokens in a real browser: a manager opens the wallet, presses Buy, pays in the
Razorpay sandbox's Checkout dialog and lands back on the wallet with the tokens credited;
then the sandbox's signed webhooks reach the live server and change nothing more."""

import pytest
from playwright.sync_api import expect

from billing.models import Payment, PaymentStatus, TokenLedgerEntry
from flexoraa.models import WebhookDelivery
from tests.billing.razorpay_support import make_package, point_settings_at, running_sandbox
from tests.e2e.test_dashboard import signed_in


@pytest.fixture
def tasks_run_at_once():
    """The live server runs queued tasks itself, as a worker would, right after commit."""
    from flexoraa.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture
def razorpay_checkout(live_server, settings, tasks_run_at_once):
    """A Razorpay sandbox whose webhooks go to the live server. They are held until the test
    lets them go, so the browser's requests and the webhooks never overlap on the test
    database's one shared connection."""
    with running_sandbox(webhook_url=f"{live_server.url}/webhooks/razorpay/") as server:
        point_settings_at(settings, server)
        server.razorpay.webhooks_pause()
        yield server.razorpay


def test_a_manager_buys_tokens_in_the_sandbox_checkout_and_lands_back_on_the_wallet(
    page, live_server, org, manager, razorpay_checkout
):
    package = make_package(name="Test pack", tokens=10_000, price_paise=99_900)
    signed_in(page, live_server, manager)

    page.goto(f"{live_server.url}/billing/")
    expect(page.get_by_test_id("wallet-balance")).to_have_text("0")
    page.get_by_role("button", name=f"Buy {package.name}").click()

    dialog = page.get_by_role("dialog", name="Razorpay sandbox")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_test_id("razorpay-sandbox-amount")).to_have_text("999.00 INR")
    payment = Payment.objects.for_org(org).get()
    expect(dialog).to_contain_text(payment.razorpay_order_id)
    expect(dialog).to_contain_text("Flexoraa: Test pack: 10,000 tokens")
    dialog.get_by_role("button", name="Pay").click()

    expect(page).to_have_url(f"{live_server.url}/billing/")
    expect(page.get_by_text("Payment received: 10,000 tokens are in your wallet.")).to_be_visible()
    expect(page.get_by_test_id("wallet-balance")).to_have_text("10,000")
    expect(page.get_by_test_id("payment-row").first).to_contain_text("Paid")

    # Now Razorpay's webhooks for the same payment arrive: stored, processed, no new credit.
    razorpay_checkout.webhooks_resume()
    assert razorpay_checkout.webhooks_wait(timeout=20)
    assert [(d["event"], d["status"]) for d in razorpay_checkout.deliveries] == [
        ("payment.captured", 200), ("order.paid", 200)]
    assert WebhookDelivery.objects.filter(provider="razorpay",
                                          processed_at__isnull=False).count() == 2
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED
    assert TokenLedgerEntry.objects.for_org(org).count() == 1
    page.reload()
    expect(page.get_by_test_id("wallet-balance")).to_have_text("10,000")
