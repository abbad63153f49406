"""Reads of the token economy shared by pages, the API, the admin and jobs."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.models import (
    DEFAULT_ACTION_PRICES,
    ActionPrice,
    AiAction,
    LedgerReason,
    Payment,
    TokenLedgerEntry,
    TokenPackage,
    TokenWallet,
)
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


def payments_for_org(org: Organization):
    """The tenant's purchases, newest first, with their packages (for the payment history and
    its CSV of receipts)."""
    return (Payment.objects.for_org(org).select_related("package")
            .order_by("-created_at", "-id"))


def ledger_recent(org: Organization, *, limit: int = 10) -> list[TokenLedgerEntry]:
    """The tenant's latest ledger entries, newest first, with the person each was for (one
    query)."""
    return list(TokenLedgerEntry.objects.for_org(org).select_related("membership__user")
                .order_by("-id")[:limit])


@dataclass(frozen=True)
class ActionPriceRow:
    action: str
    label: str
    tokens: int
    is_default: bool  # True: the tenant has not set its own price


def action_prices(org: Organization) -> list[ActionPriceRow]:
    """What one unit of each AI action costs in this tenant: its own price, else the default
    (one query, whatever the number of actions)."""
    own = dict(ActionPrice.objects.for_org(org).values_list("action", "tokens"))
    return [
        ActionPriceRow(action=action.value, label=action.label,
                       tokens=own.get(action.value, DEFAULT_ACTION_PRICES[action]),
                       is_default=action.value not in own)
        for action in AiAction
    ]


# --- usage -----------------------------------------------------------------------------------

USAGE_DAY_CHOICES = (7, 30, 90)


@dataclass(frozen=True)
class UsageDay:
    day: date
    tokens: int
    charges: int


@dataclass(frozen=True)
class UsageShare:
    """One row of a breakdown: an action or a person, with its share of the tokens spent."""

    key: str
    label: str
    tokens: int
    charges: int
    percent: float


@dataclass(frozen=True)
class UsageReport:
    first_day: date
    last_day: date
    per_day: tuple[UsageDay, ...]  # every day of the window, oldest first, zero when idle
    per_action: tuple[UsageShare, ...]  # most tokens first
    per_member: tuple[UsageShare, ...]  # most tokens first; "No SDR" for system usage
    tokens: int
    charges: int

    @property
    def days(self) -> int:
        return len(self.per_day)

    @property
    def busiest(self) -> UsageDay | None:
        return max(self.per_day, key=lambda d: d.tokens) if self.tokens else None


NO_MEMBER = "No SDR"


def _share(total: int, tokens: int) -> float:
    return round(100 * tokens / total, 1) if total else 0.0


def _action_label(action: str) -> str:
    # A usage row written by an integration may name an action no longer priced.
    if action in AiAction.values:
        return str(AiAction(action).label)
    return action or "Other"


def _person(first_name: str | None, last_name: str | None, username: str | None) -> str:
    full = f"{first_name or ''} {last_name or ''}".strip()
    return full or username or "a former member"


def usage_report(org: Organization, *, days: int, now: datetime | None = None) -> UsageReport:
    """Tokens spent on AI actions over the last ``days`` days (today included), per day in the
    tenant's time zone, per action and per person the usage was for.

    The database groups: three queries whatever the number of days or ledger entries.
    """
    zone = ZoneInfo(org.timezone)
    last_day = timezone.localdate(now or timezone.now(), zone)
    first_day = last_day - timedelta(days=days - 1)
    usage = TokenLedgerEntry.objects.for_org(org).filter(
        reason=LedgerReason.USAGE, delta__lt=0,
        created_at__gte=datetime.combine(first_day, time.min, tzinfo=zone),
        created_at__lt=datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone),
    )
    spent = {"tokens": Sum(-F("delta")), "charges": Count("id")}

    by_day = {
        row["day"]: row for row in usage.annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day").annotate(**spent).order_by("day")
    }
    per_day = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        row = by_day.get(day, {"tokens": 0, "charges": 0})
        per_day.append(UsageDay(day=day, tokens=row["tokens"], charges=row["charges"]))

    by_action = list(usage.values("action").annotate(**spent).order_by("-tokens", "action"))
    tokens = sum(row["tokens"] for row in by_action)
    charges = sum(row["charges"] for row in by_action)
    per_action = tuple(
        UsageShare(key=row["action"], label=_action_label(row["action"]), tokens=row["tokens"],
                   charges=row["charges"], percent=_share(tokens, row["tokens"]))
        for row in by_action
    )

    by_member = usage.values(
        "membership", "membership__user__first_name", "membership__user__last_name",
        "membership__user__username",
    ).annotate(**spent).order_by("-tokens", "membership")
    per_member = tuple(
        UsageShare(
            key=str(row["membership"] or ""),
            label=NO_MEMBER if row["membership"] is None else _person(
                row["membership__user__first_name"], row["membership__user__last_name"],
                row["membership__user__username"]),
            tokens=row["tokens"], charges=row["charges"], percent=_share(tokens, row["tokens"]),
        )
        for row in by_member
    )
    return UsageReport(first_day=first_day, last_day=last_day, per_day=tuple(per_day),
                       per_action=per_action, per_member=per_member, tokens=tokens,
                       charges=charges)
