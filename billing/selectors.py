"""Reads of the token economy shared by pages, the API, the admin and jobs."""

from dataclasses import dataclass

from django.db.models import Sum

from billing.models import Payment, TokenLedgerEntry, TokenPackage, TokenWallet
from flexoraa.models import Organization


def wallet_for(org: Organization) -> TokenWallet:
    """The tenant's wallet, or an empty unsaved one before its first use."""
    found = TokenWallet.objects.for_org(org).first()
    return found if found is not None else TokenWallet(organization=org)


@dataclass(frozen=True)
class LedgerCheck:
    organization_id: int
    slug: str
    balance: int
    ledger_sum: int
    last_balance_after: int | None

    @property
    def ok(self) -> bool:
        return self.balance == self.ledger_sum and self.last_balance_after in (None, self.balance)


def ledger_checks() -> list[LedgerCheck]:
    """balance = Σ ledger (and = the last entry's balance after) for every tenant that has a
    wallet or a ledger entry. Two grouped queries plus one per tenant for the last entry."""
    sums = dict(
        TokenLedgerEntry.objects.values("organization").annotate(total=Sum("delta"))
        .order_by().values_list("organization", "total")
    )
    balances = dict(TokenWallet.objects.values_list("organization_id", "balance"))
    checks = []
    for org in Organization.objects.filter(pk__in={*sums, *balances}).order_by("slug"):
        last = TokenLedgerEntry.objects.for_org(org).order_by("-id").values_list(
            "balance_after", flat=True).first()
        checks.append(LedgerCheck(
            organization_id=org.pk, slug=org.slug, balance=balances.get(org.pk, 0),
            ledger_sum=sums.get(org.pk, 0) or 0, last_balance_after=last,
        ))
    return checks


def packages_for_sale():
    """The packages on sale, in the order they are shown (platform-wide)."""
    return TokenPackage.objects.filter(is_active=True).order_by("sort_order", "price_paise", "id")


def payments_recent(org: Organization, *, limit: int = 10) -> list[Payment]:
    """The tenant's latest purchases, newest first, with their packages (one query)."""
    return list(Payment.objects.for_org(org).select_related("package")
                .order_by("-created_at", "-id")[:limit])
