"""Budget extraction: the guide's number forms as a table, and properties over generated
amounts and sentences (hypothesis)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.nlu.budget import extract_budget


def read(text, **kwargs):
    found = extract_budget(text, **kwargs)
    return None if found is None else (found.amount, found.currency)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We have 3 lakh and need it live this week", (300000, "INR")),
        ("budget 50k", (50000, "INR")),
        ("75K max", (75000, "INR")),
        ("2L", (200000, "INR")),
        ("2 lac", (200000, "INR")),
        ("3 lacs for the whole project", (300000, "INR")),
        ("1.5 cr", (15000000, "INR")),
        ("2 crore budget", (20000000, "INR")),
        ("₹2,50,000", (250000, "INR")),
        ("Rs. 40,000 only", (40000, "INR")),
        ("INR 90000 is what we have", (90000, "INR")),
        ("90 hazar tak", (90000, "INR")),
        ("50 hazaar", (50000, "INR")),
        ("2 lakh 40 thousand", (240000, "INR")),
        ("1 lakh 25 hazar", (125000, "INR")),
        ("dedh lakh", (150000, "INR")),
        ("dhai lakh tak", (250000, "INR")),
        ("sawa lakh", (125000, "INR")),
        ("$1,200", (1200, "USD")),
        ("USD 500 per month", (500, "USD")),
        ("2500 dollars", (2500, "USD")),
        ("€900", (900, "EUR")),
        ("900 euros", (900, "EUR")),
        ("£1,500", (1500, "GBP")),
        ("AED 3000", (3000, "AED")),
        ("60-80k", (80000, "INR")),
        ("40k to 60k", (60000, "INR")),
        ("between 40k and 60k", (60000, "INR")),
        ("between 1 and 1.5 lakh", (150000, "INR")),
        ("under 45000", (45000, "INR")),
        ("max 2L", (200000, "INR")),
        ("up to 3 lakh", (300000, "INR")),
        ("30k per month", (30000, "INR")),
        ("mahine ka 20k", (20000, "INR")),
        ("1,00,000/-", (100000, "INR")),
        ("I have 50000 to spend", (50000, "INR")),
        ("बजट 2 लाख है", (200000, "INR")),
        ("२ लाख तक", (200000, "INR")),
        ("1.25 lakh", (125000, "INR")),
    ],
)
def test_the_guides_budget_forms(text, expected):
    amount, currency = expected
    assert read(text) == (Decimal(amount), currency)


@pytest.mark.parametrize(
    "text",
    [
        "Do you have a plan for 3 users?",
        "for 25 seats",
        "10 log ke liye",
        "we need 500 leads per month",
        "5000 messages a day",
        "book me for 5pm",
        "kal 5 baje",
        "meeting on 12/03 at 5:30",
        "call me on 9876543210",
        "since 2019 we use zoho",
        "10% discount?",
        "order no 45678",
        "No budget this year, sorry",
        "zero budget",
        "budget abhi decide nahi hua",
        "your 4999 plan looks ok",
        "3 din mein chahiye",
        "STOP",
    ],
)
def test_numbers_that_are_not_budgets(text):
    assert read(text) is None


def test_a_bare_number_takes_the_tenants_currency():
    assert read("budget 5000", default_currency="USD") == (Decimal(5000), "USD")
    assert read("budget $5000", default_currency="INR") == (Decimal(5000), "USD")


def indian_grouping(number: int) -> str:
    text = str(number)
    if len(text) <= 3:
        return text
    head, tail = text[:-3], text[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join([*groups, tail])


SENTENCES = [
    "{}",
    "our budget is {}",
    "we can spend {} on this",
    "budget {} hai",
    "{} tak ho jayega",
    "kindly share options within {}",
]


@settings(max_examples=200, deadline=None)
@given(lakhs=st.integers(min_value=1, max_value=99), sentence=st.sampled_from(SENTENCES),
       form=st.sampled_from(["{} lakh", "{}L", "{} lac", "{} lakhs"]))
def test_any_whole_number_of_lakhs_reads_right(lakhs, sentence, form):
    assert read(sentence.format(form.format(lakhs))) == (Decimal(lakhs * 100_000), "INR")


@settings(max_examples=200, deadline=None)
@given(amount=st.integers(min_value=1_000, max_value=99_99_99_999),
       sentence=st.sampled_from(SENTENCES),
       currency=st.sampled_from([("₹{}", "INR"), ("Rs {}", "INR"), ("INR {}", "INR"),
                                 ("{} rupees", "INR"), ("${}", "USD"), ("{} USD", "USD"),
                                 ("€{}", "EUR")]))
def test_grouped_amounts_with_a_currency_read_right(amount, sentence, currency):
    template, code = currency
    for written in (indian_grouping(amount), f"{amount:,}", str(amount)):
        assert read(sentence.format(template.format(written))) == (Decimal(amount), code)


@settings(max_examples=200, deadline=None)
@given(thousands=st.integers(min_value=1, max_value=999),
       word=st.sampled_from(["k", "K", " thousand", " hazar", " hazaar"]))
def test_thousands_in_any_spelling_read_right(thousands, word):
    assert read(f"budget {thousands}{word}") == (Decimal(thousands * 1000), "INR")


@settings(max_examples=200, deadline=None)
@given(low=st.integers(min_value=10, max_value=500), step=st.integers(min_value=1, max_value=400),
       joiner=st.sampled_from(["{}-{}k", "{}k to {}k", "between {}k and {}k", "{}k - {}k"]))
def test_a_range_gives_its_upper_bound(low, step, joiner):
    high = low + step
    assert read(joiner.format(low, high)) == (Decimal(high * 1000), "INR")


@settings(max_examples=200, deadline=None)
@given(lakhs=st.integers(min_value=1, max_value=50), thousands=st.integers(min_value=1,
                                                                             max_value=99))
def test_words_and_digits_mixed_add_up(lakhs, thousands):
    expected = Decimal(lakhs * 100_000 + thousands * 1_000)
    assert read(f"{lakhs} lakh {thousands} thousand") == (expected, "INR")
    assert read(f"{lakhs} lakh {thousands} hazar") == (expected, "INR")


@settings(max_examples=200, deadline=None)
@given(count=st.integers(min_value=1, max_value=100_000),
       noun=st.sampled_from(["users", "seats", "tokens", "days", "people", "agents",
                             "licences", "leads", "messages", "log"]))
def test_counts_are_never_budgets(count, noun):
    assert read(f"we need it for {count} {noun}") is None
    assert read(f"{count} {noun} chahiye") is None
