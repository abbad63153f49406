"""POST /webhooks/razorpay/: the signature over the raw body first, one stored delivery per
event id, processing after commit, and tokens credited once per payment id whichever of the
checkout callback and the webhooks comes first and however often each is delivered."""

import json
import random
import threading
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from billing import services
from billing.models import LedgerReason, Payment, PaymentStatus, TokenLedgerEntry
from billing.selectors import ledger_checks
from flexoraa.actors import Actor
from flexoraa.models import DeliveryState, WebhookDelivery
from flexoraa.webhooks.services import deliveries_redrive, delivery_process
from sandbox.razorpay import DECLINED, SignedEvent
from tests.billing.razorpay_support import (
    SKIP,
    WEBHOOK_URL,
    make_package,
    resigned,
    webhook_post,
)
from tests.billing.wallet_support import balance_of, ledger_sum
from tests.support import assert_error_shape, needs_postgres

pytestmark = pytest.mark.django_db


def stored(event) -> WebhookDelivery:
    """The event as the endpoint would have stored it, not yet processed."""
    return WebhookDelivery.objects.create(provider="razorpay", event_id=event.event_id,
                                          event_type=event.event_type, payload=event.payload)




@pytest.fixture
def bought(org, manager, token_package, razorpay_sandbox):
    """A Starter-sized order of ``org`` and its captured payment in the sandbox, with the
    webhooks the sandbox sent for it (payment.captured, order.paid)."""
    payment = services.payment_order_create(org=org, package_id=token_package.pk,
                                            actor=Actor.for_member(manager))
    remote = razorpay_sandbox.payment_create(payment.razorpay_order_id)
    events = razorpay_sandbox.events_take()
    assert [event.event_type for event in events] == ["payment.captured", "order.paid"]
    return payment, remote, events


def post_processed(client, event, capture, **overrides):
    with capture(execute=True):
        return webhook_post(client, event, **overrides)


def callback(org, manager, payment, remote, sandbox):
    return services.payment_checkout_confirm(
        org=org, order_id=payment.razorpay_order_id, payment_id=remote["id"],
        signature=sandbox.checkout_signature(payment.razorpay_order_id, remote["id"]),
        actor=Actor.for_member(manager),
    )


# --- refusals -------------------------------------------------------------------------------

@pytest.mark.parametrize("tamper", ["body", "key_secret", "garbage", "non_ascii", "other_event"])
def test_a_webhook_with_a_bad_signature_is_refused_and_nothing_is_stored(
    client, bought, razorpay_sandbox, tamper
):
    import hashlib
    import hmac

    _payment, _remote, (captured, paid) = bought
    body, signature = captured.body, captured.signature
    if tamper == "body":
        body = captured.body.replace(b'"amount":99900', b'"amount":99901')
    elif tamper == "key_secret":  # signed with the API key secret, not the webhook secret
        signature = hmac.new(razorpay_sandbox.key_secret.encode(), body,
                             hashlib.sha256).hexdigest()
    elif tamper == "garbage":
        signature = "not-a-signature"
    elif tamper == "non_ascii":
        signature = "é" * 64
    else:
        signature = paid.signature

    response = client.post(WEBHOOK_URL, data=body, content_type="application/json",
                           headers={"X-Razorpay-Signature": signature,
                                    "X-Razorpay-Event-Id": captured.event_id})

    error = assert_error_shape(response, 400, "signature_invalid")
    assert "does not match" in error["message"]
    assert not WebhookDelivery.objects.exists()
    assert not TokenLedgerEntry.objects.exists()


def test_a_webhook_without_a_signature_is_refused_and_nothing_is_stored(client, bought):
    response = webhook_post(client, bought[2][0], signature=SKIP)

    assert_error_shape(response, 400, "signature_missing")
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("event_id", [SKIP, "", "   ", "x" * 201])
def test_a_webhook_without_a_usable_event_id_is_refused_and_nothing_is_stored(
    client, bought, event_id
):
    response = webhook_post(client, bought[2][0], event_id=event_id)

    assert_error_shape(response, 400, "event_id_missing")
    assert not WebhookDelivery.objects.exists()


