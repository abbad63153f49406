"""The 5-factor score: each factor's points, the weighted total, the tier and the words."""

from decimal import Decimal

import pytest

from leads.scoring import (
    FACTOR_MAX,
    ScoringInput,
    Thresholds,
    Weights,
    money_words,
    score,
    tier_for,
)


def points(result) -> dict[str, int]:
    return {factor.name: factor.points for factor in result.factors}


@pytest.mark.parametrize(
    ("data", "expected_points", "expected_total", "expected_tier"),
    [
        # Nothing known but the channel: engagement alone, and it is low.
        (ScoringInput(channel="csv_import"),
         {"intent": 0, "budget": 0, "authority": 0, "timeline": 0, "engagement": 1}, 5, "cold"),
        # A ready buyer on WhatsApp who replied fast after five messages.
        (ScoringInput(intent="high", intent_confidence=0.95, budget_amount=Decimal("150000"),
                      budget_currency="INR", authority="decision_maker", timeline="immediate",
                      channel="whatsapp", inbound_count=5, last_reply_seconds=60,
                      we_wrote=True),
         {"intent": 20, "budget": 20, "authority": 20, "timeline": 20, "engagement": 20},
         100, "hot"),
        # Stated need and a timeline of a month before any NLU reading: all five known.
        (ScoringInput(need="A CRM for 12 reps", budget_amount=Decimal("80000"),
                      budget_currency="INR", authority="influencer", timeline="month",
                      channel="web_form", inbound_count=1, last_reply_seconds=1800,
                      we_wrote=True),
         {"intent": 12, "budget": 16, "authority": 12, "timeline": 15, "engagement": 8},
         63, "warm"),
        # Low intent counts nothing; 300 USD is about a quarter of a 1 lakh rupee target.
        (ScoringInput(intent="low", budget_amount=Decimal("300"), budget_currency="USD",
                      authority="user", timeline="later", channel="instagram",
                      inbound_count=2, last_reply_seconds=90000, we_wrote=True),
         {"intent": 0, "budget": 2, "authority": 5, "timeline": 3, "engagement": 8}, 18, "cold"),
        # An unsure "high" reading is pulled toward the middle; budget and authority are not
        # known, so they are left out: (16 + 8 + 4) of 60.
        (ScoringInput(intent="high", intent_confidence=0.4, timeline="quarter",
                      channel="messenger"),
         {"intent": 16, "budget": 0, "authority": 0, "timeline": 8, "engagement": 4}, 47, "warm"),
        # Medium intent, half the target, a decision maker within three months, by email.
        (ScoringInput(intent="medium", intent_confidence=0.8, budget_amount=Decimal("50000"),
                      budget_currency="INR", authority="decision_maker", timeline="quarter",
                      channel="gmail", inbound_count=3, last_reply_seconds=200, we_wrote=True),
         {"intent": 12, "budget": 12, "authority": 20, "timeline": 8, "engagement": 14},
         66, "warm"),
        # A budget in a currency we cannot compare still counts for something: (8 + 2) of 40.
        (ScoringInput(budget_amount=Decimal("1000"), budget_currency="JPY", channel="api"),
         {"intent": 0, "budget": 8, "authority": 0, "timeline": 0, "engagement": 2}, 25, "cold"),
        # A first WhatsApp message asking for the payment link: high intent, and writing to us
        # first is engagement; nothing else is known yet, and that holds nothing down.
        (ScoringInput(intent="high", intent_confidence=0.9, channel="whatsapp",
                      inbound_count=1),
         {"intent": 20, "budget": 0, "authority": 0, "timeline": 0, "engagement": 10},
         75, "hot"),
    ],
)
def test_score_table(data, expected_points, expected_total, expected_tier):
    result = score(data)
    assert points(result) == expected_points
    known = [f.points for f in result.factors if f.known]
    assert result.total == expected_total == round(sum(known) * 5 / len(known))
    assert result.tier == expected_tier


def test_a_factor_not_known_yet_is_left_out_and_says_so():
    result = score(ScoringInput(intent="medium", channel="whatsapp", inbound_count=1))
    unknown = {f.name: f.explanation for f in result.factors if not f.known}
    assert set(unknown) == {"budget", "authority", "timeline"}
    assert all(words.startswith("Not known yet") for words in unknown.values())
    assert result.as_breakdown()["factors"][1]["known"] is False
    # Medium intent (12) and engagement (10) are all that count: 22 of 40.
    assert result.total == 55


def test_a_low_intent_reading_is_never_hot_whatever_else_it_says():
    data = ScoringInput(intent="low", intent_confidence=0.9, budget_amount=Decimal("500000"),
                        budget_currency="INR", authority="decision_maker",
                        timeline="immediate", channel="whatsapp", inbound_count=5,
                        last_reply_seconds=30, we_wrote=True)
    result = score(data)
    assert result.total >= Thresholds().hot
    assert result.tier == "warm"
    # With intent weighed at nothing, the reading no longer decides.
    assert score(data, weights=Weights(intent=0)).tier == "hot"


