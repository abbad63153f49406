"""The wallet and its ledger: every change of a balance is one ledger row in the same
transaction, behind a conditional UPDATE, with an idempotency key.

A debit is ``UPDATE wallet SET balance = balance - n WHERE balance >= n``: the database decides,
so concurrent debits can never take the balance below zero, and the row lock that UPDATE takes
orders them. The ledger row's unique (tenant, idempotency key) makes a replay roll back and
return the first result.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F

from billing.errors import IdempotencyKeyReused, InsufficientTokens
from billing.models import (
    DEFAULT_ACTION_PRICES,
    ActionPrice,
    AiAction,
    LedgerReason,
    TokenLedgerEntry,
    TokenWallet,
)
from flexoraa.errors import ValidationFailed
from flexoraa.models import ApiKey, Membership, Organization

MAX_CHANGE = 10**12


@dataclass(frozen=True)
class LedgerResult:
    entry: TokenLedgerEntry
    replayed: bool  # True: the key was used before and this is the first call's result

    @property
    def balance(self) -> int:
        return self.entry.balance_after


def wallet_ensure(org: Organization) -> TokenWallet:
    """The tenant's wallet, created empty on first use."""
    wallet = TokenWallet.objects.for_org(org).first()
    if wallet is not None:
        return wallet
    try:
        with transaction.atomic():
            return TokenWallet.objects.create(organization=org)
    except IntegrityError:
        return TokenWallet.objects.for_org(org).get()


def _actor_fields(actor) -> dict:
    if isinstance(actor, ApiKey):
        return {"actor_api_key": actor}
    if isinstance(actor, Membership):
        return {"actor_user_id": actor.user_id}
    if getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None):
        return {"actor_user_id": actor.pk}
    return {}


def _check_request(*, amount: int, reason: str, idempotency_key: str) -> None:
    problems = {}
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_CHANGE:
        problems["amount"] = ["Give a whole number of tokens above 0."]
    if reason not in LedgerReason.values:
        problems["reason"] = [f"Choose one of {', '.join(LedgerReason.values)}."]
    if not idempotency_key or len(idempotency_key) > 255:
        problems["idempotency_key"] = ["Give a key of 1 to 255 characters, unique per change."]
    if problems:
        field, (message,) = next(iter(problems.items()))
        raise ValidationFailed(f"{field}: {message}", fields=problems)


def _replay(org: Organization, *, idempotency_key: str, delta: int, reason: str):
    entry = TokenLedgerEntry.objects.for_org(org).filter(idempotency_key=idempotency_key).first()
    if entry is None:
        return None
    if (entry.delta, entry.reason) != (delta, reason):
        raise IdempotencyKeyReused(
            "This idempotency key was used for a different change "
            f"({entry.delta:+,} tokens, {entry.reason}); use a new key for a new change.",
            fields={"idempotency_key": ["Already used for a different change."]},
        )
    return LedgerResult(entry=entry, replayed=True)


def _change(
    org: Organization, *, delta: int, reason: str, idempotency_key: str, action: str,
    reference: str, actor, membership: Membership | None, rearm_alert: bool = False,
) -> LedgerResult:
    found = _replay(org, idempotency_key=idempotency_key, delta=delta, reason=reason)
    if found is not None:
        return found
    wallet = wallet_ensure(org)
    try:
        with transaction.atomic():
            wallets = TokenWallet.objects.filter(pk=wallet.pk)
            if delta < 0:
                wallets = wallets.filter(balance__gte=-delta)
            if not wallets.update(balance=F("balance") + delta):
                balance = TokenWallet.objects.filter(pk=wallet.pk).values_list(
                    "balance", flat=True).get()
                raise InsufficientTokens(balance=balance, needed=-delta)
            # Our UPDATE holds the row lock until commit, so this read is our own result.
            balance_after = TokenWallet.objects.filter(pk=wallet.pk).values_list(
                "balance", flat=True).get()
            entry = TokenLedgerEntry.objects.create(
                organization=org, delta=delta, balance_after=balance_after, reason=reason,
                action=action, reference=reference[:128], idempotency_key=idempotency_key,
                membership=membership, **_actor_fields(actor),
            )
            if rearm_alert:
                wallets.filter(
                    low_balance_alerted_at__isnull=False,
                    balance__gte=F("low_balance_threshold"),
                ).update(low_balance_alerted_at=None)
    except IntegrityError:
        # A concurrent call with the same key committed first; ours rolled back entirely.
        found = _replay(org, idempotency_key=idempotency_key, delta=delta, reason=reason)
        if found is None:
            raise
        return found
    return LedgerResult(entry=entry, replayed=False)


def wallet_debit(
    *, org: Organization, amount: int, reason: str = LedgerReason.USAGE, idempotency_key: str,
    action: str = "", reference: str = "", actor=None, membership: Membership | None = None,
) -> LedgerResult:
    """Take ``amount`` tokens. Replaying a key returns the first result and changes nothing.

    Raises ``InsufficientTokens`` (402) when the balance is short, ``IdempotencyKeyReused``
    when the key was used for a different change, ``ValidationFailed`` for a bad amount.
    """
    _check_request(amount=amount, reason=reason, idempotency_key=idempotency_key)
    return _change(org, delta=-amount, reason=reason, idempotency_key=idempotency_key,
                   action=action, reference=reference, actor=actor, membership=membership)


def wallet_credit(
    *, org: Organization, amount: int, reason: str, idempotency_key: str, reference: str = "",
    actor=None,
) -> LedgerResult:
    """Add ``amount`` tokens; a balance back at or above the threshold re-arms the alert.

    Raises ``IdempotencyKeyReused`` and ``ValidationFailed`` like ``wallet_debit``.
    """
    _check_request(amount=amount, reason=reason, idempotency_key=idempotency_key)
    return _change(org, delta=amount, reason=reason, idempotency_key=idempotency_key,
                   action="", reference=reference, actor=actor, membership=None, rearm_alert=True)


def action_price(org: Organization, action: str) -> int:
    """Tokens per unit of an AI action in this tenant (its own price, else the default)."""
    if action not in AiAction.values:
        raise ValidationFailed(f"action: Unknown AI action '{action}'.",
                               fields={"action": [f"Choose one of {', '.join(AiAction.values)}."]})
    price = ActionPrice.objects.for_org(org).filter(action=action).values_list(
        "tokens", flat=True).first()
    return DEFAULT_ACTION_PRICES[action] if price is None else price


def ai_action_charge(
    *, org: Organization, action: str, idempotency_key: str, units: int = 1, reference: str = "",
    membership: Membership | None = None, actor=None,
) -> LedgerResult | None:
    """Debit the priced cost of ``units`` of an AI action (None when it is free).

    Raises ``InsufficientTokens`` before the action runs, so the caller can refuse it.
    """
    if not isinstance(units, int) or units < 1:
        raise ValidationFailed("units: Give a whole number of units, 1 or more.",
                               fields={"units": ["1 or more."]})
    tokens = action_price(org, action) * units
    if tokens == 0:
        return None
    return wallet_debit(org=org, amount=tokens, reason=LedgerReason.USAGE, action=action,
                        idempotency_key=idempotency_key, reference=reference,
                        membership=membership, actor=actor)
