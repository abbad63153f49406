"""Follow-ups: set, rescheduled and done from the lead page and the API; a time in the past is
refused; the every-minute job tells each owner once when theirs comes due (even when it runs
twice, or twice at once on PostgreSQL); those due today join the SDR's home queue."""

from datetime import timedelta

import pytest
from django.utils import timezone

from flexoraa.actors import Actor
from flexoraa.errors import Conflict, PermissionDenied, ValidationFailed
from flexoraa.jobs import declared_jobs
from flexoraa.models import Notification, NotificationKind, Role
from leads import services, tasks
from leads.models import FollowUp, LeadEvent
from tests.factories import make_membership
from tests.leads.pages_support import HTMX, lead_of, page_of, query_count
from tests.support import assert_error_shape, errors_of, needs_postgres, run_together

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


def later(**delta):
    return timezone.now() + timedelta(**delta)


def follow_up(lead, by, due_at=None, **values):
    return services.follow_up_set(org=lead.organization, lead=lead, actor=Actor.for_member(by),
                                  due_at=due_at or later(hours=1), **values)


def due_told(membership) -> list[Notification]:
    return list(Notification.objects.filter(recipient=membership,
                                            kind=NotificationKind.FOLLOW_UP_DUE))


def local_input(moment) -> str:
    """A time as the page's datetime-local input sends it, in the tenant's zone."""
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%dT%H:%M")


# --- the service ----------------------------------------------------------------------------

def test_a_rep_sets_a_follow_up_for_themself_on_the_timeline(org, sdr):
    lead = lead_of(sdr)
    due = later(days=1)
    made = follow_up(lead, sdr, due, note="Send the proposal")
    assert (made.owner_id, made.due_at, made.note, made.done_at) == (sdr.pk, due,
                                                                     "Send the proposal", None)
    event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.FOLLOW_UP)
    assert event.data == {"follow_up": made.pk, "action": "set", "owner": sdr.pk,
                          "due_at": due.isoformat()}


@pytest.mark.parametrize("due", [timedelta(minutes=-1), timedelta(days=-3), timedelta(0)])
def test_a_due_time_that_has_passed_is_refused_saying_so(org, sdr, due):
    lead = lead_of(sdr)
    with pytest.raises(ValidationFailed) as refused:
        follow_up(lead, sdr, timezone.now() + due)
    (problem,) = refused.value.fields["due_at"]
    assert problem.endswith("has passed; choose a time in the future.")
    assert not FollowUp.objects.exists()


def test_a_due_time_without_a_zone_is_refused(org, sdr):
    with pytest.raises(ValidationFailed) as refused:
        follow_up(lead_of(sdr), sdr, (timezone.now() + HOUR).replace(tzinfo=None))
    assert list(refused.value.fields) == ["due_at"]


def test_a_rep_sets_follow_ups_for_themself_and_a_manager_for_anyone(org, sdr, manager,
                                                                      other_sdr):
    lead = lead_of(sdr)
    with pytest.raises(PermissionDenied):
        follow_up(lead, sdr, owner=other_sdr)
    assert follow_up(lead, manager, owner=sdr.pk).owner_id == sdr.pk
    with pytest.raises(ValidationFailed) as refused:
        follow_up(lead, manager, owner=987654)
    assert refused.value.fields == {"owner": ["No member of this organization has that id."]}


def test_rescheduling_moves_it_and_is_told_again_and_done_is_final(org, sdr):
    lead = lead_of(sdr)
    made = follow_up(lead, sdr)
    actor = Actor.for_member(sdr)
    services.follow_ups_due_notify(now=later(hours=2))
    assert len(due_told(sdr)) == 1
    moved = services.follow_up_reschedule(org=org, follow_up=made, due_at=later(days=2),
                                          actor=actor)
    assert moved.notified_at is None
    services.follow_ups_due_notify(now=later(days=3))
    assert len(due_told(sdr)) == 2  # the new time is a new reminder
    done = services.follow_up_complete(org=org, follow_up=moved, actor=actor)
    assert done.done_at is not None
    assert services.follow_up_complete(org=org, follow_up=done, actor=actor).done_at == (
        done.done_at)
    with pytest.raises(Conflict):
        services.follow_up_reschedule(org=org, follow_up=done, due_at=later(days=4), actor=actor)
    assert [e.data["action"] for e in LeadEvent.objects.filter(
        lead=lead, kind=LeadEvent.Kind.FOLLOW_UP).order_by("id")] == ["set", "rescheduled",
                                                                       "done"]


def test_only_its_owner_the_leads_owner_or_a_manager_changes_a_follow_up(
    org, sdr, other_sdr, manager
):
    made = follow_up(lead_of(sdr), sdr)
    with pytest.raises(PermissionDenied):
        services.follow_up_complete(org=org, follow_up=made, actor=Actor.for_member(other_sdr))
    services.follow_up_complete(org=org, follow_up=made, actor=Actor.for_member(manager))


