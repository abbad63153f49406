"""Canned replies: kept per tenant by managers in the console, offered in the reply box as
/shortcut (and as a select list without JavaScript), with the lead's names filled in; never
another tenant's."""

import json

import pytest

from agents import canned
from agents.models import CannedReply
from agents.services.canned import (
    canned_reply_create,
    canned_reply_delete,
    canned_reply_update,
)
from flexoraa.errors import Conflict, NotFound, ValidationFailed
from flexoraa.models import AuditEvent, Role
from tests.agents.inbox_support import open_conversation
from tests.factories import SETUP_ACTOR, make_membership
from tests.leads.pages_support import page_of

pytestmark = pytest.mark.django_db


def reply(org, shortcut="pricing", body="Hi {first_name}, plans start at 999.", title=None):
    return canned_reply_create(org=org, title=title or shortcut.title(), shortcut=shortcut,
                               body=body, actor=SETUP_ACTOR)


def offered(page: str) -> list[dict]:
    """The canned replies a thread page hands its script."""
    start = page.index('<script id="canned-replies" type="application/json">')
    start = page.index(">", start) + 1
    return json.loads(page[start:page.index("</script>", start)])


# --- the pure rules -----------------------------------------------------------------------

def test_placeholders_are_filled_from_the_lead_with_kind_fallbacks():
    names = canned.Names(lead_name="  Asha   Verma ", my_name="Ravi", company="Acme")
    body = "Hi {first_name} {last_name} ({name}), {my_name} of {company} here. {unknown}"
    assert canned.fill(body, names) == (
        "Hi Asha Verma (Asha Verma), Ravi of Acme here. {unknown}")
    assert canned.fill("Hi {first_name}, welcome {name}!", canned.Names()) == (
        "Hi there, welcome there!")
    assert canned.fill("Dear {last_name}.", canned.Names(lead_name="Cher")) == "Dear ."


def test_unknown_placeholders_are_named_once_each_in_order():
    assert canned.unknown_placeholders("{a} {first_name} {b} {a}") == ["a", "b"]
    assert canned.unknown_placeholders("No braces, or {Capital} ones") == []


def test_a_typed_word_offers_shortcuts_starting_with_it_first():
    replies = [CannedReply(shortcut="demo", title="Book a demo"),
               CannedReply(shortcut="price-eu", title="Prices"),
               CannedReply(shortcut="pricing", title="Pricing")]
    assert [r.shortcut for r in canned.matching(replies, "/pri")] == ["price-eu", "pricing"]
    assert [r.shortcut for r in canned.matching(replies, "DEMO")] == ["demo"]
    assert [r.shortcut for r in canned.matching(replies, "book")] == ["demo"]


# --- the service --------------------------------------------------------------------------

def test_a_canned_reply_is_saved_with_its_shortcut_tidied_and_audited(org):
    saved = reply(org, shortcut=" /Pricing ")
    assert saved.shortcut == "pricing"
    assert AuditEvent.objects.for_org(org).filter(action="canned_reply.created").exists()


def test_refusals_name_the_field(org, other_org):
    reply(org, shortcut="pricing")
    with pytest.raises(Conflict, match="/pricing is taken") as taken:
        reply(org, shortcut="pricing")
    assert list(taken.value.fields) == ["shortcut"]
    with pytest.raises(ValidationFailed, match=r"\{firstname\} is not a placeholder"):
        reply(org, shortcut="hello", body="Hi {firstname}")
    with pytest.raises(ValidationFailed) as odd:
        reply(org, shortcut="two words")
    assert list(odd.value.fields) == ["shortcut"]
    with pytest.raises(ValidationFailed) as blank:
        reply(org, shortcut="blank", body="   ")
    assert list(blank.value.fields) == ["body"]
    # Another tenant has its own shortcuts.
    assert reply(other_org, shortcut="pricing").organization_id == other_org.pk


def test_update_and_delete_stay_in_the_tenant(org, other_org):
    theirs = reply(other_org, shortcut="pricing")
    with pytest.raises(NotFound):
        canned_reply_update(org=org, reply=theirs, title="Mine now", actor=SETUP_ACTOR)
    with pytest.raises(NotFound):
        canned_reply_delete(org=org, reply=theirs, actor=SETUP_ACTOR)
    mine = reply(org, shortcut="pricing")
    canned_reply_update(org=org, reply=mine, body="Plans start at 899.", actor=SETUP_ACTOR)
    assert CannedReply.objects.get(pk=mine.pk).body == "Plans start at 899."
    canned_reply_delete(org=org, reply=mine, actor=SETUP_ACTOR)
    assert not CannedReply.objects.filter(pk=mine.pk).exists()
    assert CannedReply.objects.filter(pk=theirs.pk).exists()


