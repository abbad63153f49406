"""Budget extraction from a lead's message (pure, no ORM, no model).

The most the lead says it will spend, by the label guide: Indian notation (k, thousand, hazar,
lakh / lac / L, crore / cr), words and digits mixed ("2 lakh 40 thousand"), the Hindi fraction
words (sawa 1.25, dedh 1.5, dhai 2.5, saadhe +0.5, paune = a quarter less than the next number)
in Latin letters and Devanagari, Indian and Western digit grouping, ₹ / Rs / INR, $ / USD,
€ / EUR, £ / GBP, AED; a range or a cap gives its upper bound; a per-period figure is taken as
stated, and its period ("day", "week", "month", "year") is reported beside it. Counts of seats,
users, tokens, days or people are not budgets, and neither are times, dates, phone numbers,
years or percentages.

When a message holds several amounts, the budget is the one the lead says it will spend: a
price it was quoted, ours quoted back, a competitor's, money already paid, an insurance cover,
a loan amount, a salary or a turnover is someone else's figure, not a budget.

The vocabulary is in ``budget_words``; normalizing the text and reading its amounts in
``budget_amounts``.
"""

import re
from dataclasses import dataclass
from decimal import Decimal

from agents.nlu.rules.budget_amounts import (
    Amount,
    NormalizedText,
    Token,
    normalize,
    read_amount,
    tokenize,
)
from agents.nlu.rules.budget_words import (
    ADVERB_PERIODS,
    BARE_FOLLOWERS,
    CANCELLED,
    COUNT_NOUNS,
    CURRENCY_WORDS,
    GONE,
    ID_BEFORE,
    MULTIPLIERS,
    NO_BUDGET,
    OTHER_AFTER,
    OTHER_BEFORE,
    OTHER_NEXT,
    PAST,
    PERIOD_AFTER,
    PERIOD_BEFORE,
    PERIOD_WORDS,
    PERIODS_AFTER,
    SPEND_AFTER,
    SPEND_BEFORE,
    SPEND_NEXT,
)

DEFAULT_CURRENCY = "INR"
PERIODS = ("day", "week", "month", "year")


@dataclass(frozen=True)
class Budget:
    amount: Decimal
    currency: str
    period: str = ""  # "" (one-off or not said) or one of PERIODS
    phrase: str = ""  # the lead's own words for the amount, a substring of the message


# A quoted reply or forwarded mail holds our words or someone else's, never the lead's budget.
_QUOTED = re.compile(r"(?i)^\s*>.*$|(-{3,}\s*forwarded message|-{3,}\s*original message|"
                     r"\bon .{4,60} wrote:)[\s\S]*", re.MULTILINE)

_RANGE_JOINER = re.compile(
    r"\s*(to|and|se|or|till|upto|-)?\s*(₹|\$|€|£|rs|inr|usd|aed|eur|gbp)?\s*")

# A phone number, even split in groups ("98201 44567", "080-4112-7788"), is never an amount.
_PHONE = re.compile(r"(?<![\w.,])(\+\d{1,3}[\s-]?)?\d{2,5}([\s-]\d{2,5}){1,3}(?![\w.,])")


def _is_phone_or_year(token: Token, amount: Amount) -> bool:
    digits = re.sub(r"\D", "", token.text)
    if amount.multiplied:
        return False
    if len(digits) >= 10 and "," not in token.text:
        return True
    return bool(re.fullmatch(r"(19[89]\d|20[0-3]\d)", token.text)) and token.text != "2000"


def _clause_bounds(text: str, start: int, end: int, low: int, high: int) -> tuple[int, int]:
    """The amount's clause: between sentence or clause marks, within the neighbours."""
    before = text[low:start]
    cut = max((m.end() for m in re.finditer(r"[.;!?\n|]\s|[,;!?\n|]|\b(but|par|lekin|magar|"
                                              r"and|aur|so|kyunki|because)\b", before)),
              default=0)
    after = text[end:high]
    stop = next((m.start() for m in re.finditer(r"[.;!?\n|](\s|$)|[,;!?\n|]|\b(but|par|lekin|"
                                               r"magar|and|aur|so|kyunki|because)\b", after)),
                len(after))
    return low + cut, end + stop


