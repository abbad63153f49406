"""Internal notes on a lead: @mentions tell each colleague once (never the author, never
another tenant's member), the page and the API write and show them, and their words stay out
of logs, the timeline's data and the audit log."""

import logging

import pytest

from flexoraa.actors import Actor
from flexoraa.errors import ValidationFailed
from flexoraa.models import AuditEvent, Notification, NotificationKind, Role
from leads import mentions, services
from leads.models import LeadEvent, Note
from tests.factories import UserFactory, make_membership
from tests.leads.pages_support import HOT, HTMX, lead_of, page_of
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db


def member(org, username, first_name="", role=Role.SDR):
    return make_membership(org, role=role, user=UserFactory(username=username,
                                                            first_name=first_name))


def note(org, lead, body, by, capture):
    with capture(execute=True):
        return services.note_add(org=org, lead=lead, body=body, actor=Actor.for_member(by))


def mentions_of(membership) -> list[Notification]:
    return list(Notification.objects.filter(recipient=membership, kind=NotificationKind.MENTION))


# --- reading the handles, without the database ----------------------------------------------

@pytest.mark.django_db(False)
def test_handles_are_read_once_each_without_emails_or_the_sentence_around_them():
    body = ("@Asha can you call? cc @ravi.k. Mail asha@example.com, (@bob) and @asha again; "
            "@dev-")
    assert mentions.mentioned_handles(body) == ["asha", "ravi.k", "bob", "dev"]
    assert mentions.mentioned_handles("no one here, nor a@b.co") == []


@pytest.mark.django_db(False)
def test_a_username_wins_and_a_shared_first_name_names_nobody():
    team = [mentions.Member(1, "ravi.k", "Ravi"), mentions.Member(2, "a.rao", "Asha"),
            mentions.Member(3, "a.sen", "Asha"), mentions.Member(4, "bob", "Robert"),
            mentions.Member(5, "rob", "Bob")]
    assert mentions.mentioned_members(["asha", "ravi.k", "bob", "robert", "ravi"], team) == [
        1, 4]
    assert mentions.mentioned_members(["zed"], team) == []


# --- the service ----------------------------------------------------------------------------

def test_each_mentioned_colleague_is_told_once_and_the_author_is_not(
    org, sdr, django_capture_on_commit_callbacks
):
    lead = lead_of(sdr, name="Priya Sharma", **HOT)
    asha = member(org, "asha", first_name="Asha")
    dev = member(org, "dev.iyer", first_name="Dev")
    me = sdr.user.username

    added = note(org, lead, f"@asha and @Dev: she wants a demo. @asha again. @{me} @nobody",
                 sdr, django_capture_on_commit_callbacks)

    (asha_told,) = mentions_of(asha)
    (dev_told,) = mentions_of(dev)
    assert mentions_of(sdr) == []
    assert asha_told.title == f"{me} mentioned you on Priya Sharma"
    assert asha_told.url == f"/leads/{lead.pk}/#note-{added.pk}"
    assert asha_told.dedupe_key == f"note:{added.pk}:mention:{asha.pk}"
    assert "she wants a demo" in asha_told.body
    assert dev_told.dedupe_key == f"note:{added.pk}:mention:{dev.pk}"
    assert set(added.mentions.values_list("pk", flat=True)) == {asha.pk, dev.pk}
    assert added.body.endswith("@nobody")  # an unknown handle stays text


def test_a_member_of_another_tenant_with_that_username_is_not_told(
    org, other_org, sdr, django_capture_on_commit_callbacks
):
    lead = lead_of(sdr)
    outsider = member(other_org, "meera", first_name="Meera")
    added = note(org, lead, "Ask @meera about it", sdr, django_capture_on_commit_callbacks)
    assert mentions_of(outsider) == []
    assert Notification.objects.count() == 0
    assert list(added.mentions.all()) == []


def test_a_rolled_back_note_tells_nobody(org, sdr, django_capture_on_commit_callbacks):
    from django.db import transaction

    lead = lead_of(sdr)
    asha = member(org, "asha")
    with (django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError),
          transaction.atomic()):
        services.note_add(org=org, lead=lead, body="@asha look", actor=Actor.for_member(sdr))
        raise RuntimeError("the caller failed after the note")
    assert mentions_of(asha) == [] and not Note.objects.exists()


def test_the_note_is_on_the_timeline_and_in_the_audit_log_by_id_never_by_its_words(
    org, sdr, django_capture_on_commit_callbacks, caplog
):
    lead = lead_of(sdr)
    asha = member(org, "asha")
    secret = "Her husband's number is +91 98765 43210"
    with caplog.at_level(logging.DEBUG):
        added = note(org, lead, f"@asha {secret}", sdr, django_capture_on_commit_callbacks)
    event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.NOTE)
    assert event.data == {"note": added.pk, "mentions": [asha.pk]} and event.actor_id == sdr.pk
    audit = AuditEvent.objects.get(action="lead.note_added")
    assert audit.data == {"note": added.pk, "mentions": [asha.pk]}
    for record in caplog.records:
        assert secret not in record.getMessage()
        assert secret not in repr(record.__dict__)


