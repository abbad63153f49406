"""Pure rules of sign-in lockout (no ORM): whose count an attempt goes to, when a count
still holds, and how long a lock lasts."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flexoraa.lockout.models import Scope

KEY_MAX_LENGTH = 255


@dataclass(frozen=True)
class Limits:
    """How many counted attempts lock each scope, and for how long after the last one."""

    account: int
    address: int
    api_key_address: int
    window: timedelta

    def for_scope(self, scope: str) -> int:
        return {
            Scope.ACCOUNT: self.account,
            Scope.ADDRESS: self.address,
            Scope.API_KEY_ADDRESS: self.api_key_address,
        }[scope]


@dataclass(frozen=True)
class Lock:
    """Why an attempt is refused, and until when."""

    scope: str
    until: datetime

    def seconds_left(self, now: datetime) -> int:
        return max(1, int((self.until - now).total_seconds() + 0.999))


def account_key(username: str | None) -> str | None:
    """Usernames are unique regardless of case, so "Alice" and "alice" share one count: an
    attacker gains no fresh attempts by changing case."""
    if username is None:
        return None
    key = str(username).strip().lower()[:KEY_MAX_LENGTH]
    return key or None


def counted_attempts(attempts: int, last_attempt_at: datetime | None, *, now: datetime,
                     window: timedelta) -> int:
    """A count lapses ``window`` after its last attempt; until then every attempt counts."""
    if last_attempt_at is None or last_attempt_at <= now - window:
        return 0
    return attempts


def lock_of(scope: str, attempts: int, last_attempt_at: datetime | None, *, now: datetime,
            limits: Limits) -> Lock | None:
    """The lock a counter holds now, or None when it still lets an attempt through."""
    if counted_attempts(attempts, last_attempt_at, now=now, window=limits.window) < (
        limits.for_scope(scope)
    ):
        return None
    return Lock(scope=scope, until=last_attempt_at + limits.window)


def duration_text(delta: timedelta) -> str:
    """ "15 minutes", "1 hour", "1 hour 30 minutes": whole minutes, rounded up."""
    minutes = max(1, int((delta.total_seconds() + 59) // 60))
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)