def _nearest(pattern: re.Pattern, text: str, *, from_end: bool) -> int | None:
    """How far the nearest cue is from the amount, in characters, or None without one; the
    cue is looked for among the five words before the amount, or the six after it."""
    if from_end:
        words = list(re.finditer(r"\S+", text))[-5:]
        tail = text[words[0].start():] if words else ""
        found = list(pattern.finditer(tail))
        return None if not found else len(tail.rstrip()) - found[-1].end()
    head = " ".join(text.split()[:6])
    match = pattern.search(head)
    return None if match is None else match.start()


def _role(text: str, start: int, end: int, low: int, high: int) -> str:
    clause_start, clause_end = _clause_bounds(text, start, end, low, high)
    before = text[clause_start:start]
    after = text[end:clause_end]
    spend = [d for d in (_nearest(SPEND_BEFORE, before, from_end=True),
                         _nearest(SPEND_AFTER, after, from_end=False),
                         0 if SPEND_NEXT.match(after) else None) if d is not None]
    other = [d for d in (_nearest(OTHER_BEFORE, before, from_end=True),
                         _nearest(OTHER_AFTER, after, from_end=False),
                         0 if OTHER_NEXT.match(after) else None) if d is not None]
    # "the 1.2L package", "your 4999 plan", "that 18k you mentioned": a price already named.
    if re.search(r"\b(the|that|this|your|ur)\W*$", before) and re.match(
        r"\W*(/-)?\W*(package|plan|pack|course|bundle|option|one|wala|wali|you|quote)\b", after
    ):
        return "other"
    # "would 60k cover a 2-night trip?": what the lead's money buys.
    if re.search(r"\b(would|will|could|can|does|is|enough)\W*$", before) and re.match(
        r"\W*(/-)?\W*(cover|be enough|suffice|work)\b", after
    ):
        return "spend"
    if spend and (not other or min(spend) < min(other)):
        return "spend"
    if other:
        return "other"
    return "plain"


def _period(text: NormalizedText, amount: Amount) -> tuple[str, int, int]:
    """The period an amount is stated per, and the span of the words saying it."""
    normalized = text.normalized
    after = normalized[amount.phrase_end:amount.phrase_end + 40]
    match = PERIOD_AFTER.match(after)
    if match:
        word = match.group("word")
        joined = after[:match.start("word")]
        connector = joined.strip().split()[-1] if joined.strip() else ""
        if word in PERIOD_WORDS and (
            connector in {"a", "an", "per", "every", "each", "har", "ek", "/", "in a"}
            or joined.rstrip().endswith("/") or word in ADVERB_PERIODS
            or (word in {"mahina", "mahine", "saal", "roz"} and (
                word != "saal" or re.match(r"\s+(ka|ke|ki)\b", after[match.end("word"):])))
        ) and not re.match(r"\s*(mein|me|main|baad|later|time|tak ka)\b",
                           after[match.end("word"):]):
            return PERIOD_WORDS[word], amount.phrase_start, amount.phrase_end + (
                match.end() if re.search(r"\b(ka|ke|ki)$", match.group(0)) else match.end("word"))
    before = normalized[max(0, amount.phrase_start - 40):amount.phrase_start]
    match = PERIOD_BEFORE.search(before)
    if match:
        word = match.group("w1") or match.group("w2")
        if word in PERIOD_WORDS and (match.group("w1") or word in ADVERB_PERIODS or (
            word in {"mahine", "mahina", "saal", "month", "year"}
            and re.match(r"\S+\s+(ka|ke|ki)\b", match.group("phrase"))
        )):
            offset = amount.phrase_start - len(before)
            return PERIOD_WORDS[word], offset + match.start("phrase"), amount.phrase_end
    return "", amount.phrase_start, amount.phrase_end


