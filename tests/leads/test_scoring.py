"""The 5-factor score: each factor's points, the weighted total, the tier and the words."""

from decimal import Decimal

import pytest

from leads.scoring import FACTOR_MAX, ScoringInput, Thresholds, Weights, score, tier_for


def points(result) -> dict[str, int]:
    return {factor.name: factor.points for factor in result.factors}


@pytest.mark.parametrize(
    ("data", "expected_points", "expected_total", "expected_tier"),
    [
        # Nothing known: only the channel gives engagement points.
        (ScoringInput(channel="csv_import"),
         {"intent": 0, "budget": 0, "authority": 0, "timeline": 0, "engagement": 1}, 1, "cold"),
        # A ready buyer on WhatsApp who replied fast after five messages.
        (ScoringInput(intent="high", intent_confidence=0.95, budget_amount=Decimal("150000"),
                      budget_currency="INR", authority="decision_maker", timeline="immediate",
                      channel="whatsapp", inbound_count=5, last_reply_seconds=60),
         {"intent": 20, "budget": 20, "authority": 20, "timeline": 20, "engagement": 20},
         100, "hot"),
        # Stated need and near timeline before any NLU reading.
        (ScoringInput(need="A CRM for 12 reps", budget_amount=Decimal("80000"),
                      budget_currency="INR", authority="influencer", timeline="month",
                      channel="web_form", inbound_count=1, last_reply_seconds=1800),
         {"intent": 12, "budget": 16, "authority": 12, "timeline": 15, "engagement": 8},
         63, "warm"),
        # Low intent; 300 USD is about a quarter of a 1 lakh rupee target, just under it.
        (ScoringInput(intent="low", budget_amount=Decimal("300"), budget_currency="USD",
                      authority="user", timeline="later", channel="instagram",
                      inbound_count=2, last_reply_seconds=90000),
         {"intent": 4, "budget": 2, "authority": 5, "timeline": 3, "engagement": 8}, 22, "cold"),
        # An unsure "high" reading is pulled toward the middle.
        (ScoringInput(intent="high", intent_confidence=0.4, timeline="quarter",
                      channel="messenger"),
         {"intent": 16, "budget": 0, "authority": 0, "timeline": 8, "engagement": 4}, 28, "cold"),
        # Medium intent, half the target, a decision maker within three months, by email.
        (ScoringInput(intent="medium", intent_confidence=0.8, budget_amount=Decimal("50000"),
                      budget_currency="INR", authority="decision_maker", timeline="quarter",
                      channel="gmail", inbound_count=3, last_reply_seconds=200),
         {"intent": 12, "budget": 12, "authority": 20, "timeline": 8, "engagement": 14},
         66, "warm"),
        # A budget in a currency we cannot compare still counts for something.
        (ScoringInput(budget_amount=Decimal("1000"), budget_currency="JPY", channel="api"),
         {"intent": 0, "budget": 8, "authority": 0, "timeline": 0, "engagement": 2}, 10, "cold"),
    ],
)
def test_score_table(data, expected_points, expected_total, expected_tier):
    result = score(data)
    assert points(result) == expected_points
    assert result.total == expected_total == sum(expected_points.values())
    assert result.tier == expected_tier


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
    assert plain.total == 21
    # (20*4 + 1) * 5 / 8
    assert intent_heavy.total == round((20 * 4 + 1) * 5 / 8)
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
    assert "40,000 INR" in explanations
    assert "within a month" in explanations
    assert "WhatsApp" in explanations
    assert breakdown["total"] == result.total and breakdown["tier"] == result.tier
