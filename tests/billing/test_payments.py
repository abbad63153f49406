"""Buying tokens through Razorpay at the service layer: the order is created over HTTP in the
sandbox, Checkout's callback is verified against the order we stored and the payment Razorpay
reports, refunds take tokens back (never below zero), and Razorpay's errors become ours."""

import importlib
import re
import socket

import pytest
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command

from billing import services
from billing.errors import PaymentProviderUnavailable, PaymentRefused
from billing.models import (
    LedgerReason,
    Payment,
    PaymentStatus,
    TokenLedgerEntry,
    TokenPackage,
)
from billing.selectors import ledger_checks
from flexoraa.actors import Actor
from flexoraa.errors import NotFound, ValidationFailed
from flexoraa.models import AuditEvent, WebhookDelivery
from sandbox.razorpay import DECLINED
from tests.billing.razorpay_support import make_package, webhook_post
from tests.billing.wallet_support import balance_of, ledger_sum
from tests.factories import SETUP_ACTOR

pytestmark = pytest.mark.django_db




def buy(org, membership, package) -> Payment:
    return services.payment_order_create(org=org, package_id=package.pk,
                                         actor=Actor.for_member(membership))


def confirm(org, membership, payment, remote, sandbox, *, signature=None):
    return services.payment_checkout_confirm(
        org=org, order_id=payment.razorpay_order_id, payment_id=remote["id"],
        signature=signature if signature is not None else sandbox.checkout_signature(
            payment.razorpay_order_id, remote["id"]),
        actor=Actor.for_member(membership),
    )


def deliver_all(client, sandbox, capture, event_type=None):
    """POST the sandbox's webhooks to the app and run the queued processing."""
    for event in sandbox.events_take(event_type):
        with capture(execute=True):
            assert webhook_post(client, event).status_code == 200


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the order ------------------------------------------------------------------------------

def test_buying_a_package_creates_a_razorpay_order_in_paise_with_a_unique_receipt(
    org, manager, token_package, razorpay_sandbox
):
    first = buy(org, manager, token_package)
    second = services.payment_order_create(org=org, package_id=str(token_package.pk),
                                           actor=Actor.for_member(manager))

    order = razorpay_sandbox.orders[first.razorpay_order_id]
    assert (order["amount"], order["currency"], order["receipt"], order["status"]) == (
        99_900, "INR", first.receipt, "created")
    assert order["notes"] == {"organization_id": str(org.pk), "package_id": str(token_package.pk)}
    assert re.fullmatch(r"order_[A-Za-z0-9]{14}", first.razorpay_order_id)
    assert first.receipt != second.receipt
    assert len(first.receipt) <= 40 and len(second.receipt) <= 40
    assert first.razorpay_order_id != second.razorpay_order_id
    first.refresh_from_db()
    assert (first.status, first.tokens, first.amount_paise, first.currency) == (
        PaymentStatus.CREATED, 10_000, 99_900, "INR")
    assert first.created_by == manager.user and second.created_by == manager.user
    events = AuditEvent.objects.for_org(org).filter(action="payment.order_created")
    assert events.count() == 2
    assert manager.user.email not in str(list(events.values_list("data", flat=True)))
    assert balance_of(org) == 0


@pytest.mark.parametrize("package_id", [999_999, "abc", None, "", -1, True])
def test_an_unknown_package_is_refused_naming_the_field_and_no_order_is_made(
    org, manager, razorpay_sandbox, package_id
):
    with pytest.raises(ValidationFailed) as refused:
        services.payment_order_create(org=org, package_id=package_id,
                                      actor=Actor.for_member(manager))

    assert refused.value.status_code == 400
    assert set(refused.value.fields) == {"package_id"}
    assert razorpay_sandbox.orders == {}
    assert not Payment.objects.exists()


def test_a_package_taken_off_sale_cannot_be_bought(org, manager, razorpay_sandbox):
    retired = make_package(name="Retired", is_active=False)

    with pytest.raises(ValidationFailed) as refused:
        buy(org, manager, retired)

    assert "package_id" in refused.value.fields
    assert razorpay_sandbox.orders == {}


# --- the checkout callback ------------------------------------------------------------------