def extract_budget(text: str, *, default_currency: str = DEFAULT_CURRENCY) -> Budget | None:
    """The most the lead says it will spend, or None."""
    lead_text = _QUOTED.sub(_blank, text)
    lead_text = _PHONE.sub(lambda m: _blank(m) if _is_phone(m.group(0)) else m.group(0),
                           lead_text)
    normalized_text = normalize(lead_text)
    normalized_text.original = text  # same length: quoted parts were blanked, not removed
    normalized = normalized_text.normalized
    tokens = tokenize(normalized)
    raw: list[Amount] = []
    i = 0
    while i < len(tokens):
        amount = read_amount(tokens, i)
        if amount is None:
            i += 1
            continue
        raw.append(amount)
        i = max(amount.end_index, i + 1)
    amounts = []
    k = 0
    while k < len(raw):
        amount, lower = raw[k], None
        # "60-80k", "between 40k and 60k", "1.8 se 2 lakh": a range is read as its upper bound,
        # with the words around the whole range.
        if k + 1 < len(raw) and _RANGE_JOINER.fullmatch(normalized[amount.end:raw[k + 1].start]):
            lower, amount = amount, raw[k + 1]
            k += 1
        low = raw[k - 2 if lower else k - 1].end if k - (2 if lower else 1) >= 0 else 0
        high = raw[k + 1].start if k + 1 < len(raw) else len(normalized)
        if _admitted(normalized_text, tokens, amount, low, high, lower):
            amounts.append(amount)
        k += 1
    _carry_multiplier(amounts, raw)
    if not amounts:
        return None
    if NO_BUDGET.search(normalized) and all(not a.multiplied and a.currency is None
                                           for a in amounts):
        return None
    theirs = [a for a in amounts if a.role == "spend"] or [
        a for a in amounts if a.role == "plain"]
    if not theirs:
        return None
    best = max(theirs, key=lambda a: a.value)
    if best.value <= 0:
        return None
    currency = best.currency or next((a.currency for a in theirs if a.currency), None)
    value = best.value.quantize(Decimal("1")) if best.value == best.value.to_integral() else (
        best.value.quantize(Decimal("0.01"))
    )
    return Budget(amount=value, currency=currency or default_currency, period=best.period,
                  phrase=normalized_text.source(best.phrase_start, best.phrase_end))


def _blank(match: re.Match) -> str:
    return " " * len(match.group(0))


def _is_phone(written: str) -> bool:
    """Ten digits or more in groups, unlike a range of round amounts ("40000-60000")."""
    groups = re.findall(r"\d+", written)
    return written.startswith(("+", "0")) or (
        sum(map(len, groups)) >= 10 and not all(g.endswith("000") for g in groups))


def _carry_multiplier(amounts: list[Amount], raw: list[Amount]) -> None:
    """"You quoted 85k, do it at 72": a bare counter-offer counts in the unit of the figure
    it answers, when that reading puts it near that figure."""
    for amount in amounts:
        if amount.multiplied or amount.value >= 100 or amount.role != "spend":
            continue
        for other in raw:
            if other is amount or not other.multiplied:
                continue
            unit = Decimal(10) ** (len(str(int(other.value))) - len(str(int(amount.value))))
            if unit > 1 and Decimal("0.2") <= amount.value * unit / other.value <= Decimal(1):
                amount.value *= unit
                amount.multiplied = True
                break
    amounts[:] = [a for a in amounts if a.multiplied or a.currency or a.value >= 100]