def test_a_budget_a_month_is_set_against_the_deal_over_a_year_and_quoted():
    data = ScoringInput(budget_amount=Decimal("40000"), budget_currency="INR",
                        budget_period="month", evidence={"budget": "₹40k a month"})
    budget = score(data).factors[1]
    assert budget.points == 20
    assert budget.explanation == ("Said \u2018₹40k a month\u2019, ₹4.8 L a year, against a "
                                  "₹1 L target deal: meets it (4.8 times).")
    once = score(ScoringInput(budget_amount=Decimal("40000"), budget_currency="INR")).factors[1]
    assert once.points == 6
    assert once.explanation == "Budget of ₹40k against a ₹1 L target deal: well below it (40%)."


def test_the_words_the_lead_used_are_quoted_in_the_factor_sentences():
    result = score(ScoringInput(
        intent="high", timeline="immediate", authority="influencer", channel="whatsapp",
        inbound_count=1, evidence={"timeline": "tonight", "authority": "need my boss's ok"}))
    words = {f.name: f.explanation for f in result.factors}
    assert words["timeline"] == ("Said \u2018tonight\u2019: they want to start within about "
                                 "two weeks.")
    assert words["authority"] == ("Said \u2018need my boss's ok\u2019: they influence the "
                                  "decision but do not make it.")
    assert words["engagement"] == ("1 message from them, wrote to us first, came in through "
                                   "WhatsApp.")


@pytest.mark.parametrize(("amount", "currency", "words"), [
    (Decimal("500"), "INR", "₹500"), (Decimal("40000"), "INR", "₹40k"),
    (Decimal("100000"), "INR", "₹1 L"), (Decimal("480000"), "INR", "₹4.8 L"),
    (Decimal("15000000"), "INR", "₹1.5 Cr"), (Decimal("800"), "USD", "$800"),
    (Decimal("9600"), "USD", "$9.6k"), (Decimal("2500000"), "EUR", "€2.5M"),
    (Decimal("1000"), "JPY", "1,000 JPY"),
])
def test_amounts_are_said_the_way_a_sales_team_says_them(amount, currency, words):
    assert money_words(amount, currency) == words


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [(Decimal("2"), 20), (Decimal("1"), 20), (Decimal("0.8"), 16), (Decimal("0.5"), 12),
     (Decimal("0.3"), 6), (Decimal("0.1"), 2)],
)
def test_budget_scores_against_the_target_deal_size(ratio, expected):
    data = ScoringInput(budget_amount=Decimal("100000") * ratio, budget_currency="INR",
                        target_deal_amount=Decimal("100000"), target_deal_currency="INR")
    assert points(score(data))["budget"] == expected


def test_a_budget_in_dollars_is_compared_with_a_rupee_target_through_reference_rates():
    data = ScoringInput(budget_amount=Decimal("1300"), budget_currency="USD",
                        target_deal_amount=Decimal("100000"), target_deal_currency="INR")
    assert points(score(data))["budget"] == 20


def test_weights_shift_the_total_toward_the_heavier_factor():
    data = ScoringInput(intent="high", channel="csv_import")
    plain = score(data)
    intent_heavy = score(data, weights=Weights(intent=4))
    # Intent and engagement are known: (20 + 1) * 5 / 2, then (20*4 + 1) * 5 / 5.
    assert plain.total == round((20 + 1) * 5 / 2)
    assert intent_heavy.total == round((20 * 4 + 1) * 5 / 5)
    assert intent_heavy.total > plain.total


def test_zero_weights_are_refused():
    with pytest.raises(ValueError, match="at least one"):
        Weights(intent=0, budget=0, authority=0, timeline=0, engagement=0)


@pytest.mark.parametrize(("total", "tier"), [(100, "hot"), (70, "hot"), (69, "warm"),
                                             (40, "warm"), (39, "cold"), (0, "cold")])
def test_default_tier_thresholds(total, tier):
    assert tier_for(total, Thresholds()) == tier


def test_tenant_thresholds_move_the_tier_boundaries():
    assert tier_for(60, Thresholds(hot=60, warm=30)) == "hot"
    assert tier_for(29, Thresholds(hot=60, warm=30)) == "cold"


@pytest.mark.parametrize(("hot", "warm"), [(40, 40), (30, 50), (101, 40), (70, 0)])
def test_impossible_thresholds_are_refused(hot, warm):
    with pytest.raises(ValueError):
        Thresholds(hot=hot, warm=warm)


def test_every_factor_is_explained_in_words_and_within_its_range():
    result = score(ScoringInput(intent="medium", budget_amount=Decimal("40000"),
                                budget_currency="INR", authority="influencer",
                                timeline="month", channel="whatsapp", inbound_count=1))
    breakdown = result.as_breakdown()
    assert [f["name"] for f in breakdown["factors"]] == [
        "intent", "budget", "authority", "timeline", "engagement"]
    for factor in breakdown["factors"]:
        assert 0 <= factor["points"] <= factor["max"] == FACTOR_MAX
        assert factor["explanation"].endswith(".")
    explanations = " ".join(f["explanation"] for f in breakdown["factors"])
    assert "medium intent" in explanations
    assert "₹40k against a ₹1 L target deal" in explanations
    assert "within a month" in explanations
    assert "WhatsApp" in explanations
    assert breakdown["total"] == result.total and breakdown["tier"] == result.tier
