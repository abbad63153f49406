"""The Razorpay sandbox speaks the documented contract: the official SDK talks to it like to
Razorpay, its signatures verify with the SDK's own helpers, and it POSTs signed webhooks,
each with its own event id, to the URL it is given (retrying a refusal)."""

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import razorpay
import requests
from django.conf import settings
from razorpay.errors import BadRequestError, SignatureVerificationError

from billing.providers.razorpay import sdk_base_url
from sandbox.razorpay import RazorpayError


@pytest.fixture
def sdk(razorpay_sandbox):
    return razorpay.Client(auth=(settings.RAZORPAY_KEY_ID, settings.RAZORPAY_KEY_SECRET),
                           base_url=sdk_base_url(settings.RAZORPAY_BASE_URL))


@pytest.fixture
def sandbox_url(razorpay_sandbox_server, razorpay_sandbox):
    return razorpay_sandbox_server.url


class Receiver:
    """A stand-in for the app's webhook endpoint: records what arrives, answers 500 to the
    first ``fail_first`` requests."""

    def __init__(self, fail_first: int = 0):
        self.received: list[dict] = []
        self.fail_first = fail_first
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.arrived:
                    receiver.received.append({"headers": dict(self.headers), "body": body})
                    status = 500 if len(receiver.received) <= receiver.fail_first else 200
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/razorpay/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


def test_the_sandbox_creates_and_shows_orders_the_way_razorpay_documents_them(sdk):
    order = sdk.order.create({"amount": 50_000, "currency": "INR", "receipt": "rcpt_1",
                              "notes": {"purpose": "test"}})

    assert re.fullmatch(r"order_[A-Za-z0-9]{14}", order["id"])
    assert {key: order[key] for key in ("entity", "amount", "amount_paid", "amount_due",
                                        "currency", "receipt", "status", "attempts", "notes")} == {
        "entity": "order", "amount": 50_000, "amount_paid": 0, "amount_due": 50_000,
        "currency": "INR", "receipt": "rcpt_1", "status": "created", "attempts": 0,
        "notes": {"purpose": "test"}}
    assert isinstance(order["created_at"], int)
    assert sdk.order.fetch(order["id"]) == order
    assert sdk.order.create({"amount": 100, "currency": "INR"})["notes"] == []


@pytest.mark.parametrize(("body", "says"), [
    ({"amount": 99, "currency": "INR"}, "atleast INR 1.00"),
    ({"amount": 100.5, "currency": "INR"}, "must be an integer"),
    ({"amount": "5000", "currency": "INR"}, "must be an integer"),
    ({"amount": 5000}, "currency field is required"),
    ({"amount": 5000, "currency": "XYZ"}, "not supported"),
    ({"amount": 5000, "currency": "INR", "receipt": "r" * 41}, "40 characters"),
])
def test_the_sandbox_refuses_the_orders_razorpay_refuses(sdk, body, says):
    with pytest.raises(BadRequestError, match=says):
        sdk.order.create(body)


def test_the_sandbox_needs_the_key_id_and_secret(razorpay_sandbox):
    wrong = razorpay.Client(auth=(settings.RAZORPAY_KEY_ID, "not-the-secret"),
                            base_url=sdk_base_url(settings.RAZORPAY_BASE_URL))

    with pytest.raises(BadRequestError, match="Authentication failed"):
        wrong.order.create({"amount": 5000, "currency": "INR"})
    assert razorpay_sandbox.orders == {}


def test_unknown_ids_are_refused_like_razorpay_refuses_them(sdk):
    with pytest.raises(BadRequestError, match="does not exist"):
        sdk.payment.fetch("pay_AAAAAAAAAAAAAA")
    with pytest.raises(BadRequestError, match="does not exist"):
        sdk.order.fetch("order_AAAAAAAAAAAAAA")


def test_checkout_and_webhook_signatures_verify_with_the_official_sdk(sdk, razorpay_sandbox):
    order = sdk.order.create({"amount": 5000, "currency": "INR"})
    payment = razorpay_sandbox.payment_create(order["id"])
    signature = razorpay_sandbox.checkout_signature(order["id"], payment["id"])

    assert sdk.utility.verify_payment_signature({
        "razorpay_order_id": order["id"], "razorpay_payment_id": payment["id"],
        "razorpay_signature": signature}) is True
    for event in razorpay_sandbox.events_take():
        assert sdk.utility.verify_webhook_signature(
            event.body.decode(), event.signature, settings.RAZORPAY_WEBHOOK_SECRET) is True
        with pytest.raises(SignatureVerificationError):
            sdk.utility.verify_webhook_signature(event.body.decode(), event.signature,
                                                 settings.RAZORPAY_KEY_SECRET)


