"""Buying token packages through Razorpay: the order, the checkout callback and the webhook
events, which all meet on one ``Payment`` row.

Tokens are credited once per Razorpay payment id, whichever of the checkout callback and the
payment.captured / order.paid webhooks comes first and however often each is retried: the
Payment row is locked while deciding, ``Payment.razorpay_payment_id`` is unique, and the
credit's idempotency key is ``payment:<payment id>``. The tenant always comes from the order
id we stored, never from what an event's notes claim.
"""

import logging
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing.errors import PaymentProviderUnavailable, PaymentRefused
from billing.models import LedgerReason, Payment, PaymentStatus, TokenPackage, TokenWallet
from billing.providers import razorpay as provider
from billing.providers.razorpay import RazorpayPayment
from billing.services.wallet import wallet_credit, wallet_debit, wallet_ensure
from flexoraa.actors import Actor
from flexoraa.errors import NotFound, ValidationFailed
from flexoraa.models import Organization, WebhookDelivery
from flexoraa.notifications import email_managers
from flexoraa.services import audit_event_record
from flexoraa.webhooks.adapters import DeliveryMalformed

logger = logging.getLogger(__name__)

PROVIDER = "razorpay"
PAID = (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED)
# Razorpay's payment statuses that mean the money was taken (a refunded payment was captured).
REMOTE_TAKEN = ("captured", "refunded")
PAYMENT_EVENTS = ("payment.captured", "order.paid", "payment.authorized", "payment.failed")
REFUND_EVENTS = ("refund.processed",)
REASON_MAX = Payment._meta.get_field("failure_reason").max_length


def _credit_key(razorpay_payment_id: str) -> str:
    return f"payment:{razorpay_payment_id}"


def _money(paise: int, currency: str) -> str:
    return f"{paise / 100:,.2f} {currency}"


# --- the order ------------------------------------------------------------------------------

def _package_for_sale(package_id) -> TokenPackage:
    problem = {"package_id": ["Choose one of the packages on sale."]}
    try:
        pk = int(package_id)
    except (TypeError, ValueError):
        pk = None
    if isinstance(package_id, bool) or pk is None or pk < 1:
        raise ValidationFailed("package_id: Choose one of the packages on sale.", fields=problem)
    package = TokenPackage.objects.filter(pk=pk, is_active=True).first()
    if package is None:
        raise ValidationFailed(f"package_id: There is no package {pk} on sale.", fields=problem)
    return package


def payment_order_create(*, org: Organization, package_id, actor: Actor) -> Payment:
    """Create the Razorpay order for a package and the Payment that waits for it.

    Raises ``ValidationFailed`` (400, naming ``package_id``) for an unknown or inactive
    package, ``PaymentProviderUnavailable`` (502) when Razorpay cannot create the order.
    """
    package = _package_for_sale(package_id)
    # 36 characters (Razorpay allows 40), unique without asking anyone.
    receipt = f"flx_{uuid.uuid4().hex}"
    # The order exists before our row does: an order nobody pays costs nothing, while an
    # HTTP call inside the transaction would hold its locks for as long as Razorpay takes.
    order = provider.order_create(
        amount_paise=package.price_paise, currency=package.currency, receipt=receipt,
        notes={"organization_id": str(org.pk), "package_id": str(package.pk)},
    )
    if (order.amount_paise, order.currency) != (package.price_paise, package.currency):
        raise PaymentProviderUnavailable(
            "Razorpay created the order for a different amount; no payment was taken."
        )
    with transaction.atomic():
        payment = Payment.objects.create(
            organization=org, package=package, tokens=package.tokens,
            amount_paise=package.price_paise, currency=package.currency, receipt=receipt,
            razorpay_order_id=order.id, created_by_id=actor.user_id,
        )
        audit_event_record(
            org=org, actor=actor, action="payment.order_created", target=payment,
            data={"package_id": package.pk, "tokens": package.tokens,
                  "amount_paise": package.price_paise, "currency": package.currency,
                  "razorpay_order_id": order.id},
        )
    return payment


# --- applying what Razorpay says about a payment ---------------------------------------------

@dataclass(frozen=True)
class Applied:
    payment: Payment
    credited: bool
    refusal: str = ""  # why this payment was not accepted, for the buyer


def _mismatch(payment: Payment, remote: RazorpayPayment) -> str:
    if remote.amount_paise != payment.amount_paise or remote.currency != payment.currency:
        return (f"Razorpay took {_money(remote.amount_paise, remote.currency)} but the order "
                f"was for {_money(payment.amount_paise, payment.currency)}; no tokens were "
                "added.")
    return ""


