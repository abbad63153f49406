"""An inbound message that IS an opt-out (English, Hindi, Hinglish) withdraws the lead's
consent; a sentence that merely contains "stop" does not."""

import pytest

from agents.models import ChannelKind, Message
from agents.optout import is_opt_out
from leads.models import LeadEvent, Status
from tests.agents.factories import make_channel
from tests.agents.test_meta_webhooks import post_signed, wa_message

OPT_OUTS = [
    "STOP", "stop", "Stop.", "STOP!!", "  stop  ", "STOP ALL", "stop all", "UNSUBSCRIBE",
    "Unsubscribe", "unsubscribe me", "opt out", "Opt-out", "OPTOUT", "stop messaging me",
    "Please stop messaging me", "Stop messaging me, thanks", "please stop", "ok stop",
    "Don't message me", "do not contact me", "remove me from your list",
    # Hindi (Devanagari)
    "रोकें", "रोको", "बंद करो", "बंद करें", "बंद करें।", "कृपया बंद करें", "मैसेज मत भेजो",
    "मुझे मैसेज मत भेजो", "सदस्यता रद्द करें", "संदेश मत भेजो",
    # Hinglish
    "band karo", "Band karo bhai", "bandh karo", "mat bhejo", "message mat bhejo",
    "msg mat bhejo plz", "unsubscribe karo", "rok do",
]
NOT_OPT_OUTS = [
    "don't stop, tell me more", "Don't stop", "can you stop by Monday?", "stop by tomorrow",
    "When does the offer stop?", "I will stop at your office", "non stop service?",
    "stop the price is too high for me", "Can I unsubscribe later if I buy the plan?",
    "how do I opt out of the auto-renewal?", "", "   ", "Hi", "What is the price?",
    "बंद करो मत, और बताओ", "दुकान कब बंद होती है?", "band kab hota hai shop?",
    "mat bhejo courier abhi, I will pick up", "stop " * 30,
]


@pytest.mark.parametrize("text", OPT_OUTS)
def test_a_message_that_is_an_opt_out_is_recognised(text):
    assert is_opt_out(text) is True


@pytest.mark.parametrize("text", NOT_OPT_OUTS)
def test_a_message_that_only_mentions_stopping_is_not_an_opt_out(text):
    assert is_opt_out(text) is False


# --- through the webhook ----------------------------------------------------------------------

@pytest.fixture
def deliver(client, celery_eager, django_capture_on_commit_callbacks, nlu_model, db):
    def post(payload):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_signed(client, ChannelKind.WHATSAPP, payload)
        assert response.status_code == 200
    return post


@pytest.mark.parametrize("text", ["STOP", "मैसेज मत भेजो", "band karo"])
def test_an_inbound_opt_out_marks_the_lead_opted_out_with_the_message_id_as_evidence(
    deliver, org, text
):
    channel = make_channel(org, kind=ChannelKind.WHATSAPP)
    deliver(wa_message(channel, text="Hi, I want the price list", mid="wamid.FIRST"))
    deliver(wa_message(channel, text=text, mid="wamid.Q1", ts=1749416400))
    message = Message.objects.for_org(org).get(provider_message_id="wamid.Q1")
    lead = message.conversation.lead
    lead.refresh_from_db()
    assert lead.status == Status.OPTED_OUT
    event = LeadEvent.objects.get(lead=lead, kind=LeadEvent.Kind.OPTED_OUT)
    assert event.data["channel"] == "whatsapp"
    assert event.data["evidence"] == "wamid.Q1"
    assert text not in str(event.data)  # the evidence is the id, never the text
    assert message.body == text  # the message itself is kept in the thread


def test_a_message_that_mentions_stop_leaves_the_lead_as_it_was(deliver, org):
    channel = make_channel(org, kind=ChannelKind.WHATSAPP)
    deliver(wa_message(channel, text="don't stop, tell me more"))
    lead = Message.objects.for_org(org).get().conversation.lead
    assert lead.status != Status.OPTED_OUT
    assert not LeadEvent.objects.filter(lead=lead, kind=LeadEvent.Kind.OPTED_OUT).exists()