def test_a_captured_payment_pays_the_order_and_sends_the_documented_events(
    sdk, razorpay_sandbox
):
    order = sdk.order.create({"amount": 5000, "currency": "INR", "notes": {"x": "1"}})
    payment = razorpay_sandbox.payment_create(order["id"])

    fetched = sdk.payment.fetch(payment["id"])
    assert {key: fetched[key] for key in ("entity", "amount", "currency", "status", "order_id",
                                          "captured", "method", "amount_refunded")} == {
        "entity": "payment", "amount": 5000, "currency": "INR", "status": "captured",
        "order_id": order["id"], "captured": True, "method": "card", "amount_refunded": 0}
    paid = sdk.order.fetch(order["id"])
    assert (paid["status"], paid["amount_paid"], paid["amount_due"], paid["attempts"]) == (
        "paid", 5000, 0, 1)
    assert sdk.order.payments(order["id"])["count"] == 1
    captured, order_paid = razorpay_sandbox.events_take()
    assert captured.payload["event"] == "payment.captured"
    assert captured.payload["contains"] == ["payment"]
    assert captured.payload["entity"] == "event"
    assert captured.payload["payload"]["payment"]["entity"] == fetched
    assert order_paid.payload["contains"] == ["payment", "order"]
    assert order_paid.payload["payload"]["order"]["entity"]["status"] == "paid"
    assert captured.event_id != order_paid.event_id
    with pytest.raises(RazorpayError, match="already paid"):
        razorpay_sandbox.payment_create(order["id"])


def test_an_authorized_payment_is_captured_through_the_api(sdk, razorpay_sandbox):
    order = sdk.order.create({"amount": 5000, "currency": "INR"})
    payment = razorpay_sandbox.payment_create(order["id"], status="authorized")
    assert [e.event_type for e in razorpay_sandbox.events_take()] == ["payment.authorized"]

    with pytest.raises(BadRequestError, match="equal to the amount authorized"):
        sdk.payment.capture(payment["id"], 4000)
    captured = sdk.payment.capture(payment["id"], 5000)

    assert captured["status"] == "captured"
    assert [e.event_type for e in razorpay_sandbox.events_take()] == [
        "payment.captured", "order.paid"]


def test_a_refund_sends_a_signed_refund_processed_event_with_the_payment(sdk, razorpay_sandbox):
    order = sdk.order.create({"amount": 10_000, "currency": "INR"})
    payment = razorpay_sandbox.payment_create(order["id"])
    razorpay_sandbox.events_take()

    refund = sdk.payment.refund(payment["id"], {"amount": 4_000})
    with pytest.raises(BadRequestError, match="greater than amount captured"):
        sdk.payment.refund(payment["id"], {"amount": 7_000})

    assert re.fullmatch(r"rfnd_[A-Za-z0-9]{14}", refund["id"])
    assert (refund["amount"], refund["payment_id"], refund["status"]) == (
        4_000, payment["id"], "processed")
    created, processed = razorpay_sandbox.events_take()
    assert (created.event_type, processed.event_type) == ("refund.created", "refund.processed")
    assert processed.payload["contains"] == ["refund", "payment"]
    entity = processed.payload["payload"]["payment"]["entity"]
    assert (entity["amount_refunded"], entity["refund_status"], entity["status"]) == (
        4_000, "partial", "captured")
    assert sdk.utility.verify_webhook_signature(processed.body.decode(), processed.signature,
                                                settings.RAZORPAY_WEBHOOK_SECRET)


def test_checkout_js_is_served_with_a_razorpay_constructor(sandbox_url):
    response = requests.get(f"{sandbox_url}/v1/checkout.js", timeout=5)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/javascript")
    assert "window.Razorpay = Razorpay" in response.text
    assert "/sandbox/checkout/pay" in response.text


