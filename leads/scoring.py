"""5-factor lead scoring (pure, no ORM).

Each factor scores 0-20: intent, budget, authority, timeline and engagement. The total is the
weighted mean of the five scaled to 0-100, so with equal weights it is their plain sum. Every
factor carries a sentence that tells the SDR why it scored what it did.
"""

from dataclasses import dataclass, field
from decimal import Decimal

FACTOR_MAX = 20
FACTORS = ("intent", "budget", "authority", "timeline", "engagement")

# Rough rates used only to compare a budget with the target deal size when their currencies
# differ. A score needs the order of magnitude, not today's rate.
REFERENCE_RATES_TO_INR = {
    "INR": Decimal("1"), "USD": Decimal("83"), "EUR": Decimal("90"), "GBP": Decimal("105"),
    "AED": Decimal("22.6"), "SGD": Decimal("62"), "AUD": Decimal("55"), "CAD": Decimal("61"),
}

CHANNEL_NAMES = {
    "whatsapp": "WhatsApp", "instagram": "Instagram", "messenger": "Messenger",
    "web_form": "the web form", "gmail": "email", "api": "an integration",
    "manual": "a rep's entry", "csv_import": "a CSV import",
}

CHANNEL_ENGAGEMENT = {
    "whatsapp": 5, "instagram": 4, "messenger": 4, "web_form": 3, "gmail": 3, "api": 2,
    "manual": 2, "csv_import": 1,
}


@dataclass(frozen=True)
class ScoringInput:
    intent: str = ""  # "high" / "medium" / "low" from the NLU, "" before it has read anything
    intent_confidence: float | None = None
    need: str = ""
    budget_amount: Decimal | None = None
    budget_currency: str = ""
    target_deal_amount: Decimal = Decimal("100000")
    target_deal_currency: str = "INR"
    authority: str = ""  # decision_maker / influencer / user / ""
    timeline: str = ""  # immediate / month / quarter / later / ""
    channel: str = ""
    inbound_count: int = 0
    last_reply_seconds: int | None = None


@dataclass(frozen=True)
class Weights:
    intent: int = 1
    budget: int = 1
    authority: int = 1
    timeline: int = 1
    engagement: int = 1

    def __post_init__(self):
        values = [getattr(self, name) for name in FACTORS]
        if any(value < 0 for value in values) or sum(values) == 0:
            raise ValueError("Weights are whole numbers of 0 or more, and at least one is above 0.")


@dataclass(frozen=True)
class Thresholds:
    hot: int = 70
    warm: int = 40

    def __post_init__(self):
        if not 0 < self.warm < self.hot <= 100:
            raise ValueError("Thresholds need 0 < WARM < HOT ≤ 100.")


@dataclass(frozen=True)
class FactorScore:
    name: str
    points: int
    explanation: str


@dataclass(frozen=True)
class Score:
    total: int
    tier: str
    factors: tuple[FactorScore, ...] = field(default_factory=tuple)

    def as_breakdown(self) -> dict:
        """The stored form: JSON the pages and the API show as they are."""
        return {
            "total": self.total,
            "tier": self.tier,
            "factors": [
                {"name": f.name, "points": f.points, "max": FACTOR_MAX,
                 "explanation": f.explanation}
                for f in self.factors
            ],
        }


def _intent(data: ScoringInput) -> FactorScore:
    if data.intent:
        base = {"high": 20, "medium": 12, "low": 4}[data.intent]
        confidence = data.intent_confidence
        if confidence is not None and confidence < 0.6:
            # An unsure reading is pulled toward the middle rather than trusted outright.
            base = round((base + 12) / 2)
        sure = "" if confidence is None else f" ({confidence:.0%} sure)"
        return FactorScore("intent", base, f"Their messages read as {data.intent} intent{sure}.")
    if data.need.strip():
        points = 12 if data.timeline in ("immediate", "month") else 8
        return FactorScore(
            "intent", points,
            "They told us what they need; their messages have not been analysed yet.",
        )
    return FactorScore("intent", 0, "No need stated and no messages analysed yet.")


