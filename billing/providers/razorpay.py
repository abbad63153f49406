"""The one Razorpay adapter: orders, payments and signatures through the official SDK.

Base URL, keys and the timeout come from settings, so tests and ``make run`` talk HTTP to the
local sandbox (sandbox/razorpay.py) and production to Razorpay. Vendor errors become ours:
``PaymentRefused`` (400) when Razorpay refuses the request or a signature does not match,
``PaymentProviderUnavailable`` (502) when it cannot be reached or fails on its side.
"""

import logging
from dataclasses import dataclass

import razorpay
import requests
from django.conf import settings
from razorpay.errors import (
    BadRequestError,
    GatewayError,
    ServerError,
    SignatureVerificationError,
)

from billing.errors import PaymentProviderUnavailable, PaymentRefused

logger = logging.getLogger(__name__)

SIGNATURE_MISMATCH = (
    "The payment signature does not match; nothing was charged to your tokens."
)
WEBHOOK_SIGNATURE_MISMATCH = "The X-Razorpay-Signature header does not match the request body."
# Razorpay's ids are a prefix and 14 characters; anything far longer is not one of theirs.
MAX_ID_LENGTH = 64
MAX_SIGNATURE_LENGTH = 128


@dataclass(frozen=True)
class RazorpayOrder:
    id: str
    amount_paise: int
    currency: str
    receipt: str
    status: str


@dataclass(frozen=True)
class RazorpayPayment:
    id: str
    order_id: str
    amount_paise: int
    currency: str
    status: str  # created, authorized, captured, refunded or failed
    method: str = ""
    amount_refunded: int = 0
    error_description: str = ""

    @classmethod
    def from_entity(cls, entity: dict) -> "RazorpayPayment":
        """A payment entity as Razorpay sends it (API answer or webhook payload). Raises
        ``KeyError``, ``TypeError`` or ``ValueError`` for one that is not."""
        return cls(
            id=str(entity["id"]),
            order_id=str(entity.get("order_id") or ""),
            amount_paise=_whole(entity["amount"]),
            currency=str(entity["currency"]),
            status=str(entity["status"]),
            method=str(entity.get("method") or "")[:32],
            amount_refunded=_whole(entity.get("amount_refunded") or 0),
            error_description=str(entity.get("error_description") or "")[:160],
        )


