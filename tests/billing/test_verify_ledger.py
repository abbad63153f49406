"""verify_ledger: balance = Σ ledger for every tenant, a non-zero exit naming each mismatch."""

import os
import sqlite3
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.models import F

from billing import services
from billing.models import LedgerReason, TokenWallet
from billing.selectors import LedgerCheck, ledger_checks
from tests.factories import SETUP_ACTOR, OrganizationFactory


def fill(org, credit: int, debits: list[int]) -> None:
    services.wallet_credit(org=org, amount=credit, reason=LedgerReason.PURCHASE,
                           idempotency_key=f"{org.slug}-credit", actor=SETUP_ACTOR)
    for index, amount in enumerate(debits):
        services.wallet_debit(org=org, amount=amount, idempotency_key=f"{org.slug}-{index}",
                              actor=SETUP_ACTOR)


def verify() -> tuple[list[str], CommandError | None]:
    out = StringIO()
    try:
        call_command("verify_ledger", stdout=out)
    except CommandError as error:
        return out.getvalue().splitlines(), error
    return out.getvalue().splitlines(), None


def line_of(lines: list[str], slug: str) -> str:
    (line,) = [line for line in lines if line.startswith(f"{slug} ")]
    return line


@pytest.mark.django_db
def test_every_tenant_is_printed_ok_and_the_command_succeeds(org, other_org):
    fill(org, 1000, [5, 10, 1])
    fill(other_org, 50, [50])
    services.wallet_ensure(OrganizationFactory(slug="empty"))  # a wallet, no ledger yet
    OrganizationFactory(slug="no-wallet")

    lines, error = verify()

    assert error is None
    assert line_of(lines, "acme").split() == [
        "acme", "balance", "984", "Σ", "ledger", "984", "last", "entry", "984", "ok"]
    assert line_of(lines, "other").split()[-1] == "ok"
    assert line_of(lines, "empty").split()[-2:] == ["-", "ok"]
    assert not [line for line in lines if line.startswith("no-wallet ")]
    assert lines[-1] == "3 wallet(s) checked, 0 mismatch(es)."


@pytest.mark.django_db
def test_no_wallet_at_all_is_a_pass():
    lines, error = verify()
    assert error is None and lines == ["0 wallet(s) checked, 0 mismatch(es)."]


@pytest.mark.django_db
def test_a_wallet_balance_changed_behind_the_ledger_fails_naming_only_that_tenant(
    org, other_org
):
    fill(org, 1000, [5])
    fill(other_org, 1000, [5])
    TokenWallet.objects.for_org(org).update(balance=F("balance") + 1)

    lines, error = verify()

    assert error is not None
    assert str(error) == "Ledger mismatch in: acme"
    assert line_of(lines, "acme").split()[-1] == "MISMATCH"
    assert "Σ ledger            995" in line_of(lines, "acme")
    assert line_of(lines, "other").split()[-1] == "ok"
    assert lines[-1] == "2 wallet(s) checked, 1 mismatch(es)."


@pytest.mark.django_db
def test_a_balance_matching_the_sum_but_not_the_last_entry_is_a_mismatch(org):
    """balance = Σ ledger alone would miss a wallet set back to an old value after a tamper
    of both; the last entry's balance_after is the second witness."""
    fill(org, 1000, [5])
    (check,) = [check for check in ledger_checks() if check.slug == "acme"]
    assert check.ok and check.last_balance_after == 995
    assert not LedgerCheck(organization_id=org.pk, slug="acme", balance=995, ledger_sum=995,
                           last_balance_after=1000).ok


def manage(*args: str, var_dir) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        # An empty DATABASE_URL is the embedded SQLite in FLEXORAA_VAR_DIR, whatever the
        # pass this test runs in.
        "DATABASE_URL": "",
        "CELERY_BROKER_URL": "",
        "FLEXORAA_VAR_DIR": str(var_dir),
        "DJANGO_ENV": "development",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, timeout=300, check=False,
    )


FILL_SCRIPT = """
from billing import services
from flexoraa.actors import Actor
from flexoraa.models import Organization
actor = Actor.system("test:setup")
for slug in ("tamper-me", "leave-me"):
    org = Organization.objects.create(name=slug, slug=slug)
    services.wallet_credit(org=org, amount=500, reason="purchase", idempotency_key="c",
                           actor=actor)
    services.wallet_debit(org=org, amount=20, idempotency_key="d", actor=actor)
"""


def test_the_command_exits_0_when_all_is_well_and_1_naming_the_tenant_after_a_tamper(tmp_path):
    migrated = manage("migrate", "--noinput", var_dir=tmp_path)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    filled = manage("shell", "-c", FILL_SCRIPT, var_dir=tmp_path)
    assert filled.returncode == 0, filled.stderr[-3000:]

    passing = manage("verify_ledger", var_dir=tmp_path)
    assert passing.returncode == 0, passing.stderr[-3000:]
    assert [line.split()[-1] for line in passing.stdout.splitlines()[:2]] == ["ok", "ok"]
    assert "2 wallet(s) checked, 0 mismatch(es)." in passing.stdout

    with sqlite3.connect(tmp_path / "flexoraa.sqlite3") as db:
        db.execute("UPDATE billing_tokenwallet SET balance = balance - 7 WHERE organization_id ="
                   " (SELECT id FROM flexoraa_organization WHERE slug = 'tamper-me')")
    db.close()

    failing = manage("verify_ledger", var_dir=tmp_path)
    assert failing.returncode == 1, (failing.stdout, failing.stderr[-3000:])
    assert "Ledger mismatch in: tamper-me" in failing.stderr
    assert "leave-me" not in failing.stderr
    lines = {line.split()[0]: line for line in failing.stdout.splitlines()[:2]}
    assert lines["tamper-me"].endswith("MISMATCH") and lines["leave-me"].endswith("ok")
    assert "balance            473" in lines["tamper-me"]
