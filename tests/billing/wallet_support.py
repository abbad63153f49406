"""What the wallet tests share: funding a wallet and reading its balance and ledger."""

from django.db.models import Sum

from billing import services
from billing.models import LedgerReason, TokenLedgerEntry, TokenWallet
from tests.factories import SETUP_ACTOR


def fund(org, amount: int, key: str = "fund") -> None:
    services.wallet_credit(org=org, amount=amount, reason=LedgerReason.PURCHASE,
                           idempotency_key=key, reference="pay_test", actor=SETUP_ACTOR)


def balance_of(org) -> int:
    """The balance; 0 before the tenant's first change (it has no wallet yet)."""
    return TokenWallet.objects.for_org(org).values_list("balance", flat=True).first() or 0


def ledger_sum(org) -> int:
    return TokenLedgerEntry.objects.for_org(org).aggregate(total=Sum("delta"))["total"] or 0
