"""The wallet and its ledger: every change of a balance is one ledger row in the same
transaction, behind a conditional UPDATE, with an idempotency key.

A debit is ``UPDATE wallet SET balance = balance - n WHERE balance >= n``: the database decides,
so concurrent debits can never take the balance below zero, and the row lock that UPDATE takes
orders them. The ledger row's unique (tenant, idempotency key) makes a replay roll back and
return the first result. A refusal reports a balance read after the UPDATE missed, and is
decided again under the wallet's row lock when that balance would have covered the change.
"""

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.errors import IdempotencyKeyReused, InsufficientTokens
from billing.models import (
    DEFAULT_ACTION_PRICES,
    ActionPrice,
    AiAction,
    LedgerReason,
    TokenLedgerEntry,
    TokenWallet,
)
from flexoraa.actors import Actor
from flexoraa.errors import ValidationFailed
from flexoraa.models import Membership, Organization

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


def _actor_fields(actor: Actor) -> dict:
    if not isinstance(actor, Actor):
        raise TypeError(f"actor must be an Actor, not {type(actor).__name__}")
    # The ledger names a person or a key; a system change (a webhook's credit) names neither
    # and is told apart by its reason and reference.
    return {"actor_user_id": actor.user_id, "actor_api_key_id": actor.api_key_id}


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


def _key_used(org: Organization, idempotency_key: str) -> bool:
    """Whether the key already has a ledger row. Asked on every change, so one probe of the
    unique index (a tenth of the CPU of an ORM query); the entry is loaded only when it is."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM billing_tokenledgerentry"
            " WHERE organization_id = %s AND idempotency_key = %s",
            [org.pk, idempotency_key],
        )
        return cursor.fetchone() is not None


# Written out in full: one conditional UPDATE that takes the wallet's row lock, and one ledger
# row carrying the balance that UPDATE returned. ``needed`` is 0 for a credit.
_UPDATE = """
    UPDATE billing_tokenwallet SET balance = balance + %(delta)s
    WHERE organization_id = %(organization_id)s AND balance >= %(needed)s
    RETURNING balance
"""
# A credit that brings the balance back to the threshold also re-arms the low-balance alert.
_UPDATE_REARMING = """
    UPDATE billing_tokenwallet SET balance = balance + %(delta)s,
        low_balance_alerted_at = CASE WHEN balance + %(delta)s >= low_balance_threshold
                                      THEN NULL ELSE low_balance_alerted_at END
    WHERE organization_id = %(organization_id)s AND balance >= %(needed)s
    RETURNING balance
"""
_INSERT = """
    INSERT INTO billing_tokenledgerentry (
        organization_id, delta, balance_after, reason, action, reference, idempotency_key,
        actor_user_id, actor_api_key_id, membership_id, created_at)
    SELECT %(organization_id)s, %(delta)s, balance, %(reason)s, %(action)s, %(reference)s,
        %(idempotency_key)s, %(actor_user_id)s, %(actor_api_key_id)s, %(membership_id)s,
        %(created_at)s
    FROM {source}
    RETURNING id, balance_after
