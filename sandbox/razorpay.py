"""A local Razorpay: the orders and payments API, Checkout, and signed webhooks.

It follows the documented contract (shared/PROVIDER_CONTRACTS.md §2d): amounts in paise,
order ids ``order_`` + 14 characters, errors as ``{"error": {"code": "BAD_REQUEST_ERROR",
"description": …}}`` (which the official SDK turns into its exceptions), Checkout's
``razorpay_signature`` = HMAC-SHA256(key secret, "order_id|payment_id"), and webhooks whose
``X-Razorpay-Signature`` is HMAC-SHA256(webhook secret, raw body), each with its own
``X-Razorpay-Event-Id``, POSTed from a background thread and retried on failure.

Routes (the API under /v1 needs HTTP basic auth with the key id and secret):

    POST /v1/orders                     GET /v1/orders/<id>     GET /v1/orders/<id>/payments
    GET  /v1/payments/<id>              POST /v1/payments/<id>/capture
    POST /v1/payments/<id>/refund       GET /v1/checkout.js
    POST /sandbox/checkout/pay          Checkout's Pay / Fail buttons ({key, order_id, outcome})
    POST /sandbox/payments              a payment made directly, for tests and scripts (auth)
    GET  /sandbox/events                the events sent and how each delivery was answered

Tests can also drive it in Python (``order_create``, ``payment_create``, ``refund_create``,
``events_take``) and pause webhook delivery to choose when the app receives them.
"""

import hashlib
import hmac
import json
import secrets
import string
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox.outbox import WebhookOutbox, WebhookSender

ALPHABET = string.ascii_letters + string.digits
CURRENCIES = frozenset({"INR", "USD", "EUR", "GBP", "SGD", "AED", "AUD", "CAD", "MYR"})
MIN_AMOUNT = 100  # Razorpay's minimum order is 1.00 in the currency
RECEIPT_MAX = 40
NOTES_MAX = 15
CHECKOUT_JS = Path(__file__).with_name("checkout.js")
# Razorpay's test-mode payer, so no real person's details ever sit in the sandbox.
TEST_EMAIL = "void@razorpay.com"
TEST_CONTACT = "+919999999999"
DECLINED = ("Your payment didn't go through as it was declined by the bank. Try another "
            "payment method or contact your bank.")
# Redelivery waits between attempts (Razorpay backs off over 24 hours; this is a sandbox).


def razorpay_id(prefix: str = "") -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(14))
    return f"{prefix}_{body}" if prefix else body


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class RazorpayError(Exception):
    """Answered as Razorpay answers an error; the SDK raises BadRequestError / ServerError /
    GatewayError from ``code``."""

    def __init__(self, description: str, *, status: int = 400, code: str = "BAD_REQUEST_ERROR",
                 field: str | None = None):
        super().__init__(description)
        self.description = description
        self.status = status
        self.code = code
        self.field = field

    def body(self) -> dict:
        return {"error": {
            "code": self.code, "description": self.description, "source": "business",
            "step": "payment_initiation", "reason": "input_validation_failed",
            "metadata": {}, "field": self.field,
        }}


@dataclass(frozen=True)
class SandboxResponse:
    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def json(cls, data, status: int = 200) -> "SandboxResponse":
        return cls(status, json.dumps(data).encode())


@dataclass(frozen=True)
class SignedEvent:
    """One webhook as Razorpay sends it: the exact bytes, and the headers that go with them."""

    event_id: str
    event_type: str
    body: bytes
    signature: str

    def headers(self) -> dict:
        return {"Content-Type": "application/json", "X-Razorpay-Signature": self.signature,
                "X-Razorpay-Event-Id": self.event_id}

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


