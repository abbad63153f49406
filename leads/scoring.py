"""5-factor lead scoring (pure, no ORM).

Each factor scores 0-20: intent, budget, authority, timeline and engagement. A factor the lead
has not told us yet is *not known*, not zero: the total is the weighted mean of the known
factors scaled to 0-100, so a first message that asks for a payment link is not held down by
the budget nobody has asked about yet. Engagement is always known. Every factor carries a
sentence that tells the SDR why it scored what it did, quoting the lead's words when a
message stated it ("said 'tonight'").
"""

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from flexoraa.confidence import confidence_words

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
    budget_period: str = ""  # "" (in all), "day", "week", "month" or "year"
    authority: str = ""  # decision_maker / influencer / user / ""
    timeline: str = ""  # immediate / month / quarter / later / ""
    channel: str = ""
    inbound_count: int = 0
    last_reply_seconds: int | None = None
    we_wrote: bool = False  # we have written to the lead (so a missing reply means something)
    # The lead's own words behind an answer, by factor name ({"timeline": "tonight"}).
    evidence: dict = field(default_factory=dict)


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
    known: bool = True  # an unknown factor is left out of the total, not counted as zero


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
                 "explanation": f.explanation, "known": f.known}
                for f in self.factors
            ],
        }


def _said(data: ScoringInput, name: str) -> str:
    words = (data.evidence or {}).get(name) or ""
    return f"Said \u2018{words}\u2019: " if words else ""


def _intent(data: ScoringInput) -> FactorScore:
    if data.intent:
        base = {"high": 20, "medium": 12, "low": 0}[data.intent]
        confidence = data.intent_confidence
        if confidence is not None and confidence < 0.6:
            # An unsure reading is pulled toward the middle rather than trusted outright.
            base = round((base + 12) / 2)
        sure = "" if confidence is None else f" ({confidence_words(confidence)})"
        return FactorScore("intent", base, f"Their messages read as {data.intent} intent{sure}.")
    if data.need.strip():
        points = 12 if data.timeline in ("immediate", "month") else 8
        return FactorScore(
            "intent", points,
            "They told us what they need; their messages have not been analysed yet.",
        )
    return FactorScore("intent", 0, "Not known yet: no need stated and no message read.",
                       known=False)


def _in_inr(amount: Decimal, currency: str) -> Decimal | None:
    rate = REFERENCE_RATES_TO_INR.get(currency.upper())
    return None if rate is None else amount * rate


# A budget stated per period is set against the deal over a year, as annual contract value is.
PERIODS_PER_YEAR = {"day": 365, "week": 52, "month": 12, "year": 1}
PERIOD_WORDS = {"day": "a day", "week": "a week", "month": "a month", "year": "a year"}
CURRENCY_SIGNS = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£"}


def _short(value: Decimal) -> str:
    text = str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    return text[:-2] if text.endswith(".0") else text


def money_words(amount: Decimal, currency: str) -> str:
    """An amount as a sales team says it: ₹40k, ₹4.8 L, ₹1.2 Cr, $9.6k, 1,000 JPY."""
    currency = (currency or "").upper()
    sign = CURRENCY_SIGNS.get(currency)
    if sign is None:
        return f"{amount:,.0f} {currency}".strip()
    if currency == "INR" and amount >= 10_000_000:
        return f"{sign}{_short(amount / 10_000_000)} Cr"
    if currency == "INR" and amount >= 100_000:
        return f"{sign}{_short(amount / 100_000)} L"
    if currency != "INR" and amount >= 1_000_000:
        return f"{sign}{_short(amount / 1_000_000)}M"
    if amount >= 1_000:
        return f"{sign}{_short(amount / 1_000)}k"
    return f"{sign}{amount:,.0f}"


