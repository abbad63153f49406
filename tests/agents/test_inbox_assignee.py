"""Who holds a conversation: its lead's owner, read through the lead, so a re-routed or
queued lead never leaves its conversation behind; the views (mine, unassigned, all) and who
may ask for which; the hand-over and the new holder's notification."""

import pytest

from agents import selectors
from agents.models import Conversation
from agents.selectors import MINE, UNASSIGNED, InboxQuery
from agents.services import inbox
from flexoraa.actors import Actor
from flexoraa.errors import PermissionDenied
from flexoraa.models import Notification, Role
from leads import services as lead_services
from leads.models import Lead, Status
from tests.agents.inbox_support import open_conversation
from tests.factories import SETUP_ACTOR, UserFactory, make_membership
from tests.leads.pages_support import HOT, WARM, page_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_sdr(org):
    return make_membership(org, role=Role.SDR, capacity=5,
                           user=UserFactory(username="ravi-other-sdr"))


def holder(conversation):
    return Conversation.objects.select_related("lead").get(pk=conversation.pk).assignee_id


def queued(conversation):
    """The lead leaves its owner for the unassigned queue, as the leakage watch does."""
    Lead.objects.filter(pk=conversation.lead_id).update(owner=None, assigned_at=None)


def ids(org, membership, **query):
    return set(selectors.inbox_conversations(org, membership, InboxQuery(**query))
               .values_list("pk", flat=True))


# --- the drift: the conversation follows its lead -----------------------------------------

def test_a_lead_rerouted_in_leados_takes_its_conversation_to_the_new_owner(
    org, manager, sdr, other_sdr, login_client
):
    conversation = open_conversation(sdr, name="Mira One")

    lead_services.leads_reassign_bulk(org=org, lead_ids=[conversation.lead_id],
                                      owner_id=other_sdr.pk, actor=Actor.for_member(manager))

    assert holder(conversation) == other_sdr.pk
    assert ids(org, other_sdr, view=MINE) == {conversation.pk}
    assert ids(org, sdr, view=MINE) == set()
    assert login_client(sdr).get(f"/inbox/{conversation.pk}/").status_code == 404
    thread = page_of(login_client(other_sdr).get(f"/inbox/{conversation.pk}/"))
    assert f'data-testid="assignee">{other_sdr.user.username}<' in thread


def test_a_queued_leads_conversation_is_nobodys(org, manager, sdr, login_client):
    conversation = open_conversation(sdr, name="Mira One")

    queued(conversation)

    assert holder(conversation) is None
    assert ids(org, manager, view=UNASSIGNED) == {conversation.pk}
    assert ids(org, sdr, view=MINE) == set()
    page = page_of(login_client(manager).get("/inbox/", {"view": "unassigned"}))
    assert "Mira One" in page and ">Unassigned<" in page


def test_a_closed_leads_conversation_handed_on_goes_back_to_the_owner_when_it_reopens(
    org, manager, sdr, other_sdr
):
    conversation = open_conversation(sdr, name="Mira One")
    Lead.objects.filter(pk=conversation.lead_id).update(status=Status.LOST)
    inbox.conversation_assign(org=org, conversation=conversation, assignee=other_sdr,
                              actor=Actor.for_member(manager))
    assert holder(conversation) == other_sdr.pk
    assert Lead.objects.get(pk=conversation.lead_id).owner_id == sdr.pk

    Lead.objects.filter(pk=conversation.lead_id).update(status=Status.QUALIFYING)

    assert holder(conversation) == sdr.pk


def test_the_api_names_the_holder_and_filters_by_it(org, sdr, other_sdr, key_client):
    mine = open_conversation(sdr, name="Mira One")
    theirs = open_conversation(other_sdr, name="Tara Two")
    lead_services.lead_reassign(org=org, lead=theirs.lead, owner_id=sdr.pk, actor=SETUP_ACTOR)

    rows = key_client.get("/api/conversations/", {"assignee": sdr.pk}).json()["results"]

    assert {row["id"] for row in rows} == {mine.pk, theirs.pk}
    assert {row["assignee"] for row in rows} == {sdr.pk}


# --- views and who may ask for them -------------------------------------------------------

def test_an_sdr_sees_mine_by_default_and_asking_for_all_gives_mine_with_a_notice(
    org, sdr, other_sdr, login_client
):
    open_conversation(sdr, name="Mine Mira")
    open_conversation(other_sdr, name="Theirs Tara")
    client = login_client(sdr)

    default = page_of(client.get("/inbox/"))
    asked_all = page_of(client.get("/inbox/", {"view": "all"}))

    assert "Mine Mira" in default and "Theirs Tara" not in default
    assert 'data-testid="view-all"' not in default  # no tab for it
    assert "Mine Mira" in asked_all and "Theirs Tara" not in asked_all
    assert "All conversations are for managers; here are yours." in asked_all