def test_a_callback_with_a_good_signature_credits_once_and_a_replay_changes_nothing(
    org, manager, token_package, razorpay_sandbox
):
    payment = buy(org, manager, token_package)
    remote = razorpay_sandbox.payment_create(payment.razorpay_order_id)

    confirmed = confirm(org, manager, payment, remote, razorpay_sandbox)
    for _ in range(3):
        replayed = confirm(org, manager, payment, remote, razorpay_sandbox)

    assert confirmed.status == replayed.status == PaymentStatus.CAPTURED
    payment.refresh_from_db()
    assert (payment.razorpay_payment_id, payment.method) == (remote["id"], "card")
    assert payment.captured_at is not None
    entry = TokenLedgerEntry.objects.for_org(org).get()
    assert (entry.delta, entry.reason, entry.idempotency_key, entry.reference) == (
        10_000, LedgerReason.PURCHASE, f"payment:{remote['id']}", remote["id"])
    assert entry.actor_user == manager.user
    assert balance_of(org) == ledger_sum(org) == 10_000
    captured = AuditEvent.objects.for_org(org).filter(action="payment.captured")
    assert captured.count() == 1
    assert captured.get().data == {"razorpay_payment_id": remote["id"], "tokens": 10_000,
                                   "source": "checkout", "ledger_entry_id": entry.pk}


def flipped(signature: str) -> str:
    return ("0" if signature[0] != "0" else "1") + signature[1:]


@pytest.mark.parametrize("tamper", [
    "flipped", "another_payment", "another_order", "key_id_as_secret", "empty", "non_ascii",
    "too_long",
])
def test_a_tampered_callback_signature_is_refused_and_nothing_is_credited(
    org, manager, token_package, razorpay_sandbox, tamper
):
    import hashlib
    import hmac

    payment = buy(org, manager, token_package)
    other = buy(org, manager, token_package)
    remote = razorpay_sandbox.payment_create(payment.razorpay_order_id)
    good = razorpay_sandbox.checkout_signature(payment.razorpay_order_id, remote["id"])
    signature = {
        "flipped": flipped(good),
        "another_payment": razorpay_sandbox.checkout_signature(payment.razorpay_order_id,
                                                               "pay_AAAAAAAAAAAAAA"),
        # Signed for our other order: verification uses the order id of *this* Payment.
        "another_order": razorpay_sandbox.checkout_signature(other.razorpay_order_id,
                                                             remote["id"]),
        "key_id_as_secret": hmac.new(razorpay_sandbox.key_id.encode(),
                                     f"{payment.razorpay_order_id}|{remote['id']}".encode(),
                                     hashlib.sha256).hexdigest(),
        "empty": "",
        "non_ascii": "é" * 64,
        "too_long": good * 3,
    }[tamper]

    with pytest.raises(PaymentRefused) as refused:
        confirm(org, manager, payment, remote, razorpay_sandbox, signature=signature)

    assert refused.value.status_code == 400
    assert refused.value.message == (
        "The payment signature does not match; nothing was charged to your tokens.")
    payment.refresh_from_db()
    assert (payment.status, payment.razorpay_payment_id) == (PaymentStatus.CREATED, None)
    assert not TokenLedgerEntry.objects.exists()
    assert balance_of(org) == 0


@pytest.mark.parametrize(("amount", "currency"), [(100, None), (99_901, None), (None, "USD")])
def test_a_payment_whose_amount_differs_from_the_order_is_refused_and_nothing_is_credited(
    org, manager, token_package, razorpay_sandbox, amount, currency
):
    payment = buy(org, manager, token_package)
    remote = razorpay_sandbox.payment_create(payment.razorpay_order_id, amount=amount,
                                             currency=currency)

    with pytest.raises(PaymentRefused) as refused:
        confirm(org, manager, payment, remote, razorpay_sandbox)
    # Replayed, it is refused again and recorded once.
    with pytest.raises(PaymentRefused):
        confirm(org, manager, payment, remote, razorpay_sandbox)

    assert refused.value.status_code == 400
    assert "no tokens were added" in refused.value.message
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert payment.razorpay_payment_id == remote["id"]
    assert "but the order was for 999.00 INR" in payment.failure_reason
    assert not TokenLedgerEntry.objects.exists()
    assert AuditEvent.objects.for_org(org).filter(action="payment.refused").count() == 1