# --- the due job ----------------------------------------------------------------------------

def test_the_due_job_tells_each_owner_once_even_when_it_runs_twice(org, sdr, manager):
    lead = lead_of(sdr, name="Priya Sharma")
    due = follow_up(lead, sdr, later(minutes=30), note="Call about the demo")
    not_yet = follow_up(lead, sdr, later(days=1))
    done = follow_up(lead, manager, later(minutes=10))
    services.follow_up_complete(org=org, follow_up=done, actor=Actor.for_member(manager))
    now = later(hours=1)

    first = services.follow_ups_due_notify(now=now)
    second = services.follow_ups_due_notify(now=now)

    assert first == {"follow_ups": 1, "organizations": 1}
    assert second == {"follow_ups": 0, "organizations": 0}
    (told,) = due_told(sdr)
    assert told.title == "Follow-up due: Priya Sharma"
    assert told.body == "Call about the demo"
    assert told.url == f"/leads/{lead.pk}/#follow-up-{due.pk}"
    assert told.dedupe_key == f"follow_up:{due.pk}:due:{due.due_at.isoformat()}"
    assert due_told(manager) == []
    assert FollowUp.objects.get(pk=not_yet.pk).notified_at is None


def test_the_due_job_in_chunks_tells_every_due_follow_up_of_every_tenant(
    org, other_org, sdr
):
    rep = make_membership(other_org, role=Role.SDR)
    for _ in range(5):
        follow_up(lead_of(sdr), sdr, later(minutes=5))
    for _ in range(2):
        follow_up(lead_of(rep), rep, later(minutes=5))
    result = services.follow_ups_due_notify(now=later(hours=1), chunk=2)
    assert result == {"follow_ups": 7, "organizations": 2}
    assert len(due_told(sdr)) == 5 and len(due_told(rep)) == 2


def test_the_due_job_is_declared_every_minute_and_its_task_runs_the_service(org, sdr):
    (job,) = [job for job in declared_jobs() if job.name == "leads.follow_ups_due"]
    assert job.every == timedelta(minutes=1) and job.task == "leads.follow_ups_due"
    made = follow_up(lead_of(sdr), sdr, later(seconds=2))
    FollowUp.objects.filter(pk=made.pk).update(due_at=timezone.now() - HOUR)
    tasks.follow_ups_due.apply()
    assert len(due_told(sdr)) == 1


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_due_jobs_at_once_tell_each_owner_exactly_once(org, sdr):
    made = [follow_up(lead_of(sdr), sdr, later(minutes=5)) for _ in range(12)]
    now = later(hours=1)
    outcomes = run_together(4, lambda index: services.follow_ups_due_notify(now=now, chunk=3))
    assert errors_of(outcomes) == []
    assert sum(outcome["follow_ups"] for outcome in outcomes) == 12
    assert Notification.objects.filter(kind=NotificationKind.FOLLOW_UP_DUE).count() == 12
    assert sorted(n.dedupe_key for n in due_told(sdr)) == sorted(
        f"follow_up:{f.pk}:due:{f.due_at.isoformat()}" for f in made)


# --- the lead page --------------------------------------------------------------------------

def test_a_rep_sets_reschedules_and_completes_a_follow_up_from_the_lead_page(sdr, login_client):
    lead = lead_of(sdr)
    client = login_client(sdr)
    due = later(days=1).replace(second=0, microsecond=0)
    fragment = page_of(client.post(f"/leads/{lead.pk}/follow-ups/", {
        "due_at": local_input(due), "note": "Send <b>pricing</b>"}, headers=HTMX))
    assert "Follow-up set." in fragment and "Send &lt;b&gt;pricing&lt;/b&gt;" in fragment
    made = FollowUp.objects.get()
    assert made.due_at == due and made.owner_id == sdr.pk
    assert "Follow-up set for" in fragment  # the timeline, out of band

    moved_to = later(days=2).replace(second=0, microsecond=0)
    fragment = page_of(client.post(f"/leads/{lead.pk}/follow-ups/{made.pk}/reschedule/",
                                   {"due_at": local_input(moved_to)}, headers=HTMX))
    assert "Follow-up moved." in fragment
    assert FollowUp.objects.get().due_at == moved_to

    fragment = page_of(client.post(f"/leads/{lead.pk}/follow-ups/{made.pk}/done/",
                                   headers=HTMX))
    assert "Follow-up done." in fragment and 'data-testid="follow-up-state">done<' in fragment
    assert FollowUp.objects.get().done_at is not None