def _payment_apply(
    *, payment_pk: int, remote: RazorpayPayment, actor: Actor, source: str
) -> Applied:
    """Bring the Payment in line with Razorpay's payment, under the Payment's row lock."""
    with transaction.atomic():
        payment = (Payment.objects.select_for_update(no_key=True)
                   .select_related("organization").get(pk=payment_pk))
        org = payment.organization
        ids = {"organization_id": org.pk, "payment_id": payment.pk,
               "razorpay_payment_id": remote.id, "source": source}
        if remote.order_id != payment.razorpay_order_id:
            # Checkout's signature binds the order to the payment, so Razorpay and we disagree
            # about the order: never attach someone else's payment to this one.
            logger.error("razorpay payment belongs to another order", extra=ids)
            return Applied(payment, False,
                           "This payment belongs to a different order; no tokens were added.")
        if payment.status in PAID:
            if payment.razorpay_payment_id != remote.id:
                # Razorpay took a second payment for an order already paid: the money needs a
                # refund from the Dashboard; the tokens were credited once.
                logger.error("second razorpay payment on a paid order", extra=ids)
            return Applied(payment, False)
        if remote.status in (*REMOTE_TAKEN, "authorized"):
            problem = _mismatch(payment, remote)
            if problem:
                _refusal_record(payment, remote, problem=problem, actor=actor, source=source)
                return Applied(payment, False, problem)
        if remote.status in REMOTE_TAKEN:
            _capture(payment, remote, actor=actor, source=source)
            return Applied(payment, True)
        if remote.status == "authorized" and payment.status in (
            PaymentStatus.CREATED, PaymentStatus.FAILED
        ):
            _status_set(payment, remote, PaymentStatus.AUTHORIZED, actor=actor, source=source)
        elif remote.status == "failed" and (
            payment.status == PaymentStatus.CREATED
            or (payment.status == PaymentStatus.AUTHORIZED
                and payment.razorpay_payment_id == remote.id)
        ):
            reason = remote.error_description or "Razorpay reported the payment as failed."
            _status_set(payment, remote, PaymentStatus.FAILED, actor=actor, source=source,
                        reason=reason)
        return Applied(payment, False)


def _capture(payment: Payment, remote: RazorpayPayment, *, actor: Actor, source: str) -> None:
    payment.status = PaymentStatus.CAPTURED
    payment.razorpay_payment_id = remote.id
    payment.method = remote.method
    payment.captured_at = timezone.now()
    payment.failure_reason = ""
    payment.save(update_fields=["status", "razorpay_payment_id", "method", "captured_at",
                                "failure_reason", "updated_at"])
    result = wallet_credit(
        org=payment.organization, amount=payment.tokens, reason=LedgerReason.PURCHASE,
        idempotency_key=_credit_key(remote.id), reference=remote.id, actor=actor,
    )
    audit_event_record(
        org=payment.organization, actor=actor, action="payment.captured", target=payment,
        data={"razorpay_payment_id": remote.id, "tokens": payment.tokens, "source": source,
              "ledger_entry_id": result.entry.pk},
    )
    logger.info("razorpay payment credited", extra={
        "organization_id": payment.organization_id, "payment_id": payment.pk,
        "razorpay_payment_id": remote.id, "tokens": payment.tokens, "source": source})


def _status_set(payment: Payment, remote: RazorpayPayment, status: str, *, actor: Actor,
                source: str, reason: str = "") -> None:
    payment.status = status
    payment.razorpay_payment_id = remote.id
    payment.method = remote.method
    payment.failure_reason = reason[:REASON_MAX]
    payment.save(update_fields=["status", "razorpay_payment_id", "method", "failure_reason",
                                "updated_at"])
    audit_event_record(
        org=payment.organization, actor=actor, action=f"payment.{status}", target=payment,
        data={"razorpay_payment_id": remote.id, "source": source},
    )