def test_after_a_refused_payment_a_good_attempt_on_the_same_order_is_credited(
    org, manager, token_package, razorpay_sandbox
):
    payment = buy(org, manager, token_package)
    short = razorpay_sandbox.payment_create(payment.razorpay_order_id, amount=100)
    with pytest.raises(PaymentRefused):
        confirm(org, manager, payment, short, razorpay_sandbox)

    good = razorpay_sandbox.payment_create(payment.razorpay_order_id)
    confirmed = confirm(org, manager, payment, good, razorpay_sandbox)

    assert (confirmed.status, confirmed.razorpay_payment_id, confirmed.failure_reason) == (
        PaymentStatus.CAPTURED, good["id"], "")
    assert balance_of(org) == 10_000


def test_another_tenants_order_id_is_not_found(
    org, other_org, manager, token_package, razorpay_sandbox
):
    from tests.factories import make_membership

    their_manager = make_membership(other_org, role="manager")
    theirs = buy(other_org, their_manager, token_package)
    remote = razorpay_sandbox.payment_create(theirs.razorpay_order_id)

    with pytest.raises(NotFound) as missing:
        confirm(org, manager, theirs, remote, razorpay_sandbox)
    with pytest.raises(NotFound):
        services.payment_checkout_confirm(org=org, order_id="", payment_id=remote["id"],
                                          signature="x", actor=Actor.for_member(manager))

    assert missing.value.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == PaymentStatus.CREATED
    assert not TokenLedgerEntry.objects.exists()


def test_a_failed_payment_is_recorded_with_razorpays_reason_and_credits_nothing(
    org, manager, token_package, razorpay_sandbox
):
    payment = buy(org, manager, token_package)
    remote = razorpay_sandbox.payment_create(payment.razorpay_order_id, status="failed")

    confirmed = confirm(org, manager, payment, remote, razorpay_sandbox)

    assert (confirmed.status, confirmed.failure_reason) == (PaymentStatus.FAILED, DECLINED)
    assert balance_of(org) == 0
    assert AuditEvent.objects.for_org(org).filter(action="payment.failed").count() == 1


def test_an_authorized_payment_waits_for_its_capture_and_the_webhook_credits_it_once(
    org, manager, token_package, razorpay_sandbox, client, celery_eager,
    django_capture_on_commit_callbacks,
):
    payment = buy(org, manager, token_package)
    remote = razorpay_sandbox.payment_create(payment.razorpay_order_id, status="authorized")

    confirmed = confirm(org, manager, payment, remote, razorpay_sandbox)
    assert confirmed.status == PaymentStatus.AUTHORIZED
    assert balance_of(org) == 0

    razorpay_sandbox.payment_capture(remote["id"])
    deliver_all(client, razorpay_sandbox, django_capture_on_commit_callbacks)
    confirm(org, manager, payment, remote, razorpay_sandbox)  # the buyer's page, late

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED
    assert balance_of(org) == ledger_sum(org) == 10_000
    assert TokenLedgerEntry.objects.for_org(org).count() == 1


# --- Razorpay's errors ----------------------------------------------------------------------

@pytest.mark.parametrize("trouble", ["server_error", "gateway_error", "refused", "timeout",
                                     "unreachable"])
def test_razorpay_trouble_while_ordering_is_a_502_and_records_nothing(
    org, manager, token_package, razorpay_sandbox, settings, trouble
):
    if trouble == "server_error":
        razorpay_sandbox.fail_next(status=500, code="SERVER_ERROR")
    elif trouble == "gateway_error":
        razorpay_sandbox.fail_next(status=502, code="GATEWAY_ERROR", description="Gateway down")
    elif trouble == "refused":  # our own keys or request: not the buyer's fault
        razorpay_sandbox.fail_next(status=401, code="BAD_REQUEST_ERROR",
                                   description="Authentication failed")
    elif trouble == "timeout":
        settings.RAZORPAY_TIMEOUT_SECONDS = 0.2
        razorpay_sandbox.delay_next(1.0)
    else:
        settings.RAZORPAY_BASE_URL = f"http://127.0.0.1:{closed_port()}/v1"

    with pytest.raises(PaymentProviderUnavailable) as unavailable:
        buy(org, manager, token_package)

    assert unavailable.value.status_code == 502
    assert not Payment.objects.exists()
    assert not AuditEvent.objects.for_org(org).filter(action__startswith="payment.").exists()


