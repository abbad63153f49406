"""The wallet and its ledger: debits and credits, idempotency, validation, the database's
guards, and (on PostgreSQL, with real threads and separate connections) concurrent debits
that can never take a balance below zero or let it drift from Σ ledger (in
test_wallet_concurrency.py)."""


import pytest
from django.db import DatabaseError, IntegrityError, transaction

from billing import services
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
from tests.billing.wallet_support import balance_of, fund, ledger_sum
from tests.factories import SETUP_ACTOR
from tests.support import needs_postgres

pytestmark = pytest.mark.django_db


def test_a_debit_takes_the_tokens_and_writes_one_ledger_row_saying_who_why_and_for_whom(
    org, sdr, api_key
):
    fund(org, 1000)

    result = services.wallet_debit(
        org=org, amount=30, idempotency_key="msg-1:reply", action=AiAction.REPLY,
        reference="msg-1", actor=Actor.for_api_key(api_key[0]), membership=sdr,
    )

    assert result.replayed is False and result.balance == 970
    entry = TokenLedgerEntry.objects.for_org(org).get(pk=result.entry.pk)
    assert (entry.delta, entry.balance_after, entry.reason, entry.action, entry.reference) == (
        -30, 970, LedgerReason.USAGE, AiAction.REPLY, "msg-1")
    assert entry.idempotency_key == "msg-1:reply"
    assert (entry.actor_api_key_id, entry.actor_user_id, entry.membership_id) == (
        api_key[0].pk, None, sdr.pk)
    assert entry.created_at is not None
    assert balance_of(org) == 970 == ledger_sum(org)
    assert TokenLedgerEntry.objects.for_org(org).count() == 2


def test_a_credit_adds_tokens_and_records_the_person_who_gave_them(org, manager):
    result = services.wallet_credit(org=org, amount=5000, reason=LedgerReason.PURCHASE,
                                    idempotency_key="pay_1", reference="pay_1",
                                    actor=Actor.for_member(manager))

    entry = result.entry
    assert result.replayed is False and result.balance == 5000
    assert (entry.delta, entry.balance_after, entry.reason, entry.action, entry.reference) == (
        5000, 5000, LedgerReason.PURCHASE, "", "pay_1")
    assert (entry.actor_user_id, entry.actor_api_key_id, entry.membership_id) == (
        manager.user_id, None, None)
    assert balance_of(org) == 5000


def test_a_membership_as_actor_is_recorded_as_its_person(org, manager):
    fund(org, 100)
    entry = services.wallet_debit(org=org, amount=1, idempotency_key="k",
                                  actor=Actor.for_member(manager)).entry
    assert entry.actor_user_id == manager.user_id and entry.actor_api_key_id is None


def test_a_long_reference_is_cut_to_the_column(org):
    fund(org, 100)
    entry = services.wallet_debit(org=org, amount=1, idempotency_key="k", reference="r" * 300,
                                  actor=SETUP_ACTOR)
    assert TokenLedgerEntry.objects.get(pk=entry.entry.pk).reference == "r" * 128


def test_the_first_change_creates_the_wallet_once(org):
    assert not TokenWallet.objects.for_org(org).exists()
    first = services.wallet_ensure(org)
    assert services.wallet_ensure(org).pk == first.pk
    assert (first.balance, first.low_balance_threshold) == (0, 1000)
    fund(org, 10)
    assert TokenWallet.objects.for_org(org).count() == 1


def test_a_replayed_key_returns_the_first_result_and_changes_nothing(org):
    fund(org, 100)
    first = services.wallet_debit(org=org, amount=40, idempotency_key="once", actor=SETUP_ACTOR)
    services.wallet_debit(org=org, amount=10, idempotency_key="after", actor=SETUP_ACTOR)

    again = services.wallet_debit(org=org, amount=40, idempotency_key="once", actor=SETUP_ACTOR)

    assert again.replayed is True
    assert again.entry.pk == first.entry.pk and again.balance == 60 == first.balance
    assert balance_of(org) == 50
    assert TokenLedgerEntry.objects.for_org(org).count() == 3
    credit_again = services.wallet_credit(org=org, amount=100, reason=LedgerReason.PURCHASE,
                                          idempotency_key="fund", reference="pay_test",
                                          actor=SETUP_ACTOR)
    assert credit_again.replayed is True and balance_of(org) == 50


def test_the_same_key_in_another_tenant_is_another_change(org, other_org):
    fund(org, 100)
    fund(other_org, 100)
    services.wallet_debit(org=org, amount=10, idempotency_key="shared", actor=SETUP_ACTOR)
    result = services.wallet_debit(org=other_org, amount=10, idempotency_key="shared",
                                   actor=SETUP_ACTOR)
    assert result.replayed is False
    assert (balance_of(org), balance_of(other_org)) == (90, 90)


