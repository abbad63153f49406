"""Helpers for the billing page tests and their browser test: ledger rows at a chosen moment
(through the real services), payments in any state, and reading pages, query counts and CSV."""

import csv
import io
import itertools
from contextlib import contextmanager
from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import services
from billing.models import AiAction, LedgerReason, Payment, PaymentStatus, TokenWallet
from tests.factories import SETUP_ACTOR

_keys = itertools.count()
_orders = itertools.count()


@contextmanager
def clock_at(moment: datetime):
    """``timezone.now()`` is ``moment`` inside the block (the ledger stamps its rows with it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "now", lambda: moment)
        yield


def credit(org, amount, *, reason=LedgerReason.PURCHASE, reference=""):
    return services.wallet_credit(org=org, amount=amount, reason=reason, reference=reference,
                                  idempotency_key=f"credit-{next(_keys)}", actor=SETUP_ACTOR)


def spend(org, amount, *, action=AiAction.REPLY, membership=None, at=None, reference=""):
    """A usage debit of ``amount`` tokens (at ``at``, when given)."""
    def debit():
        return services.wallet_debit(org=org, amount=amount, action=action,
                                     membership=membership, reference=reference,
                                     idempotency_key=f"usage-{next(_keys)}", actor=SETUP_ACTOR)
    if at is None:
        return debit()
    with clock_at(at):
        return debit()


def make_payment(org, package, *, status=PaymentStatus.CAPTURED, refunded_paise=0,
                 refunded_tokens=0, failure_reason="", created_at=None) -> Payment:
    number = next(_orders)
    paid = status in (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED)
    payment = Payment.objects.create(
        organization=org, package=package, tokens=package.tokens,
        amount_paise=package.price_paise, currency=package.currency,
        receipt=f"flx_test_{number:06d}", razorpay_order_id=f"order_test{number:06d}",
        razorpay_payment_id=f"pay_test{number:06d}" if status != PaymentStatus.CREATED else None,
        status=status, captured_at=timezone.now() if paid else None,
        refunded_paise=refunded_paise, refunded_tokens=refunded_tokens,
        failure_reason=failure_reason,
    )
    if created_at is not None:
        Payment.objects.filter(pk=payment.pk).update(created_at=created_at)
        payment.refresh_from_db()
    return payment


def page_of(response) -> str:
    return response.content.decode()


def queries(client, url, **kwargs) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **kwargs)
        assert response.status_code == 200
        if response.streaming:
            b"".join(response.streaming_content)
    return len(captured)


def wallet_of(org) -> TokenWallet:
    return TokenWallet.objects.for_org(org).get()


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))