def test_a_get_is_refused_in_the_json_error_shape(client):
    response = client.get(WEBHOOK_URL)

    assert_error_shape(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"


# --- storing and processing -----------------------------------------------------------------

def test_a_new_event_is_stored_answered_at_once_and_processed_after_commit(
    org, client, bought, celery_eager, django_capture_on_commit_callbacks
):
    payment, remote, (captured, _paid) = bought

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = webhook_post(client, captured)

    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False,
                               "event_id": captured.event_id}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.provider, delivery.event_id, delivery.event_type) == (
        "razorpay", captured.event_id, "payment.captured")
    assert delivery.payload == json.loads(captured.body)
    assert delivery.processed_at is None and balance_of(org) == 0
    assert len(queued) == 1

    queued[0]()  # the worker runs the queued task

    delivery.refresh_from_db()
    assert delivery.processed_at is not None and delivery.attempts == 1
    assert delivery.organization == org  # the payer's details are now reachable by tenant
    payment.refresh_from_db()
    assert (payment.status, payment.razorpay_payment_id) == (PaymentStatus.CAPTURED, remote["id"])
    assert balance_of(org) == 10_000


def test_a_duplicate_event_id_is_acknowledged_and_changes_nothing(
    org, client, bought, razorpay_sandbox, celery_eager, django_capture_on_commit_callbacks
):
    _payment, _remote, (captured, _paid) = bought
    assert post_processed(client, captured, django_capture_on_commit_callbacks).status_code == 200

    with django_capture_on_commit_callbacks(execute=True) as queued:
        again = webhook_post(client, captured)
        # The same id with another (validly signed) body is the same event to us.
        altered = resigned(razorpay_sandbox, captured, payload={"event": "payment.failed"})
        webhook_post(client, altered)

    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert queued == []
    assert WebhookDelivery.objects.count() == 1
    assert WebhookDelivery.objects.get().event_type == "payment.captured"
    assert balance_of(org) == 10_000


def test_callback_then_webhooks_credit_once(
    org, manager, client, bought, razorpay_sandbox, celery_eager,
    django_capture_on_commit_callbacks,
):
    payment, remote, events = bought

    callback(org, manager, payment, remote, razorpay_sandbox)
    for event in events:
        assert post_processed(client, event, django_capture_on_commit_callbacks).json()[
            "duplicate"] is False

    assert TokenLedgerEntry.objects.for_org(org).count() == 1
    assert balance_of(org) == ledger_sum(org) == 10_000
    assert WebhookDelivery.objects.filter(processed_at__isnull=False).count() == 2


@pytest.mark.parametrize("order", ["captured_first", "paid_first"])
def test_webhooks_then_callback_credit_once(
    org, manager, client, bought, razorpay_sandbox, celery_eager,
    django_capture_on_commit_callbacks, order,
):
    payment, remote, events = bought
    if order == "paid_first":
        events = list(reversed(events))

    for event in events:
        post_processed(client, event, django_capture_on_commit_callbacks)
    confirmed = callback(org, manager, payment, remote, razorpay_sandbox)

    assert confirmed.status == PaymentStatus.CAPTURED
    entry = TokenLedgerEntry.objects.for_org(org).get()
    assert (entry.idempotency_key, entry.actor_user) == (f"payment:{remote['id']}", None)
    assert balance_of(org) == 10_000


def test_an_event_for_an_order_we_do_not_know_is_acknowledged_and_marked_processed(
    client, razorpay_sandbox, celery_eager, django_capture_on_commit_callbacks
):
    order = razorpay_sandbox.order_create(amount=50_000, receipt="someone-elses-shop")
    razorpay_sandbox.payment_create(order["id"])
    (captured,) = razorpay_sandbox.events_take("payment.captured")

    response = post_processed(client, captured, django_capture_on_commit_callbacks)

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.processed_at is not None and delivery.organization is None
    assert not TokenLedgerEntry.objects.exists()


def test_an_event_we_do_not_handle_is_acknowledged_and_marked_processed(
    client, razorpay_sandbox, celery_eager, django_capture_on_commit_callbacks
):
    body = json.dumps({"entity": "event", "event": "subscription.charged", "payload": {},
                       "contains": [], "created_at": 1}).encode()
    event = SignedEvent("EvtUnhandled001", "subscription.charged", body,
                        razorpay_sandbox.webhook_signature(body))

    assert post_processed(client, event, django_capture_on_commit_callbacks).status_code == 200
    assert WebhookDelivery.objects.get().processed_at is not None