def _admitted(text: NormalizedText, tokens: list[Token], amount: Amount, low: int, high: int,
              lower: Amount | None = None) -> bool:
    """Whether ``amount`` (the upper bound of a range from ``lower``, if given) is money at
    all; sets its currency, period, phrase and role."""
    normalized = text.normalized
    first_token = tokens[amount.first_index]
    before = tokens[amount.first_index - 1] if amount.first_index > 0 else None
    before2 = tokens[amount.first_index - 2] if amount.first_index > 1 else None
    after = tokens[amount.end_index] if amount.end_index < len(tokens) else None
    currency = CURRENCY_WORDS.get(before.text) if before is not None else None
    amount.phrase_start, amount.phrase_end = amount.start, amount.end
    if currency is not None:
        amount.phrase_start = before.start
    elif after is not None and after.text in CURRENCY_WORDS:
        currency = CURRENCY_WORDS[after.text]
        amount.phrase_end = after.end
    elif before is not None and before.kind == "sym" and before2 is not None and (
        before2.text in CURRENCY_WORDS
    ):
        currency = CURRENCY_WORDS[before2.text]  # "$ 1,200" read as "$", " ", "1,200"
        amount.phrase_start = before2.start
    if lower is not None:
        lower_before = tokens[lower.first_index - 1] if lower.first_index else None
        if currency is None and lower_before is not None:
            currency = CURRENCY_WORDS.get(lower_before.text)
        amount.phrase_start = min(amount.phrase_start, lower.start if lower_before is None or (
            lower_before.text not in CURRENCY_WORDS) else lower_before.start)
        amount.multiplied = amount.multiplied or lower.multiplied
    amount.currency = currency
    between = normalized[amount.end:after.start] if after is not None else ""
    period, amount.phrase_start, amount.phrase_end = _period(text, amount)
    per_period = after is not None and after.text in PERIODS_AFTER and (
        amount.multiplied or currency is not None or "/" in between
        or (amount.end_index > 0 and tokens[amount.end_index - 1].text == "per"))
    if per_period and not period and (after.start == amount.end or "/" in between):
        period = PERIOD_WORDS.get(after.text, "")
    amount.period = period if period in PERIODS else ""
    after_is_count = after is not None and after.text in COUNT_NOUNS and not (
        per_period or amount.period) and not re.search(r"[,;.!?|]", between)
    joined_after = (after is not None and after.kind == "word" and after.start == amount.end
                    and after.text not in MULTIPLIERS and CURRENCY_WORDS.get(after.text) is None
                    and not amount.period)
    char_before = normalized[amount.start - 1:amount.start] if amount.start else ""
    if currency is None and char_before and (char_before.isalnum() or char_before in "-#"):
        return False  # part of an id: "INV-2231", "TXN88230192", "#4521"
    if currency is None and first_token.kind == "num" and _is_phone_or_year(first_token, amount):
        return False
    if currency is None and (after_is_count or joined_after):
        return False  # "25 users", "5pm", "3rd"
    bare = currency is None and not amount.multiplied and lower is None
    if bare and after is not None and after.kind == "word" and not amount.period and (
        after.text not in BARE_FOLLOWERS and after.text not in MULTIPLIERS
        and not normalized[amount.end:after.start].strip()
    ):
        return False  # "100 custom mugs", "300 copies", "100 कुर्सियों"
    if bare and ID_BEFORE.search(normalized[max(0, amount.start - 24):amount.start]):
        return False  # "order no. 55120", "pin 560034", "mera number 99101 23456"
    if after is not None and after.text == "%":
        return False
    if re.search(r"\d\s*[:/]\s*$", normalized[max(0, amount.start - 3):amount.start]):
        return False  # "5:30", "12/03": a time or a date
    if re.match(r"\s*[:/.]\s*\d", normalized[amount.end:amount.end + 3]):
        return False
    amount.role = _role(normalized, amount.phrase_start, amount.phrase_end, low, high)
    if currency is None and not amount.multiplied and amount.role != "spend":
        return False  # "about 2500 a month" is enquiries; "budget 2500" is money
    if amount.role != "other":
        clause_start, clause_end = _clause_bounds(normalized, amount.start, amount.end, low, high)
        around = normalized[max(0, clause_start - 30):clause_end + 30]
        if GONE.search(around) or NO_BUDGET.search(around) or (CANCELLED.search(
                normalized) and (
            PAST.search(around) or re.search(r"\b(set aside|kept aside)\b", around)
        )):
            return False  # a budget that no longer exists
    return True
