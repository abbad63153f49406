"""Timeline reading: the label guide's cases as a table (English, Hinglish, Devanagari), and
properties over generated and hostile text (hypothesis)."""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.nlu.rules.timeline import READ_LIMIT, VALUES, TimelineReading, read_timeline


def read(text):
    found = read_timeline(text)
    return None if found is None else (found.value, found.phrase)


@pytest.mark.parametrize(
    ("text", "value", "phrase"),
    [
        # The messages the scoring is judged on.
        ("Please hold the Saturday 6 pm slot, I'll pay the advance tonight", "immediate",
         "tonight"),
        ("Our team of 8 wants corporate yoga sessions starting next Monday, ₹40k a month, "
         "can you send the proposal?", "immediate", "next Monday"),
        ("We'd need sign-off from our CFO, probably next month", "month", "next month"),
        ("Rs 1,20,000 approved, let's sign today", "immediate", "today"),
        ("Invoice bhejo, aaj payment ho jayega", "immediate", "aaj"),
        ("Do you have a plan for 3 users? Considering it for next quarter", "quarter",
         "next quarter"),
        ("We can spend $800 a month, need it running by Monday", "immediate", "by Monday"),
        ("send the invoice, paying today", "immediate", "today"),
        # Immediate: within about two weeks.
        ("Need it live right now", "immediate", "right now"),
        ("Can we start now?", "immediate", "now"),
        ("Want to begin immediately", "immediate", "immediately"),
        ("urgent requirement for 20 seats", "immediate", "urgent"),
        ("need this ASAP plz", "immediate", "ASAP"),
        ("pls do it right away", "immediate", "right away"),
        ("turant chahiye", "immediate", "turant"),
        ("jaldi se bhejo quotation", "immediate", "jaldi se"),
        ("abhi payment karta hoon", "immediate", "abhi"),
        ("can we meet tomorrow?", "immediate", "tomorrow"),
        ("tmrw 11 am works", "immediate", "tmrw"),
        ("2moro call me", "immediate", "2moro"),
        ("can we talk tom morning", "immediate", "tom"),
        ("kal 5 baje call karo", "immediate", "kal"),
        ("kal se start karna hai", "immediate", "kal"),
        ("parso tak ho jayega?", "immediate", "parso"),
        ("day after tomorrow is fine", "immediate", "day after tomorrow"),
        ("this week itself please", "immediate", "this week"),
        ("is hafte mein chahiye", "immediate", "is hafte"),
        ("next week works for the demo", "immediate", "next week"),
        ("agle hafte se shuru karenge", "immediate", "agle hafte"),
        ("this weekend would be perfect", "immediate", "this weekend"),
        ("can we do Thursday?", "immediate", "Thursday"),
        ("let's meet on Wednesday", "immediate", "on Wednesday"),
        ("somvar ko demo rakho", "immediate", "somvar ko"),
        ("need it by the 15th", "immediate", "by the 15th"),
        ("15 tarikh tak payment ho jayega", "immediate", "15 tarikh tak"),
        ("in 2 days", "immediate", "in 2 days"),
        ("3 din mein chahiye", "immediate", "3 din mein"),
        ("within 2 weeks", "immediate", "within 2 weeks"),
        ("24 hrs mein chahiye", "immediate", "24 hrs mein"),
        ("by Friday EOD", "immediate", "EOD"),
        ("no later than Friday", "immediate", "no later than Friday"),
        ("we can't go live until next week", "immediate", "until next week"),
        ("tonight's session pls", "immediate", "tonight"),
        # Month: weeks away.
        ("sometime this month", "month", "this month"),
        ("by end of month", "month", "by end of month"),
        ("mahine ke end tak", "month", "mahine ke end tak"),
        ("in 3 weeks", "month", "in 3 weeks"),
        ("over the next 3 weeks", "month", "over the next 3 weeks"),
        ("next month we will start", "month", "next month"),
        ("agle mahine se", "month", "agle mahine"),
        ("after Diwali", "month", "after Diwali"),
        ("Diwali ke baad baat karte hain", "month", "Diwali ke baad"),
        ("by 15 May", "month", "by 15 May"),
        ("in June", "month", "in June"),
        ("by the 5th of next month", "month", "by the 5th of next month"),
        ("not until next month", "month", "until next month"),
        # Quarter: two or three months away.
        ("in 2-3 months", "quarter", "in 2-3 months"),
        ("do teen mahine baad", "quarter", "do teen mahine baad"),
        ("after 2 months", "quarter", "after 2 months"),
        ("Q3 mein dekhenge", "quarter", "Q3 mein"),
        ("this quarter", "quarter", "this quarter"),
        # Later: a year or more, or no date.
        ("in 6 months", "later", "in 6 months"),
        ("next year", "later", "next year"),
        ("agle saal dekhenge", "later", "agle saal"),
        ("next Diwali", "later", "next Diwali"),
        ("someday maybe", "later", "someday"),
        ("maybe later", "later", "maybe later"),
        ("no idea when", "later", "no idea when"),
        ("not now, thanks", "later", "not now"),
        ("baad mein batata hoon", "later", "baad mein"),
        ("abhi nahi", "later", "abhi nahi"),
        ("no rush", "later", "no rush"),
        ("koi jaldi nahi hai", "later", "koi jaldi nahi"),
        # Devanagari.
        ("आज ही भुगतान करूंगा", "immediate", "आज"),
        ("कल मिलते हैं", "immediate", "कल"),
        ("परसों तक भेज दीजिए", "immediate", "परसों"),
        ("अभी चाहिए", "immediate", "अभी"),
        ("इस हफ्ते शुरू करना है", "immediate", "इस हफ्ते"),
        ("अगले हफ़्ते डेमो", "immediate", "अगले हफ़्ते"),  # nukta precomposed
        ("अगले हफ\u093c्ते डेमो", "immediate", "अगले हफ\u093c्ते"),  # nukta as a mark
        ("सोमवार को कॉल करें", "immediate", "सोमवार"),
        ("जल्दी भेजो", "immediate", "जल्दी"),
        ("अगले महीने से", "month", "अगले महीने"),
        ("अगले साल देखेंगे", "later", "अगले साल"),
        ("बाद में बात करेंगे", "later", "बाद में"),
    ],
)
def test_the_guides_timelines(text, value, phrase):
    assert read(text) == (value, phrase)


