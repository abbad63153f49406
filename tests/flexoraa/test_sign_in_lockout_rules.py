"""The pure rules of sign-in lockout and of the client address (no database)."""

from datetime import UTC, datetime, timedelta

import pytest

from flexoraa.client_address import client_address_from
from flexoraa.lockout import rules
from flexoraa.lockout.models import Scope

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
LIMITS = rules.Limits(account=5, address=20, api_key_address=20, window=timedelta(minutes=15))


@pytest.mark.parametrize(("meta", "proxies", "expected"), [
    ({"REMOTE_ADDR": "203.0.113.5"}, 0, "203.0.113.5"),
    # Without a trusted proxy, X-Forwarded-For is the client's own writing.
    ({"REMOTE_ADDR": "203.0.113.5", "HTTP_X_FORWARDED_FOR": "10.0.0.1"}, 0, "203.0.113.5"),
    # One proxy: the entry it appended, whatever the client wrote to its left.
    ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 198.51.100.9"}, 1,
     "198.51.100.9"),
    ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.9"}, 1, "198.51.100.9"),
    # Two proxies: the load balancer appended the client, nginx appended the balancer.
    ({"REMOTE_ADDR": "10.0.0.3", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.9, 10.0.0.2"}, 2,
     "198.51.100.9"),
    # Fewer hops than proxies configured: the leftmost there is.
    ({"REMOTE_ADDR": "10.0.0.3"}, 2, "10.0.0.3"),
    # Not an address where one must be: the connection's own address.
    ({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "not-an-ip"}, 1, "10.0.0.2"),
    ({"REMOTE_ADDR": "2001:db8::1"}, 0, "2001:db8::1"),
    ({}, 0, None),
])
def test_the_client_address_is_the_one_the_trusted_proxies_vouch_for(meta, proxies, expected):
    assert client_address_from(meta, proxies) == expected


def test_a_count_lapses_once_the_window_after_its_last_attempt_has_passed():
    window = LIMITS.window
    assert rules.counted_attempts(4, NOW - window + timedelta(seconds=1), now=NOW,
                                  window=window) == 4
    assert rules.counted_attempts(4, NOW - window, now=NOW, window=window) == 0
    assert rules.counted_attempts(4, None, now=NOW, window=window) == 0


def test_a_counter_locks_at_its_scopes_limit_until_the_window_after_its_last_attempt():
    last = NOW - timedelta(minutes=5)
    assert rules.lock_of(Scope.ACCOUNT, 4, last, now=NOW, limits=LIMITS) is None
    lock = rules.lock_of(Scope.ACCOUNT, 5, last, now=NOW, limits=LIMITS)
    assert lock == rules.Lock(scope=Scope.ACCOUNT, until=last + LIMITS.window)
    assert lock.seconds_left(NOW) == 10 * 60
    assert rules.lock_of(Scope.ADDRESS, 19, last, now=NOW, limits=LIMITS) is None
    assert rules.lock_of(Scope.ADDRESS, 20, last, now=NOW, limits=LIMITS) is not None


def test_usernames_share_one_count_whatever_their_case():
    assert rules.account_key(" Alice ") == rules.account_key("ALICE") == "alice"
    assert rules.account_key("") is None
    assert rules.account_key(None) is None
    assert len(rules.account_key("x" * 10_000)) == rules.KEY_MAX_LENGTH


@pytest.mark.parametrize(("delta", "text"), [
    (timedelta(minutes=15), "15 minutes"),
    (timedelta(seconds=61), "2 minutes"),
    (timedelta(seconds=1), "1 minute"),
    (timedelta(0), "1 minute"),
    (timedelta(hours=1), "1 hour"),
    (timedelta(minutes=90), "1 hour 30 minutes"),
    (timedelta(hours=2, minutes=1), "2 hours 1 minute"),
])
def test_how_long_a_lock_lasts_reads_in_whole_minutes_rounded_up(delta, text):
    assert rules.duration_text(delta) == text