def test_a_past_time_on_the_page_is_refused_in_the_card_with_the_typed_values(
    sdr, login_client
):
    lead = lead_of(sdr)
    client = login_client(sdr)
    past = local_input(timezone.now() - timedelta(days=1))
    fragment = page_of(client.post(f"/leads/{lead.pk}/follow-ups/",
                                   {"due_at": past, "note": "Too late"}, headers=HTMX))
    assert 'data-testid="follow-ups-error"' in fragment
    assert "has passed; choose a time in the future." in fragment
    assert 'value="Too late"' in fragment and f'value="{past}"' in fragment
    plain = client.post(f"/leads/{lead.pk}/follow-ups/", {"due_at": "tomorrow"})
    assert plain.status_code == 400
    assert "Give the time as a date and a time" in page_of(plain)
    assert not FollowUp.objects.exists()


def test_another_leads_or_tenants_follow_up_is_not_found_from_the_page(
    org, sdr, other_sdr, manager, outsider_lead, login_client
):
    mine = lead_of(sdr)
    theirs = follow_up(lead_of(other_sdr), other_sdr)
    outside = services.follow_up_set(org=outsider_lead.organization, lead=outsider_lead,
                                     due_at=later(hours=1), owner=outsider_lead.owner,
                                     actor=Actor.system("test"))
    client = login_client(sdr)
    for follow_up_id in (theirs.pk, outside.pk):
        for action in ("done", "reschedule"):
            response = client.post(f"/leads/{mine.pk}/follow-ups/{follow_up_id}/{action}/",
                                   {"due_at": local_input(later(days=1))})
            assert response.status_code == 404
    manager_client = login_client(manager)
    assert manager_client.post(f"/leads/{outsider_lead.pk}/follow-ups/",
                               {"due_at": local_input(later(days=1))}).status_code == 404
    assert manager_client.post(
        f"/leads/{outsider_lead.pk}/follow-ups/{outside.pk}/done/").status_code == 404
    assert FollowUp.objects.filter(done_at__isnull=False).count() == 0


# --- the API --------------------------------------------------------------------------------

def test_follow_ups_through_the_api_refuse_the_past_and_complete(org, sdr, key_client):
    lead = lead_of(sdr)
    error = assert_error_shape(key_client.post(
        f"/api/leads/{lead.pk}/follow-ups/",
        {"due_at": (timezone.now() - HOUR).isoformat()}, format="json"), 400)
    assert "due_at" in error["fields"]
    created = key_client.post(f"/api/leads/{lead.pk}/follow-ups/",
                              {"due_at": later(days=1).isoformat(), "note": "Renewal"},
                              format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["owner"] == sdr.pk  # an integration's follow-up is the lead owner's
    listed = key_client.get(f"/api/leads/{lead.pk}/follow-ups/").json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    moved = key_client.patch(f"/api/follow-ups/{body['id']}/",
                             {"due_at": later(days=3).isoformat()}, format="json")
    assert moved.status_code == 200, moved.content
    done = key_client.post(f"/api/follow-ups/{body['id']}/complete/", format="json")
    assert done.status_code == 200 and done.json()["done_at"]
    assert_error_shape(key_client.patch(f"/api/follow-ups/{body['id']}/",
                                        {"due_at": later(days=4).isoformat()}, format="json"),
                       409)
    assert key_client.get("/api/follow-ups/?open=true").json()["results"] == []


def test_an_sdr_sees_only_follow_ups_of_their_leads_or_their_own_in_the_api(
    org, sdr, other_sdr, login_client
):
    from rest_framework.test import APIClient

    mine = follow_up(lead_of(sdr), sdr)
    follow_up(lead_of(other_sdr), other_sdr)
    client = APIClient()
    client.force_login(sdr.user)
    assert [row["id"] for row in client.get("/api/follow-ups/").json()["results"]] == [mine.pk]


# --- the home queue -------------------------------------------------------------------------

def test_follow_ups_due_today_join_the_reps_home_queue_with_a_fixed_query_count(
    org, sdr, login_client, django_assert_num_queries
):
    client = login_client(sdr)
    lead = lead_of(sdr, name="Priya Sharma")
    FollowUp.objects.create(organization=org, lead=lead, owner=sdr, note="Overdue call",
                            due_at=timezone.now() - HOUR, created_at=timezone.now())
    client.get("/")
    small = query_count(client, "/")
    page = page_of(client.get("/"))
    assert 'data-testid="home-follow-ups"' in page and "Overdue call" in page
    assert page.count('data-testid="follow-up-row"') == 1
    for index in range(5):
        follow_up(lead_of(sdr, name=f"Lead {index}"), sdr, later(minutes=10 + index))
    follow_up(lead_of(sdr), sdr, later(days=2))  # not today
    with django_assert_num_queries(small):
        page = page_of(client.get("/"))
    assert page.count('data-testid="follow-up-row"') <= 6