@pytest.mark.parametrize(
    ("text", "value", "phrase"),
    [
        ("probably next month, but a demo tomorrow", "immediate", "tomorrow"),
        ("not this week, maybe next week", "immediate", "next week"),
        ("Not today. Tomorrow?", "immediate", "Tomorrow"),
        ("tomorrow won't work, Friday?", "immediate", "Friday"),
        ("no rush, next week is fine", "immediate", "next week"),
        ("aaj nahi to kal", "immediate", "kal"),
        ("sometime next week", "immediate", "next week"),
        ("maybe next year, or in 3 weeks if the budget comes", "month", "in 3 weeks"),
    ],
)
def test_the_nearest_time_that_counts_wins(text, value, phrase):
    assert read(text) == (value, phrase)


@pytest.mark.parametrize(
    "text",
    [
        "No budget this year, sorry",
        "not this week",
        "can't start this week",
        "last week we bought a CRM",
        "pichle hafte baat hui thi",
        "kal call kiya tha aapko",
        "we spoke on Monday",
        "2 days ago I called",
        "We have been using it for 3 months",
        "we need it for 2-3 months",
        "5pm",
        "call me at 11 am",
        "what's today's price?",
        "aaj kal sab online hai",
        "we are open Monday to Friday",
        "Mon-Sat timings?",
        "classes every Saturday",
        "I may be interested",
        "May I know the price?",
        "the second option looks better",
        "on the 2nd floor",
        "Right now we use Zoho",
        "Now, what is the price?",
        "till now we managed on Excel",
        "Hi, Abhi here from Pune",
        "hello",
        "",
        "STOP",
    ],
)
def test_words_that_are_not_a_timeline(text):
    assert read_timeline(text) is None


def test_a_reading_is_a_frozen_value():
    found = read_timeline("need it tomorrow")
    assert found == TimelineReading(value="immediate", phrase="tomorrow")
    with pytest.raises(AttributeError):
        found.value = "later"


TIME_WORDS = [
    "today", "tonight", "tomorrow", "tmrw", "kal", "aaj", "abhi", "parso", "now", "asap",
    "next week", "this week", "agle hafte", "Monday", "by Friday", "somvar", "by the 15th",
    "in 2 days", "in 3 weeks", "next month", "agle mahine", "in 2-3 months", "next quarter",
    "next year", "agle saal", "maybe later", "not now", "abhi nahi", "baad mein", "after Diwali",
    "in June", "May", "आज", "कल", "अगले हफ्ते", "अगले साल", "जल्दी", "not", "nahi", "last",
    "tha", "kiya", "5pm", "the 2nd", "today's price", "Monday to Friday", "15 tarikh",
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
    st.lists(st.one_of(st.sampled_from(TIME_WORDS), st.text(alphabet=HOSTILE_CHARS,
                                                                max_size=8)),
             max_size=12).map(" ".join),
)


@settings(max_examples=400, deadline=None)
@given(text=messages)
def test_any_text_reads_as_none_or_a_timeline_whose_words_are_in_it(text):
    found = read_timeline(text)
    assert found is None or found.value in VALUES
    if found is not None:
        assert found.phrase
        assert found.phrase in text
        assert found.phrase == found.phrase.strip()
        assert len(found.phrase) <= 60


@settings(max_examples=300, deadline=None)
@given(text=messages, separator=st.sampled_from(SEPARATORS),
       filler=st.lists(st.sampled_from(FILLER), min_size=1, max_size=4).map(" ".join))
def test_a_further_sentence_without_time_words_changes_nothing(text, separator, filler):
    assert read_timeline(text + separator + filler) == read_timeline(text)


@pytest.mark.parametrize(
    "message",
    [
        "a" * 1_000_000,
        "a " * 500_000,
        "kal " * 250_000,
        "not today " * 100_000,
        "in 2 " * 200_000,
        "\x00\u202e\u0301\u200d" * 250_000,
        "\U0001f600" * 1_000_000,
        " " * 1_000_000,
        "9" * 1_000_000,
        "अगले हफ्ते " * 100_000,
    ],
)
def test_a_megabyte_message_is_read_quickly(message):
    started = time.perf_counter()
    found = read_timeline(message)
    assert time.perf_counter() - started < 2  # generous: it reads only the first READ_LIMIT
    assert found is None or found.phrase in message


def test_words_past_the_read_limit_are_not_read():
    assert read_timeline("need it tomorrow " + "x" * 1_000_000) == TimelineReading(
        "immediate", "tomorrow")
    assert read_timeline("x " * READ_LIMIT + "need it tomorrow") is None