@pytest.mark.parametrize(("body", "problem"), [
    ("", "Write something in the note."),
    ("   \n ", "Write something in the note."),
    ("x" * 5001, "Keep a note to 5,000 characters."),
    ("a\x00b", None),
])
def test_an_empty_too_long_or_unstorable_note_is_refused_naming_the_body(
    org, sdr, body, problem
):
    lead = lead_of(sdr)
    with pytest.raises(ValidationFailed) as refused:
        services.note_add(org=org, lead=lead, body=body, actor=Actor.for_member(sdr))
    assert list(refused.value.fields) == ["body"]
    if problem:
        assert refused.value.fields["body"] == [problem]
    assert not Note.objects.exists()


# --- the page -------------------------------------------------------------------------------

def test_a_rep_adds_a_note_from_the_lead_page_and_sees_it_escaped_with_author_and_time(
    org, sdr, login_client, django_capture_on_commit_callbacks
):
    lead = lead_of(sdr, name="Priya Sharma")
    asha = member(org, "asha", first_name="Asha")
    client = login_client(sdr)
    with django_capture_on_commit_callbacks(execute=True):
        fragment = page_of(client.post(f"/leads/{lead.pk}/notes/", {
            "body": "@asha <script>alert(1)</script> wants a call"}, headers=HTMX))
    assert 'id="notes-card"' in fragment and "Note added." in fragment
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in fragment
    assert "<script>alert(1)</script>" not in fragment
    assert sdr.user.username in fragment
    # The timeline comes back out of band with the note in words.
    assert 'id="timeline-card" class="card" aria-labelledby="timeline-title" hx-swap-oob' in (
        fragment)
    assert "Wrote a note mentioning Asha." in fragment
    assert len(mentions_of(asha)) == 1
    page = page_of(client.get(f"/leads/{lead.pk}/"))
    assert page.count('data-testid="note"') == 1


def test_a_blank_note_is_refused_in_the_card_and_without_javascript(sdr, login_client):
    lead = lead_of(sdr)
    client = login_client(sdr)
    fragment = page_of(client.post(f"/leads/{lead.pk}/notes/", {"body": " "}, headers=HTMX))
    assert 'data-testid="notes-error">Write something in the note.<' in fragment
    plain = client.post(f"/leads/{lead.pk}/notes/", {"body": ""})
    assert plain.status_code == 400
    assert "Write something in the note." in page_of(plain)
    done = client.post(f"/leads/{lead.pk}/notes/", {"body": "Called, no answer"}, follow=True)
    assert done.redirect_chain == [(f"/leads/{lead.pk}/", 302)]
    assert "Called, no answer" in page_of(done)


def test_a_mentioned_colleague_opens_the_lead_and_answers_with_a_note_but_works_nothing_else(
    org, sdr, login_client, django_capture_on_commit_callbacks
):
    lead = lead_of(sdr, name="Priya Sharma")
    asha = member(org, "asha")
    client = login_client(asha)
    assert client.get(f"/leads/{lead.pk}/").status_code == 404  # not hers, not mentioned
    note(org, lead, "@asha you know this one?", sdr, django_capture_on_commit_callbacks)

    page = page_of(client.get(f"/leads/{lead.pk}/"))
    assert "you know this one?" in page
    assert "Mark first response sent" not in page and "Change status" not in page
    assert "Set follow-up" not in page and "Edit qualification" not in page
    assert 'data-testid="lc-not-yours"' in page  # the conversation is the owner's
    answered = client.post(f"/leads/{lead.pk}/notes/", {"body": "Yes: call after 6"},
                           headers=HTMX)
    assert answered.status_code == 200 and "Yes: call after 6" in page_of(answered)
    for action, data in [("status", {"status": "qualifying"}), ("first-response", {}),
                         ("follow-ups", {"due_at": "2031-01-01T10:00"})]:
        assert client.post(f"/leads/{lead.pk}/{action}/", data).status_code == 404, action


def test_another_tenants_lead_takes_no_note(manager, sdr, outsider_lead, login_client):
    for client in (login_client(manager), login_client(sdr)):
        assert client.post(f"/leads/{outsider_lead.pk}/notes/", {"body": "hi"}).status_code == (
            404)
    assert not Note.objects.exists()


# --- the API --------------------------------------------------------------------------------

def test_an_integration_writes_and_reads_notes_through_the_api(
    org, sdr, key_client, django_capture_on_commit_callbacks
):
    lead = lead_of(sdr)
    asha = member(org, "asha")
    with django_capture_on_commit_callbacks(execute=True):
        created = key_client.post(f"/api/leads/{lead.pk}/notes/",
                                  {"body": "From the CRM: @asha owns the renewal"},
                                  format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["author"] is None and body["mentions"] == [asha.pk]
    assert len(mentions_of(asha)) == 1
    listed = key_client.get(f"/api/leads/{lead.pk}/notes/").json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    assert_error_shape(key_client.post(f"/api/leads/{lead.pk}/notes/", {"body": " "},
                                       format="json"), 400, "validation_failed")


def test_another_tenants_lead_is_not_found_for_notes_in_the_api(
    org, outsider_lead, key_client
):
    assert_error_shape(key_client.get(f"/api/leads/{outsider_lead.pk}/notes/"), 404,
                       "not_found")
    assert_error_shape(key_client.post(f"/api/leads/{outsider_lead.pk}/notes/",
                                       {"body": "hi"}, format="json"), 404, "not_found")
