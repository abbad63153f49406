"""Authority reading: the label guide's cases as a table (English, Hinglish, Devanagari), and
properties over generated and hostile text (hypothesis)."""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.nlu.rules.authority import VALUES, AuthorityReading, read_authority


def read(text):
    found = read_authority(text)
    return None if found is None else (found.value, found.phrase)


@pytest.mark.parametrize(
    ("text", "value", "phrase"),
    [
        # The messages the scoring is judged on.
        ("Rs 1,20,000 approved, let's sign today", "decision_maker", "approved"),
        ("We'd need sign-off from our CFO, probably next month", "influencer",
         "need sign-off from our CFO"),
        # Decision maker: owns, runs or heads the business, or decides.
        ("I'm the owner", "decision_maker", "I'm the owner"),
        ("I am the owner of this clinic", "decision_maker", "I am the owner"),
        ("I own a salon in Pune", "decision_maker", "I own a salon"),
        ("founder here", "decision_maker", "founder here"),
        ("Rahul Mehta, Founder, Acme", "decision_maker", "Founder"),
        ("I'm the CEO", "decision_maker", "I'm the CEO"),
        ("as the MD I can approve this", "decision_maker", "as the MD"),
        ("I'm a director at Acme", "decision_maker", "I'm a director"),
        ("I am the proprietor", "decision_maker", "I am the proprietor"),
        ("I decide", "decision_maker", "I decide"),
        ("I make the decisions here", "decision_maker", "I make the decisions"),
        ("it's my decision", "decision_maker", "it's my decision"),
        ("it's my call", "decision_maker", "it's my call"),
        ("main hi decide karta hoon", "decision_maker", "main hi decide karta hoon"),
        ("main owner hoon", "decision_maker", "main owner hoon"),
        ("mera apna business hai", "decision_maker", "mera apna business"),
        ("मैं मालिक हूँ", "decision_maker", "मैं मालिक हूँ"),
        ("मैं मालिक हूं", "decision_maker", "मैं मालिक हूं"),
        ("फैसला मेरा है", "decision_maker", "फैसला मेरा"),
        # Decision maker: the approval is given, or not needed.
        ("approval done, send invoice", "decision_maker", "approval done"),
        ("budget is approved", "decision_maker", "budget is approved"),
        ("sanctioned", "decision_maker", "sanctioned"),
        ("got the go-ahead from management", "decision_maker", "got the go-ahead"),
        ("approval mil gaya", "decision_maker", "approval mil gaya"),
        ("no approval needed", "decision_maker", "no approval needed"),
        ("I don't need anyone's approval", "decision_maker", "don't need anyone's approval"),
        ("don't need to ask anyone", "decision_maker", "don't need to ask anyone"),
        ("boss se poochna nahi padega", "decision_maker", "poochna nahi padega"),
        # Influencer: someone else approves or decides.
        ("need my boss's approval", "influencer", "need my boss's approval"),
        ("will check with my manager", "influencer", "check with my manager"),
        ("will check with my partner", "influencer", "check with my partner"),
        ("let me check with my wife", "influencer", "check with my wife"),
        ("I'll discuss with my husband", "influencer", "discuss with my husband"),
        ("need to ask my papa", "influencer", "ask my papa"),
        ("boss se poochna padega", "influencer", "boss se poochna padega"),
        ("papa se puchke batata hoon", "influencer", "papa se puchke"),
        ("team will decide", "influencer", "team will decide"),
        ("my boss decides", "influencer", "my boss decides"),
        ("management se approval lena hoga", "influencer", "management se approval lena hoga"),
        ("मैनेजर से पूछना होगा", "influencer", "मैनेजर से पूछना होगा"),
        ("पति से पूछकर बताऊंगी", "influencer", "पति से पूछकर"),
        ("waiting for approval", "influencer", "waiting for approval"),
        ("approval pending hai", "influencer", "approval pending"),
        ("once approved we can pay", "influencer", "once approved"),
        ("need to get it approved", "influencer", "get it approved"),
        ("final decision is with our director", "influencer",
         "final decision is with our director"),
        ("I'm not the owner", "influencer", "I'm not the owner"),
        ("not my decision", "influencer", "not my decision"),
        # User: will use it, sent to look.
        ("I'd be the one using it", "user", "I'd be the one using it"),
        ("for my own use", "user", "for my own use"),
        ("as an employee I'm exploring options", "user", "as an employee"),
        ("my company asked me to look at CRMs", "user", "my company asked me to look"),
    ],
)
def test_the_guides_authority(text, value, phrase):
    assert read(text) == (value, phrase)


