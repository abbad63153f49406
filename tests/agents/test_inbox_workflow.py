"""Moving through the inbox: a thread knows the list it was opened from (previous, next, the
way back), "done" reads it and goes on, the shortcuts' list is on both pages; and the reply
box's small fixes: a blank reply is told inside the thread, a past schedule time is refused."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from agents.models import Message
from tests.agents.factories import make_channel
from tests.agents.inbox_support import open_conversation, unread_of
from tests.leads.pages_support import HTMX, page_of, query_count

pytestmark = pytest.mark.django_db

BLANK = "The message is empty: write something before you send it."


@pytest.fixture
def three(org, sdr):
    """Three conversations, most recent activity first: first, second, third."""
    made = {}
    for hours, name in ((1, "First Farah"), (2, "Second Sami"), (3, "Third Tanu")):
        made[name.split()[0].lower()] = open_conversation(sdr, name=name, hours_ago=hours)
    return made


# --- a thread in its list --------------------------------------------------------------------

def test_a_thread_links_to_its_neighbours_in_the_list_it_came_from(sdr, three, login_client):
    client = login_client(sdr)
    page = page_of(client.get(f"/inbox/{three['second'].pk}/", {"sort": "recent"}))

    assert (f'rel="prev" href="/inbox/{three["first"].pk}/?view=mine&amp;sort=recent"'
            in page)
    assert (f'rel="next" href="/inbox/{three["third"].pk}/?view=mine&amp;sort=recent"'
            in page)
    assert 'href="/inbox/?view=mine&amp;sort=recent" data-testid="back-to-list"' in page
    last = page_of(client.get(f"/inbox/{three['third'].pk}/", {"sort": "recent"}))
    assert 'rel="next"' not in last and 'rel="prev"' in last


def test_the_lists_links_carry_its_view_and_filters_to_the_thread(sdr, three, login_client):
    page = page_of(login_client(sdr).get("/inbox/", {"sort": "oldest", "q": "a"}))
    assert f'href="/inbox/{three["third"].pk}/?view=mine&amp;sort=oldest&amp;q=a"' in page


def test_done_reads_the_thread_for_this_person_and_opens_the_next(
    org, sdr, manager, three, login_client
):
    client = login_client(sdr)

    response = client.post(f"/inbox/{three['first'].pk}/done/?view=mine&sort=recent")

    assert response.status_code == 302
    assert response["Location"] == f"/inbox/{three['second'].pk}/?view=mine&sort=recent"
    assert unread_of(three["first"], sdr) == 0 and unread_of(three["first"], manager) == 1
    at_the_end = client.post(f"/inbox/{three['third'].pk}/done/?view=mine&sort=recent")
    assert at_the_end["Location"] == "/inbox/?view=mine&sort=recent"
    assert "That was the last conversation of the list." in page_of(
        client.get(at_the_end["Location"]))
    assert client.post(f"/inbox/{three['second'].pk}/done/", headers=HTMX).status_code == 204


def test_done_in_the_unread_list_goes_to_the_next_unread_one(sdr, three, login_client):
    client = login_client(sdr)
    client.get(f"/inbox/{three['second'].pk}/")  # read already

    response = client.post(f"/inbox/{three['first'].pk}/done/?view=mine&sort=recent&unread=1")

    assert response["Location"].startswith(f"/inbox/{three['third'].pk}/")


def test_both_pages_carry_the_shortcuts_and_their_list(sdr, three, login_client):
    client = login_client(sdr)
    for url in ("/inbox/", f"/inbox/{three['first'].pk}/"):
        page = page_of(client.get(url))
        assert 'src="/static/js/inbox.js"' in page
        assert '<dialog id="shortcut-help"' in page
        for words in ("Next conversation", "Previous conversation", "Reply: put the cursor",
                      "Done: mark the conversation read"):
            assert words in page


def test_the_thread_costs_the_same_with_one_or_twenty_conversations_in_its_list(
    org, sdr, manager, login_client
):
    channel = make_channel(org)
    first = open_conversation(sdr, name="Lead 0", channel=channel)
    url = f"/inbox/{first.pk}/?view=all&sort=urgent"
    rep, boss = login_client(sdr), login_client(manager)
    rep.get(url), boss.get(url)
    few = query_count(rep, url), query_count(boss, url)
    for n in range(1, 20):
        open_conversation(sdr, name=f"Lead {n}", channel=channel)
    assert (query_count(rep, url), query_count(boss, url)) == few


# --- the reply box's fixes ---------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "   \n  "])
def test_a_blank_reply_is_told_inside_the_thread(sdr, login_client, text):
    conversation = open_conversation(sdr, name="Open Olga")
    client = login_client(sdr)
    form = {"text": text, "client_id": uuid.uuid4().hex}

    htmx = client.post(f"/inbox/{conversation.pk}/reply/", form, headers=HTMX)
    plain = client.post(f"/inbox/{conversation.pk}/reply/", form)

    # htmx swaps the box (the thread page lets a 400 in); the page stays the thread.
    assert htmx.status_code == 400
    fragment = page_of(htmx)
    assert fragment.lstrip().startswith('<section id="reply-box"') and "<html" not in fragment
    assert f'data-testid="reply-error">{BLANK}<' in fragment
    assert 'aria-invalid="true"' in fragment
    assert plain.status_code == 400
    assert "<html" in page_of(plain) and BLANK in page_of(plain)
    assert "Hello from Open Olga" in page_of(plain)
    assert not Message.objects.filter(conversation=conversation, direction="outbound").exists()


def test_the_reply_box_leaves_blank_text_to_the_server_so_its_error_shows_inline(
    sdr, login_client
):
    conversation = open_conversation(sdr, name="Open Olga")
    page = page_of(login_client(sdr).get(f"/inbox/{conversation.pk}/"))
    box = page[page.index('<textarea id="reply-text"'):]
    assert " required" not in box[:box.index(">")]
    assert "[400, 403, 409, 422].includes(event.detail.xhr.status)" in page


def test_a_schedule_time_in_the_past_is_refused_on_the_page(org, sdr, login_client):
    conversation = open_conversation(sdr, name="Open Olga")
    past = timezone.localtime(timezone.now() - timedelta(hours=2),
                              timezone=__import__("zoneinfo").ZoneInfo(org.timezone))

    response = login_client(sdr).post(f"/inbox/{conversation.pk}/reply/", {
        "text": "Talk soon", "client_id": uuid.uuid4().hex,
        "scheduled_for": past.strftime("%Y-%m-%dT%H:%M")}, headers=HTMX)

    assert response.status_code == 400
    assert ("Schedule for: That time has passed; choose a time in the future, or leave it "
            "empty to send now.") in page_of(response)
    assert ">Talk soon</textarea>" in page_of(response)  # what was typed stays
    assert not Message.objects.filter(conversation=conversation, direction="outbound").exists()


def test_a_schedule_time_in_the_past_is_refused_by_the_api(org, sdr, key_client):
    conversation = open_conversation(sdr, name="Open Olga")
    response = key_client.post(f"/api/conversations/{conversation.pk}/send/", {
        "text": "Talk soon",
        "scheduled_for": (timezone.now() - timedelta(hours=2)).isoformat()}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "message_invalid"
    assert "That time has passed" in error["fields"]["scheduled_for"][0]
    assert not Message.objects.filter(conversation=conversation, direction="outbound").exists()