def test_razorpay_down_at_the_callback_is_a_502_and_the_webhook_credits_later(
    org, manager, token_package, razorpay_sandbox, client, celery_eager,
    django_capture_on_commit_callbacks,
):
    payment = buy(org, manager, token_package)
    remote = razorpay_sandbox.payment_create(payment.razorpay_order_id)
    razorpay_sandbox.fail_next(status=503, code="SERVER_ERROR")

    with pytest.raises(PaymentProviderUnavailable):
        confirm(org, manager, payment, remote, razorpay_sandbox)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED

    deliver_all(client, razorpay_sandbox, django_capture_on_commit_callbacks)
    assert balance_of(org) == 10_000


def test_a_payment_id_that_razorpay_does_not_know_is_refused(
    org, manager, token_package, razorpay_sandbox
):
    payment = buy(org, manager, token_package)
    unknown = {"id": "pay_ZZZZZZZZZZZZZZ"}

    with pytest.raises(PaymentRefused) as refused:
        confirm(org, manager, payment, unknown, razorpay_sandbox)

    assert "does not exist" in refused.value.message
    assert not TokenLedgerEntry.objects.exists()


# --- refunds --------------------------------------------------------------------------------

def bought_and_paid(org, manager, package, sandbox) -> tuple[Payment, dict]:
    payment = buy(org, manager, package)
    remote = sandbox.payment_create(payment.razorpay_order_id)
    confirm(org, manager, payment, remote, sandbox)
    sandbox.events_take()  # the capture webhooks change nothing now
    return payment, remote


def test_a_refund_takes_the_tokens_back_in_proportion_and_a_full_refund_marks_it_refunded(
    org, manager, token_package, razorpay_sandbox, client, celery_eager,
    django_capture_on_commit_callbacks,
):
    payment, remote = bought_and_paid(org, manager, token_package, razorpay_sandbox)

    quarter = razorpay_sandbox.refund_create(remote["id"], amount=24_975)
    deliver_all(client, razorpay_sandbox, django_capture_on_commit_callbacks)
    payment.refresh_from_db()
    assert balance_of(org) == 7_500
    assert (payment.status, payment.refunded_paise, payment.refunded_tokens) == (
        PaymentStatus.CAPTURED, 24_975, 2_500)

    rest = razorpay_sandbox.refund_create(remote["id"])
    deliver_all(client, razorpay_sandbox, django_capture_on_commit_callbacks)
    payment.refresh_from_db()
    assert balance_of(org) == ledger_sum(org) == 0
    assert (payment.status, payment.refunded_paise, payment.refunded_tokens) == (
        PaymentStatus.REFUNDED, 99_900, 10_000)
    refunds = TokenLedgerEntry.objects.for_org(org).filter(reason=LedgerReason.REFUND)
    assert sorted(refunds.values_list("idempotency_key", "delta")) == sorted([
        (f"refund:{quarter['id']}", -2_500), (f"refund:{rest['id']}", -7_500)])
    assert payment.failure_reason == ""
    assert all(check.ok for check in ledger_checks())


def test_a_refund_of_tokens_already_spent_takes_what_is_left_records_it_and_tells_managers(
    org, manager, sdr, token_package, razorpay_sandbox, client, celery_eager, mailoutbox,
    django_capture_on_commit_callbacks,
):
    payment, remote = bought_and_paid(org, manager, token_package, razorpay_sandbox)
    services.wallet_debit(org=org, amount=9_000, idempotency_key="spent", actor=SETUP_ACTOR)

    refund = razorpay_sandbox.refund_create(remote["id"])
    deliver_all(client, razorpay_sandbox, django_capture_on_commit_callbacks)

    payment.refresh_from_db()
    assert balance_of(org) == ledger_sum(org) == 0
    assert (payment.status, payment.refunded_tokens) == (PaymentStatus.REFUNDED, 1_000)
    assert payment.failure_reason == (
        f"Refund {refund['id']}: 9,000 of 10,000 tokens had already been spent and could not "
        "be taken back.")
    assert not TokenLedgerEntry.objects.filter(balance_after__lt=0).exists()
    (mail,) = mailoutbox
    assert mail.to == [manager.user.email]
    assert "fewer tokens" in mail.subject and "9,000 tokens had already been spent" in mail.body
    audit = AuditEvent.objects.for_org(org).get(action="payment.refunded")
    assert (audit.data["tokens_taken"], audit.data["tokens_short"]) == (1_000, 9_000)


