"""Budget extraction: the guide's number forms as a table, and properties over generated
amounts and sentences (hypothesis)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.nlu.rules.budget import PERIODS, Budget, extract_budget


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


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sawa lakh", 125000),
        ("sava lakh tak", 125000),
        ("dedh lakh", 150000),
        ("dhai lakh", 250000),
        ("dhai crore", 25000000),
        ("dhai hazar", 2500),
        ("dedh sau", 150),
        ("paune do lakh", 175000),
        ("paune teen lakh", 275000),
        ("paune 2 lakh max", 175000),
        ("paune lakh", 75000),
        ("sawa do lakh", 225000),
        ("saadhe teen lakh", 350000),
        ("saade 3 lakh max hai", 350000),
        ("सवा लाख", 125000),
        ("डेढ़ लाख", 150000),
        ("ढाई लाख", 250000),
        ("ढाई करोड़", 25000000),
        ("पौने दो लाख", 175000),
        ("पौने तीन लाख तक", 275000),
        ("साढ़े तीन लाख", 350000),
        ("दो लाख चालीस हज़ार तक दे सकते हैं", 240000),
        ("seventy five thousand only", 75000),
    ],
)
def test_hindi_fraction_words_in_latin_letters_and_devanagari(text, expected):
    assert read(text) == (Decimal(expected), "INR")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("They quoted 2 lakh, we can do 1.5", 150000),
        ("my salary is 40k, I can pay 5k a month", 5000),
        ("loan of 20 lakh, budget for the interior 3 lakh", 300000),
        ("cover of 1 crore, premium budget 15k", 15000),
        ("competitor ne 1.2 lakh quote kiya, hum 1 lakh max denge", 100000),
        ("Another agency charges 50k a month, we can do 35k", 35000),
        ("Your quote of Rs 1.8 lakh seems high, can you do it in 1.4?", 140000),
        ("You quoted 85k for the kitchen. Do it at 72 and I'll confirm today", 72000),
        ("Can we do 35k instead of 42k?", 35000),
        ("Our insurance cover is 5 lakh and we can spend 40k on the surgery", 40000),
        ("home loan 30 lakh approved, interiors ka budget 4 lakh", 400000),
        ("2 crore ka turnover hai, CRM pe 50k tak spend kar sakte hain", 50000),
        ("दूसरी कंपनी 35 हज़ार बोल रही है, हम 30 हज़ार तक दे सकते हैं", 30000),
        ("aapka 25 हज़ार वाला पैकेज हमारे बस का नहीं, 8 हज़ार तक ही दे सकते हैं", 8000),
        ("I said 20k max and you keep sending me 50k packages", 20000),
        ("Our current tool costs us about Rs 95,000 a year; budget is 60k", 60000),
        ("Finance signed off on ₹80,000 this morning, please send the contract", 80000),
        ("My car EMI is already 15k, so for the bike I can do at most 3k a month", 3000),
        ("mahine ka 20k nahi de sakte, humara max 10k hai", 10000),
    ],
)
def test_of_several_amounts_the_budget_is_what_the_lead_will_spend(text, expected):
    assert read(text) == (Decimal(expected), "INR")


@pytest.mark.parametrize(
    "text",
    [
        "competitor ne 1.2 lakh quote kiya, aap kitna loge?",
        "Dusre vendor ne 1.2 lakh bola hai, aapka kya rate hai?",
        "need a family floater with 10 lakh cover, what's the premium?",
        "home loan 40 lakh ka chahiye, processing fee kitni?",
        "Salary 32k hai aur home loan 25 lakh approved ho gaya hai. Registration ka kitna loge?",
        "The quote you sent is 1.8L. Any flexibility?",
        "GST extra on ₹4,999?",
        "Maine 2 hazar advance bhej diya, slot confirm karo",
        "We had ₹2 lakh set aside for this but management pulled it.",
        "call me on +91 98201 44567 after 6",
        "Call me at 080-4112-7788 ext 204 on Monday",
        "Hi,\nplease activate.\n> Earlier reply from us: \"The Pro plan is ₹7,500 a month.\"",
    ],
)
def test_someone_elses_figure_alone_is_no_budget(text):
    assert read(text) is None


@pytest.mark.parametrize(
    ("text", "amount", "period", "phrase"),
    [
        ("We can spend ₹40k a month on this", 40000, "month", "₹40k a month"),
        ("budget 20k/month", 20000, "month", "20k/month"),
        ("6 hazar mahina tak de sakta hu", 6000, "month", "6 hazar mahina"),
        ("We can spend $800 a month, need it running by Monday", 800, "month", "$800 a month"),
        ("5 lakh per annum is our cap", 500000, "year", "5 lakh per annum"),
        ("10k monthly chalega", 10000, "month", "10k monthly"),
        ("महीने के 40 हज़ार दे सकते हैं", 40000, "month", "महीने के 40 हज़ार"),
        ("mahine ka 20k", 20000, "month", "mahine ka 20k"),
        ("Budget around 1.5 lakh saal ka hai", 150000, "year", "1.5 lakh saal ka"),
        ("budget 25 hazaar pm", 25000, "month", "25 hazaar pm"),
        ("USD 500 per week for ads", 500, "week", "USD 500 per week"),
        ("₹1,200 per day for the driver", 1200, "day", "₹1,200 per day"),
        ("2 lakh for 6 months", 200000, "", "2 lakh"),
        ("20k in 2 months", 20000, "", "20k"),
        ("budget 60-80k", 80000, "", "60-80k"),
        ("dedh lakh tak ka budget hai", 150000, "", "dedh lakh"),
        ("₹2,50,000 one time", 250000, "", "₹2,50,000"),
    ],
)
def test_the_period_and_the_leads_own_words(text, amount, period, phrase):
    found = extract_budget(text)
    assert (found.amount, found.period, found.phrase) == (Decimal(amount), period, phrase)


def test_callers_that_only_know_amount_and_currency_still_build_a_budget():
    assert Budget(amount=Decimal(5), currency="INR") == Budget(Decimal(5), "INR", "", "")


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


PERIOD_FORMS = ["", " a month", "/month", " per month", " monthly", " mahina", " per annum",
                " a year", " yearly", " per week", " a day", " for 2 months", " in 3 months"]
LEAD_WORDS = st.lists(st.sampled_from([
    "we", "can", "pay", "max", "tak", "quoted", "loan", "salary", "cover", "your", "plan", "hai",
    "per", "month", "a", "mahina", "2", "40", "1.5", "k", "lakh", "-", "to", "₹", "$", "Rs.",
    ",", ".", "?", "/", "लाख", "हज़ार", "दो", "पौने", "सवा", "डेढ़", "महीने", "के", "तक", "paune",
    "sawa", "dhai", "saadhe", "teen", "do", "98201", "44567", "> quoted", "\n",
]), max_size=10).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(before=LEAD_WORDS, after=LEAD_WORDS, amount=st.integers(min_value=1, max_value=999),
       unit=st.sampled_from(["k", " lakh", " hazar", "L", " crore", " लाख", ""]),
       currency=st.sampled_from(["", "₹", "Rs ", "$", "INR "]),
       period=st.sampled_from(PERIOD_FORMS))
def test_the_phrase_is_always_the_leads_own_words_and_the_period_one_of_four(
        before, after, amount, unit, currency, period):
    text = f"{before} budget {currency}{amount}{unit}{period} {after}"
    found = extract_budget(text)
    if found is not None:
        assert found.phrase and found.phrase in text
        assert found.period in ("", *PERIODS)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=120))
def test_any_text_gives_a_phrase_from_the_text_and_a_known_period(text):
    found = extract_budget(text)
    if found is not None:
        assert found.phrase in text and found.period in ("", *PERIODS)


@settings(max_examples=200, deadline=None)
@given(thousands=st.integers(min_value=2, max_value=999),
       form=st.sampled_from(["{}k a month", "{}k/month", "{}k per month", "{}k monthly",
                             "{} hazar mahina", "mahine ka {}k", "महीने के {} हज़ार"]))
def test_a_monthly_amount_is_read_per_month(thousands, form):
    written = form.format(thousands)
    found = extract_budget(f"budget {written}")
    assert (found.amount, found.period, found.phrase) == (
        Decimal(thousands * 1000), "month", written)


@settings(max_examples=200, deadline=None)
@given(quoted=st.integers(min_value=2, max_value=99), ours=st.integers(min_value=1,
                                                                         max_value=99),
       other=st.sampled_from(["They quoted {} lakh", "competitor ne {} lakh quote kiya",
                              "my salary is {} lakh", "loan of {} lakh",
                              "cover of {} lakh", "another vendor charges {} lakh"]),
       mine=st.sampled_from(["we can do {} lakh", "budget {} lakh", "{} lakh max denge",
                             "we can spend {} lakh"]))
def test_the_leads_spend_wins_over_someone_elses_figure(quoted, ours, other, mine):
    text = f"{other.format(quoted)}, {mine.format(ours)}"
    assert read(text) == (Decimal(ours * 100_000), "INR")