def _whole(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not a whole number of paise: {value!r}")
    return value


class TimeoutSession(requests.Session):
    """The SDK never passes a timeout; without one a stalled Razorpay would hold a web
    worker forever. Every request of this session gets RAZORPAY_TIMEOUT_SECONDS."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, **kwargs)


def sdk_base_url(base_url: str) -> str:
    """RAZORPAY_BASE_URL is the documented API root (…/v1); the SDK adds /v1 to every path
    itself, so it wants the part before."""
    return base_url.rstrip("/").removesuffix("/v1")


def client() -> razorpay.Client:
    # One per call: requests.Session is not documented as thread-safe, and payments are rare
    # enough that a fresh connection costs nothing that matters.
    return razorpay.Client(
        session=TimeoutSession(settings.RAZORPAY_TIMEOUT_SECONDS),
        auth=(settings.RAZORPAY_KEY_ID, settings.RAZORPAY_KEY_SECRET),
        base_url=sdk_base_url(settings.RAZORPAY_BASE_URL),
    )


def _call(what: str, call, *, refusal_is_ours: bool = False):
    """Run one SDK call, turning the vendor's errors into ours.

    ``refusal_is_ours``: a refusal of this call can only come from our side (bad keys, a
    request we built wrongly), never from what the buyer sent, so it is a 502 to them.
    """
    try:
        return call()
    except BadRequestError as exc:
        if refusal_is_ours:
            logger.error("razorpay refused our request", extra={"call": what,
                                                                 "reason": str(exc)})
            raise PaymentProviderUnavailable(
                f"Razorpay refused to {what} ({exc}); the site's Razorpay settings need a look."
            ) from exc
        logger.warning("razorpay refused a request", extra={"call": what, "reason": str(exc)})
        raise PaymentRefused(f"Razorpay refused the request: {exc}") from exc
    except (ServerError, GatewayError) as exc:
        logger.error("razorpay failed", extra={"call": what, "reason": str(exc)})
        raise PaymentProviderUnavailable(
            f"Razorpay could not {what} just now ({exc}); try again in a minute."
        ) from exc
    except (requests.RequestException, ValueError) as exc:
        # Timeouts, refused connections, TLS errors and answers that are not JSON.
        logger.error("razorpay unreachable", extra={"call": what, "error": type(exc).__name__})
        raise PaymentProviderUnavailable(
            f"Razorpay could not be reached to {what}; try again in a minute."
        ) from exc


def order_create(
    *, amount_paise: int, currency: str, receipt: str, notes: dict | None = None
) -> RazorpayOrder:
    """Create an order (POST /v1/orders). Raises PaymentRefused / PaymentProviderUnavailable."""
    body = {"amount": amount_paise, "currency": currency, "receipt": receipt,
            "notes": dict(notes or {})}
    answer = _call("create the order", lambda: client().order.create(data=body),
                   refusal_is_ours=True)
    try:
        return RazorpayOrder(
            id=str(answer["id"]), amount_paise=_whole(answer["amount"]),
            currency=str(answer["currency"]), receipt=str(answer.get("receipt") or ""),
            status=str(answer["status"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PaymentProviderUnavailable(
            f"Razorpay answered with an order we cannot read ({exc!r})."
        ) from exc


def _check_id(value: str, *, field: str) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH or not (
        value.isascii() and value.replace("_", "").isalnum()
    ):
        raise PaymentRefused(f"{field}: this is not a Razorpay id.",
                             fields={field: ["Not a Razorpay id."]})


def payment_fetch(payment_id: str) -> RazorpayPayment:
    """Fetch a payment (GET /v1/payments/<id>): its order, amount, currency and status."""
    _check_id(payment_id, field="razorpay_payment_id")
    answer = _call("fetch the payment", lambda: client().payment.fetch(payment_id))
    try:
        return RazorpayPayment.from_entity(answer)
    except (KeyError, TypeError, ValueError) as exc:
        raise PaymentProviderUnavailable(
            f"Razorpay answered with a payment we cannot read ({exc!r})."
        ) from exc


def _signature_usable(signature) -> bool:
    # hmac.compare_digest raises TypeError on non-ASCII text, so such a header must be
    # refused here rather than become a 500.
    return (isinstance(signature, str) and 0 < len(signature) <= MAX_SIGNATURE_LENGTH
            and signature.isascii())


def checkout_signature_verify(*, order_id: str, payment_id: str, signature: str) -> None:
    """Checkout's razorpay_signature must be HMAC-SHA256(key secret, "order_id|payment_id")
    over the order id *we stored*. Raises PaymentRefused otherwise."""
    _check_id(payment_id, field="razorpay_payment_id")
    if not _signature_usable(signature):
        raise PaymentRefused(SIGNATURE_MISMATCH, fields={"razorpay_signature": ["Missing or "
                                                                                "malformed."]})
    try:
        client().utility.verify_payment_signature({
            "razorpay_order_id": order_id, "razorpay_payment_id": payment_id,
            "razorpay_signature": signature,
        })
    except SignatureVerificationError as exc:
        raise PaymentRefused(SIGNATURE_MISMATCH,
                             fields={"razorpay_signature": ["Does not match."]}) from exc


def webhook_signature_verify(*, raw_body: bytes, signature: str) -> None:
    """X-Razorpay-Signature must be HMAC-SHA256(webhook secret, raw body). Raises
    PaymentRefused otherwise (also for a body that is not UTF-8: Razorpay sends JSON)."""
    if not _signature_usable(signature):
        raise PaymentRefused(WEBHOOK_SIGNATURE_MISMATCH)
    try:
        # The SDK signs text; decoding valid UTF-8 and encoding it again gives the same bytes.
        body = raw_body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PaymentRefused(WEBHOOK_SIGNATURE_MISMATCH) from exc
    try:
        client().utility.verify_webhook_signature(body, signature,
                                                  settings.RAZORPAY_WEBHOOK_SECRET)
    except SignatureVerificationError as exc:
        raise PaymentRefused(WEBHOOK_SIGNATURE_MISMATCH) from exc
