from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from flexoraa import audit_chain, selectors
from flexoraa.models import AuditEvent
from tests.factories import make_audit_event
from tests.support import needs_postgres, using_postgres


def link(i, prev, **overrides):
    fields = dict(
        organization_id=1, actor_user_id=None, actor_api_key_id=None, action="lead.created",
        target_type="leads.lead", target_id=str(i), data={"tier": "HOT"},
        created_at=datetime(2026, 1, 1, 12, 0, i, tzinfo=UTC),
    )
    fields.update(overrides)
    digest = audit_chain.link_hash(prev_hash=prev, **fields)
    return audit_chain.ChainLink(id=i, prev_hash=prev, hash=digest, **fields)


def build_chain(n):
    links, prev = [], audit_chain.GENESIS_HASH
    for i in range(1, n + 1):
        links.append(link(i, prev))
        prev = links[-1].hash
    return links


def test_an_untouched_chain_has_no_break():
    assert audit_chain.first_break(build_chain(5)) is None


def test_an_edited_event_is_the_first_break():
    links = build_chain(5)
    edited = audit_chain.ChainLink(**{**links[2].__dict__, "data": {"tier": "COLD"}})
    found = audit_chain.first_break([*links[:2], edited, *links[3:]])
    assert found == audit_chain.ChainBreak(3, "its content no longer matches its hash")


def test_a_deleted_event_breaks_the_link_after_it():
    links = build_chain(5)
    found = audit_chain.first_break([*links[:2], *links[3:]])
    assert found.event_id == 4
    assert "previous hash" in found.reason


def test_the_hash_covers_every_field():
    base = link(1, audit_chain.GENESIS_HASH)
    for field, value in [("organization_id", 2), ("actor_user_id", 7), ("actor_api_key_id", 3),
                         ("action", "lead.deleted"), ("target_type", "x.y"), ("target_id", "9"),
                         ("data", {"tier": "WARM"}),
                         ("created_at", datetime(2026, 1, 1, 12, 0, 2, tzinfo=UTC))]:
        assert link(1, audit_chain.GENESIS_HASH, **{field: value}).hash != base.hash, field


@pytest.mark.django_db
def test_events_chain_per_tenant_and_verify(org, other_org):
    first = make_audit_event(org, action="a.one")
    make_audit_event(other_org, action="b.one")
    second = make_audit_event(org, action="a.two")
    assert first.prev_hash == audit_chain.GENESIS_HASH
    assert second.prev_hash == first.hash
    assert selectors.audit_chain_first_break(org) is None
    assert selectors.audit_chain_first_break(other_org) is None


def allow_tampering():
    """On PostgreSQL the trigger blocks edits; an attacker with superuser could bypass it, so
    the chain must still catch the edit. Replica mode skips user triggers in this session."""
    if using_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")


def tamper(event_id, **columns):
    assignments = ", ".join(f"{column} = %s" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE flexoraa_auditevent SET {assignments} WHERE id = %s",
            [*columns.values(), event_id],
        )


@pytest.mark.django_db
def test_verify_audit_chain_names_the_first_tampered_row(org, other_org, capsys):
    events = [make_audit_event(org, action=f"step.{i}") for i in range(4)]
    make_audit_event(other_org)
    call_command("verify_audit_chain")
    assert "Every audit chain verifies." in capsys.readouterr().out

    allow_tampering()
    tamper(events[2].pk, action="step.rewritten")
    with pytest.raises(CommandError) as excinfo:
        call_command("verify_audit_chain")
    assert excinfo.value.returncode == 1
    err = capsys.readouterr().err
    assert f"{org.slug}: BROKEN at audit event #{events[2].pk}" in err
    assert f"{other_org.slug}: BROKEN" not in err


@pytest.mark.django_db
def test_the_hourly_job_reports_a_broken_chain(org):
    from flexoraa.tasks import audit_chain_check

    event = make_audit_event(org)
    allow_tampering()
    tamper(event.pk, target_id="999")
    assert audit_chain_check() == {"broken": {org.slug: event.pk}}


@needs_postgres
@pytest.mark.django_db
def test_postgres_refuses_update_and_delete_of_audit_rows(org):
    event = make_audit_event(org)
    for statement in ("UPDATE flexoraa_auditevent SET action = 'x' WHERE id = %s",
                      "DELETE FROM flexoraa_auditevent WHERE id = %s"):
        with (pytest.raises(DatabaseError, match="append-only"), transaction.atomic(),
              connection.cursor() as cursor):
            cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_unbroken_chain_on_postgres(org):
    """Sixteen threads with their own connections append at once; the chain stays whole."""
    import threading

    start = threading.Barrier(16)

    def append(i):
        try:
            start.wait()
            for step in range(5):
                make_audit_event(org, action=f"thread.{i}.{step}")
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert AuditEvent.objects.for_org(org).count() == 80
    assert selectors.audit_chain_first_break(org) is None