"""
# PostgreSQL runs both as one statement: no round trip to this process while the wallet's row
# lock is held (a thread waiting for the GIL between statements would hold back every other
# change of a hot wallet).
_CHANGE_IN_ONE = {
    rearm: f"WITH changed AS ({update}) " + _INSERT.format(source="changed")
    for rearm, update in ((False, _UPDATE), (True, _UPDATE_REARMING))
}
# Elsewhere (SQLite, where writers are serialized anyway) the INSERT follows the UPDATE.
_INSERT_AFTER_UPDATE = _INSERT.format(source="(SELECT %(balance_after)s AS balance)")


def _apply(entry: TokenLedgerEntry, *, rearm_alert: bool) -> bool:
    """The conditional UPDATE of the tenant's wallet and, when it took, the ledger row. False
    (nothing written) when the wallet is short or does not exist yet. Call inside atomic(), or
    on PostgreSQL in autocommit, where it is one statement (see ``_apply_alone``)."""
    params = {
        name: getattr(entry, name) for name in (
            "organization_id", "delta", "reason", "action", "reference", "idempotency_key",
            "actor_user_id", "actor_api_key_id", "membership_id")
    }
    params["created_at"] = connection.ops.adapt_datetimefield_value(entry.created_at)
    params["needed"] = max(-entry.delta, 0)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_CHANGE_IN_ONE[rearm_alert], params)
            row = cursor.fetchone()
        else:
            cursor.execute(_UPDATE_REARMING if rearm_alert else _UPDATE, params)
            updated = cursor.fetchone()
            row = None
            if updated is not None:
                cursor.execute(_INSERT_AFTER_UPDATE, {**params, "balance_after": updated[0]})
                row = cursor.fetchone()
    if row is None:
        return False
    entry.pk, entry.balance_after = row
    entry._state.adding, entry._state.db = False, connection.alias
    return True


def _apply_alone(entry: TokenLedgerEntry, *, rearm_alert: bool) -> bool:
    """``_apply`` as its own transaction (a savepoint inside the caller's)."""
    if (connection.vendor == "postgresql" and not connection.in_atomic_block
            and connection.get_autocommit()):
        # One statement in autocommit is a transaction of its own, as atomic as BEGIN ...
        # COMMIT around it, and the hot wallet's row lock is then held only inside the
        # server (the statement and its commit), never across a round trip to this process.
        return _apply(entry, rearm_alert=rearm_alert)
    with transaction.atomic():
        return _apply(entry, rearm_alert=rearm_alert)


def _refuse(org: Organization, *, idempotency_key: str, delta: int, reason: str,
            balance: int) -> LedgerResult:
    """Raise InsufficientTokens for ``balance``, read after the UPDATE missed, unless a
    concurrent call with this key took the last tokens: its result is this call's."""
    if _key_used(org, idempotency_key):
        found = _replay(org, idempotency_key=idempotency_key, delta=delta, reason=reason)
        if found is not None:
            return found
    raise InsufficientTokens(balance=balance, needed=-delta)


def _change(
    org: Organization, *, delta: int, reason: str, idempotency_key: str, action: str,
    reference: str, actor: Actor, membership: Membership | None, rearm_alert: bool = False,
) -> LedgerResult:
    if _key_used(org, idempotency_key):
        found = _replay(org, idempotency_key=idempotency_key, delta=delta, reason=reason)
        if found is not None:
            return found
    entry = TokenLedgerEntry(
        organization=org, delta=delta, reason=reason, action=action, reference=reference[:128],
        idempotency_key=idempotency_key, membership=membership, created_at=timezone.now(),
        **_actor_fields(actor),
    )
    try:
        if _apply_alone(entry, rearm_alert=rearm_alert):
            return LedgerResult(entry=entry, replayed=False)
        # The UPDATE took nothing. Usually the wallet is short, and a fresh read says so with
        # the balance to report; a refusal takes no lock, so a drained wallet answers fast.
        balance = TokenWallet.objects.for_org(org).values_list("balance", flat=True).first()
        if balance is not None and balance + delta < 0:
            return _refuse(org, idempotency_key=idempotency_key, delta=delta, reason=reason,
                           balance=balance)
        # No wallet yet, or a credit landed since the UPDATE looked: decide under the row lock.
        wallet = wallet_ensure(org)
        with transaction.atomic():
            balance = TokenWallet.objects.select_for_update(no_key=True).filter(
                pk=wallet.pk).values_list("balance", flat=True).get()
            if balance + delta < 0:
                return _refuse(org, idempotency_key=idempotency_key, delta=delta,
                               reason=reason, balance=balance)
            if not _apply(entry, rearm_alert=rearm_alert):
                raise RuntimeError("The locked wallet covered the change but the UPDATE missed.")
    except IntegrityError:
        # A concurrent call with the same key committed first; ours rolled back entirely.
        found = _replay(org, idempotency_key=idempotency_key, delta=delta, reason=reason)
        if found is None:
            raise
        return found
    return LedgerResult(entry=entry, replayed=False)


def wallet_debit(
    *, org: Organization, amount: int, reason: str = LedgerReason.USAGE, idempotency_key: str,
    action: str = "", reference: str = "", actor: Actor, membership: Membership | None = None,
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
    actor: Actor,
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
    membership: Membership | None = None, actor: Actor,
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
