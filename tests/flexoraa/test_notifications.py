"""The notification centre's services: one notification per person and event, created only
after the caller's commit, emailed to those who chose the kind, read per person."""

import pytest
from django.core import mail
from django.db import transaction
from django.test.utils import CaptureQueriesContext

from flexoraa.actors import Actor
from flexoraa.errors import NotFound, PermissionDenied, ValidationFailed
from flexoraa.models import (
    DEFAULT_EMAIL_KINDS,
    AuditEvent,
    Notification,
    NotificationKind,
    Role,
)
from flexoraa.notifications import (
    NotificationDraft,
    email,
    membership_email_kinds_set,
    notification_open,
    notifications_create,
    notifications_create_many,
    notifications_mark_read,
    notifications_redact,
    notify_after_commit,
)
from tests.factories import SETUP_ACTOR, make_membership, make_notification
from tests.support import errors_of, needs_postgres, run_together

pytestmark = pytest.mark.django_db

HOT = NotificationKind.LEAD_HOT
ASSIGNED = NotificationKind.LEAD_ASSIGNED


@pytest.fixture
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


class BrokenMailServer:
    """An email backend whose server refuses every message."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("the mail server is down")


def tell(org, recipients, *, key="lead:1:hot:1", kind=HOT, title="HOT lead: Priya (WhatsApp)"):
    return notifications_create(org=org, recipient_ids=[r.pk for r in recipients], kind=kind,
                                title=title, url="/leads/1/", dedupe_key=key)


def test_the_same_event_notifies_each_person_once(org, sdr, manager):
    first = tell(org, [sdr, manager])
    again = tell(org, [sdr, manager, sdr])
    assert len(first) == 2 and again == []
    assert Notification.objects.for_org(org).count() == 2
    assert {n.recipient_id for n in first} == {sdr.pk, manager.pk}
    later = tell(org, [sdr], key="lead:1:hot:2")
    assert [n.recipient_id for n in later] == [sdr.pk]


def test_an_event_already_told_to_some_is_told_to_the_others_only(org, sdr, manager):
    tell(org, [sdr])
    created = tell(org, [sdr, manager])
    assert [n.recipient_id for n in created] == [manager.pk]


def test_creating_many_costs_the_same_few_queries_as_creating_one(org, sdr, manager):
    from django.db import connection

    drafts = [NotificationDraft(recipient_id=member.pk, kind=ASSIGNED, title=f"Lead {n}",
                                dedupe_key=f"lead:{n}:assigned:1")
              for n in range(40) for member in (sdr, manager)]
    with CaptureQueriesContext(connection) as captured:
        assert len(notifications_create_many(org=org, drafts=drafts)) == 80
    # Savepoint and release around: members, existing keys, the insert, the read-back.
    assert len([q for q in captured if "SAVEPOINT" not in q["sql"]]) == 4


def test_another_tenants_member_is_never_notified(org, other_org, sdr):
    outsider = make_membership(other_org)
    created = tell(org, [sdr, outsider])
    assert [n.recipient_id for n in created] == [sdr.pk]
    assert not Notification.objects.filter(recipient=outsider).exists()


def test_a_bad_kind_or_link_is_a_callers_bug_raised_at_once(org, sdr):
    with pytest.raises(ValueError, match="kind"):
        tell(org, [sdr], kind="birthday")
    with pytest.raises(ValueError, match="path on this site"):
        notify_after_commit(org=org, recipient_ids=[sdr.pk], kind=HOT, title="x",
                            url="https://elsewhere.example/", dedupe_key="k")
    with pytest.raises(ValueError, match="dedupe key"):
        tell(org, [sdr], key="")


def test_a_long_title_is_shortened_and_its_spaces_kept_single(org, sdr):
    (created,) = tell(org, [sdr], title="HOT   lead:\n" + "x" * 300)
    assert len(created.title) == 200 and created.title.startswith("HOT lead: x")
    assert created.title.endswith("…")


def test_notify_after_commit_creates_nothing_until_the_transaction_commits(
    org, sdr, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        notify_after_commit(org=org, recipient_ids=[sdr.pk], kind=HOT, title="HOT lead",
                            url="/leads/7/", dedupe_key="lead:7:hot:1", body="Budget ₹2 L")
        assert not Notification.objects.exists()
    # The creation, then (the person chose HOT leads by email) the email's enqueue.
    assert len(callbacks) == 2
    notification = Notification.objects.get()
    assert (notification.recipient_id, notification.kind, notification.body) == (
        sdr.pk, HOT, "Budget ₹2 L")
    assert notification.read_at is None and notification.emailed_at is None


def test_a_rolled_back_transaction_notifies_nobody(org, sdr, django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks(execute=True) as callbacks,
          pytest.raises(RuntimeError), transaction.atomic()):
        notify_after_commit(org=org, recipient_ids=[sdr.pk], kind=HOT, title="HOT lead",
                            dedupe_key="lead:7:hot:1")
        raise RuntimeError("the use case failed")
    assert callbacks == []
    assert not Notification.objects.exists()


def test_a_retried_after_commit_call_notifies_once(org, sdr, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):
            notify_after_commit(org=org, recipient_ids=[sdr.pk, sdr.pk], kind=HOT,
                                title="HOT lead", dedupe_key="lead:7:hot:1")
    assert Notification.objects.count() == 1


def test_members_get_hot_leads_and_mentions_by_email_until_they_choose(org):
    member = make_membership(org)
    assert member.notify_by_email == ["lead_hot", "mention"]
    assert tuple(DEFAULT_EMAIL_KINDS) == (HOT, NotificationKind.MENTION)


def test_only_the_kinds_a_person_chose_go_by_email_after_the_commit(
    org, sdr, manager, locmem_mail, celery_eager, django_capture_on_commit_callbacks
):
    membership_email_kinds_set(org=org, membership=manager, kinds=[ASSIGNED],
                               actor=Actor.for_member(manager))
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notify_after_commit(org=org, recipient_ids=[sdr.pk, manager.pk], kind=HOT,
                            title="HOT lead: Priya (WhatsApp)", url="/leads/7/",
                            dedupe_key="lead:7:hot:1", body="Budget ₹2 L")
        assert mail.outbox == []
    assert [message.to for message in mail.outbox] == [[sdr.user.email]]
    message = mail.outbox[0]
    assert message.subject == "[Acme Leads] HOT lead: Priya (WhatsApp)"
    assert "Budget ₹2 L" in message.body
    assert "Open it: http://127.0.0.1:8000/leads/7/" in message.body
    assert "/notifications/" in message.body
    emailed = Notification.objects.get(recipient=sdr)
    assert emailed.emailed_at is not None
    assert Notification.objects.get(recipient=manager).emailed_at is None


def test_an_email_is_sent_once_however_often_the_task_runs(org, sdr, locmem_mail):
    notification = make_notification(sdr, kind=HOT)
    assert email.notifications_email(notification_ids=[notification.pk]) == 1
    assert email.notifications_email(notification_ids=[notification.pk]) == 0
    assert len(mail.outbox) == 1


def test_a_person_without_an_address_or_who_left_is_not_emailed(org, sdr, locmem_mail):
    sdr.user.email = ""
    sdr.user.save(update_fields=["email"])
    notification = make_notification(sdr, kind=HOT)
    assert email.notifications_email(notification_ids=[notification.pk]) == 0
    assert mail.outbox == []


def test_a_failing_mail_server_keeps_the_notification_unmailed_for_a_retry(
    org, sdr, settings, celery_eager, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.BrokenMailServer"
    with django_capture_on_commit_callbacks(execute=True):
        notify_after_commit(org=org, recipient_ids=[sdr.pk], kind=HOT, title="HOT lead",
                            dedupe_key="lead:7:hot:1")
    notification = Notification.objects.get()
    assert notification.emailed_at is None  # the claim was given back for the retry
    with pytest.raises(ConnectionRefusedError):
        email.notifications_email(notification_ids=[notification.pk])
    assert Notification.objects.get().emailed_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert email.notifications_email(notification_ids=[notification.pk]) == 1


def test_marking_read_touches_only_the_persons_own_unread_ones(org, other_org, sdr, manager):
    mine = [make_notification(sdr) for _ in range(3)]
    theirs = make_notification(manager)
    outsider = make_notification(make_membership(other_org))

    assert notifications_mark_read(org=org, recipient=sdr,
                                   ids=[mine[0].pk, theirs.pk, outsider.pk]) == 1
    assert notifications_mark_read(org=org, recipient=sdr, ids=[mine[0].pk]) == 0
    assert notifications_mark_read(org=org, recipient=sdr, ids=[]) == 0
    assert notifications_mark_read(org=org, recipient=sdr) == 2
    assert Notification.objects.filter(recipient=sdr, read_at__isnull=True).count() == 0
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert Notification.objects.get(pk=outsider.pk).read_at is None
    with pytest.raises(NotFound):
        notifications_mark_read(org=other_org, recipient=sdr)


def test_opening_marks_read_and_someone_elses_is_not_found(org, other_org, sdr, manager):
    mine = make_notification(sdr, url="/leads/3/")
    theirs = make_notification(manager)
    opened = notification_open(org=org, recipient=sdr, notification_id=mine.pk)
    assert opened.read_at is not None and opened.url == "/leads/3/"
    first_read = Notification.objects.get(pk=mine.pk).read_at
    notification_open(org=org, recipient=sdr, notification_id=mine.pk)
    assert Notification.objects.get(pk=mine.pk).read_at == first_read
    for foreign in (theirs.pk, theirs.pk + 1000):
        with pytest.raises(NotFound):
            notification_open(org=org, recipient=sdr, notification_id=foreign)
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    with pytest.raises(NotFound):
        notification_open(org=other_org, recipient=sdr, notification_id=mine.pk)


def test_a_person_chooses_their_email_kinds_and_the_change_is_audited(org, sdr, manager):
    chosen = membership_email_kinds_set(org=org, membership=sdr,
                                        kinds=["mention", "lead_assigned", "mention"],
                                        actor=Actor.for_member(sdr))
    assert chosen.notify_by_email == ["lead_assigned", "mention"]
    event = AuditEvent.objects.for_org(org).get(action="membership.email_notifications")
    assert event.data == {"kinds": ["lead_assigned", "mention"], "was": ["lead_hot", "mention"]}
    membership_email_kinds_set(org=org, membership=sdr, kinds=["mention", "lead_assigned"],
                               actor=Actor.for_member(sdr))
    assert AuditEvent.objects.for_org(org).filter(
        action="membership.email_notifications").count() == 1

    with pytest.raises(PermissionDenied):
        membership_email_kinds_set(org=org, membership=sdr, kinds=[],
                                   actor=Actor.for_member(manager))
    with pytest.raises(ValidationFailed) as refused:
        membership_email_kinds_set(org=org, membership=sdr, kinds=["birthday"],
                                   actor=Actor.for_member(sdr))
    assert "birthday" in refused.value.message
    assert membership_email_kinds_set(org=org, membership=sdr, kinds=[],
                                      actor=SETUP_ACTOR).notify_by_email == []


def test_anonymizing_a_lead_overwrites_what_its_notifications_say_and_keeps_them(
    org, other_org, sdr
):
    about = make_notification(sdr, title="HOT lead: Priya Sharma (WhatsApp)", body="Budget",
                              url="/leads/4/")
    note = make_notification(sdr, kind=NotificationKind.MENTION, url="/leads/4/#note-9",
                             title="Asha mentioned you on Priya Sharma")
    other_lead = make_notification(sdr, title="HOT lead: Ravi (API)", url="/leads/42/")
    outsider = make_notification(make_membership(other_org), title="Priya", url="/leads/4/")

    assert notifications_redact(org=org, url_prefixes=["/leads/4/", "/inbox/7"]) == 2
    assert notifications_redact(org=org, url_prefixes=["/leads/4/"]) == 0
    for kept in (about, note):
        kept.refresh_from_db()
        assert (kept.title, kept.body) == (
            "About someone whose personal data was erased", "")
        assert kept.url.startswith("/leads/4/") and kept.read_at is None
    other_lead.refresh_from_db()
    outsider.refresh_from_db()
    assert other_lead.title == "HOT lead: Ravi (API)" and outsider.title == "Priya"


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_event_told_by_many_workers_at_once_is_stored_and_emailed_once(
    org, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    people = [make_membership(org, role=Role.SDR) for _ in range(3)]
    drafts = [NotificationDraft(recipient_id=person.pk, kind=HOT, title="HOT lead",
                                dedupe_key="lead:9:hot:1") for person in people]

    outcomes = run_together(8, lambda _index: notifications_create_many(org=org, drafts=drafts))

    assert errors_of(outcomes) == []
    assert sum(len(created) for created in outcomes) == 3
    assert Notification.objects.for_org(org).count() == 3
    ids = list(Notification.objects.values_list("pk", flat=True))
    sent = run_together(4, lambda _index: email.notifications_email(notification_ids=ids))
    assert errors_of(sent) == [] and sum(sent) == 3
    assert len(mail.outbox) == 3