def test_a_short_wallet_refuses_with_balance_needed_and_shortfall_and_writes_nothing(org):
    fund(org, 20)

    with pytest.raises(InsufficientTokens) as refused:
        services.wallet_debit(org=org, amount=50, idempotency_key="big", actor=SETUP_ACTOR)

    error = refused.value
    assert (error.balance, error.needed, error.shortfall) == (20, 50, 30)
    assert (error.status_code, error.code) == (402, "insufficient_tokens")
    assert error.extra == {"balance": 20, "needed": 50, "shortfall": 30}
    assert "30" in error.message
    assert balance_of(org) == 20
    assert not TokenLedgerEntry.objects.for_org(org).filter(idempotency_key="big").exists()
    # The refused key was not spent: once funded, the same key pays.
    fund(org, 30, key="top-up")
    assert services.wallet_debit(org=org, amount=50, idempotency_key="big",
                                 actor=SETUP_ACTOR).replayed is False
    assert balance_of(org) == 0


def test_a_tenant_that_never_bought_tokens_is_refused_with_a_zero_balance(org):
    with pytest.raises(InsufficientTokens) as refused:
        services.wallet_debit(org=org, amount=1, idempotency_key="k", actor=SETUP_ACTOR)
    assert (refused.value.balance, refused.value.shortfall) == (0, 1)
    assert balance_of(org) == 0 and not TokenLedgerEntry.objects.for_org(org).exists()


def test_a_debit_of_exactly_the_balance_leaves_zero(org):
    fund(org, 25)
    assert services.wallet_debit(org=org, amount=25, idempotency_key="all",
                                 actor=SETUP_ACTOR).balance == 0
    assert balance_of(org) == 0 == ledger_sum(org)


@pytest.mark.parametrize(("amount", "reason"), [
    (41, LedgerReason.USAGE),        # another amount
    (40, LedgerReason.ADJUSTMENT),   # another reason
])
def test_a_key_reused_for_a_different_change_is_a_409_and_changes_nothing(org, amount, reason):
    fund(org, 100)
    services.wallet_debit(org=org, amount=40, idempotency_key="k", actor=SETUP_ACTOR)

    with pytest.raises(IdempotencyKeyReused) as refused:
        services.wallet_debit(org=org, amount=amount, reason=reason, idempotency_key="k",
                              actor=SETUP_ACTOR)

    assert (refused.value.status_code, refused.value.code) == (409, "idempotency_key_reused")
    assert "idempotency_key" in refused.value.fields
    assert balance_of(org) == 60 and TokenLedgerEntry.objects.for_org(org).count() == 2


def test_a_debit_key_reused_for_a_credit_of_the_same_amount_is_a_409(org):
    fund(org, 100)
    services.wallet_debit(org=org, amount=40, idempotency_key="k", actor=SETUP_ACTOR)
    with pytest.raises(IdempotencyKeyReused):
        services.wallet_credit(org=org, amount=40, reason=LedgerReason.USAGE,
                               idempotency_key="k", actor=SETUP_ACTOR)
    assert balance_of(org) == 60


@pytest.mark.parametrize("amount", [0, -5, True, False, 1.5, 10.0, "10", None, 10**12 + 1])
@pytest.mark.parametrize("change", ["debit", "credit"])
def test_an_amount_that_is_not_a_whole_number_from_1_to_10_to_the_12_is_refused(
    org, amount, change
):
    fund(org, 100)
    call = services.wallet_debit if change == "debit" else services.wallet_credit
    with pytest.raises(ValidationFailed) as refused:
        call(org=org, amount=amount, reason=LedgerReason.ADJUSTMENT, idempotency_key="k",
             actor=SETUP_ACTOR)
    assert set(refused.value.fields) == {"amount"}
    assert refused.value.message.startswith("amount:")
    assert balance_of(org) == 100 and TokenLedgerEntry.objects.for_org(org).count() == 1


def test_the_largest_change_is_accepted(org):
    result = services.wallet_credit(org=org, amount=10**12, reason=LedgerReason.ADJUSTMENT,
                                    idempotency_key="max", actor=SETUP_ACTOR)
    assert result.balance == 10**12


@pytest.mark.parametrize("key", ["", "k" * 256, None])
def test_an_empty_or_too_long_key_is_refused(org, key):
    fund(org, 100)
    with pytest.raises(ValidationFailed) as refused:
        services.wallet_debit(org=org, amount=1, idempotency_key=key, actor=SETUP_ACTOR)
    assert set(refused.value.fields) == {"idempotency_key"}
    assert balance_of(org) == 100


def test_a_key_of_255_characters_is_accepted(org):
    fund(org, 100)
    key = "k" * 255
    assert services.wallet_debit(org=org, amount=1, idempotency_key=key,
                                 actor=SETUP_ACTOR).entry.idempotency_key \
        == key


def test_an_unknown_reason_is_refused(org):
    with pytest.raises(ValidationFailed) as refused:
        services.wallet_credit(org=org, amount=1, reason="gift", idempotency_key="k",
                               actor=SETUP_ACTOR)
    assert set(refused.value.fields) == {"reason"}