class RazorpaySandbox(WebhookSender):
    def __init__(self, *, key_id: str, key_secret: str, webhook_secret: str,
                 webhook_url: str | None = None, account_id: str = "acc_Sandbox0000001"):
        self.key_id = key_id
        self.key_secret = key_secret
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.account_id = account_id
        self._lock = threading.RLock()
        self._outbox = WebhookOutbox("razorpay", self._delivery_record)
        self.reset()

    def reset(self) -> None:
        """Forget every order, payment, refund, event and injected failure."""
        with self._lock:
            self.orders: dict[str, dict] = {}
            self.payments: dict[str, dict] = {}
            self.refunds: dict[str, dict] = {}
            self.events: list[SignedEvent] = []
            self.deliveries: list[dict] = []
            self._failures: list[RazorpayError] = []
            self._delays: list[float] = []
        self._outbox.drop_pending()

    # --- signatures -------------------------------------------------------------------------

    def checkout_signature(self, order_id: str, payment_id: str) -> str:
        return hmac_hex(self.key_secret, f"{order_id}|{payment_id}".encode())

    def webhook_signature(self, body: bytes) -> str:
        return hmac_hex(self.webhook_secret, body)

    # --- the API, in Python -----------------------------------------------------------------

    def order_create(self, *, amount, currency="INR", receipt=None, notes=None) -> dict:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise RazorpayError("The amount must be an integer.", field="amount")
        if amount < MIN_AMOUNT:
            raise RazorpayError("The amount must be atleast INR 1.00", field="amount")
        if not currency:
            raise RazorpayError("The currency field is required.", field="currency")
        if currency not in CURRENCIES:
            raise RazorpayError("Currency is not supported", field="currency")
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > RECEIPT_MAX):
            raise RazorpayError("The receipt may not be greater than 40 characters.",
                                field="receipt")
        notes = notes or {}
        if not isinstance(notes, dict) or len(notes) > NOTES_MAX or any(
            len(str(value)) > 256 for value in notes.values()
        ):
            raise RazorpayError("notes: at most 15 keys of at most 256 characters each.",
                                field="notes")
        order = {
            "id": razorpay_id("order"), "entity": "order", "amount": amount, "amount_paid": 0,
            "amount_due": amount, "currency": currency, "receipt": receipt, "offer_id": None,
            "status": "created", "attempts": 0,
            # Razorpay answers an empty notes object as a list.
            "notes": dict(notes) if notes else [], "created_at": int(time.time()),
        }
        with self._lock:
            self.orders[order["id"]] = order
        return dict(order)

    def order_fetch(self, order_id: str) -> dict:
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                raise RazorpayError("The id provided does not exist", field="id")
            return dict(order)

    def payment_fetch(self, payment_id: str) -> dict:
        with self._lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise RazorpayError("The id provided does not exist", field="id")
            return dict(payment)

    def payment_create(self, order_id: str, *, status: str = "captured", amount=None,
                       currency=None, method: str = "card") -> dict:
        """A payer pays the order (or fails to): the payment, the order's new state, and the
        webhooks (payment.captured and, once the order is fully paid, order.paid;
        payment.authorized; payment.failed). ``amount`` / ``currency`` other than the order's
        make the payment a tampered one, for tests."""
        if status not in ("captured", "authorized", "failed"):
            raise RazorpayError("status must be captured, authorized or failed.",
                                field="status")
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                raise RazorpayError("The id provided does not exist", field="order_id")
            if order["status"] == "paid":
                raise RazorpayError("Order is already paid", field="order_id")
            payment = {
                "id": razorpay_id("pay"), "entity": "payment",
                "amount": order["amount"] if amount is None else amount,
                "currency": currency or order["currency"], "status": status,
                "order_id": order_id, "invoice_id": None, "international": False,
                "method": method, "amount_refunded": 0, "refund_status": None,
                "captured": status == "captured", "description": None, "card_id": None,
                "bank": None, "wallet": None, "vpa": None, "email": TEST_EMAIL,
                "contact": TEST_CONTACT, "notes": order["notes"], "fee": None, "tax": None,
                "error_code": None, "error_description": None, "error_source": None,
                "error_step": None, "error_reason": None, "acquirer_data": {},
                "created_at": int(time.time()),
            }
            if status == "failed":
                payment.update(error_code="BAD_REQUEST_ERROR", error_description=DECLINED,
                               error_source="bank", error_step="payment_authorization",
                               error_reason="payment_failed")
            self.payments[payment["id"]] = payment
            order["attempts"] += 1
            if order["status"] == "created":
                order["status"] = "attempted"
            if status == "captured":
                self._captured(payment, order)
            elif status == "authorized":
                self._emit("payment.authorized", payment=payment)
            else:
                self._emit("payment.failed", payment=payment)
            return dict(payment)

    def payment_capture(self, payment_id: str, *, amount=None, currency=None) -> dict:
        with self._lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise RazorpayError("The id provided does not exist", field="id")
            if payment["status"] != "authorized":
                raise RazorpayError("This payment has already been captured"
                                    if payment["captured"] else
                                    "Only payments which have been authorized and not yet "
                                    "captured can be captured", field="id")
            if amount is not None and amount != payment["amount"]:
                raise RazorpayError("Capture amount must be equal to the amount authorized",
                                    field="amount")
            if currency is not None and currency != payment["currency"]:
                raise RazorpayError("Currency does not match the payment currency",
                                    field="currency")
            self._captured(payment, self.orders[payment["order_id"]])
            return dict(payment)

    def _captured(self, payment: dict, order: dict) -> None:
        payment.update(status="captured", captured=True, fee=payment["amount"] * 2 // 100,
                       tax=payment["amount"] * 2 // 100 * 18 // 118)
        self._emit("payment.captured", payment=payment)
        order["amount_paid"] += payment["amount"]
        order["amount_due"] = max(0, order["amount"] - order["amount_paid"])
        if order["amount_due"] == 0:
            order["status"] = "paid"
            self._emit("order.paid", payment=payment, order=order)

    def refund_create(self, payment_id: str, *, amount=None) -> dict:
        """Refund all or part of a captured payment: refund.created, then refund.processed."""
        with self._lock:
            payment = self.payments.get(payment_id)
            if payment is None:
                raise RazorpayError("The id provided does not exist", field="id")
            if not payment["captured"]:
                raise RazorpayError("The payment has not been captured", field="id")
            left = payment["amount"] - payment["amount_refunded"]
            amount = left if amount is None else amount
            if isinstance(amount, bool) or not isinstance(amount, int) or amount < MIN_AMOUNT:
                raise RazorpayError("The amount must be atleast INR 1.00", field="amount")
            if amount > left:
                raise RazorpayError("The refund amount provided is greater than amount "
                                    "captured", field="amount")
            refund = {
                "id": razorpay_id("rfnd"), "entity": "refund", "amount": amount,
                "currency": payment["currency"], "payment_id": payment_id, "notes": [],
                "receipt": None, "acquirer_data": {"arn": None}, "created_at": int(time.time()),
                "batch_id": None, "status": "processed", "speed_processed": "normal",
                "speed_requested": "normal",
            }
            self.refunds[refund["id"]] = refund
            payment["amount_refunded"] += amount
            full = payment["amount_refunded"] == payment["amount"]
            payment["refund_status"] = "full" if full else "partial"
            if full:
                payment["status"] = "refunded"
            self._emit("refund.created", refund=refund, payment=payment)
            self._emit("refund.processed", refund=refund, payment=payment)
            return dict(refund)

    # --- webhooks ---------------------------------------------------------------------------

    def _emit(self, event_type: str, **entities) -> SignedEvent:
        payload = {
            "entity": "event", "account_id": self.account_id, "event": event_type,
            "contains": list(entities),
            "payload": {name: {"entity": dict(entity)} for name, entity in entities.items()},
            "created_at": int(time.time()),
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        event = SignedEvent(event_id=razorpay_id(), event_type=event_type, body=body,
                            signature=self.webhook_signature(body))
        with self._lock:
            self.events.append(event)
            if self.webhook_url:
                self._outbox.post(
                    self.webhook_url, event.body,
                    {**event.headers(), "User-Agent": "Razorpay-Webhook/v1"},
                    {"event_id": event.event_id, "event": event.event_type})
        return event

    def events_take(self, event_type: str | None = None) -> list[SignedEvent]:
        """The events sent so far (of one type, or all), removed from ``events``."""
        with self._lock:
            taken, kept = [], []
            for event in self.events:
                (taken if event_type in (None, event.event_type) else kept).append(event)
            self.events = kept
        return taken


    # --- injected trouble, for tests --------------------------------------------------------

    def fail_next(self, *, status: int = 500, code: str = "SERVER_ERROR",
                  description: str = "The server encountered an error. The incident has been "
                                     "reported to admins.") -> None:
        """The next API call (under /v1) is answered with this error."""
        with self._lock:
            self._failures.append(RazorpayError(description, status=status, code=code))

    def delay_next(self, seconds: float) -> None:
        """The next API call (under /v1) is answered only after this many seconds."""
        with self._lock:
            self._delays.append(seconds)

    # --- HTTP -------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict, body: bytes) -> SandboxResponse:
        """Answer one HTTP request. ``headers`` have lower-case names."""
        from sandbox import razorpay_http

        return razorpay_http.handle(self, method, path, headers, body)
