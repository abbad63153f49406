"""Sign-in lockout: the app's login, the console's login and API keys are locked after
repeated failures per account and per client address, with a clear answer and an unlock in
the console (flexoraa/lockout)."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from flexoraa.lockout.models import Scope, SignInThrottle
from flexoraa.models import AuditEvent, Role
from tests.factories import UserFactory, make_membership
from tests.support import PASSWORD, assert_error_shape

pytestmark = pytest.mark.django_db

LIMIT = 5  # SIGN_IN_FAILURE_LIMIT's default
ADDRESS_LIMIT = 20
API_KEY_ADDRESS_LIMIT = 20
WRONG_PASSWORD = "not-the-password"


def post_login(client, username, password=WRONG_PASSWORD, path="/login/", **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def fail_times(client, username, times, **extra):
    return [post_login(client, username, **extra) for _ in range(times)]


@pytest.fixture
def password_checks(monkeypatch):
    """How many passwords were actually checked against a stored hash."""
    checks = []
    original = AbstractBaseUser.check_password

    def counted(user, raw_password):
        checks.append(user.pk)
        return original(user, raw_password)

    monkeypatch.setattr(AbstractBaseUser, "check_password", counted)
    return checks


def test_an_account_is_locked_after_five_wrong_passwords_and_the_page_says_how_long(sdr):
    client = Client()
    responses = fail_times(client, sdr.user.username, LIMIT)

    assert [r.status_code for r in responses[:-1]] == [200] * (LIMIT - 1)
    locked = responses[-1]
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Sign-in paused for this account" in page
    assert "15 minutes" in page
    assert "ask a manager or owner of your organization to unlock your account" in page.lower()
    assert int(locked["Retry-After"]) == 15 * 60


def test_a_locked_account_refuses_the_right_password_without_checking_it(sdr, password_checks):
    client = Client()
    fail_times(client, sdr.user.username, LIMIT)
    assert len(password_checks) == LIMIT

    response = post_login(client, sdr.user.username, PASSWORD)

    assert response.status_code == 429
    assert len(password_checks) == LIMIT
    assert "_auth_user_id" not in client.session


def test_an_account_locked_from_one_address_is_locked_from_every_address(sdr):
    fail_times(Client(), sdr.user.username, LIMIT, REMOTE_ADDR="198.51.100.1")

    response = post_login(Client(), sdr.user.username, PASSWORD, REMOTE_ADDR="203.0.113.50")

    assert response.status_code == 429
    assert "Sign-in paused for this account" in response.content.decode()


def test_an_account_is_locked_whatever_the_case_of_the_username_typed(sdr):
    username = sdr.user.username
    for variant in (username.upper(), username.title(), username, username.upper(), username):
        post_login(Client(), variant)

    assert post_login(Client(), username, PASSWORD).status_code == 429


def test_the_console_login_is_locked_after_five_wrong_passwords(manager):
    client = Client()
    responses = fail_times(client, manager.user.username, LIMIT, path="/admin/login/")

    assert responses[-1].status_code == 429
    assert "Sign-in paused for this account" in responses[-1].content.decode()
    assert 'href="/admin/login/"' in responses[-1].content.decode()
    assert post_login(client, manager.user.username, PASSWORD,
                      path="/admin/login/").status_code == 429


def test_a_client_address_is_locked_after_twenty_wrong_passwords_across_accounts(org):
    people = [make_membership(org) for _ in range(3)]
    client = Client(REMOTE_ADDR="198.51.100.7")
    for attempt in range(ADDRESS_LIMIT - 1):
        assert post_login(client, f"guess{attempt}").status_code == 200

    locked = post_login(client, "guess-last")

    assert locked.status_code == 429
    assert "Sign-in paused from your network" in locked.content.decode()
    # Every account is shut out from that address, even with the right password …
    assert post_login(client, people[0].user.username, PASSWORD).status_code == 429
    # … and reachable from any other.
    other = Client(REMOTE_ADDR="203.0.113.8")
    assert post_login(other, people[0].user.username, PASSWORD).status_code == 302


def test_a_correct_password_clears_the_accounts_count_but_not_the_addresss(sdr):
    client = Client(REMOTE_ADDR="198.51.100.9")
    fail_times(client, sdr.user.username, LIMIT - 1)
    assert post_login(client, sdr.user.username, PASSWORD).status_code == 302

    account = SignInThrottle.objects.get(scope=Scope.ACCOUNT, key=sdr.user.username.lower())
    address = SignInThrottle.objects.get(scope=Scope.ADDRESS, key="198.51.100.9")
    assert account.attempts == 0
    # The four failures stay on the address; the successful attempt was given back.
    assert address.attempts == LIMIT - 1
    assert post_login(Client(), sdr.user.username, PASSWORD).status_code == 302


def test_a_lock_lapses_fifteen_minutes_after_the_last_counted_attempt(sdr):
    fail_times(Client(), sdr.user.username, LIMIT)
    assert post_login(Client(), sdr.user.username, PASSWORD).status_code == 429

    SignInThrottle.objects.update(last_attempt_at=timezone.now() - timedelta(minutes=15, seconds=1))

    assert post_login(Client(), sdr.user.username, PASSWORD).status_code == 302


def test_refused_attempts_do_not_push_the_lock_further_out(sdr):
    fail_times(Client(), sdr.user.username, LIMIT)
    counter = SignInThrottle.objects.get(scope=Scope.ACCOUNT)
    fail_times(Client(), sdr.user.username, 3)

    assert SignInThrottle.objects.get(pk=counter.pk).last_attempt_at == counter.last_attempt_at
    assert SignInThrottle.objects.get(pk=counter.pk).attempts == LIMIT


def test_axes_records_each_failed_password_check_without_the_password(sdr):
    fail_times(Client(), sdr.user.username, 2)

    record = AccessAttempt.objects.get()
    assert record.failures_since_start == 2
    assert WRONG_PASSWORD not in record.post_data


def test_the_limits_come_from_the_settings(sdr, settings):
    settings.SIGN_IN_FAILURE_LIMIT = 2
    responses = fail_times(Client(), sdr.user.username, 2)
    assert [r.status_code for r in responses] == [200, 429]


def test_a_client_that_asks_for_json_gets_the_lock_in_the_error_shape(sdr):
    fail_times(Client(), sdr.user.username, LIMIT)

    response = post_login(Client(), sdr.user.username, PASSWORD,
                          HTTP_X_REQUESTED_WITH="XMLHttpRequest")

    error = assert_error_shape(response, 429, "sign_in_locked")
    assert "15 minutes" in error["message"]
    assert response["Retry-After"]


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(sdr):
    for attempt in range(ADDRESS_LIMIT):
        post_login(Client(), f"guess{attempt}", REMOTE_ADDR="198.51.100.20",
                   HTTP_X_FORWARDED_FOR=f"10.0.{attempt}.1")

    assert SignInThrottle.objects.filter(scope=Scope.ADDRESS).get().key == "198.51.100.20"
    response = post_login(Client(), sdr.user.username, PASSWORD, REMOTE_ADDR="198.51.100.20",
                          HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert response.status_code == 429


def test_behind_a_trusted_proxy_the_client_address_is_counted_not_the_proxys(sdr, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for attempt in range(ADDRESS_LIMIT):
        # What the client wrote itself (left of the proxy's entry) changes every time.
        post_login(Client(), f"guess{attempt}", **proxy,
                   HTTP_X_FORWARDED_FOR=f"192.0.2.{attempt}, 198.51.100.30")

    assert SignInThrottle.objects.get(scope=Scope.ADDRESS).key == "198.51.100.30"
    locked = post_login(Client(), sdr.user.username, PASSWORD, **proxy,
                        HTTP_X_FORWARDED_FOR="198.51.100.30")
    assert locked.status_code == 429
    other = post_login(Client(), sdr.user.username, PASSWORD, **proxy,
                       HTTP_X_FORWARDED_FOR="198.51.100.31")
    assert other.status_code == 302


def test_a_login_without_a_request_still_counts_against_the_account(sdr):
    client = Client()
    for _ in range(LIMIT):
        assert client.login(username=sdr.user.username, password=WRONG_PASSWORD) is False

    assert client.login(username=sdr.user.username, password=PASSWORD) is False


def test_axes_reset_username_lifts_the_accounts_lock(sdr):
    fail_times(Client(), sdr.user.username, LIMIT)

    call_command("axes_reset_username", sdr.user.username)

    assert post_login(Client(), sdr.user.username, PASSWORD).status_code == 302


# --- The console's unlock --------------------------------------------------------------------

LOCKS = "/admin/lockout/signinthrottle/"


def unlock(client, throttles):
    return client.post(LOCKS, {"action": "unlock_sign_in",
                               "_selected_action": [t.pk for t in throttles]}, follow=True)


def test_a_manager_unlocks_a_member_of_their_tenant_and_the_audit_log_records_it(
    org, manager, sdr, login_client
):
    fail_times(Client(), sdr.user.username, LIMIT)
    console = login_client(manager)
    page = console.get(LOCKS)
    assert sdr.user.username in page.content.decode()

    response = unlock(console, SignInThrottle.objects.filter(scope=Scope.ACCOUNT))

    assert f"Unlocked: {sdr.user.username.lower()}" in response.content.decode()
    assert not SignInThrottle.objects.filter(scope=Scope.ACCOUNT).exists()
    event = AuditEvent.objects.for_org(org).get(action="member.sign_in_unlocked")
    assert event.actor_user_id == manager.user_id
    assert event.target_id == str(sdr.pk)
    assert post_login(Client(), sdr.user.username, PASSWORD).status_code == 302


def test_a_manager_never_sees_or_unlocks_another_tenants_member_or_an_address(
    org, other_org, manager, login_client
):
    outsider = make_membership(other_org, user=UserFactory(username="outsider-olga"))
    fail_times(Client(REMOTE_ADDR="198.51.100.40"), outsider.user.username, LIMIT)
    console = login_client(manager)

    page = console.get(LOCKS).content.decode()
    assert "outsider-olga" not in page
    assert "198.51.100.40" not in page

    unlock(console, SignInThrottle.objects.all())
    assert SignInThrottle.objects.filter(scope=Scope.ACCOUNT, key="outsider-olga").exists()
    assert SignInThrottle.objects.filter(scope=Scope.ADDRESS, key="198.51.100.40").exists()
    assert post_login(Client(), "outsider-olga", PASSWORD).status_code == 429


def test_a_sales_rep_has_no_sign_in_locks_page(sdr, login_client):
    assert login_client(sdr).get(LOCKS).status_code in {302, 403}


def test_a_superuser_lifts_a_client_addresss_lock(org):
    superuser = UserFactory(is_superuser=True, is_staff=True)
    for attempt in range(ADDRESS_LIMIT):
        post_login(Client(REMOTE_ADDR="198.51.100.50"), f"guess{attempt}")
    console = Client()
    console.force_login(superuser)
    assert "198.51.100.50" in console.get(LOCKS).content.decode()

    unlock(console, SignInThrottle.objects.filter(scope=Scope.ADDRESS))

    person = make_membership(org)
    assert post_login(Client(REMOTE_ADDR="198.51.100.50"), person.user.username,
                      PASSWORD).status_code == 302


# --- API keys --------------------------------------------------------------------------------


def bearer(raw_key, address="198.51.100.60"):
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def test_an_address_is_refused_with_429_after_twenty_invalid_api_keys(api_key):
    _key, raw_key = api_key
    for attempt in range(API_KEY_ADDRESS_LIMIT):
        response = bearer(f"flx_{attempt:08d}_guess").get("/api/me/")
        assert_error_shape(response, 401, "authentication_failed")

    refused = bearer("flx_00000099_guess").get("/api/me/")

    error = assert_error_shape(refused, 429, "throttled")
    assert "15 minutes" in error["message"]
    assert 0 < int(refused["Retry-After"]) <= 15 * 60
    # A valid key from that address waits too (checking it would let the guessing go on) …
    assert_error_shape(bearer(raw_key).get("/api/me/"), 429, "throttled")
    # … and works from anywhere else.
    assert bearer(raw_key, address="203.0.113.61").get("/api/me/").status_code == 200


def test_a_valid_api_key_does_not_add_to_its_addresss_count(api_key):
    for _ in range(API_KEY_ADDRESS_LIMIT + 5):
        assert bearer(api_key[1]).get("/api/me/").status_code == 200
    assert not SignInThrottle.objects.filter(scope=Scope.API_KEY_ADDRESS, attempts__gt=0).exists()


def test_invalid_api_keys_and_wrong_passwords_have_separate_counts(api_key, sdr):
    for attempt in range(API_KEY_ADDRESS_LIMIT):
        bearer(f"flx_{attempt:08d}_guess", address="198.51.100.70").get("/api/me/")

    response = post_login(Client(REMOTE_ADDR="198.51.100.70"), sdr.user.username, PASSWORD)
    assert response.status_code == 302


def test_sign_in_locks_are_not_kept_for_people_who_never_failed(sdr):
    client = Client()
    assert post_login(client, sdr.user.username, PASSWORD).status_code == 302
    assert SignInThrottle.objects.filter(attempts__gt=0).count() == 0
    assert not AccessAttempt.objects.exists()


def test_a_signed_in_manager_role_has_the_lock_page_in_the_console_index(manager, login_client):
    assert manager.role == Role.MANAGER
    assert LOCKS in login_client(manager).get("/admin/").content.decode()


# --- Housekeeping ----------------------------------------------------------------------------


def test_the_hourly_prune_deletes_lapsed_counts_and_keeps_live_ones(org, sdr, celery_eager):
    from flexoraa.lockout.tasks import counters_prune

    fail_times(Client(REMOTE_ADDR="198.51.100.80"), "someone-else", 2)
    fail_times(Client(REMOTE_ADDR="198.51.100.81"), sdr.user.username, LIMIT)
    SignInThrottle.objects.filter(key__in=["someone-else", "198.51.100.80"]).update(
        last_attempt_at=timezone.now() - timedelta(minutes=16)
    )

    assert counters_prune.delay().get() == {"deleted": 2}

    assert set(SignInThrottle.objects.values_list("key", flat=True)) == {
        sdr.user.username.lower(), "198.51.100.81"
    }
    assert post_login(Client(), sdr.user.username, PASSWORD).status_code == 429


def test_a_count_pruned_between_insert_and_lock_is_inserted_again(sdr, monkeypatch):
    from flexoraa.lockout import services

    original = SignInThrottle.objects.bulk_create
    calls = []

    def insert_then_lose_the_row(objs, **kwargs):
        result = original(objs, **kwargs)
        calls.append(len(objs))
        if len(calls) == 1:  # the prune job strikes once, right after the first insert
            SignInThrottle.objects.filter(scope=Scope.ACCOUNT).delete()
        return result

    monkeypatch.setattr(SignInThrottle.objects, "bulk_create", insert_then_lose_the_row)
    claim = services.sign_in_attempt_claim(username=sdr.user.username, address="198.51.100.90")

    assert len(calls) == 2
    assert claim.granted and len(claim.keys) == 2
    assert SignInThrottle.objects.get(scope=Scope.ACCOUNT).attempts == 1