def _in_inr(amount: Decimal, currency: str) -> Decimal | None:
    rate = REFERENCE_RATES_TO_INR.get(currency.upper())
    return None if rate is None else amount * rate


def _budget(data: ScoringInput) -> FactorScore:
    if data.budget_amount is None:
        return FactorScore("budget", 0, "No budget given yet.")
    budget = _in_inr(data.budget_amount, data.budget_currency or data.target_deal_currency)
    target = _in_inr(data.target_deal_amount, data.target_deal_currency)
    if budget is None or target is None or target <= 0:
        return FactorScore(
            "budget", 8,
            f"A budget of {data.budget_amount:,} {data.budget_currency} was given, in a currency "
            "we cannot compare with the target deal size.",
        )
    ratio = budget / target
    if ratio >= 1:
        points, words = 20, "meets or beats"
    elif ratio >= Decimal("0.75"):
        points, words = 16, "is close to"
    elif ratio >= Decimal("0.5"):
        points, words = 12, "is about half of"
    elif ratio >= Decimal("0.25"):
        points, words = 6, "is well below"
    else:
        points, words = 2, "is far below"
    return FactorScore(
        "budget", points,
        f"Budget of {data.budget_amount:,} {data.budget_currency or data.target_deal_currency} "
        f"{words} the target deal size ({ratio:.0%} of it).",
    )


_AUTHORITY = {
    "decision_maker": (20, "They make the buying decision."),
    "influencer": (12, "They influence the decision but do not make it."),
    "user": (5, "They would use the product but do not decide."),
    "": (0, "We do not know yet who decides."),
}

_TIMELINE = {
    "immediate": (20, "They want to buy this week."),
    "month": (15, "They plan to buy within a month."),
    "quarter": (8, "They plan to buy within three months."),
    "later": (3, "They have no near date to buy."),
    "": (0, "No buying timeline yet."),
}


def _engagement(data: ScoringInput) -> FactorScore:
    channel_points = CHANNEL_ENGAGEMENT.get(data.channel, 2)
    message_points = min(data.inbound_count, 5) * 2  # up to 10 for five or more messages
    speed = data.last_reply_seconds
    if speed is None:
        speed_points, speed_words = 0, "no reply to us yet"
    elif speed <= 300:
        speed_points, speed_words = 5, "replied within 5 minutes"
    elif speed <= 3600:
        speed_points, speed_words = 3, "replied within an hour"
    elif speed <= 86400:
        speed_points, speed_words = 1, "replied within a day"
    else:
        speed_points, speed_words = 0, "took over a day to reply"
    plural = "" if data.inbound_count == 1 else "s"
    return FactorScore(
        "engagement", min(channel_points + message_points + speed_points, FACTOR_MAX),
        f"{data.inbound_count} message{plural} from them, {speed_words}, "
        f"came in through {CHANNEL_NAMES.get(data.channel, 'an unknown channel')}.",
    )


def tier_for(total: int, thresholds: Thresholds) -> str:
    if total >= thresholds.hot:
        return "hot"
    if total >= thresholds.warm:
        return "warm"
    return "cold"


def score(
    data: ScoringInput, *, weights: Weights = Weights(), thresholds: Thresholds = Thresholds()
) -> Score:
    authority_points, authority_words = _AUTHORITY.get(data.authority, _AUTHORITY[""])
    timeline_points, timeline_words = _TIMELINE.get(data.timeline, _TIMELINE[""])
    factors = (
        _intent(data),
        _budget(data),
        FactorScore("authority", authority_points, authority_words),
        FactorScore("timeline", timeline_points, timeline_words),
        _engagement(data),
    )
    weight_of = {name: getattr(weights, name) for name in FACTORS}
    weighted = sum(f.points * weight_of[f.name] for f in factors)
    # Weighted mean of the factors on 0-20, times 5 to land on 0-100.
    total = round(weighted * len(FACTORS) / sum(weight_of.values()))
    total = max(0, min(100, total))
    return Score(total=total, tier=tier_for(total, thresholds), factors=factors)