def test_a_manager_sees_all_by_default_and_has_the_three_views(
    org, manager, sdr, other_sdr, login_client
):
    open_conversation(sdr, name="Mira One")
    taken = open_conversation(manager, name="Manny Own")
    nobodys = open_conversation(other_sdr, name="Queued Quinn")
    queued(nobodys)
    client = login_client(manager)

    everyone = page_of(client.get("/inbox/"))
    mine = page_of(client.get("/inbox/", {"view": "mine"}))
    unassigned = page_of(client.get("/inbox/", {"view": "unassigned"}))

    assert all(name in everyone for name in ("Mira One", "Manny Own", "Queued Quinn"))
    assert 'data-testid="view-all" aria-current="page"' in everyone
    assert "Manny Own" in mine and "Mira One" not in mine
    assert taken.pk in ids(org, manager, view=MINE)
    assert "Queued Quinn" in unassigned and "Mira One" not in unassigned


def test_an_sdr_opens_unassigned_conversations_only_of_the_tiers_they_may_take(
    org, manager, sdr, other_sdr, login_client
):
    lead_services.routing_pool_member_add(org=org, tier="hot", membership=other_sdr,
                                          actor=SETUP_ACTOR)
    hot = open_conversation(manager, name="Hot Hema", **HOT)
    warm = open_conversation(manager, name="Warm Wasim", **WARM)
    queued(hot)
    queued(warm)
    client = login_client(sdr)

    page = page_of(client.get("/inbox/", {"view": "unassigned"}))

    assert "Warm Wasim" in page and "Hot Hema" not in page
    assert client.get(f"/inbox/{hot.pk}/").status_code == 404
    thread = page_of(client.get(f"/inbox/{warm.pk}/"))
    assert 'data-testid="not-taken"' in thread and 'name="text"' not in thread
    refused = client.post(f"/inbox/{warm.pk}/reply/", {"text": "Hello"})
    assert refused.status_code == 403 and "take it" in page_of(refused)
    assert "Hot Hema" in page_of(login_client(other_sdr).get("/inbox/?view=unassigned"))


def test_an_sdr_takes_an_unassigned_conversation_and_it_becomes_theirs(
    org, manager, sdr, login_client
):
    conversation = open_conversation(manager, name="Warm Wasim", **WARM)
    queued(conversation)
    client = login_client(sdr)

    response = client.post(f"/inbox/{conversation.pk}/take/")

    assert response.status_code == 302
    assert holder(conversation) == sdr.pk
    assert "It is yours now." in page_of(client.get(response["Location"]))
    assert 'name="text"' in page_of(client.get(f"/inbox/{conversation.pk}/"))


def test_the_api_views_and_their_refusals(org, sdr, other_sdr, manager, api_client,
                                          key_client):
    mine = open_conversation(sdr, name="Mira One")
    theirs = open_conversation(other_sdr, name="Tara Two")
    api_client.force_login(sdr.user)

    assert [r["id"] for r in api_client.get("/api/conversations/",
                                            {"view": "mine"}).json()["results"]] == [mine.pk]
    refused = api_client.get("/api/conversations/", {"view": "all"})
    assert refused.status_code == 403
    assert "All conversations are for managers" in refused.json()["error"]["message"]
    keyed = key_client.get("/api/conversations/", {"view": "mine"})
    assert keyed.status_code == 400 and "view" in keyed.json()["error"]["fields"]
    everyone = key_client.get("/api/conversations/", {"view": "all"}).json()["results"]
    assert {row["id"] for row in everyone} == {mine.pk, theirs.pk}
    api_client.force_login(manager.user)
    assert api_client.get("/api/conversations/", {"view": "all"}).status_code == 200


# --- hand-over and its notification -------------------------------------------------------

def test_a_transfer_notifies_the_new_holder_once_after_commit(
    org, manager, sdr, other_sdr, django_capture_on_commit_callbacks
):
    conversation = open_conversation(sdr, name="Mira One")

    with django_capture_on_commit_callbacks(execute=True):
        inbox.conversation_assign(org=org, conversation=conversation, assignee=other_sdr,
                                  actor=Actor.for_member(sdr))

    (told,) = Notification.objects.filter(kind="conversation_transferred")
    assert told.recipient_id == other_sdr.pk
    assert told.url == f"/inbox/{conversation.pk}/"
    assert "Mira One" in told.title
    assert told.dedupe_key.startswith(f"conversation:{conversation.pk}:transferred:")
    # Handing it to whoever holds it already changes and tells nothing.
    with django_capture_on_commit_callbacks(execute=True):
        inbox.conversation_assign(org=org, conversation=conversation, assignee=other_sdr,
                                  actor=Actor.for_member(manager))
    assert Notification.objects.filter(kind="conversation_transferred").count() == 1


def test_a_refused_transfer_notifies_nobody(org, sdr, other_sdr,
                                            django_capture_on_commit_callbacks):
    conversation = open_conversation(other_sdr, name="Tara Two")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        inbox.conversation_assign(org=org, conversation=conversation, assignee=sdr,
                                  actor=Actor.for_member(sdr))
    assert not Notification.objects.exists()


def test_taking_a_conversation_for_oneself_is_not_told(org, manager, sdr,
                                                       django_capture_on_commit_callbacks):
    conversation = open_conversation(sdr, name="Mira One")
    with django_capture_on_commit_callbacks(execute=True):
        inbox.conversation_assign(org=org, conversation=conversation, assignee=manager,
                                  actor=Actor.for_member(manager))
    assert holder(conversation) == manager.pk
    assert not Notification.objects.filter(kind="conversation_transferred").exists()