# --- the reply box ------------------------------------------------------------------------

def test_the_reply_box_offers_only_the_tenants_replies_filled_for_this_lead(
    org, other_org, sdr, login_client
):
    reply(org, shortcut="pricing", body="Hi {first_name}, plans start at 999. {my_name}")
    reply(other_org, shortcut="secret", body="Another tenant's words")
    conversation = open_conversation(sdr, name="Asha Verma")

    page = page_of(login_client(sdr).get(f"/inbox/{conversation.pk}/"))

    (only,) = offered(page)
    assert only["shortcut"] == "pricing"
    assert only["body"] == f"Hi Asha, plans start at 999. {sdr.user.username}"
    assert "/secret" not in page and "Another tenant" not in page
    assert '<select id="canned-select" name="canned">' in page  # the list without JavaScript


def test_without_javascript_choosing_one_puts_it_in_the_box(org, sdr, login_client):
    saved = reply(org, shortcut="pricing")
    conversation = open_conversation(sdr, name="Asha Verma")
    client = login_client(sdr)

    page = page_of(client.get(f"/inbox/{conversation.pk}/", {"canned": saved.pk}))
    after_typing = page_of(client.get(f"/inbox/{conversation.pk}/",
                                      {"canned": saved.pk, "text": "Thanks!"}))

    assert ">Hi Asha, plans start at 999.</textarea>" in page
    assert ">Thanks!\nHi Asha, plans start at 999.</textarea>" in after_typing


def test_another_tenants_canned_reply_is_not_found_in_the_box(org, other_org, sdr,
                                                              login_client):
    theirs = reply(other_org, shortcut="secret", body="Another tenant's words")
    conversation = open_conversation(sdr, name="Asha Verma")
    client = login_client(sdr)
    for value in (theirs.pk, "999999", "x1"):
        response = client.get(f"/inbox/{conversation.pk}/", {"canned": value})
        assert response.status_code == 404, value
        assert "Another tenant" not in page_of(response)


def test_a_closed_window_offers_templates_not_canned_replies(org, sdr, login_client):
    reply(org, shortcut="pricing")
    closed = open_conversation(sdr, name="Closed Chitra", hours_ago=30)
    page = page_of(login_client(sdr).get(f"/inbox/{closed.pk}/"))
    assert 'id="canned-replies"' not in page


# --- the console and the API --------------------------------------------------------------

def test_a_manager_keeps_canned_replies_in_the_console_and_sees_only_their_tenants(
    org, other_org, manager, sdr, login_client
):
    reply(other_org, shortcut="secret", body="Another tenant's words")
    client = login_client(manager)

    added = client.post("/admin/agents/cannedreply/add/", {
        "title": "Pricing", "shortcut": "Pricing", "body": "Hi {first_name}, from 999."})
    refused = client.post("/admin/agents/cannedreply/add/", {
        "title": "Again", "shortcut": "pricing", "body": "Hi {firstname}"})
    listed = page_of(client.get("/admin/agents/cannedreply/"))

    assert added.status_code == 302
    saved = CannedReply.objects.for_org(org).get()
    assert saved.shortcut == "pricing" and saved.body == "Hi {first_name}, from 999."
    assert AuditEvent.objects.for_org(org).filter(action="canned_reply.created",
                                                  actor_user_id=manager.user_id).exists()
    assert refused.status_code == 200
    assert "/pricing is taken already" in page_of(refused)
    assert "{firstname} is not a placeholder" in page_of(refused)
    assert "/pricing" in listed and "secret" not in listed
    theirs = CannedReply.objects.for_org(other_org).get()
    assert client.get(f"/admin/agents/cannedreply/{theirs.pk}/change/").status_code in (302,
                                                                                         404)
    assert login_client(sdr).get("/admin/agents/cannedreply/").status_code == 302
    deleted = client.post(f"/admin/agents/cannedreply/{saved.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not CannedReply.objects.for_org(org).exists()
    assert AuditEvent.objects.for_org(org).filter(action="canned_reply.deleted").exists()


def test_the_api_lists_the_tenants_canned_replies(org, other_org, key_client, api_client):
    mine = reply(org, shortcut="pricing")
    theirs = reply(other_org, shortcut="secret")
    rows = key_client.get("/api/canned-replies/").json()["results"]
    assert [(r["id"], r["shortcut"], r["body"]) for r in rows] == [
        (mine.pk, "pricing", "Hi {first_name}, plans start at 999.")]
    assert key_client.get(f"/api/canned-replies/{theirs.pk}/").status_code == 404
    sdr = make_membership(org, role=Role.SDR)
    api_client.force_login(sdr.user)
    assert api_client.get("/api/canned-replies/", {"shortcut": "pricing"}).json()["count"] == 1
