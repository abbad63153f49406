"""The notification centre's pages and API: the bell on every signed-in page and its count,
the person's list, opening one, marking read, choosing email kinds; each person sees only
their own, and another person's or tenant's notification is a 404."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flexoraa.models import Notification, NotificationKind
from flexoraa.notification_views import KIND_TAGS
from tests.factories import make_membership, make_notification
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def queries(client, url, **kwargs) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, **kwargs).status_code == 200
    return len(captured)


# --- the bell --------------------------------------------------------------------------------

def test_every_signed_in_page_has_the_bell_which_loads_its_count_after_the_page(
    login_client, sdr
):
    page = login_client(sdr).get("/").content.decode()
    assert 'id="bell"' in page and 'hx-get="/notifications/bell/"' in page
    assert 'hx-trigger="load, every 25s"' in page
    assert 'href="/notifications/"' in page
    assert "js/notifications.js" in page


def test_the_bell_counts_the_persons_own_unread_notifications(login_client, org, sdr, manager):
    client = login_client(sdr)
    assert 'data-unread="0"' in client.get("/notifications/bell/", headers=HTMX).content.decode()
    for _ in range(3):
        make_notification(sdr)
    make_notification(manager)
    read = make_notification(sdr)
    read.read_at = read.created_at
    read.save(update_fields=["read_at"])
    fragment = client.get("/notifications/bell/", headers=HTMX).content.decode()
    assert 'data-unread="3"' in fragment and 'data-label="3"' in fragment
    assert "Notifications: 3 unread" in fragment


def test_the_bell_says_99_plus_past_99_and_counts_in_one_query(login_client, org, sdr):
    client = login_client(sdr)
    client.get("/notifications/bell/")  # warm the session
    Notification.objects.bulk_create([
        Notification(organization=org, recipient=sdr, kind=NotificationKind.LEAD_ASSIGNED,
                     title=f"Lead {n}", dedupe_key=f"bulk:{n}", created_at=sdr.created_at)
        for n in range(150)
    ])
    with CaptureQueriesContext(connection) as captured:
        fragment = client.get("/notifications/bell/").content.decode()
    assert 'data-label="99+"' in fragment
    # The session, the person, their membership, and the one count.
    assert len(captured) == 4
    assert sum("COUNT(" in query["sql"].upper() for query in captured) == 1


def test_a_signed_out_tab_is_told_to_stop_polling(client):
    response = client.get("/notifications/bell/", headers=HTMX)
    assert response.status_code == 286 and response.content == b""


# --- the page --------------------------------------------------------------------------------

def test_the_page_lists_the_persons_notifications_newest_first_with_the_unread_marked(
    login_client, org, sdr, manager
):
    older = make_notification(sdr, title="Lead assigned to you: Asha (API)", url="/leads/1/")
    newer = make_notification(sdr, kind=NotificationKind.LEAD_HOT, url="/leads/2/",
                              title="HOT lead: Priya Sharma (WhatsApp) — budget ₹2 L",
                              body="HOT · score 90\nFirst response due within 5 min.")
    make_notification(manager, title="Only for the manager")
    older.read_at = older.created_at
    older.save(update_fields=["read_at"])

    page = login_client(sdr).get("/notifications/").content.decode()
    assert page.index("HOT lead: Priya Sharma") < page.index("Lead assigned to you: Asha")
    assert "Only for the manager" not in page
    assert page.count('data-testid="unread-mark"') == 1
    assert f'href="/notifications/{newer.pk}/open/"' in page
    assert "HOT · score 90<br>First response due within 5 min." in page
    assert "1 unread" in page and "Mark all read" in page
    assert ">just now</time>" in page
    assert "<title>Notifications · Flexoraa</title>" in page


def test_each_kind_has_its_tag(login_client, org, sdr):
    for kind in NotificationKind:
        make_notification(sdr, kind=kind, title=f"About {kind.value}", url="/inbox/")
    page = login_client(sdr).get("/notifications/").content.decode()
    for kind in NotificationKind:
        assert f'kind-{kind.value}" title="{kind.label}">{KIND_TAGS[kind]}<' in page


def test_the_page_runs_a_fixed_number_of_queries(login_client, org, sdr):
    client = login_client(sdr)
    client.get("/notifications/")  # warm the session
    make_notification(sdr)
    first = queries(client, "/notifications/")
    for _ in range(30):
        make_notification(sdr, url="/leads/1/")
    # The session, the person, their membership; the page's count and rows; the unread count.
    assert first == queries(client, "/notifications/") == 6


def test_a_person_with_no_notifications_is_told_what_will_come(login_client, sdr):
    page = login_client(sdr).get("/notifications/").content.decode()
    assert "No notifications yet" in page and "Nothing unread." in page
    assert "Mark all read" not in page


def test_opening_one_marks_it_read_and_goes_to_its_lead(login_client, org, sdr):
    notification = make_notification(sdr, url="/leads/42/")
    response = login_client(sdr).get(f"/notifications/{notification.pk}/open/")
    assert response.status_code == 302 and response["Location"] == "/leads/42/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_opening_one_without_a_link_comes_back_to_the_list(login_client, org, sdr):
    notification = make_notification(sdr)
    response = login_client(sdr).get(f"/notifications/{notification.pk}/open/")
    assert response["Location"] == "/notifications/"


def test_another_persons_or_tenants_notification_is_not_found(
    login_client, org, other_org, sdr, manager
):
    theirs = make_notification(manager, url="/leads/1/")
    outsider = make_notification(make_membership(other_org), url="/leads/1/")
    client = login_client(sdr)
    for notification in (theirs, outsider):
        assert client.get(f"/notifications/{notification.pk}/open/").status_code == 404
        client.post("/notifications/read/", {"id": notification.pk})
        notification.refresh_from_db()
        assert notification.read_at is None


def test_mark_all_read_and_one_by_one(login_client, org, sdr, manager):
    mine = [make_notification(sdr) for _ in range(3)]
    theirs = make_notification(manager)
    client = login_client(sdr)
    response = client.post("/notifications/read/",
                           {"id": [mine[0].pk, "x", "99999999999999999999"]})
    assert response.status_code == 302 and response["Location"] == "/notifications/"
    assert Notification.objects.filter(recipient=sdr, read_at__isnull=True).count() == 2
    response = client.post("/notifications/read/", {"all": "1"}, follow=True)
    assert "All your notifications are read." in response.content.decode()
    assert not Notification.objects.filter(recipient=sdr, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_a_person_chooses_which_kinds_come_by_email(login_client, org, sdr):
    client = login_client(sdr)
    page = client.get("/notifications/").content.decode()
    assert 'value="lead_hot" checked' in page and 'value="mention" checked' in page
    assert 'value="lead_assigned">' in page
    response = client.post("/notifications/email/",
                           {"kind": ["lead_assigned", "sla_warning", "birthday"]}, follow=True)
    assert f"also come to {sdr.user.email}" in response.content.decode()
    sdr.refresh_from_db()
    assert sdr.notify_by_email == ["lead_assigned", "sla_warning"]
    client.post("/notifications/email/", {})
    sdr.refresh_from_db()
    assert sdr.notify_by_email == []


def test_the_pages_ask_a_signed_out_visitor_to_sign_in(client, org, sdr):
    notification = make_notification(sdr)
    for url in ("/notifications/", f"/notifications/{notification.pk}/open/"):
        assert client.get(url)["Location"].startswith("/login/")
    assert client.post("/notifications/read/", {"all": "1"})["Location"].startswith("/login/")


# --- the API ---------------------------------------------------------------------------------

def api_as(member):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(member.user)
    return client


def test_the_api_lists_only_the_callers_own_newest_first(org, other_org, sdr, manager):
    first = make_notification(sdr, title="First", url="/leads/1/")
    second = make_notification(sdr, kind=NotificationKind.MENTION, title="Second",
                               body="@asha can you call them?", url="/leads/1/")
    make_notification(manager, title="The manager's")
    make_notification(make_membership(other_org), title="Another tenant's")

    body = api_as(sdr).get("/api/notifications/").json()
    assert body["count"] == 2
    assert [row["id"] for row in body["results"]] == [second.pk, first.pk]
    assert body["results"][0] == {
        "id": second.pk, "kind": "mention", "kind_label": "I was mentioned in a note",
        "title": "Second", "body": "@asha can you call them?", "url": "/leads/1/",
        "created_at": body["results"][0]["created_at"], "read_at": None, "is_read": False,
    }
    managers = api_as(manager).get("/api/notifications/").json()
    assert [row["title"] for row in managers["results"]] == ["The manager's"]


def test_the_api_filters_the_unread_and_pages_like_other_lists(org, sdr):
    notifications = [make_notification(sdr) for _ in range(5)]
    api = api_as(sdr)
    api.post("/api/notifications/read/", {"ids": [notifications[0].pk]}, format="json")
    unread = api.get("/api/notifications/", {"unread": "true"}).json()
    assert unread["count"] == 4
    assert api.get("/api/notifications/", {"unread": "false"}).json()["count"] == 1
    paged = api.get("/api/notifications/", {"limit": 2, "offset": 2}).json()
    assert paged["count"] == 5 and len(paged["results"]) == 2 and paged["next"]
    assert api.get("/api/notifications/", {"kind": "lead_hot"}).json()["count"] == 0


def test_the_api_list_runs_a_fixed_number_of_queries(org, sdr):
    api = api_as(sdr)
    api.get("/api/notifications/")
    make_notification(sdr)
    first = queries(api, "/api/notifications/")
    for _ in range(20):
        make_notification(sdr)
    # The session, the person, their membership; the count and the page.
    assert first == queries(api, "/api/notifications/") == 5


def test_the_api_marks_read_by_ids_or_all_and_says_what_is_left(org, sdr, manager):
    mine = [make_notification(sdr) for _ in range(3)]
    theirs = make_notification(manager)
    api = api_as(sdr)
    response = api.post("/api/notifications/read/", {"ids": [mine[0].pk, theirs.pk]},
                        format="json")
    assert response.status_code == 200 and response.json() == {"marked": 1, "unread": 2}
    assert api.post("/api/notifications/read/", {"all": True}, format="json").json() == {
        "marked": 2, "unread": 0}
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize(("body", "field"), [
    ({}, "non_field_errors"),
    ({"ids": [1], "all": True}, "non_field_errors"),
    ({"ids": []}, "ids"),
    ({"ids": ["one", 0, 2**63]}, "ids"),
    ({"all": True, "everything": 1}, "everything"),
])
def test_the_api_refuses_a_read_request_it_cannot_read(org, sdr, body, field):
    response = api_as(sdr).post("/api/notifications/read/", body, format="json")
    error = assert_error_shape(response, 400, "validation_failed")
    assert field in error["fields"]
    assert all(isinstance(text, str) for texts in error["fields"].values() for text in texts)


def test_someone_elses_notification_is_a_404_through_the_api(org, other_org, sdr, manager):
    theirs = make_notification(manager)
    outsider = make_notification(make_membership(other_org))
    mine = make_notification(sdr)
    api = api_as(sdr)
    assert api.get(f"/api/notifications/{mine.pk}/").json()["id"] == mine.pk
    for notification in (theirs, outsider):
        assert_error_shape(api.get(f"/api/notifications/{notification.pk}/"), 404, "not_found")


def test_an_api_key_is_told_notifications_belong_to_a_person(key_client, org, sdr):
    mine = make_notification(sdr)
    error = assert_error_shape(key_client.get("/api/notifications/"), 403, "permission_denied")
    assert "API key" in error["message"] and "sign in" in error["message"]
    assert_error_shape(key_client.post("/api/notifications/read/", {"all": True}, format="json"),
                       403, "permission_denied")
    assert_error_shape(key_client.get(f"/api/notifications/{mine.pk}/"), 404, "not_found")
    mine.refresh_from_db()
    assert mine.read_at is None
