"""Use cases of sign-in lockout: charging an attempt, giving it back, counting an invalid API
key, and lifting locks from the console.

Why attempts are charged *before* the password is checked
---------------------------------------------------------
django-axes counts a failure after the password check has failed, and decides whether to let
an attempt in by reading that count before the check. Between the read and the write there is
a password hash (tens to hundreds of milliseconds): 200 attempts that arrive together all read
"0 failures" and all run their password check. So the count here is charged first, under a
row lock on each counter (the account's and the client address's, locked in one order so two
attempts never deadlock): an attempt that finds a counter at its limit is refused without a
password check, and one that gets through has already taken its place in the count. A correct
password gives the place back (``sign_in_attempt_release``). Under any concurrency at most the
limit's worth of password checks run per window, not one more.
"""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from flexoraa import services as core_services
from flexoraa.actors import Actor
from flexoraa.errors import NotFound
from flexoraa.lockout import rules, selectors
from flexoraa.lockout.models import Scope, SignInThrottle
from flexoraa.models import Membership, Organization

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    """An attempt's place in the counts: the ``(scope, key)`` counters it was charged to, or
    the lock that refused it."""

    keys: tuple[tuple[str, str], ...]
    lock: rules.Lock | None = None

    @property
    def granted(self) -> bool:
        return self.lock is None


def _locked_rows(keys):
    """The counters of ``keys``, created when missing and locked in (scope, key) order. Call
    inside a transaction."""
    for _ in range(3):
        # ON CONFLICT DO NOTHING: concurrent first attempts all find one row to queue on.
        SignInThrottle.objects.bulk_create(
            [SignInThrottle(scope=scope, key=key) for scope, key in keys], ignore_conflicts=True
        )
        rows = list(
            SignInThrottle.objects.select_for_update()
            .filter(selectors.keys_condition(keys))
            .order_by("scope", "key")
        )
        # The prune job may delete a lapsed row between the insert and the lock; insert again
        # rather than let an attempt through uncounted.
        if len(rows) == len(keys):
            return rows
    raise RuntimeError("Sign-in counters vanished three times in a row.")


def _charge(keys, *, refuse_when_locked: bool) -> Claim:
    keys = tuple(sorted({(scope, key) for scope, key in keys if key}))
    if not keys:
        return Claim(keys=())
    limits = selectors.limits()
    with transaction.atomic():
        rows = _locked_rows(keys)
        # Read the clock once the locks are held, so a count's last attempt never goes back.
        now = timezone.now()
        if refuse_when_locked:
            locks = [lock for row in rows if (lock := rules.lock_of(
                row.scope, row.attempts, row.last_attempt_at, now=now, limits=limits))]
            if locks:
                return Claim(keys=(), lock=max(locks, key=lambda lock: lock.until))
        for row in rows:
            row.attempts = rules.counted_attempts(
                row.attempts, row.last_attempt_at, now=now, window=limits.window
            ) + 1
            row.last_attempt_at = now
        SignInThrottle.objects.bulk_update(rows, ["attempts", "last_attempt_at"])
    return Claim(keys=keys)


def sign_in_attempt_claim(*, username: str | None, address: str | None) -> Claim:
    """Charge one password attempt to the account and to the client address, or refuse it
    (``claim.lock`` says which lock and until when) when either is locked. Run it before the
    password check; see the module's docstring for why."""
    return _charge(
        [(Scope.ACCOUNT, rules.account_key(username)), (Scope.ADDRESS, address)],
        refuse_when_locked=True,
    )


def sign_in_attempt_release(*, claim: Claim) -> None:
    """A correct password. The account's count starts afresh (knowing the password ends its
    run of failures); the address gets back only the one attempt it was charged, so someone
    who signs in to an account of their own does not wipe the count of their guesses at
    other people's."""
    with transaction.atomic():
        for scope, key in claim.keys:
            counters = SignInThrottle.objects.filter(scope=scope, key=key)
            if scope == Scope.ACCOUNT:
                counters.update(attempts=0)
            else:
                counters.update(attempts=Greatest(F("attempts") - 1, 0))


def api_key_failure_record(*, address: str | None) -> rules.Lock | None:
    """Count an invalid API key presented from ``address``; returns the lock when this
    failure reached the limit.

    Unlike a password, a key is checked after the fact: a key check is one SHA-256 of a
    240-bit secret (nothing to gain from a race), and a valid key must not pay a write on
    every API call."""
    if not address:
        return None
    _charge([(Scope.API_KEY_ADDRESS, address)], refuse_when_locked=False)
    return selectors.api_key_address_lock(address)


def sign_in_counters_prune() -> int:
    """Delete the counters whose count has lapsed (one DELETE), so guessed usernames and
    passing addresses do not pile up. Returns how many went."""
    lapsed_before = timezone.now() - selectors.limits().window
    deleted, _ = SignInThrottle.objects.filter(
        Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=lapsed_before)
    ).delete()
    return deleted


def _failure_records_forget(*, usernames=(), addresses=()) -> None:
    # axes' own records of failed password checks (the forensic log) go with the lock, so
    # `manage.py axes_list_attempts` never shows a lock that is no longer there.
    from axes.models import AccessAttempt

    for username in usernames:
        AccessAttempt.objects.filter(username__iexact=username).delete()
    if addresses:
        AccessAttempt.objects.filter(ip_address__in=list(addresses)).delete()


def member_sign_in_unlock(*, org: Organization, membership: Membership, actor: Actor) -> int:
    """A manager or owner of ``org`` lets one of its members sign in again now. Lifts the
    account's lock only: a client address is shared with people outside the tenant, so its
    lock is the platform's to lift (``sign_in_locks_lift``). Returns how many counters were
    cleared. Raises ``NotFound`` when the membership is not of ``org``."""
    if membership.organization_id != org.pk:
        raise NotFound("No such member in your organization.")
    key = rules.account_key(membership.user.get_username())
    with transaction.atomic():
        cleared, _ = SignInThrottle.objects.filter(scope=Scope.ACCOUNT, key=key).delete()
        _failure_records_forget(usernames=[key])
        core_services.audit_event_record(
            org=org, actor=actor, action="member.sign_in_unlocked", target=membership,
            data={"user_id": membership.user_id},
        )
    return cleared


def sign_in_locks_lift(*, throttle_ids, actor: Actor) -> int:
    """A platform superuser lifts any locks: accounts, and client addresses for sign-in or
    API keys. Returns how many counters were cleared."""
    with transaction.atomic():
        throttles = list(SignInThrottle.objects.select_for_update().filter(pk__in=throttle_ids))
        _failure_records_forget(
            usernames=[t.key for t in throttles if t.scope == Scope.ACCOUNT],
            addresses=[t.key for t in throttles if t.scope == Scope.ADDRESS],
        )
        cleared, _ = SignInThrottle.objects.filter(pk__in=[t.pk for t in throttles]).delete()
    logger.info("sign-in locks lifted", extra={
        "actor": actor.label, "throttle_ids": sorted(t.pk for t in throttles),
    })
    return cleared