def test_a_webhook_whose_amount_differs_from_the_order_is_recorded_as_failed_and_credits_nothing(
    org, manager, token_package, client, razorpay_sandbox, celery_eager,
    django_capture_on_commit_callbacks,
):
    payment = services.payment_order_create(org=org, package_id=token_package.pk,
                                            actor=Actor.for_member(manager))
    remote = razorpay_sandbox.payment_create(payment.razorpay_order_id, amount=100)

    for event in razorpay_sandbox.events_take():
        assert post_processed(client, event, django_capture_on_commit_callbacks).status_code == 200

    payment.refresh_from_db()
    assert (payment.status, payment.razorpay_payment_id) == (PaymentStatus.FAILED, remote["id"])
    assert "Razorpay took 1.00 INR but the order was for 999.00 INR" in payment.failure_reason
    assert not TokenLedgerEntry.objects.exists()
    assert WebhookDelivery.objects.filter(processed_at__isnull=True).count() == 0


def test_the_tenant_comes_from_our_order_never_from_the_events_notes(
    org, other_org, client, bought, razorpay_sandbox, celery_eager,
    django_capture_on_commit_callbacks,
):
    _payment, _remote, (captured, _paid) = bought
    payload = captured.payload
    payload["payload"]["payment"]["entity"]["notes"] = {"organization_id": str(other_org.pk)}

    post_processed(client, resigned(razorpay_sandbox, captured, payload=payload),
                   django_capture_on_commit_callbacks)

    assert balance_of(org) == 10_000
    assert balance_of(other_org) == 0


def test_payment_failed_records_razorpays_reason(
    org, manager, token_package, client, razorpay_sandbox, celery_eager,
    django_capture_on_commit_callbacks,
):
    payment = services.payment_order_create(org=org, package_id=token_package.pk,
                                            actor=Actor.for_member(manager))
    razorpay_sandbox.payment_create(payment.razorpay_order_id, status="failed")
    (failed,) = razorpay_sandbox.events_take()

    post_processed(client, failed, django_capture_on_commit_callbacks)

    payment.refresh_from_db()
    assert (payment.status, payment.failure_reason) == (PaymentStatus.FAILED, DECLINED)
    # A later successful attempt on the same order still buys the tokens.
    razorpay_sandbox.payment_create(payment.razorpay_order_id)
    for event in razorpay_sandbox.events_take():
        post_processed(client, event, django_capture_on_commit_callbacks)
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.CAPTURED
    assert balance_of(org) == 10_000


def test_processing_a_delivery_twice_changes_nothing(org, bought, celery_eager):
    _payment, _remote, (captured, _paid) = bought
    delivery = stored(captured)

    assert delivery_process(delivery_id=delivery.pk) == "credited"
    assert delivery_process(delivery_id=delivery.pk) == "already_processed"
    assert delivery_process(delivery_id=10**9) == "missing"
    assert balance_of(org) == 10_000


def test_a_delivery_that_fails_is_counted_kept_pending_and_retried(
    org, bought, monkeypatch
):
    from billing.services import payments

    _payment, _remote, (captured, _paid) = bought
    delivery = stored(captured)
    real = payments._payment_apply

    def database_trouble(**kwargs):
        raise OperationalError("could not serialize access")

    monkeypatch.setattr(payments, "_payment_apply", database_trouble)
    assert delivery_process(delivery_id=delivery.pk) == "failed"

    delivery.refresh_from_db()
    assert (delivery.state, delivery.processed_at, delivery.attempts) == (
        DeliveryState.PENDING, None, 1)
    assert delivery.next_attempt_at is not None
    assert "could not serialize access" in delivery.last_error
    assert balance_of(org) == 0

    monkeypatch.setattr(payments, "_payment_apply", real)
    assert delivery_process(delivery_id=delivery.pk) == "credited"
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == (
        DeliveryState.PROCESSED, 2, "")


