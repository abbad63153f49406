"""Concurrent wallet changes on PostgreSQL, with real threads and separate connections: debits
can never take a balance below zero or let it drift from Σ ledger, and replays and duplicate
keys are charged once."""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, connections

from billing import services
from billing.errors import IdempotencyKeyReused, InsufficientTokens
from billing.models import (
    AiAction,
    LedgerReason,
    TokenLedgerEntry,
    TokenWallet,
)
from tests.billing.wallet_support import balance_of, fund, ledger_sum
from tests.factories import SETUP_ACTOR
from tests.support import needs_postgres, run_together

pytestmark = pytest.mark.django_db


# --- PostgreSQL: real threads, separate connections ----------------------------------------

DEBITORS = 64
DEBIT = 10
# Affords a third of the debits with 5 tokens left over, so each refusal has to report the
# real balance (5) and shortfall (5), not just "zero".
AFFORDABLE = DEBITORS // 3  # 21
START_BALANCE = AFFORDABLE * DEBIT + 5  # 215


CALLERS = pytest.mark.parametrize(
    "in_transaction", [False, True], ids=["autocommit", "inside-a-caller-transaction"])

class WalletWatch:
    """A thread on its own connection sampling (balance, Σ ledger) in one statement, so in one
    snapshot: a committed change is in both or in neither."""

    def __init__(self, org):
        self.org_id = org.pk
        self.samples: list[tuple[int, int]] = []
        self.errors: list[Exception] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch)

    def _watch(self):
        wallets, ledger = TokenWallet._meta.db_table, TokenLedgerEntry._meta.db_table
        try:
            with connection.cursor() as cursor:
                while not self._stop.is_set():
                    cursor.execute(
                        f"SELECT w.balance, (SELECT COALESCE(SUM(l.delta), 0) FROM {ledger} l"
                        f" WHERE l.organization_id = w.organization_id)"
                        f" FROM {wallets} w WHERE w.organization_id = %s",
                        [self.org_id],
                    )
                    self.samples.append(tuple(cursor.fetchone()))
        except Exception as exc:  # kept and asserted by the test
            self.errors.append(exc)
        finally:
            connections.close_all()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(timeout=30)

    def assert_never_wrong(self):
        assert self.errors == []
        assert self.samples, "the watch took no sample"
        assert min(balance for balance, _ in self.samples) >= 0
        drifted = [sample for sample in self.samples if sample[0] != sample[1]]
        assert drifted == [], f"balance != Σ ledger in {len(drifted)} of {len(self.samples)}"


def assert_ledger_verifies(*slugs: str) -> None:
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    lines = out.getvalue().splitlines()
    for slug in slugs:
        (line,) = [line for line in lines if line.startswith(f"{slug} ")]
        assert line.endswith("ok"), line
    assert lines[-1].endswith(", 0 mismatch(es)."), lines[-1]


def assert_chain_is_unbroken(org) -> None:
    """In id order each row's balance_after is the previous one plus its delta: the ids were
    taken under the wallet's row lock, so id order is the order the changes happened in."""
    running = 0
    for delta, balance_after in TokenLedgerEntry.objects.for_org(org).order_by("id") \
            .values_list("delta", "balance_after"):
        running += delta
        assert balance_after == running >= 0


@needs_postgres
@pytest.mark.django_db(transaction=True)
@CALLERS
def test_64_concurrent_debits_on_a_wallet_affording_21_take_exactly_21_and_replays_change_nothing(
    org, in_transaction,
):
    fund(org, START_BALANCE)
    keys = [f"debit-{index}" for index in range(DEBITORS)]

    def debit(index):
        return services.wallet_debit(org=org, amount=DEBIT, idempotency_key=keys[index],
                                     action=AiAction.REPLY, reference=f"msg-{index}",
                                     actor=SETUP_ACTOR)

    with WalletWatch(org) as watch:
        first = run_together(DEBITORS, debit, in_transaction=in_transaction)

    paid = {index: result for index, result in enumerate(first)
            if isinstance(result, services.LedgerResult)}
    refused = {index: error for index, error in enumerate(first)
               if isinstance(error, InsufficientTokens)}
    others = [result for index, result in enumerate(first) if index not in paid | refused]
    assert others == []  # no deadlock, no CHECK violation, no unique violation surfaced
    assert len(paid) == AFFORDABLE and len(refused) == DEBITORS - AFFORDABLE
    assert all(not result.replayed for result in paid.values())
    assert {(e.balance, e.needed, e.shortfall) for e in refused.values()} == {(5, 10, 5)}
    # Each paid debit saw its own step down, one at a time: 205, 195, ..., 5.
    assert sorted(result.balance for result in paid.values()) == list(
        range(5, START_BALANCE, DEBIT))
    assert balance_of(org) == 5 == ledger_sum(org)
    assert TokenLedgerEntry.objects.for_org(org).count() == 1 + AFFORDABLE
    watch.assert_never_wrong()
    assert_chain_is_unbroken(org)
    assert_ledger_verifies("acme")

    # The same 64 calls again, all at once: the paid keys answer with their first entry, the
    # refused ones are refused again, and nothing changes.
    with WalletWatch(org) as watch:
        second = run_together(DEBITORS, debit, in_transaction=in_transaction)

    for index, result in enumerate(second):
        if index in paid:
            assert isinstance(result, services.LedgerResult), result
            assert result.replayed is True
            assert (result.entry.pk, result.balance) == (paid[index].entry.pk,
                                                         paid[index].balance)
        else:
            assert isinstance(result, InsufficientTokens), result
            assert (result.balance, result.shortfall) == (5, 5)
    assert balance_of(org) == 5 == ledger_sum(org)
    assert TokenLedgerEntry.objects.for_org(org).count() == 1 + AFFORDABLE
    watch.assert_never_wrong()
    assert_ledger_verifies("acme")