def test_checkouts_pay_button_makes_a_captured_payment_and_the_sandbox_signs_it(
    sdk, sandbox_url, razorpay_sandbox
):
    order = sdk.order.create({"amount": 5000, "currency": "INR"})
    preflight = requests.options(f"{sandbox_url}/sandbox/checkout/pay", timeout=5)
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"

    answer = requests.post(f"{sandbox_url}/sandbox/checkout/pay", timeout=5, data=json.dumps(
        {"key": settings.RAZORPAY_KEY_ID, "order_id": order["id"], "outcome": "captured"}))

    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    handed = answer.json()
    assert set(handed) == {"razorpay_payment_id", "razorpay_order_id", "razorpay_signature"}
    assert handed["razorpay_order_id"] == order["id"]
    assert sdk.utility.verify_payment_signature(handed) is True
    assert sdk.payment.fetch(handed["razorpay_payment_id"])["status"] == "captured"


def test_checkouts_fail_button_makes_a_failed_payment_and_says_why(
    sdk, sandbox_url, razorpay_sandbox
):
    order = sdk.order.create({"amount": 5000, "currency": "INR"})

    answer = requests.post(f"{sandbox_url}/sandbox/checkout/pay", timeout=5, data=json.dumps(
        {"key": settings.RAZORPAY_KEY_ID, "order_id": order["id"], "outcome": "failed"})).json()
    wrong_key = requests.post(f"{sandbox_url}/sandbox/checkout/pay", timeout=5, data=json.dumps(
        {"key": "rzp_test_someone_else", "order_id": order["id"]}))

    assert answer["error"]["reason"] == "payment_failed"
    assert answer["error"]["metadata"]["order_id"] == order["id"]
    assert [e.event_type for e in razorpay_sandbox.events_take()] == ["payment.failed"]
    assert wrong_key.status_code == 401


def test_tests_and_scripts_can_pay_an_order_directly(sdk, sandbox_url, razorpay_sandbox):
    order = sdk.order.create({"amount": 5000, "currency": "INR"})

    answer = requests.post(f"{sandbox_url}/sandbox/payments", timeout=5,
                           auth=(settings.RAZORPAY_KEY_ID, settings.RAZORPAY_KEY_SECRET),
                           json={"order_id": order["id"], "amount": 4_000})
    anonymous = requests.post(f"{sandbox_url}/sandbox/payments", timeout=5,
                              json={"order_id": order["id"]})

    assert answer.status_code == 200
    body = answer.json()
    assert (body["payment"]["amount"], body["payment"]["status"]) == (4_000, "captured")
    assert body["razorpay_signature"] == razorpay_sandbox.checkout_signature(
        order["id"], body["payment"]["id"])
    assert anonymous.status_code == 401
    events = requests.get(f"{sandbox_url}/sandbox/events", timeout=5).json()["events"]
    assert [event["event"] for event in events] == ["payment.captured"]


def test_webhooks_are_posted_signed_each_with_its_own_event_id_and_retried_when_refused(
    sdk, razorpay_sandbox, receiver
):
    receiver.fail_first = 1
    razorpay_sandbox.webhook_url = receiver.url
    order = sdk.order.create({"amount": 5000, "currency": "INR"})

    razorpay_sandbox.payment_create(order["id"])

    assert razorpay_sandbox.webhooks_wait(timeout=15)
    first, retried, second = receiver.received
    assert first["body"] == retried["body"]
    assert first["headers"]["X-Razorpay-Event-Id"] == retried["headers"]["X-Razorpay-Event-Id"]
    assert retried["headers"]["X-Razorpay-Event-Id"] != second["headers"]["X-Razorpay-Event-Id"]
    for request in (retried, second):
        assert request["headers"]["Content-Type"] == "application/json"
        assert sdk.utility.verify_webhook_signature(
            request["body"].decode(), request["headers"]["X-Razorpay-Signature"],
            settings.RAZORPAY_WEBHOOK_SECRET)
    assert [json.loads(r["body"])["event"] for r in (retried, second)] == [
        "payment.captured", "order.paid"]
    assert [d["status"] for d in razorpay_sandbox.deliveries] == [500, 200, 200]


def test_paused_webhooks_wait_for_the_resume(sdk, razorpay_sandbox, receiver):
    razorpay_sandbox.webhook_url = receiver.url
    razorpay_sandbox.webhooks_pause()
    order = sdk.order.create({"amount": 5000, "currency": "INR"})
    razorpay_sandbox.payment_create(order["id"])

    assert razorpay_sandbox.webhooks_wait(timeout=0.3) is False
    assert receiver.received == []
    razorpay_sandbox.webhooks_resume()
    assert razorpay_sandbox.webhooks_wait(timeout=10)
    assert len(receiver.received) == 2
