"""Budget extraction from a lead's message (pure, no ORM, no model).

The most the lead says it can spend, by the label guide: Indian notation (k, thousand, hazar,
lakh / lac / L, crore / cr), words and digits mixed ("2 lakh 40 thousand", "dedh lakh"),
Indian and Western digit grouping, ₹ / Rs / INR, $ / USD, € / EUR, £ / GBP, AED; a range or a
cap gives its upper bound; a per-month figure is taken as stated. Counts of seats, users,
tokens, days or people are not budgets, and neither are times, dates, phone numbers, years,
percentages or a price of ours the lead quotes back. A number with no currency from an
Indian lead is INR.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

DEFAULT_CURRENCY = "INR"


@dataclass(frozen=True)
class Budget:
    amount: Decimal
    currency: str


_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_DEVANAGARI_WORDS = {
    "लाख": " lakh ", "करोड़": " crore ", "करोड": " crore ", "हज़ार": " hazar ",
    "हजार": " hazar ", "रुपये": " rupees ", "रुपए": " rupees ", "रुपया": " rupees ",
    "बजट": " budget ", "तक": " tak ", "डेढ़": " dedh ", "ढाई": " dhai ", "सवा": " sawa ",
    "पौने": " paune ", "साढ़े": " saadhe ", "पचास": " pachas ", "पच्चीस": " pachees ",
    "बीस": " bees ", "दस": " das ", "तीस": " tees ", "चालीस": " chalis ", "साठ": " sixty ",
    "सत्तर": " seventy ", "अस्सी": " eighty ", "नब्बे": " ninety ", "एक": " ek ", "तीन": " teen ",
    "चार": " char ", "पांच": " paanch ", "पाँच": " paanch ", "कवर": " cover ", "बिल": " bill ",
    "था": " tha ", "थी": " tha ", "बताया": " bataya ", "रद्द": " cancelled ",
}

_MULTIPLIERS = {
    "k": 1_000, "thousand": 1_000, "thousands": 1_000, "hazar": 1_000, "hazaar": 1_000,
    "hajar": 1_000, "hzr": 1_000, "thou": 1_000,
    "lakh": 100_000, "lakhs": 100_000, "lac": 100_000, "lacs": 100_000, "lacks": 100_000,
    "lk": 100_000, "lkh": 100_000, "l": 100_000,
    "crore": 10_000_000, "crores": 10_000_000, "cr": 10_000_000, "crs": 10_000_000,
    "million": 1_000_000, "mn": 1_000_000, "mil": 1_000_000,
}

# Words standing for a number before a multiplier: "dedh lakh", "two lakh", "ek crore".
_WORD_NUMBERS = {
    "half": Decimal("0.5"), "aadha": Decimal("0.5"), "adha": Decimal("0.5"),
    "sawa": Decimal("1.25"), "dedh": Decimal("1.5"), "dhai": Decimal("2.5"),
    "dhaai": Decimal("2.5"), "one": 1, "ek": 1, "a": 1, "two": 2, "do": 2, "three": 3,
    "teen": 3, "four": 4, "char": 4, "chaar": 4, "five": 5, "paanch": 5, "panch": 5,
    "six": 6, "chhe": 6, "seven": 7, "saat": 7, "eight": 8, "aath": 8, "nine": 9, "nau": 9,
    "ten": 10, "das": 10, "fifteen": 15, "twenty": 20, "bees": 20, "twenty-five": 25,
    "pachees": 25, "thirty": 30, "tees": 30, "forty": 40, "chalis": 40, "fifty": 50,
    "pachas": 50, "pachaas": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "sau": 100,
}

_CURRENCY_WORDS = {
    "₹": "INR", "rs": "INR", "inr": "INR", "rupees": "INR", "rupee": "INR", "rupaye": "INR",
    "rupay": "INR", "rupiya": "INR", "rupaiya": "INR", "/-": "INR",
    "$": "USD", "usd": "USD", "dollars": "USD", "dollar": "USD", "bucks": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "£": "GBP", "gbp": "GBP", "pounds": "GBP", "pound": "GBP",
    "aed": "AED", "dirham": "AED", "dirhams": "AED", "sgd": "SGD", "aud": "AUD", "cad": "CAD",
}

# What a number counts when it is not money.
_COUNT_NOUNS = {
    "user", "users", "seat", "seats", "licence", "licences", "license", "licenses", "agent",
    "agents", "people", "person", "persons", "log", "logon", "logo", "member", "members",
    "employee", "employees", "staff", "rep", "reps", "sdr", "sdrs", "day", "days", "din",
    "week", "weeks", "hafte", "hafta", "month", "months", "mahine", "mahina", "year", "years",
    "saal", "yr", "yrs", "token", "tokens", "message", "messages", "msg", "msgs", "lead",
    "leads", "call", "calls", "student", "students", "bacche", "bachche", "room", "rooms",
    "bhk", "sqft", "sq", "km", "kms", "kg", "kgs", "percent", "%", "pm", "am", "baje",
    "minutes", "minute", "mins", "min", "hours", "hour", "hrs", "hr", "ghante", "ghanta",
    "times", "baar", "branch", "branches", "location", "locations", "outlet", "outlets",
    "store", "stores", "shop", "shops", "unit", "units", "pcs", "pieces", "product",
    "products", "clinic", "clinics", "doctor", "doctors", "patients", "patient", "bed", "beds",
    "car", "cars", "vehicle", "vehicles", "flat", "flats", "plot", "plots", "guest", "guests",
    "pax", "nights", "night", "floor", "floors", "th", "st", "nd", "rd", "gb", "mb", "tb",
    "class", "classes", "batch", "batches", "team", "teams", "account", "accounts",
    "number", "numbers", "contacts", "contact", "followers", "sites", "pages", "page",
    "emails", "email", "sms", "orders", "order", "tickets", "ticket", "slots", "slot",
}

# Words before a bare number (no currency, no multiplier) that make it money.
_MONEY_CONTEXT = {
    "budget", "spend", "spending", "afford", "pay", "paying", "invest", "investment",
    "upto", "up", "under", "below", "max", "maximum", "around", "approx", "approximately",
    "about", "range", "between", "have", "got", "offer", "cost", "costing", "within",
    "limit", "capped", "cap", "only", "kharcha", "kharch", "bajat", "lagbhag", "go", "till",
    "manage", "stretch",
}
_MONEY_CONTEXT_AFTER = {"tak", "max", "maximum", "budget", "only", "ka", "ki", "se"}

_NO_BUDGET = re.compile(
    r"\b(no|zero|nil|without( a)?|koi)\s+budget\b|\bbudget\s+(is\s+)?(nahi|nhi|nai|zero|nil|"
    r"not\s+(decided|fixed|approved|there)|abhi\s+(decide|fix)\s+nahi)"
)

_NUMBER = r"\d+(?:[.,]\d+)*"
_TOKEN = re.compile(
    rf"(?P<num>{_NUMBER})(?P<suffix>[a-z]+)?|(?P<word>[a-z\u00c0-\u024f\u0900-\u097f'-]+)"
    r"|(?P<sym>[₹$€£%]|/-)"
)
_QUOTED_BACK = re.compile(r"\b(your|ur|you\s+said|the|aapka|apka|aapke|apke)\s+$")

# A period after an amount is money per period ("20k/month", "6 hazar mahina"), not a count.
_PERIODS = {"month", "months", "mahina", "mahine", "year", "years", "saal", "week", "weeks",
            "day", "days", "din", "yr", "yrs", "annum", "mo"}
# Words near an amount that make it someone else's figure, not what the lead can spend.
_NOT_THEIRS_BEFORE = {
    "quoted", "quote", "your", "ur", "aapka", "apka", "aapke", "apke", "aapne", "apne",
    "charging", "charges", "priced", "mrp", "paid", "paying", "spent", "burned", "burnt",
    "wasted", "bill", "earn", "won", "win", "prize", "lottery", "salary", "ctc",
    "turnover", "revenue", "subscribers", "followers", "mehenga", "mehnga", "zyada",
    "expensive", "afford",
}
_NOT_THEIRS_AFTER = {
    "wala", "wale", "wali", "bataya", "quoted", "cover", "coverage", "subscribers",
    "followers", "prize", "cash", "payout", "too", "zyada", "mehenga", "possible", "above",
    "costly", "expensive", "daal", "paid",
}
_CAP_AFTER = {"tak", "max", "maximum", "budget", "only", "limit"}
_CANCELLED = re.compile(
    r"\b(cancel|cancelled|canceled|dropped|drop kar|killed|shelved|scrapped|went into)\b")


@dataclass
class _Token:
    kind: str  # "num", "word", "sym"
    text: str
    value: Decimal | None = None
    start: int = 0


def _normalize(text: str) -> str:
    text = text.translate(_DEVANAGARI_DIGITS)
    for word, roman in _DEVANAGARI_WORDS.items():
        text = text.replace(word, roman)
    text = text.lower().replace("rs.", "rs ").replace("r.s.", "rs ")
    # "60-80k", "40k to 60k" with a hyphen, an en dash or a tilde: a range, never a minus.
    return re.sub(r"(?<=\d)\s*[-\u2013~]\s*(?=\d)", " to ", text)


def _parse_number(raw: str) -> Decimal | None:
    """"2,50,000", "250,000", "1.5", "1,25" (European decimals are rare here: a comma is a
    grouping when three digits or an Indian pair group follow)."""
    if re.fullmatch(r"\d{1,3}(,\d{2})*,\d{3}(\.\d+)?", raw) or re.fullmatch(
        r"\d{1,3}(,\d{3})+(\.\d+)?", raw
    ):
        raw = raw.replace(",", "")
    elif "," in raw:
        return None  # "5,6" is a list, not a number
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


def _tokens(text: str) -> list[_Token]:
    found = []
    for match in _TOKEN.finditer(text):
        if match.group("num") is not None:
            value = _parse_number(match.group("num").rstrip(".,"))
            found.append(_Token("num", match.group("num"), value, match.start()))
            suffix = match.group("suffix")
            if suffix:
                found.append(_Token("word", suffix, None, match.end("num")))
        elif match.group("word") is not None:
            found.append(_Token("word", match.group("word"), None, match.start()))
        else:
            found.append(_Token("sym", match.group("sym"), None, match.start()))
    return _fractions_merged(found)


_FRACTION_WORDS = {"paune": Decimal("-0.25"), "saadhe": Decimal("0.5"), "sadhe": Decimal("0.5")}


def _fractions_merged(tokens: list[_Token]) -> list[_Token]:
    """"paune do lakh" is 1.75 lakh and "saadhe teen lakh" 3.5 lakh: the fraction word and its
    number become one number."""
    merged: list[_Token] = []
    skip = False
    for i, token in enumerate(tokens):
        if skip:
            skip = False
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if token.text in _FRACTION_WORDS and following is not None:
            base = following.value if following.kind == "num" else (
                Decimal(_WORD_NUMBERS[following.text]) if following.text in _WORD_NUMBERS
                else None)
            if base is not None:
                value = base + _FRACTION_WORDS[token.text]
                merged.append(_Token("num", str(value), value, token.start))
                skip = True
                continue
        merged.append(token)
    return merged


@dataclass
class _Amount:
    value: Decimal
    currency: str | None
    multiplied: bool
    start: int
    end_index: int  # the token index after the amount
    first_index: int


def _currency_of(token: _Token | None) -> str | None:
    if token is None:
        return None
    return _CURRENCY_WORDS.get(token.text)


def _read_amount(tokens: list[_Token], i: int) -> _Amount | None:
    """An amount starting at token ``i``: a number or number word, its multiplier, and any
    further "40 thousand" parts of a compound ("2 lakh 40 thousand")."""
    total = Decimal(0)
    multiplied = False
    first = i
    parts = 0
    last_multiplier = None
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "num" and token.value is not None:
            number = token.value
        elif token.kind == "word" and token.text in _WORD_NUMBERS and i + 1 < len(tokens) and (
            tokens[i + 1].text in _MULTIPLIERS
        ):
            number = Decimal(_WORD_NUMBERS[token.text])
        else:
            break
        j = i + 1
        multiplier = 1
        # "l" alone is a lakh only straight after a number ("2L"), never a word.
        if j < len(tokens) and tokens[j].kind == "word" and tokens[j].text in _MULTIPLIERS and (
            tokens[j].text != "l" or tokens[j].start == token.start + len(token.text)
        ):
            multiplier = _MULTIPLIERS[tokens[j].text]
            j += 1
        if parts and (multiplier == 1 or (last_multiplier and multiplier >= last_multiplier)):
            break  # "2 lakh 40 thousand" goes down; "2 lakh 3 users" stops
        if parts and tokens[i - 1].kind == "word" and (
            tokens[i - 1].text not in ("and", "aur", *_MULTIPLIERS)
        ):
            break
        total += number * multiplier
        multiplied = multiplied or multiplier > 1
        last_multiplier = multiplier if multiplier > 1 else last_multiplier
        parts += 1
        i = j
        if multiplier == 1:
            break
        if i < len(tokens) and tokens[i].text in ("and", "aur"):
            i += 1
    if parts == 0:
        return None
    if i > first and tokens[i - 1].text in ("and", "aur"):
        i -= 1
    return _Amount(total, None, multiplied, tokens[first].start, i, first)


def _is_phone_or_year(token: _Token, amount: _Amount) -> bool:
    digits = re.sub(r"\D", "", token.text)
    if amount.multiplied:
        return False
    if len(digits) >= 10 and "," not in token.text:
        return True
    return bool(re.fullmatch(r"(19|20)\d\d", token.text))


def extract_budget(text: str, *, default_currency: str = DEFAULT_CURRENCY) -> Budget | None:
    """The most the lead says it can spend, or None."""
    normalized = _normalize(text)
    tokens = _tokens(normalized)
    amounts: list[_Amount] = []
    i = 0
    while i < len(tokens):
        amount = _read_amount(tokens, i)
        if amount is None:
            i += 1
            continue
        first_token = tokens[amount.first_index]
        before = tokens[amount.first_index - 1] if amount.first_index > 0 else None
        before2 = tokens[amount.first_index - 2] if amount.first_index > 1 else None
        after = tokens[amount.end_index] if amount.end_index < len(tokens) else None
        currency = (_currency_of(before) or _currency_of(after)
                    or (_currency_of(before2) if before is not None and before.kind == "sym"
                        else None))
        # "$1,200" tokenises the symbol first; "1200$" after.
        between = normalized[amount.start:after.start] if after is not None else ""
        per_period = after is not None and after.text in _PERIODS and (
            amount.multiplied or currency is not None or "/" in between
            or (amount.end_index > 0 and tokens[amount.end_index - 1].text == "per"))
        after_is_count = after is not None and after.text in _COUNT_NOUNS and not per_period
        joined_after = (after is not None and after.kind == "word"
                        and after.start == first_token.start + len(first_token.text)
                        and after.text not in _MULTIPLIERS and _currency_of(after) is None)
        context = {t.text for t in tokens[max(0, amount.first_index - 4):amount.first_index]}
        context_after = {t.text for t in tokens[amount.end_index:amount.end_index + 2]}
        near_before = {t.text for t in tokens[max(0, amount.first_index - 3):amount.first_index]}
        near_after = {t.text for t in tokens[amount.end_index:amount.end_index + 4]}
        has_context = bool(context & _MONEY_CONTEXT) or bool(
            context_after & _MONEY_CONTEXT_AFTER)
        i = max(amount.end_index, i + 1)
        char_before = normalized[amount.start - 1:amount.start] if amount.start else ""
        if currency is None and char_before and (char_before.isalnum() or char_before in "-#"):
            continue  # part of an id: "INV-2231", "TXN88230192", "#4521"
        if currency is None and not has_context and first_token.kind == "num" and (
            _is_phone_or_year(first_token, amount)
        ):
            continue
        if (near_before & _NOT_THEIRS_BEFORE or near_after & _NOT_THEIRS_AFTER) and not (
            context_after & _CAP_AFTER
        ):
            continue  # our price, a bill, money already spent or rejected: not their budget
        if _CANCELLED.search(normalized) and ({"tha", "had"} & (near_after | near_before)):
            continue  # a budget that no longer exists
        if currency is None and (after_is_count or joined_after):
            continue  # "25 users", "5pm", "3rd"
        if after is not None and after.text == "%":
            continue
        if re.search(r"[:/]\s*$", normalized[max(0, amount.start - 1):amount.start]):
            continue  # "5:30", "12/03": a time or a date
        if _QUOTED_BACK.search(normalized[max(0, amount.start - 12):amount.start]) and (
            after is not None and after.text in {"plan", "package", "pack", "wala", "price"}
        ):
            continue  # "your 4999 plan": our price, not their budget
        if currency is None and not amount.multiplied:
            has_context = bool(context & _MONEY_CONTEXT) or bool(
                context_after & _MONEY_CONTEXT_AFTER
            )
            if not has_context or amount.value < 100:
                continue
        amount.currency = currency
        amounts.append(amount)
    if not amounts:
        return None
    if _NO_BUDGET.search(normalized) and all(not a.multiplied and a.currency is None
                                            for a in amounts):
        return None
    best = max(amounts, key=lambda a: a.value)
    if best.value <= 0:
        return None
    currency = best.currency or next((a.currency for a in amounts if a.currency), None)
    value = best.value.quantize(Decimal("1")) if best.value == best.value.to_integral() else (
        best.value.quantize(Decimal("0.01"))
    )
    return Budget(amount=value, currency=currency or default_currency)