@needs_postgres
@pytest.mark.django_db(transaction=True)
@CALLERS
def test_concurrent_duplicates_of_one_key_are_charged_once_and_all_get_the_same_entry(
    org, in_transaction,
):
    fund(org, 10_000)
    keys, copies = 8, 8

    def debit(index):
        return services.wallet_debit(org=org, amount=25, idempotency_key=f"dup-{index % keys}",
                                     actor=SETUP_ACTOR)

    with WalletWatch(org) as watch:
        outcomes = run_together(keys * copies, debit, in_transaction=in_transaction)

    assert all(isinstance(result, services.LedgerResult) for result in outcomes), outcomes
    for key in range(keys):
        results = outcomes[key::keys]
        assert len({result.entry.pk for result in results}) == 1
        assert sorted(result.replayed for result in results) == [False] + [True] * (copies - 1)
    assert balance_of(org) == 10_000 - keys * 25 == ledger_sum(org)
    assert TokenLedgerEntry.objects.for_org(org).count() == 1 + keys
    watch.assert_never_wrong()
    assert_chain_is_unbroken(org)
    assert_ledger_verifies("acme")


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_one_key_raced_for_two_amounts_charges_one_and_refuses_the_other_as_reused(org):
    fund(org, 1000)

    def debit(index):
        return services.wallet_debit(org=org, amount=10 if index % 2 else 20,
                                     idempotency_key="contested", actor=SETUP_ACTOR)

    outcomes = run_together(16, debit)

    (entry,) = TokenLedgerEntry.objects.for_org(org).filter(idempotency_key="contested")
    winners = [r for r in outcomes if isinstance(r, services.LedgerResult)]
    losers = [r for r in outcomes if isinstance(r, IdempotencyKeyReused)]
    assert len(winners) == len(losers) == 8, outcomes
    assert {r.entry.pk for r in winners} == {entry.pk}
    assert sum(not r.replayed for r in winners) == 1
    assert balance_of(org) == 1000 + entry.delta == ledger_sum(org)


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_credits_and_debits_interleaved_keep_balance_equal_to_the_ledger(org):
    services.wallet_ensure(org)
    threads, rounds, credit, debit = 32, 20, 7, 5

    def work(index):
        paid = refused = 0
        for step in range(rounds):
            key = f"t{index}-{step}"
            if index % 2:
                services.wallet_credit(org=org, amount=credit, reason=LedgerReason.ADJUSTMENT,
                                       idempotency_key=key, actor=SETUP_ACTOR)
                continue
            try:
                services.wallet_debit(org=org, amount=debit, idempotency_key=key, actor=SETUP_ACTOR)
                paid += 1
            except InsufficientTokens as error:
                assert error.balance < debit
                refused += 1
        return paid, refused

    with WalletWatch(org) as watch:
        outcomes = run_together(threads, work)

    assert [result for result in outcomes if not isinstance(result, tuple)] == []
    debits_paid = sum(paid for paid, _ in outcomes)
    assert sum(paid + refused for paid, refused in outcomes) == threads // 2 * rounds
    expected = threads // 2 * rounds * credit - debits_paid * debit
    assert balance_of(org) == expected == ledger_sum(org)
    assert TokenLedgerEntry.objects.for_org(org).count() == threads // 2 * rounds + debits_paid
    watch.assert_never_wrong()
    assert_chain_is_unbroken(org)
    assert_ledger_verifies("acme")


@needs_postgres
@pytest.mark.django_db(transaction=True)
@CALLERS
def test_duplicates_of_one_key_on_a_wallet_affording_one_all_get_its_entry_none_is_refused(
    org, in_transaction,
):
    """The copy that loses the race finds the wallet empty, but its key was paid for: it gets
    the first result, not a 402."""
    fund(org, 10)

    outcomes = run_together(16, lambda index: services.wallet_debit(
        org=org, amount=10, idempotency_key="the-only-one",
        actor=SETUP_ACTOR), in_transaction=in_transaction)

    assert [result for result in outcomes if not isinstance(result, services.LedgerResult)] == []
    assert len({result.entry.pk for result in outcomes}) == 1
    assert sum(not result.replayed for result in outcomes) == 1
    assert balance_of(org) == 0 == ledger_sum(org)