def _refusal_record(payment: Payment, remote: RazorpayPayment, *, problem: str, actor: Actor,
                    source: str) -> None:
    logger.warning("razorpay payment does not match its order", extra={
        "organization_id": payment.organization_id, "payment_id": payment.pk,
        "razorpay_payment_id": remote.id, "source": source,
        "amount_paise": remote.amount_paise, "currency": remote.currency})
    reason = problem[:REASON_MAX]
    if (payment.status, payment.razorpay_payment_id, payment.failure_reason) == (
        PaymentStatus.FAILED, remote.id, reason
    ):
        return  # told before (a replayed callback or event)
    payment.status = PaymentStatus.FAILED
    payment.razorpay_payment_id = remote.id
    payment.failure_reason = reason
    payment.save(update_fields=["status", "razorpay_payment_id", "failure_reason",
                                "updated_at"])
    audit_event_record(
        org=payment.organization, actor=actor, action="payment.refused", target=payment,
        data={"razorpay_payment_id": remote.id, "source": source, "reason": "amount_mismatch",
              "amount_paise": remote.amount_paise, "currency": remote.currency},
    )


# --- the checkout callback ------------------------------------------------------------------

def payment_checkout_confirm(
    *, org: Organization, order_id: str, payment_id: str, signature: str, actor: Actor
) -> Payment:
    """Accept Razorpay Checkout's answer for one of this tenant's orders.

    The signature is checked over the order id we stored; then the payment is fetched from
    Razorpay, and its order, amount and currency must match ours. A captured payment is
    credited (once), an authorized one waits for the webhook, a failed one is recorded.

    Raises ``NotFound`` (404) for an order that is not this tenant's, ``PaymentRefused``
    (400) for a signature that does not match or a payment that does not match the order,
    ``PaymentProviderUnavailable`` (502) when Razorpay cannot be asked.
    """
    payment = None
    if isinstance(order_id, str) and order_id:
        payment = Payment.objects.for_org(org).filter(razorpay_order_id=order_id).first()
    if payment is None:
        raise NotFound("There is no such order in this organization.",
                       fields={"razorpay_order_id": ["Unknown order."]})
    try:
        provider.checkout_signature_verify(order_id=payment.razorpay_order_id,
                                           payment_id=payment_id, signature=signature)
    except PaymentRefused:
        logger.warning("razorpay checkout signature refused", extra={
            "organization_id": org.pk, "payment_id": payment.pk})
        raise
    if payment.razorpay_payment_id == payment_id and payment.status in PAID:
        return payment  # a replayed callback: credited already, nothing to ask Razorpay
    remote = provider.payment_fetch(payment_id)
    applied = _payment_apply(payment_pk=payment.pk, remote=remote, actor=actor,
                             source="checkout")
    if applied.refusal:
        raise PaymentRefused(applied.refusal, fields={"razorpay_payment_id": [applied.refusal]})
    return applied.payment


# --- webhooks -------------------------------------------------------------------------------

# Razorpay's webhooks act as the platform: no person or key of the tenant sent them.
WEBHOOK_ACTOR = Actor.system("webhook:razorpay")


def razorpay_event_apply(delivery: WebhookDelivery) -> str:
    """Act on one stored Razorpay event (``flexoraa.webhooks`` stores, queues and retries it,
    in the delivery's own transaction under its row lock): payment.captured and order.paid
    credit the payment (once per payment id), payment.authorized and payment.failed record
    it, refund.processed takes the tokens back. Events for orders we do not know, and types
    we do not handle, are processed and left alone. Returns what happened, as a word.

    Raises ``DeliveryMalformed`` for an event without the payment it should carry.
    """
    return _event_apply(delivery)


def _event_apply(delivery: WebhookDelivery) -> str:
    payload = delivery.payload if isinstance(delivery.payload, dict) else {}
    event = payload.get("event")
    log = {"delivery_id": delivery.pk, "event_id": delivery.event_id, "event": event}
    if event not in (*PAYMENT_EVENTS, *REFUND_EVENTS):
        return "ignored"
    try:
        entities = payload["payload"]
        remote = RazorpayPayment.from_entity(entities["payment"]["entity"])
        refund = entities["refund"]["entity"] if event in REFUND_EVENTS else None
        refund_id = str(refund["id"]) if refund else ""
        if refund and (not refund_id or refund.get("payment_id") not in (None, remote.id)):
            raise ValueError("the refund is not of this payment")
    except (KeyError, TypeError, ValueError) as exc:
        logger.error("malformed razorpay event", extra={**log, "error": str(exc)})
        raise DeliveryMalformed(str(exc)) from exc
    payment = None
    if remote.order_id:
        payment = Payment.objects.filter(razorpay_order_id=remote.order_id).first()
    if payment is None:
        logger.info("razorpay event for an order we do not know",
                    extra={**log, "razorpay_order_id": remote.order_id})
        return "unknown_order"
    # Raw payloads hold the payer's email and phone; anonymization finds them by tenant.
    delivery.organization_id = payment.organization_id
    applied = _payment_apply(payment_pk=payment.pk, remote=remote, actor=WEBHOOK_ACTOR,
                             source=f"webhook:{event}")
    if refund is not None:
        return _refund_apply(payment_pk=payment.pk, remote=remote, refund_id=refund_id,
                             refund_amount=refund.get("amount"))
    if applied.refusal:
        return "refused"
    return "credited" if applied.credited else "recorded"