def _budget(data: ScoringInput) -> FactorScore:
    if data.budget_amount is None:
        return FactorScore("budget", 0, "Not known yet: no budget stated.", known=False)
    currency = data.budget_currency or data.target_deal_currency
    stated = money_words(data.budget_amount, currency)
    per_year = PERIODS_PER_YEAR.get(data.budget_period)
    if per_year is not None:
        stated = f"{stated} {PERIOD_WORDS[data.budget_period]}"
    words = (data.evidence or {}).get("budget")
    said = f"Said \u2018{words}\u2019" if words else f"Budget of {stated}"
    yearly = data.budget_amount * (per_year or 1)
    if per_year not in (None, 1):
        said += f", {money_words(yearly, currency)} a year,"
    target_deal = money_words(data.target_deal_amount, data.target_deal_currency)
    target_words = f"a {target_deal} target deal"
    budget = _in_inr(yearly, currency)
    target = _in_inr(data.target_deal_amount, data.target_deal_currency)
    if budget is None or target is None or target <= 0:
        return FactorScore(
            "budget", 8,
            f"{said} in a currency we cannot compare with {target_words}; a stated budget "
            "still counts for something.",
        )
    ratio = budget / target
    if ratio >= 1:
        points, words = 20, "meets it"
    elif ratio >= Decimal("0.75"):
        points, words = 16, "close to it"
    elif ratio >= Decimal("0.5"):
        points, words = 12, "about half of it"
    elif ratio >= Decimal("0.25"):
        points, words = 6, "well below it"
    else:
        points, words = 2, "far below it"
    share = f"{_short(ratio)} times" if ratio >= 1 else f"{ratio:.0%}"
    return FactorScore("budget", points, f"{said} against {target_words}: {words} ({share}).")


_AUTHORITY = {
    "decision_maker": (20, "they make the buying decision."),
    "influencer": (12, "they influence the decision but do not make it."),
    "user": (5, "they would use the product but do not decide."),
}

_TIMELINE = {
    "immediate": (20, "they want to start within about two weeks."),
    "month": (15, "they plan to buy within a month or so."),
    "quarter": (8, "they plan to buy within three months."),
    "later": (3, "they have no near date to buy."),
}


def _stated(data: ScoringInput, name: str, table: dict, unknown: str) -> FactorScore:
    value = getattr(data, name)
    if value not in table:
        return FactorScore(name, 0, unknown, known=False)
    points, words = table[value]
    said = _said(data, name)
    sentence = f"{said}{words}" if said else words[0].upper() + words[1:]
    return FactorScore(name, points, sentence)


def _engagement(data: ScoringInput) -> FactorScore:
    channel_points = CHANNEL_ENGAGEMENT.get(data.channel, 2)
    message_points = min(data.inbound_count, 5) * 2  # up to 10 for five or more messages
    speed = data.last_reply_seconds
    if speed is None and not data.we_wrote and data.inbound_count:
        # Writing to us before we wrote to them is the quickest reply there is.
        speed_points, speed_words = 3, "wrote to us first"
    elif speed is None:
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
    factors = (
        _intent(data),
        _budget(data),
        _stated(data, "authority", _AUTHORITY, "Not known yet: who decides."),
        _stated(data, "timeline", _TIMELINE, "Not known yet: when they want to buy."),
        _engagement(data),
    )
    weight_of = {name: getattr(weights, name) for name in FACTORS}
    counted = [f for f in factors if f.known and weight_of[f.name]]
    weight = sum(weight_of[f.name] for f in counted)
    # Weighted mean of the known factors on 0-20, times 5 to land on 0-100.
    total = 0 if not weight else round(
        sum(f.points * weight_of[f.name] for f in counted) * 5 / weight)
    total = max(0, min(100, total))
    tier = tier_for(total, thresholds)
    if tier == "hot" and data.intent == "low" and weight_of["intent"]:
        # Whatever else they said, a lead whose messages read as not buying is not HOT.
        tier = "warm"
    return Score(total=total, tier=tier, factors=factors)
