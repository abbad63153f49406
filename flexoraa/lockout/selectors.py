"""Reads of sign-in lockout shared by the login backend, the API key check and the console."""

from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from flexoraa.lockout import rules
from flexoraa.lockout.models import Scope, SignInThrottle
from flexoraa.models import Membership, Organization


def limits() -> rules.Limits:
    return rules.Limits(
        account=settings.SIGN_IN_FAILURE_LIMIT,
        address=settings.SIGN_IN_ADDRESS_FAILURE_LIMIT,
        api_key_address=settings.API_KEY_ADDRESS_FAILURE_LIMIT,
        window=settings.SIGN_IN_LOCKOUT_DURATION,
    )


def keys_condition(keys) -> Q:
    condition = Q(pk__in=[])
    for scope, key in keys:
        condition |= Q(scope=scope, key=key)
    return condition


def lock_for_keys(keys, *, now: datetime | None = None) -> rules.Lock | None:
    """The lock that lasts longest among ``(scope, key)`` counters, or None."""
    keys = [(scope, key) for scope, key in keys if key]
    if not keys:
        return None
    now = now or timezone.now()
    current = limits()
    locks = [
        lock for row in SignInThrottle.objects.filter(keys_condition(keys))
        if (lock := rules.lock_of(row.scope, row.attempts, row.last_attempt_at, now=now,
                                  limits=current))
    ]
    return max(locks, key=lambda lock: lock.until, default=None)


def sign_in_lock(*, username: str | None, address: str | None,
                 now: datetime | None = None) -> rules.Lock | None:
    """Whether a password sign-in for ``username`` from ``address`` is refused now."""
    return lock_for_keys(
        [(Scope.ACCOUNT, rules.account_key(username)), (Scope.ADDRESS, address)], now=now
    )


def api_key_address_lock(address: str | None, *, now: datetime | None = None):
    return lock_for_keys([(Scope.API_KEY_ADDRESS, address)], now=now)


def account_attempts(username: str | None, *, now: datetime | None = None) -> int:
    key = rules.account_key(username)
    if key is None:
        return 0
    row = SignInThrottle.objects.filter(scope=Scope.ACCOUNT, key=key).first()
    if row is None:
        return 0
    return rules.counted_attempts(row.attempts, row.last_attempt_at, now=now or timezone.now(),
                                  window=limits().window)


def throttles_current(*, now: datetime | None = None):
    """Counters whose attempts still count: every lock in force, and the runs of failures that
    have not reached one yet."""
    now = now or timezone.now()
    return SignInThrottle.objects.filter(
        last_attempt_at__gt=now - limits().window, attempts__gt=0
    )


def member_usernames(org: Organization):
    """The tenant's members' usernames as their account counters are keyed."""
    return Membership.objects.for_org(org).annotate(
        account_key=Lower("user__username")
    ).values("account_key")


def throttles_current_for_members(org: Organization, *, now: datetime | None = None):
    """What a manager may see: the account counters of their own tenant's members, never a
    client address (personal data, and shared by people of other tenants)."""
    return throttles_current(now=now).filter(scope=Scope.ACCOUNT,
                                             key__in=member_usernames(org))


def membership_for_account_key(org: Organization, key: str) -> Membership | None:
    return Membership.objects.for_org(org).annotate(
        account_key=Lower("user__username")
    ).filter(account_key=key).select_related("user").first()