# --- refunds --------------------------------------------------------------------------------

def _refund_apply(*, payment_pk: int, remote: RazorpayPayment, refund_id: str,
                  refund_amount) -> str:
    """Take back the tokens of the refunded share of the payment, never below zero.

    The refunded total is Razorpay's cumulative ``amount_refunded`` (never decreasing), so a
    refund seen twice, or two refunds seen in either order, take back what they should once.
    """
    with transaction.atomic():
        payment = (Payment.objects.select_for_update(no_key=True)
                   .select_related("organization").get(pk=payment_pk))
        org = payment.organization
        log = {"organization_id": org.pk, "payment_id": payment.pk,
               "razorpay_payment_id": remote.id, "razorpay_refund_id": refund_id}
        if payment.razorpay_payment_id != remote.id or payment.status not in PAID:
            # The refunded payment never bought tokens here (a failed or refused attempt).
            logger.warning("razorpay refund of a payment that credited nothing", extra=log)
            return "refund_without_credit"
        total = remote.amount_refunded
        if not total and isinstance(refund_amount, int) and not isinstance(refund_amount, bool):
            total = payment.refunded_paise + refund_amount
        total = min(total, payment.amount_paise)
        if total <= payment.refunded_paise:
            return "refund_already_applied"
        due = (payment.tokens * total // payment.amount_paise
               - payment.tokens * payment.refunded_paise // payment.amount_paise)
        wallet = wallet_ensure(org)
        # Locked, so the balance read here is still the balance when the debit runs.
        balance = TokenWallet.objects.select_for_update(no_key=True).values_list(
            "balance", flat=True).get(pk=wallet.pk)
        taken = min(due, balance)
        if taken > 0:
            wallet_debit(org=org, amount=taken, reason=LedgerReason.REFUND,
                         idempotency_key=f"refund:{refund_id}", reference=refund_id,
                         actor=WEBHOOK_ACTOR)
        short = due - taken
        payment.refunded_paise = total
        payment.refunded_tokens = F("refunded_tokens") + taken
        fields = ["refunded_paise", "refunded_tokens", "updated_at"]
        if total >= payment.amount_paise:
            payment.status = PaymentStatus.REFUNDED
            fields.append("status")
        if short:
            payment.failure_reason = (
                f"Refund {refund_id}: {short:,} of {due:,} tokens had already been spent and "
                "could not be taken back."
            )[:REASON_MAX]
            fields.append("failure_reason")
        payment.save(update_fields=fields)
        audit_event_record(
            org=org, actor=WEBHOOK_ACTOR, action="payment.refunded", target=payment,
            data={"razorpay_payment_id": remote.id, "razorpay_refund_id": refund_id,
                  "refunded_paise": total, "tokens_taken": taken, "tokens_short": short},
        )
        if short:
            logger.warning("razorpay refund exceeds the tokens left",
                           extra={**log, "tokens_due": due, "tokens_taken": taken})
            amount = _money(total, payment.currency)
            transaction.on_commit(lambda: _tell_shortfall(
                org, refund_id=refund_id, refunded=amount, due=due, taken=taken, short=short))
    return "refunded"


def _tell_shortfall(org: Organization, *, refund_id: str, refunded: str, due: int, taken: int,
                    short: int) -> None:
    try:
        email_managers(
            org, subject="A refund took back fewer tokens than it paid for",
            body=(f"Razorpay refund {refund_id} brings the refunded total of this purchase to "
                  f"{refunded}. That refund pays for {due:,} tokens, but the wallet held only "
                  f"{taken:,}: {short:,} tokens had already been spent, so the wallet is now "
                  "at zero and the difference is recorded on the payment.\n"),
        )
    except Exception:
        # The shortfall is recorded on the payment and in the audit log; a mail outage
        # must not undo the refund.
        logger.exception("refund shortfall email failed", extra={"organization_id": org.pk})