def test_deliveries_left_unprocessed_are_queued_again_by_the_redrive_job(
    org, client, bought, celery_eager, django_capture_on_commit_callbacks
):
    _payment, _remote, (captured, paid) = bought
    with django_capture_on_commit_callbacks(execute=False):  # the broker was down
        webhook_post(client, captured)
        webhook_post(client, paid)
    WebhookDelivery.objects.update(received_at=timezone.now() - timedelta(minutes=10))
    WebhookDelivery.objects.filter(event_id=paid.event_id).update(
        attempts=10, state=DeliveryState.FAILED)

    report = deliveries_redrive()

    assert report == {"queued": 1, "failed": 1}
    assert WebhookDelivery.objects.get(event_id=captured.event_id).processed_at is not None
    assert balance_of(org) == 10_000
    # Nothing pending is left; the failed one waits for a person.
    assert deliveries_redrive() == {"queued": 0, "failed": 1}


# --- at scale -------------------------------------------------------------------------------

def test_a_thousand_payment_captured_events_delivered_three_times_each_in_any_order_credit_exactly_a_thousand_times(  # noqa: E501
    org, other_org, client, razorpay_sandbox, celery_eager, django_capture_on_commit_callbacks
):
    small = make_package(name="Small", tokens=1_000, price_paise=10_000)
    large = make_package(name="Large", tokens=7_500, price_paise=60_000)
    payments = []
    for number in range(1_000):
        tenant = (org, other_org)[number % 2]
        package = (small, large, small)[number % 3]
        order = razorpay_sandbox.order_create(amount=package.price_paise,
                                              receipt=f"bulk_{number}")
        payments.append(Payment(
            organization=tenant, package=package, tokens=package.tokens,
            amount_paise=package.price_paise, currency="INR", receipt=f"bulk_{number}",
            razorpay_order_id=order["id"],
        ))
    Payment.objects.bulk_create(payments)
    for payment in payments:
        razorpay_sandbox.payment_create(payment.razorpay_order_id)
    events = razorpay_sandbox.events_take("payment.captured")
    assert len(events) == 1_000 and len({event.event_id for event in events}) == 1_000
    deliveries = events * 3
    random.Random(5).shuffle(deliveries)

    started = time.monotonic()
    processed = 0
    for event in deliveries:
        with django_capture_on_commit_callbacks(execute=True) as queued:
            response = webhook_post(client, event)
        assert response.status_code == 200, response.content
        processed += len(queued)
    elapsed = time.monotonic() - started

    assert processed == 1_000
    purchases = TokenLedgerEntry.objects.filter(reason=LedgerReason.PURCHASE)
    assert purchases.count() == 1_000
    assert set(purchases.values_list("idempotency_key", flat=True)) == {
        f"payment:{event.payload['payload']['payment']['entity']['id']}" for event in events}
    for tenant in (org, other_org):
        expected = sum(p.tokens for p in payments if p.organization_id == tenant.pk)
        assert balance_of(tenant) == ledger_sum(tenant) == expected
    assert all(check.ok for check in ledger_checks())
    assert Payment.objects.filter(status=PaymentStatus.CAPTURED).count() == 1_000
    assert WebhookDelivery.objects.count() == 1_000
    assert not WebhookDelivery.objects.filter(processed_at__isnull=True).exists()
    print(f"3,000 deliveries of 1,000 events in {elapsed:.1f} s on {connection.vendor}")


# --- PostgreSQL: real threads, separate connections -----------------------------------------

@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_callbacks_and_webhooks_racing_on_postgresql_credit_once(
    org, manager, token_package, razorpay_sandbox
):
    payment = services.payment_order_create(org=org, package_id=token_package.pk,
                                            actor=Actor.for_member(manager))
    remote = razorpay_sandbox.payment_create(payment.razorpay_order_id)
    deliveries = [stored(event) for event in razorpay_sandbox.events_take()]
    signature = razorpay_sandbox.checkout_signature(payment.razorpay_order_id, remote["id"])
    start = threading.Barrier(8)
    errors = []

    def run(work):
        from django.db import connections

        try:
            start.wait()
            work()
        except Exception as exc:  # collected and shown by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    jobs = [lambda: services.payment_checkout_confirm(
        org=org, order_id=payment.razorpay_order_id, payment_id=remote["id"],
        signature=signature, actor=Actor.for_member(manager))] * 4
    jobs += [lambda d=d: delivery_process(delivery_id=d.pk)
             for d in deliveries for _ in range(2)]
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert TokenLedgerEntry.objects.for_org(org).count() == 1
    assert balance_of(org) == ledger_sum(org) == 10_000
    assert not WebhookDelivery.objects.filter(processed_at__isnull=True).exists()