def test_refunds_seen_twice_or_out_of_order_take_the_tokens_back_once(
    org, manager, token_package, razorpay_sandbox, client, celery_eager,
    django_capture_on_commit_callbacks,
):
    from tests.billing.razorpay_support import resigned

    payment, remote = bought_and_paid(org, manager, token_package, razorpay_sandbox)
    razorpay_sandbox.refund_create(remote["id"], amount=29_970)  # 30 %
    first = razorpay_sandbox.events_take("refund.processed")
    razorpay_sandbox.refund_create(remote["id"], amount=19_980)  # 20 % more
    second = razorpay_sandbox.events_take("refund.processed")

    # The later refund arrives first, then the earlier, then the later again as a new event.
    for event in [*second, *first, resigned(razorpay_sandbox, second[0], event_id="again01")]:
        with django_capture_on_commit_callbacks(execute=True):
            assert webhook_post(client, event).status_code == 200

    payment.refresh_from_db()
    assert (payment.refunded_paise, payment.refunded_tokens) == (49_950, 5_000)
    assert balance_of(org) == ledger_sum(org) == 5_000
    assert WebhookDelivery.objects.filter(processed_at__isnull=False).count() == 3


def test_a_refund_of_a_payment_that_credited_nothing_takes_nothing(
    org, manager, token_package, razorpay_sandbox, client, celery_eager,
    django_capture_on_commit_callbacks,
):
    services.wallet_credit(org=org, amount=500, reason=LedgerReason.ADJUSTMENT,
                           idempotency_key="gift", actor=SETUP_ACTOR)
    payment = buy(org, manager, token_package)
    short = razorpay_sandbox.payment_create(payment.razorpay_order_id, amount=50_000)
    razorpay_sandbox.refund_create(short["id"])

    deliver_all(client, razorpay_sandbox, django_capture_on_commit_callbacks)

    payment.refresh_from_db()
    assert payment.status == PaymentStatus.FAILED
    assert balance_of(org) == 500


# --- seeds ----------------------------------------------------------------------------------

def test_the_default_packages_are_created_once_and_never_overwritten():
    migration = importlib.import_module("billing.migrations.0003_default_token_packages")
    TokenPackage.objects.all().delete()

    migration.create_packages(django_apps, None)
    TokenPackage.objects.filter(name="Scale").update(price_paise=888_800)
    migration.create_packages(django_apps, None)

    rows = list(TokenPackage.objects.order_by("sort_order").values_list(
        "name", "tokens", "price_paise", "currency", "is_active"))
    assert rows == [("Starter", 10_000, 99_900, "INR", True),
                    ("Growth", 60_000, 499_900, "INR", True),
                    ("Scale", 150_000, 888_800, "INR", True)]


def test_seed_demo_tokens_grants_the_demo_tenant_its_starting_tokens_once():
    from flexoraa.models import Organization

    call_command("seed_demo", stdout=open_devnull())
    call_command("seed_demo_tokens", stdout=open_devnull())
    call_command("seed_demo_tokens", stdout=open_devnull())

    demo = Organization.objects.get(slug="demo")
    entry = TokenLedgerEntry.objects.for_org(demo).get()
    assert (entry.delta, entry.idempotency_key, entry.reason) == (
        5_000, "demo-grant", LedgerReason.ADJUSTMENT)
    assert balance_of(demo) == 5_000


def test_seed_demo_tokens_without_a_demo_tenant_says_to_run_seed_demo():
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("seed_demo_tokens")


def open_devnull():
    from io import StringIO

    return StringIO()
