"""Reading amounts for the budget reader (pure, no ORM, no model).

The message is lowered with Devanagari digits and money words rewritten in Latin, keeping for
each character the span of the message it came from; it is cut into tokens, and an amount is
a number or number word with its multiplier and any further parts of a compound ("2 lakh 40
thousand").
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from agents.nlu.rules.budget_words import (
    DEVANAGARI_DIGITS,
    DEVANAGARI_SPELLINGS,
    FRACTION_WORDS,
    MULTIPLIERS,
    TENS,
    UNITS,
    WORD_NUMBERS,
)

# Whole words only: "दो" is two, but not the start of "दोस्त".
_REWRITES = re.compile(
    r"(?P<dev>(?<![\u0900-\u097f])(?:"
    + "|".join(sorted(map(re.escape, DEVANAGARI_SPELLINGS), key=len, reverse=True))
    + r")(?![\u0900-\u097f]))"
    # "60-80k", "90k-1L", "40k ~ 60k": a range, never a minus or an id.
    r"|(?P<dash>(?:(?<=\d)|(?<=\d[kKlL]))\s*[-\u2013~]\s*(?=[₹$€£]?\d))"
    r"|(?P<rs>(?<![a-z])(?i:r\.\s?s\.|rs\.))"
)

_MAY_REWRITE = re.compile(r"[\u0900-\u097f]|[-\u2013~]|(?i:r\.)")

_NUMBER = r"\d+(?:[.,]\d+)*"
_TOKEN = re.compile(
    rf"(?P<num>{_NUMBER})(?P<suffix>[a-z]+)?|(?P<word>[a-z\u00c0-\u024f\u0900-\u097f'-]+)"
    r"|(?P<sym>[₹$€£%]|/-)"
)


@dataclass
class Token:
    kind: str  # "num", "word", "sym"
    text: str
    value: Decimal | None = None
    start: int = 0
    end: int = 0


@dataclass
class NormalizedText:
    """The message lowered, with Devanagari digits and money words in Latin, and for each of
    its characters the span of the message it came from (so the lead's words can be quoted)."""

    original: str
    normalized: str
    starts: list[int]
    ends: list[int]

    def source(self, start: int, end: int) -> str:
        if start >= end:
            return ""
        return self.original[self.starts[start]:self.ends[end - 1]].strip()


def normalize(text: str) -> NormalizedText:
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []

    def copy(start: int, end: int) -> None:
        chunk = text[start:end].translate(DEVANAGARI_DIGITS).lower()
        if len(chunk) == end - start:
            out.append(chunk)
            starts.extend(range(start, end))
            ends.extend(range(start + 1, end + 1))
            return
        for i in range(start, end):  # a letter that lowers to two ("İ")
            lowered = text[i].translate(DEVANAGARI_DIGITS).lower()
            out.append(lowered)
            starts.extend([i] * len(lowered))
            ends.extend([i + 1] * len(lowered))

    position = 0
    for match in _REWRITES.finditer(text) if _MAY_REWRITE.search(text) else ():
        copy(position, match.start())
        if match.group("dev"):
            replacement = f" {DEVANAGARI_SPELLINGS[match.group('dev')]} "
        elif match.group("dash") is not None:
            replacement = " to "
        else:
            replacement = "rs "
        out.append(replacement)
        starts.extend([match.start()] * len(replacement))
        ends.extend([match.end()] * len(replacement))
        position = match.end()
    copy(position, len(text))
    return NormalizedText(text, "".join(out), starts, ends)


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


def tokenize(text: str) -> list[Token]:
    found = []
    for match in _TOKEN.finditer(text):
        if match.group("num") is not None:
            raw = match.group("num").rstrip(".,")
            value = _parse_number(raw)
            found.append(Token("num", raw, value, match.start(), match.start() + len(raw)))
            suffix = match.group("suffix")
            if suffix:
                found.append(Token("word", suffix, None, match.end("num"), match.end()))
        elif match.group("word") is not None:
            found.append(Token("word", match.group("word"), None, match.start(), match.end()))
        else:
            found.append(Token("sym", match.group("sym"), None, match.start(), match.end()))
    return _fractions_merged(_tens_merged(found))


def _number_of(token: Token | None) -> Decimal | None:
    if token is None:
        return None
    if token.kind == "num":
        return token.value
    if token.text in WORD_NUMBERS and token.text not in FRACTION_WORDS:
        return Decimal(WORD_NUMBERS[token.text])
    return None


def _tens_merged(tokens: list[Token]) -> list[Token]:
    """"seventy five" is 75 (before "thousand" it would otherwise read as five thousand)."""
    merged: list[Token] = []
    for token in tokens:
        previous = merged[-1] if merged else None
        if token.text in UNITS and previous is not None and previous.text in TENS and (
            previous.kind == "word"
        ):
            value = Decimal(TENS[previous.text] + UNITS[token.text])
            merged[-1] = Token("num", f"{previous.text} {token.text}", value, previous.start,
                               token.end)
            continue
        merged.append(token)
    return merged


def _fractions_merged(tokens: list[Token]) -> list[Token]:
    """"paune do lakh" is 1.75 lakh, "saadhe teen lakh" 3.5 lakh and "sawa do lakh" 2.25 lakh:
    the fraction word and the number after it become one number. Before a multiplier the
    word is a number itself ("sawa lakh" 1.25 lakh, "paune lakh" 0.75 lakh)."""
    merged: list[Token] = []
    skip = False
    for i, token in enumerate(tokens):
        if skip:
            skip = False
            continue
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        base = _number_of(following) if token.text in FRACTION_WORDS else None
        if base is not None:
            value = base + FRACTION_WORDS[token.text]
            merged.append(Token("num", f"{token.text} {following.text}", value, token.start,
                                following.end))
            skip = True
            continue
        merged.append(token)
    return merged


@dataclass
class Amount:
    value: Decimal
    multiplied: bool
    first_index: int
    end_index: int  # the token index after the amount
    start: int  # character span in the normalized text
    end: int
    currency: str | None = None
    period: str = ""
    phrase_start: int = 0
    phrase_end: int = 0
    role: str = "plain"  # "spend", "other" or "plain"


def read_amount(tokens: list[Token], i: int) -> Amount | None:
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
        elif token.kind == "word" and token.text in WORD_NUMBERS and i + 1 < len(tokens) and (
            tokens[i + 1].text in MULTIPLIERS
        ):
            number = Decimal(WORD_NUMBERS[token.text])
        else:
            break
        j = i + 1
        multiplier = 1
        # "l" alone is a lakh only straight after a number ("2L"), never a word.
        if j < len(tokens) and tokens[j].kind == "word" and tokens[j].text in MULTIPLIERS and (
            tokens[j].text != "l" or tokens[j].start == token.end
        ):
            multiplier = MULTIPLIERS[tokens[j].text]
            j += 1
            # "5 sau" is 500, and "2 lakh" stays a lakh: a hundred never multiplies again.
            if multiplier == 100 and j < len(tokens) and tokens[j].text in MULTIPLIERS and (
                MULTIPLIERS[tokens[j].text] > 100
            ):
                multiplier *= MULTIPLIERS[tokens[j].text]
                j += 1
        if parts and (multiplier == 1 or (last_multiplier and multiplier >= last_multiplier)):
            break  # "2 lakh 40 thousand" goes down; "2 lakh 3 users" stops
        if parts and tokens[i - 1].kind == "word" and (
            tokens[i - 1].text not in ("and", "aur", *MULTIPLIERS)
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
    return Amount(total, multiplied, first, i, tokens[first].start, tokens[i - 1].end)
