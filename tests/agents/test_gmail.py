"""Gmail mailboxes against the Google sandbox: polling (history paging, 404 → full sync,
token refresh, invalid_grant), sending, and connecting a mailbox through OAuth."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core import mail
from django.db import connection
from django.utils import timezone

from agents import tasks
from agents.models import Channel, ChannelStatus, Conversation, Direction, Message
from agents.providers import gmail as provider
from agents.services import gmail as services
from leads.models import Lead, Status
from tests.agents.gmail_support import MAILBOX, connected_mailbox, running_google
from tests.agents.inbox_support import unread_of
from tests.factories import SETUP_ACTOR, make_membership
from tests.leads.factories import make_lead
from tests.support import errors_of, needs_postgres, run_together


@pytest.fixture
def google(settings):
    with running_google(settings) as (sandbox, _server):
        yield sandbox


@pytest.fixture
def mailbox(org, google):
    return connected_mailbox(org, google)


def poll(channel):
    return services.mailbox_poll(channel_id=channel.pk)


def inbound(channel):
    return Message.objects.filter(conversation__channel=channel, direction=Direction.INBOUND)


# --- polling ----------------------------------------------------------------------------------

def test_first_poll_is_a_full_sync_that_makes_each_email_a_message_of_its_lead(
    org, google, mailbox
):
    at = (timezone.now() - timedelta(days=2)).replace(microsecond=0)
    gmail_id = google.email_receive(MAILBOX, "Asha Rao <Asha@Leads.test>", "Pricing?",
                                    "How much for 20 seats?", at=at)
    report = poll(mailbox)
    assert report["outcome"] == "polled" and report["mode"] == "full"
    (message,) = inbound(mailbox)
    assert message.provider_message_id == gmail_id
    assert message.subject == "Pricing?" and message.body == "How much for 20 seats?"
    assert message.created_at == at
    conversation = message.conversation
    assert conversation.contact_id == "asha@leads.test"
    assert conversation.thread_id == gmail_id and unread_of(conversation) == 1
    assert conversation.last_inbound_at == at
    lead = conversation.lead
    assert (lead.email, lead.name, lead.source) == ("asha@leads.test", "Asha Rao", "gmail")
    assert lead.last_inbound_at == at
    mailbox.refresh_from_db()
    assert mailbox.history_id == str(google.mailbox(MAILBOX).history_id)
    assert mailbox.last_polled_at is not None


def test_history_is_read_across_pages_from_the_stored_history_id(
    org, google, mailbox, monkeypatch
):
    poll(mailbox)
    mailbox.refresh_from_db()
    start = mailbox.history_id
    monkeypatch.setattr(provider, "PAGE_SIZE", 2)
    ids = [google.email_receive(MAILBOX, f"lead{n}@leads.test", f"Hi {n}", f"Question {n}")
           for n in range(5)]
    google.requests.clear()
    report = poll(mailbox)
    assert report["mode"] == "history" and report["stored"] == 5
    assert sorted(inbound(mailbox).values_list("provider_message_id", flat=True)) == sorted(ids)
    assert [path for _method, path in google.requests].count(
        "/google/gmail/v1/users/me/history") == 3
    mailbox.refresh_from_db()
    assert int(mailbox.history_id) > int(start)


def test_an_existing_lead_with_the_same_email_gets_the_conversation(org, google, mailbox):
    lead = make_lead(org, email="known@leads.test", name="Known Lead")
    google.email_receive(MAILBOX, "known@leads.test", "Hello again", "Still interested.")
    poll(mailbox)
    (message,) = inbound(mailbox)
    assert message.conversation.lead_id == lead.pk
    assert Lead.objects.for_org(org).filter(email="known@leads.test").count() == 1


def test_history_404_means_a_full_sync_and_a_new_history_id(org, google, mailbox):
    poll(mailbox)
    mailbox.refresh_from_db()
    stale = mailbox.history_id
    gmail_id = google.email_receive(MAILBOX, "late@leads.test", "Hello", "Are you there?")
    google.history_forget_before(int(stale) + 1)
    report = poll(mailbox)
    assert report["mode"] == "full" and report["stored"] == 1
    assert list(inbound(mailbox).values_list("provider_message_id", flat=True)) == [gmail_id]
    mailbox.refresh_from_db()
    assert mailbox.history_id == str(google.mailbox(MAILBOX).history_id)
    # The next poll is incremental again from the new id.
    assert poll(mailbox)["mode"] == "history"


def test_a_missing_access_token_is_fetched_with_the_stored_refresh_token_and_stored_encrypted(
    org, google
):
    _access, refresh = google.tokens_issue(MAILBOX)
    from tests.agents.factories import make_channel

    channel = make_channel(org, kind="gmail", external_id=MAILBOX, access_token="",
                           refresh_token=refresh)
    google.email_receive(MAILBOX, "a@leads.test", "Hi", "Hi")
    assert poll(channel)["stored"] == 1
    channel.refresh_from_db()
    assert channel.access_token.startswith("ya29.")
    assert channel.access_token_expires_at > timezone.now() + timedelta(minutes=50)


def test_an_access_token_google_expired_early_is_refreshed_and_the_poll_goes_on(
    org, google, mailbox
):
    before = mailbox.access_token
    google.access_tokens_expire()
    google.email_receive(MAILBOX, "b@leads.test", "Hi", "Hi")
    report = poll(mailbox)
    assert report["outcome"] == "polled" and report["stored"] == 1
    mailbox.refresh_from_db()
    assert mailbox.access_token != before


def test_invalid_grant_disconnects_the_mailbox_tells_managers_once_and_stops_polling(
    org, google, mailbox, manager, sdr, django_capture_on_commit_callbacks
):
    google.refresh_token_revoke(mailbox.refresh_token)
    google.access_tokens_expire()
    with django_capture_on_commit_callbacks(execute=True):
        assert poll(mailbox)["outcome"] == "disconnected"
    mailbox.refresh_from_db()
    assert mailbox.status == ChannelStatus.DISCONNECTED
    assert "invalid_grant" in mailbox.status_reason
    assert mailbox.access_token == ""
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [manager.user.email]
    assert MAILBOX in mail.outbox[0].subject

    with django_capture_on_commit_callbacks(execute=True):
        assert poll(mailbox)["outcome"] == "not_polled"
        assert services.mailbox_disconnect(org=org, channel=mailbox, reason="again",
                                           actor=SETUP_ACTOR) is False
    assert len(mail.outbox) == 1
    google.requests.clear()
    assert poll(mailbox)["outcome"] == "not_polled"
    assert google.requests == []


def test_the_job_queues_only_connected_gmail_mailboxes(org, google, mailbox, monkeypatch):
    from tests.agents.factories import make_channel

    gone = connected_mailbox(org, google, "old@example.test")
    gone.status = ChannelStatus.DISCONNECTED
    gone.save(update_fields=["status"])
    make_channel(org)  # WhatsApp
    queued = []
    monkeypatch.setattr(tasks.gmail_poll, "delay", queued.append)
    assert services.mailboxes_poll_enqueue() == {"queued": 1}
    assert queued == [mailbox.pk]


def test_the_same_email_never_makes_two_messages(org, google, mailbox):
    poll(mailbox)
    mailbox.refresh_from_db()
    start = mailbox.history_id
    google.email_receive(MAILBOX, "dup@leads.test", "Once", "Only once please")
    assert poll(mailbox)["stored"] == 1
    # A poll that died before storing its historyId reads the same history again.
    Channel.objects.filter(pk=mailbox.pk).update(history_id=start)
    mailbox.refresh_from_db()
    assert poll(mailbox)["duplicate"] == 1
    # And a second store of the same email (two polls at once) is refused by the database.
    email = provider.message_get(access_token=mailbox.access_token,
                                 message_id=inbound(mailbox).get().provider_message_id)
    assert services.email_record(channel=mailbox, email=email) == "duplicate"
    assert inbound(mailbox).count() == 1
    assert unread_of(Conversation.objects.get(channel=mailbox)) == 1


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_polls_of_one_mailbox_at_once_store_each_email_once(org, google, mailbox):
    ids = [google.email_receive(MAILBOX, f"lead{n % 3}@leads.test", f"Hi {n}", f"Note {n}")
           for n in range(9)]
    outcomes = run_together(2, lambda _n: services.mailbox_poll(channel_id=mailbox.pk))
    assert errors_of(outcomes) == []
    assert sorted(inbound(mailbox).values_list("provider_message_id", flat=True)) == sorted(ids)
    assert Conversation.objects.filter(channel=mailbox).count() == 3
    assert Lead.objects.for_org(org).filter(email__endswith="@leads.test").count() == 3
    assert sum(unread_of(c) for c in Conversation.objects.filter(channel=mailbox)) == 9
    mailbox.refresh_from_db()
    assert mailbox.history_id == str(google.mailbox(MAILBOX).history_id)


def test_our_own_mail_is_not_taken_for_a_lead_writing(org, google, mailbox):
    poll(mailbox)
    provider.message_send(channel=mailbox, to="lead@leads.test", subject="Our offer",
                          body="Here is our offer.")
    google.email_receive(MAILBOX, f"Sales Team <{MAILBOX}>", "Note to self", "From my phone")
    report = poll(mailbox)
    assert report["ignored"] == 2 and "stored" not in report
    assert not Message.objects.filter(conversation__channel=mailbox).exists()
    assert not Lead.objects.for_org(org).filter(email="lead@leads.test").exists()


def test_an_unsubscribe_email_opts_the_lead_out(org, google, mailbox):
    google.email_receive(MAILBOX, "bye@leads.test", "Re: our offer",
                         "Unsubscribe\n\nOn Mon, Sales wrote:\n> Here is our offer")
    assert poll(mailbox)["opted_out"] == 1
    assert Lead.objects.for_org(org).get(email="bye@leads.test").status == Status.OPTED_OUT


def test_tokens_are_encrypted_in_the_database(org, google, mailbox):
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM agents_channel WHERE id = %s",
                       [mailbox.pk])
        stored_access, stored_refresh = cursor.fetchone()
    mailbox.refresh_from_db()
    for stored, plain in ((stored_access, mailbox.access_token),
                          (stored_refresh, mailbox.refresh_token)):
        assert plain and plain not in stored and stored.startswith("fernet:")


# --- sending ----------------------------------------------------------------------------------

def test_message_send_replies_in_the_thread_with_a_valid_rfc822_email(org, google, mailbox):
    first = google.email_receive(MAILBOX, "Ravi <ravi@leads.test>", "Demo next week?",
                                 "Can we do a demo?")
    poll(mailbox)
    conversation = Conversation.objects.get(channel=mailbox)
    original = provider._thread_parent(mailbox.access_token, first)[0]
    gmail_id, thread_id = provider.message_send(
        channel=mailbox, to="ravi@leads.test", subject="", body="Tuesday at 11 works.",
        thread_id=conversation.thread_id)
    assert thread_id == conversation.thread_id == first
    (sent,) = google.sent()
    email = sent["message"]
    assert sent["id"] == gmail_id
    assert email["To"] == "ravi@leads.test" and email["From"] == MAILBOX
    assert email["Subject"] == "Re: Demo next week?"
    assert email["In-Reply-To"] == original and original in email["References"]
    assert email["Message-ID"]
    assert email.get_content().strip() == "Tuesday at 11 works."


def test_message_send_refuses_a_header_injection_and_a_bad_address(org, google, mailbox):
    from agents.errors import MessageInvalid

    with pytest.raises(MessageInvalid):
        provider.message_send(channel=mailbox, to="x@leads.test",
                              subject="Hi\r\nBcc: all@victims.test", body="Hi")
    with pytest.raises(MessageInvalid):
        provider.message_send(channel=mailbox, to="not an address", subject="Hi", body="Hi")
    assert google.sent() == []


# --- connecting -------------------------------------------------------------------------------

CONNECT = "/inbox/channels/gmail/connect/"
CALLBACK = "/inbox/channels/gmail/callback/"


def consent(google, location: str) -> str:
    """What the browser does at Google: the consent screen redirects back to us."""
    answer = requests.get(location, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


@pytest.mark.urls("tests.agents.gmail_urls")
def test_a_manager_connects_a_mailbox_through_google_and_it_can_be_polled(
    org, google, manager, login_client, settings
):
    client = login_client(manager)
    start = client.get(CONNECT)
    assert start.status_code == 302
    query = parse_qs(urlsplit(start["Location"]).query)
    assert start["Location"].startswith(settings.GOOGLE_OAUTH_AUTH_URL)
    assert query["client_id"] == [settings.GOOGLE_CLIENT_ID]
    assert query["redirect_uri"] == ["http://testserver" + CALLBACK]
    assert query["response_type"] == ["code"]
    assert query["scope"] == ["https://www.googleapis.com/auth/gmail.modify"]
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]

    done = client.get(consent(google, start["Location"]))
    assert done.status_code == 302 and done["Location"] == "/admin/agents/channel/"
    channel = Channel.objects.for_org(org).get(kind="gmail")
    assert channel.external_id == MAILBOX and channel.status == ChannelStatus.CONNECTED
    assert channel.refresh_token.startswith("1//") and channel.access_token_expires_at
    google.email_receive(MAILBOX, "new@leads.test", "Hi", "Hello")
    assert poll(channel)["stored"] == 1

    # The same callback URL cannot be replayed: the state was for one attempt.
    replay = client.get(done.request["PATH_INFO"] + "?" + done.request["QUERY_STRING"])
    assert replay.status_code == 400


@pytest.mark.urls("tests.agents.gmail_urls")
def test_connecting_a_disconnected_mailbox_again_reconnects_the_same_channel(
    org, google, mailbox, manager, login_client
):
    services.mailbox_disconnect(org=org, channel=mailbox, reason="revoked", actor=SETUP_ACTOR)
    client = login_client(manager)
    client.get(CONNECT)  # a first attempt, abandoned at Google's screen
    start = client.get(CONNECT)
    client.get(consent(google, start["Location"]))
    mailbox.refresh_from_db()
    assert mailbox.status == ChannelStatus.CONNECTED and mailbox.status_reason == ""
    assert Channel.objects.filter(kind="gmail", external_id=MAILBOX).count() == 1
    google.email_receive(MAILBOX, "back@leads.test", "Hi", "Hello")
    assert poll(mailbox)["stored"] == 1


@pytest.mark.urls("tests.agents.gmail_urls")
def test_sdrs_cannot_connect_a_mailbox(org, google, sdr, login_client):
    client = login_client(sdr)
    assert client.get(CONNECT).status_code == 403
    assert client.get(CALLBACK + "?code=x&state=y").status_code == 403


@pytest.mark.urls("tests.agents.gmail_urls")
def test_a_state_made_for_another_organization_is_refused(
    org, other_org, google, manager, login_client
):
    from agents.gmail_views import SESSION_NONCE_KEY, state_make

    make_membership(other_org, role="manager", user=manager.user)
    client = login_client(manager)
    start = client.get(CONNECT)
    nonce = client.session[SESSION_NONCE_KEY]
    back = consent(google, start["Location"])
    code = parse_qs(urlsplit(back).query)["code"][0]
    forged = state_make(organization_id=other_org.pk, user_id=manager.user.pk, nonce=nonce)
    refused = client.get(CALLBACK, {"code": code, "state": forged})
    assert refused.status_code == 400
    assert b"another organization" in refused.content
    tampered = client.get(CALLBACK, {"code": code, "state": forged[:-2] + "xx"})
    assert tampered.status_code == 400
    assert not Channel.objects.filter(kind="gmail").exists()
