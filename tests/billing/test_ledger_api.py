"""The token ledger API: the ledger and balance for managers and integrations, and debits for
AI actions (201, a replay 200 with the first entry, 402 with balance and shortfall)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from billing import services
from billing.models import ActionPrice, AiAction, LedgerReason, TokenLedgerEntry, TokenWallet
from flexoraa.models import Role
from tests.factories import SETUP_ACTOR, make_membership
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db

LEDGER = "/api/token-ledger/"
BALANCE = "/api/token-ledger/balance/"
DEBIT = "/api/token-ledger/debit/"
ENTRY_FIELDS = {"id", "delta", "balance_after", "reason", "action", "reference",
                "idempotency_key", "actor_user", "actor_api_key", "membership", "created_at"}


def fund(org, amount, key="fund"):
    return services.wallet_credit(org=org, amount=amount, reason=LedgerReason.PURCHASE,
                                  idempotency_key=key, actor=SETUP_ACTOR).entry


def signed_in(membership) -> APIClient:
    client = APIClient()
    client.force_login(membership.user)
    return client


def reply(key, units=1, **extra):
    return {"action": AiAction.REPLY, "units": units, "idempotency_key": key, **extra}


# --- reading ------------------------------------------------------------------------------

def test_managers_and_integrations_read_their_own_ledger_newest_first(
    org, other_org, manager_client, key_client
):
    fund(org, 1000)
    services.wallet_debit(org=org, amount=5, idempotency_key="d1", action=AiAction.REPLY,
                          actor=SETUP_ACTOR)
    services.wallet_debit(org=org, amount=1, idempotency_key="d2", actor=SETUP_ACTOR)
    fund(other_org, 777)

    for client in (manager_client, key_client):
        response = client.get(LEDGER)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["count"] == 3
        rows = body["results"]
        assert [row["delta"] for row in rows] == [-1, -5, 1000]
        assert [row["balance_after"] for row in rows] == [994, 995, 1000]
        assert set(rows[0]) == ENTRY_FIELDS
        assert rows[1]["action"] == AiAction.REPLY and rows[1]["idempotency_key"] == "d1"


def test_an_owner_reads_the_ledger_too(org):
    fund(org, 10)
    response = signed_in(make_membership(org, role=Role.OWNER)).get(LEDGER)
    assert response.status_code == 200 and response.json()["count"] == 1


def test_the_ledger_filters_by_reason_and_action(org, key_client):
    fund(org, 1000)
    services.ai_action_charge(org=org, action=AiAction.REPLY, idempotency_key="r",
                              actor=SETUP_ACTOR)
    services.ai_action_charge(org=org, action=AiAction.CLASSIFICATION, idempotency_key="c",
                              actor=SETUP_ACTOR)

    usage = key_client.get(LEDGER, {"reason": "usage"}).json()["results"]
    replies = key_client.get(LEDGER, {"action": "reply"}).json()["results"]

    assert [row["idempotency_key"] for row in usage] == ["c", "r"]
    assert [row["idempotency_key"] for row in replies] == ["r"]


def test_the_ledger_page_costs_the_same_queries_for_5_and_for_50_entries(
    org, key_client, django_assert_num_queries
):
    fund(org, 10_000)
    for index in range(4):
        services.wallet_debit(org=org, amount=1, idempotency_key=f"a{index}", actor=SETUP_ACTOR)
    key_client.get(LEDGER)  # the key's first use records last_used_at once
    with CaptureQueriesContext(connection) as captured:
        assert key_client.get(LEDGER).status_code == 200
    small = len(captured)
    for index in range(45):
        services.wallet_debit(org=org, amount=1, idempotency_key=f"b{index}", actor=SETUP_ACTOR)
    with django_assert_num_queries(small):
        assert key_client.get(LEDGER).json()["count"] == 50


def test_an_sdr_may_not_read_the_ledger_or_the_balance_or_debit(org, sdr):
    fund(org, 100)
    client = signed_in(sdr)
    for response in (client.get(LEDGER), client.get(BALANCE), client.post(DEBIT, reply("k"),
                                                                            format="json")):
        assert_error_shape(response, 403, "permission_denied")
    assert TokenWallet.objects.for_org(org).get().balance == 100


def test_without_credentials_the_ledger_is_refused(org):
    fund(org, 100)
    assert_error_shape(APIClient().get(LEDGER), 401, "not_authenticated")
    assert_error_shape(APIClient().post(DEBIT, reply("k"), format="json"), 401,
                       "not_authenticated")


def test_another_tenants_entry_is_not_found_like_one_that_does_not_exist(
    org, other_org, key_client
):
    own = fund(org, 10)
    theirs = fund(other_org, 10)

    assert key_client.get(f"{LEDGER}{own.pk}/").json()["id"] == own.pk
    missing = key_client.get(f"{LEDGER}{theirs.pk + 1000}/")
    foreign = key_client.get(f"{LEDGER}{theirs.pk}/")

    assert assert_error_shape(foreign, 404, "not_found") == assert_error_shape(
        missing, 404, "not_found")


def test_the_ledger_is_read_only(org, key_client):
    entry = fund(org, 10)
    for response in (key_client.post(LEDGER, {"delta": 5}, format="json"),
                     key_client.patch(f"{LEDGER}{entry.pk}/", {"delta": 5}, format="json"),
                     key_client.delete(f"{LEDGER}{entry.pk}/")):
        assert_error_shape(response, 405, "method_not_allowed")


# --- the balance --------------------------------------------------------------------------

def test_the_balance_of_a_tenant_that_never_bought_tokens_is_zero_and_low(org, key_client):
    response = key_client.get(BALANCE)
    assert response.status_code == 200
    assert response.json() == {"balance": 0, "low_balance_threshold": 1000, "is_low": True}
    assert not TokenWallet.objects.for_org(org).exists()  # reading creates nothing


def test_the_balance_follows_the_wallet(org, manager_client):
    fund(org, 5000)
    services.wallet_threshold_update(org=org, threshold=200, actor=SETUP_ACTOR)
    assert manager_client.get(BALANCE).json() == {
        "balance": 5000, "low_balance_threshold": 200, "is_low": False}


# --- debits -------------------------------------------------------------------------------

def test_a_debit_is_201_a_replay_200_with_the_same_entry_and_a_short_wallet_402(
    org, api_key, key_client
):
    fund(org, 12)

    created = key_client.post(DEBIT, reply("msg-1:reply", units=2, reference="msg-1"),
                              format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["replayed"] is False and body["balance"] == 2
    entry = body["entry"]
    assert (entry["delta"], entry["balance_after"], entry["reason"], entry["action"]) == (
        -10, 2, "usage", "reply")
    assert (entry["reference"], entry["idempotency_key"]) == ("msg-1", "msg-1:reply")
    assert (entry["actor_api_key"], entry["actor_user"]) == (api_key[0].pk, None)

    replayed = key_client.post(DEBIT, reply("msg-1:reply", units=2, reference="msg-1"),
                               format="json")
    assert replayed.status_code == 200, replayed.content
    assert replayed.json() == {**body, "replayed": True}

    short = key_client.post(DEBIT, reply("msg-2:reply"), format="json")
    error = assert_error_shape(short, 402, "insufficient_tokens")
    assert (error["balance"], error["needed"], error["shortfall"]) == (2, 5, 3)
    assert set(error) == {"code", "message", "fields", "balance", "needed", "shortfall"}
    assert "3" in error["message"]

    assert key_client.get(BALANCE).json()["balance"] == 2
    assert TokenLedgerEntry.objects.for_org(org).count() == 2


def test_a_debit_charges_the_tenants_own_price_and_records_the_signed_in_manager(
    org, manager, manager_client
):
    fund(org, 100)
    ActionPrice.objects.create(organization=org, action=AiAction.REPLY, tokens=7)

    response = manager_client.post(DEBIT, reply("k", units=3), format="json")

    assert response.status_code == 201, response.content
    entry = response.json()["entry"]
    assert (entry["delta"], entry["actor_user"], entry["actor_api_key"]) == (
        -21, manager.user_id, None)


def test_a_free_action_answers_200_with_no_entry(org, key_client):
    fund(org, 100)
    ActionPrice.objects.create(organization=org, action=AiAction.CLASSIFICATION, tokens=0)
    response = key_client.post(DEBIT, {"action": "classification", "idempotency_key": "c"},
                               format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"replayed": False, "entry": None, "balance": 100}
    assert TokenLedgerEntry.objects.for_org(org).count() == 1


def test_a_key_reused_for_different_units_is_a_409_and_charges_nothing(org, key_client):
    fund(org, 100)
    assert key_client.post(DEBIT, reply("k", units=1), format="json").status_code == 201
    assert_error_shape(key_client.post(DEBIT, reply("k", units=2), format="json"), 409,
                       "idempotency_key_reused")
    assert TokenWallet.objects.for_org(org).get().balance == 95


@pytest.mark.parametrize(("body", "field"), [
    ({"action": "dance", "idempotency_key": "k"}, "action"),
    ({"idempotency_key": "k"}, "action"),
    ({"action": "reply"}, "idempotency_key"),
    ({"action": "reply", "idempotency_key": ""}, "idempotency_key"),
    ({"action": "reply", "idempotency_key": "k" * 256}, "idempotency_key"),
    ({"action": "reply", "idempotency_key": "k", "units": 0}, "units"),
    ({"action": "reply", "idempotency_key": "k", "units": "two"}, "units"),
    ({"action": "reply", "idempotency_key": "k", "units": 1_000_001}, "units"),
    # The caller names the action; the price is the tenant's, never the caller's.
    ({"action": "reply", "idempotency_key": "k", "amount": 1}, "amount"),
])
def test_a_bad_debit_is_a_400_naming_the_field_and_charges_nothing(org, key_client, body, field):
    fund(org, 100)
    error = assert_error_shape(key_client.post(DEBIT, body, format="json"), 400,
                               "validation_failed")
    assert field in error["fields"], error
    assert error["message"].startswith(f"{field}:"), error
    assert TokenWallet.objects.for_org(org).get().balance == 100
    assert TokenLedgerEntry.objects.for_org(org).count() == 1


def test_a_debit_never_touches_another_tenants_wallet(org, other_org, other_key_client):
    fund(org, 100)
    response = other_key_client.post(DEBIT, reply("k"), format="json")
    error = assert_error_shape(response, 402, "insufficient_tokens")
    assert (error["balance"], error["shortfall"]) == (0, 5)
    assert TokenWallet.objects.for_org(org).get().balance == 100