@pytest.mark.parametrize(
    ("text", "value", "phrase"),
    [
        # A need for someone else's approval outweighs a title (the label guide) …
        ("I'm the owner but will check with my partner", "influencer",
         "check with my partner"),
        ("main owner hoon par wife se poochna padega", "influencer", "wife se poochna padega"),
        # … and an approval already given outweighs the need.
        ("needed my boss's approval, now approved", "decision_maker", "approved"),
        ("boss se approval mil gaya", "decision_maker", "approval mil gaya"),
        # Using it is the weakest claim.
        ("I'd be the one using it but my boss decides", "influencer", "my boss decides"),
    ],
)
def test_several_claims_read_by_the_guides_order(text, value, phrase):
    assert read(text) == (value, phrase)


@pytest.mark.parametrize(
    "text",
    [
        "CEO wants a demo",
        "our CFO is on leave",
        "budget is not approved yet",
        "not approved",
        "are you an approved vendor?",
        "is your course UGC approved?",
        "can you help me decide between plans",
        "I can't decide which plan",
        "talk to your manager please",
        "can I speak to the owner",
        "we would like you as a partner",
        "confirm the team size",
        "check the office hours",
        "I'm the owner's son",
        "hello",
        "how much is it?",
        "",
    ],
)
def test_words_that_say_nothing_about_authority(text):
    assert read_authority(text) is None


def test_not_the_owner_is_never_a_decision_maker():
    for text in ("I'm not the owner", "i am not the decision maker", "not my call",
                 "main owner nahi hoon", "मैं मालिक नहीं हूँ"):
        found = read_authority(text)
        assert found is not None and found.value != "decision_maker", text


def test_a_reading_is_a_frozen_value():
    found = read_authority("I'm the owner")
    assert found == AuthorityReading(value="decision_maker", phrase="I'm the owner")
    with pytest.raises(AttributeError):
        found.value = "user"


AUTHORITY_WORDS = [
    "I'm the owner", "owner", "founder", "CEO", "approved", "approval", "need", "not", "no",
    "check with my", "boss", "manager", "wife", "papa", "se poochna", "padega", "nahi",
    "team will decide", "I decide", "my decision", "sanctioned", "I own", "for my own use",
    "as an employee", "मैं मालिक हूँ", "मैनेजर से पूछना होगा", "once", "pending", "yet", "'s",
]
FILLER = [
    "Thanks!", "Please share the brochure.", "Regards, Priya", "\U0001f64f",
    "Looking forward to your reply.", "What are the features?", "Do you support WhatsApp?",
    "Send details on email.", "dhanyavaad", "details bhejo", "धन्यवाद", "Hope you are well.",
]
SEPARATORS = [". ", "\n", "\n\n", "! "]  # "? " would make the sentence before a question
HOSTILE_CHARS = st.characters(
    codec="utf-8",
    categories=("L", "M", "N", "P", "S", "Z", "Cc", "Cf"),
)
messages = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=HOSTILE_CHARS, max_size=200),
    st.lists(st.one_of(st.sampled_from(AUTHORITY_WORDS),
                       st.text(alphabet=HOSTILE_CHARS, max_size=8)),
             max_size=12).map(" ".join),
)


@settings(max_examples=400, deadline=None)
@given(text=messages)
def test_any_text_reads_as_none_or_an_authority_whose_words_are_in_it(text):
    found = read_authority(text)
    assert found is None or found.value in VALUES
    if found is not None:
        assert found.phrase
        assert found.phrase in text
        assert found.phrase == found.phrase.strip()
        assert len(found.phrase) <= 60


@settings(max_examples=300, deadline=None)
@given(text=messages, separator=st.sampled_from(SEPARATORS),
       filler=st.lists(st.sampled_from(FILLER), min_size=1, max_size=4).map(" ".join))
def test_a_further_sentence_without_authority_words_changes_nothing(text, separator, filler):
    assert read_authority(text + separator + filler) == read_authority(text)


@pytest.mark.parametrize(
    "message",
    [
        "a" * 1_000_000,
        "a " * 500_000,
        "approved " * 120_000,
        "not approved " * 100_000,
        "I'm the owner " * 80_000,
        "\x00\u202e\u0301\u200d" * 250_000,
        "\U0001f600" * 1_000_000,
        " " * 1_000_000,
        "मैनेजर से पूछना होगा " * 50_000,
    ],
)
def test_a_megabyte_message_is_read_quickly(message):
    started = time.perf_counter()
    found = read_authority(message)
    assert time.perf_counter() - started < 2  # generous: it reads only the first READ_LIMIT
    assert found is None or found.phrase in message