def test_every_problem_is_named_at_once(org):
    with pytest.raises(ValidationFailed) as refused:
        services.wallet_debit(org=org, amount=0, reason="nope", idempotency_key="",
                              actor=SETUP_ACTOR)
    assert set(refused.value.fields) == {"amount", "reason", "idempotency_key"}


# --- AI action charges ---------------------------------------------------------------------

def test_an_ai_action_costs_the_default_price_times_units(org):
    fund(org, 1000)
    result = services.ai_action_charge(org=org, action=AiAction.REPLY, units=3,
                                       idempotency_key="r1", reference="msg-7", actor=SETUP_ACTOR)
    assert result.entry.delta == -3 * DEFAULT_ACTION_PRICES[AiAction.REPLY]
    assert (result.entry.reason, result.entry.action) == (LedgerReason.USAGE, AiAction.REPLY)
    assert services.action_price(org, AiAction.CLASSIFICATION) == 1


def test_an_ai_action_costs_the_tenants_own_price_when_it_set_one(org, other_org):
    ActionPrice.objects.create(organization=org, action=AiAction.REPLY, tokens=7)
    ActionPrice.objects.create(organization=other_org, action=AiAction.QUALIFICATION, tokens=99)
    fund(org, 1000)

    reply = services.ai_action_charge(org=org, action=AiAction.REPLY, units=2,
                                      idempotency_key="r1", actor=SETUP_ACTOR)
    turn = services.ai_action_charge(org=org, action=AiAction.QUALIFICATION,
                                     idempotency_key="q1", actor=SETUP_ACTOR)

    assert reply.entry.delta == -14
    assert turn.entry.delta == -DEFAULT_ACTION_PRICES[AiAction.QUALIFICATION]
    assert balance_of(org) == 1000 - 14 - 3


def test_a_free_action_charges_nothing_and_writes_nothing(org):
    ActionPrice.objects.create(organization=org, action=AiAction.CLASSIFICATION, tokens=0)
    assert services.ai_action_charge(org=org, action=AiAction.CLASSIFICATION,
                                     idempotency_key="c1", actor=SETUP_ACTOR) is None
    assert not TokenLedgerEntry.objects.for_org(org).exists()


def test_an_ai_action_the_wallet_cannot_pay_for_is_refused_before_it_runs(org, sdr):
    fund(org, 4)
    with pytest.raises(InsufficientTokens) as refused:
        services.ai_action_charge(org=org, action=AiAction.REPLY, idempotency_key="r1",
                                  membership=sdr, actor=SETUP_ACTOR)
    assert (refused.value.balance, refused.value.needed, refused.value.shortfall) == (4, 5, 1)


@pytest.mark.parametrize(("action", "units", "field"), [
    ("dance", 1, "action"),
    (AiAction.REPLY, 0, "units"),
    (AiAction.REPLY, -1, "units"),
    (AiAction.REPLY, 1.5, "units"),
])
def test_an_unknown_action_or_bad_units_is_refused_naming_the_field(org, action, units, field):
    fund(org, 100)
    with pytest.raises(ValidationFailed) as refused:
        services.ai_action_charge(org=org, action=action, units=units, idempotency_key="k",
                                  actor=SETUP_ACTOR)
    assert set(refused.value.fields) == {field}
    assert balance_of(org) == 100


# --- the database's own guards ------------------------------------------------------------

def test_the_database_refuses_a_negative_balance_written_directly(org):
    fund(org, 10)
    with pytest.raises(IntegrityError), transaction.atomic():
        TokenWallet.objects.for_org(org).update(balance=-1)
    assert balance_of(org) == 10


def test_the_database_refuses_a_ledger_row_of_zero_or_below_zero(org):
    for values in ({"delta": 0, "balance_after": 5}, {"delta": -5, "balance_after": -5}):
        with pytest.raises(IntegrityError), transaction.atomic():
            TokenLedgerEntry.objects.create(organization=org, reason=LedgerReason.ADJUSTMENT,
                                            idempotency_key="raw", **values)


def test_the_database_refuses_a_second_row_with_the_same_key_in_a_tenant(org):
    fund(org, 10)
    with pytest.raises(IntegrityError), transaction.atomic():
        TokenLedgerEntry.objects.create(organization=org, delta=1, balance_after=11,
                                        reason=LedgerReason.ADJUSTMENT, idempotency_key="fund")


@needs_postgres
def test_the_ledger_is_append_only_in_postgresql(org):
    fund(org, 10)
    entry = TokenLedgerEntry.objects.for_org(org).get()

    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        TokenLedgerEntry.objects.filter(pk=entry.pk).update(delta=1_000_000)
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        TokenLedgerEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        entry.delete()

    entry.refresh_from_db()
    assert (entry.delta, entry.balance_after) == (10, 10)
