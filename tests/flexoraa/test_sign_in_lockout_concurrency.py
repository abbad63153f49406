"""Sign-in lockout under concurrent attempts, on PostgreSQL: real threads, each on its own
database connection, all released at once by a barrier.

200 wrong attempts arrive together. Each is a whole login request (middleware, form, the
backend's count, the password check, axes' record). What is counted is password hashes
computed (a check against a stored hash, or the equal-cost hash Django runs for an unknown
username), so a refused attempt that still hashed would show.

The server allows 100 connections and other test runs share it, so at most
``DATABASE_CONNECTIONS`` attempts hold a connection at one moment; the rest queue for one,
as behind a connection pool. Each attempt keeps its connection from its count to its
password check, which is exactly the window a check-then-count lockout leaves open.
"""

import threading

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connections
from django.test import Client

from flexoraa.lockout.models import Scope, SignInThrottle
from tests.factories import make_membership
from tests.support import errors_of, needs_postgres, run_together

pytestmark = [needs_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ATTEMPTS = 200
DATABASE_CONNECTIONS = 40
ACCOUNT_LIMIT = 5  # SIGN_IN_FAILURE_LIMIT's default
ADDRESS_LIMIT = 20  # SIGN_IN_ADDRESS_FAILURE_LIMIT's default
WRONG_PASSWORD = "not-the-password"


@pytest.fixture
def password_hashes(monkeypatch):
    """Every password hash computed, from any thread (tests hash with MD5: conftest)."""
    hashes = []
    original = MD5PasswordHasher.encode

    def counted(hasher, password, salt):
        hashes.append(1)  # list.append is atomic: threads may count at once
        return original(hasher, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counted)
    return hashes


def attempts_together(username_of, address_of):
    connection_slots = threading.BoundedSemaphore(DATABASE_CONNECTIONS)

    def attempt(index):
        with connection_slots:
            try:
                response = Client(REMOTE_ADDR=address_of(index)).post(
                    "/login/", {"username": username_of(index), "password": WRONG_PASSWORD}
                )
                return response.status_code
            finally:
                connections.close_all()

    outcomes = run_together(ATTEMPTS, attempt)
    assert errors_of(outcomes) == []
    return outcomes


def test_two_hundred_concurrent_wrong_passwords_for_one_account_are_locked_after_five_checks(
    org, password_hashes
):
    person = make_membership(org)
    before = len(password_hashes)

    statuses = attempts_together(lambda index: person.user.username,
                                 lambda index: f"198.51.{index // 200}.{index % 200 + 1}")

    checks = len(password_hashes) - before
    print(f"\n{ATTEMPTS} concurrent wrong passwords for one account: {checks} password checks "
          f"(limit {ACCOUNT_LIMIT}, {checks - ACCOUNT_LIMIT} past it)")
    assert checks == ACCOUNT_LIMIT
    assert statuses.count(429) >= ATTEMPTS - ACCOUNT_LIMIT
    assert set(statuses) <= {200, 429}
    counter = SignInThrottle.objects.get(scope=Scope.ACCOUNT)
    assert counter.attempts == ACCOUNT_LIMIT


def test_two_hundred_concurrent_wrong_passwords_from_one_address_are_locked_after_twenty_checks(
    org, password_hashes
):
    before = len(password_hashes)

    statuses = attempts_together(lambda index: f"guess{index}", lambda index: "203.0.113.77")

    checks = len(password_hashes) - before
    print(f"\n{ATTEMPTS} concurrent wrong passwords from one address: {checks} password checks "
          f"(limit {ADDRESS_LIMIT}, {checks - ADDRESS_LIMIT} past it)")
    assert checks == ADDRESS_LIMIT
    assert statuses.count(429) >= ATTEMPTS - ADDRESS_LIMIT
    assert SignInThrottle.objects.get(scope=Scope.ADDRESS).attempts == ADDRESS_LIMIT
