"""Text helpers shared by the timeline and authority readers (pure, no ORM, no model).

Whole-word patterns that match Latin and Devanagari alike, the words of a match's own clause
either side of it, negation before (English) and after (Hindi) a match, overlap resolution and
the lead's own words for a reading. Only the first ``READ_LIMIT`` characters of a message are
read: a lead's own words come first (what an email holds below them is quoted history and
signatures), and the bound keeps a hostile megabyte as fast as a short message.
"""

import re

READ_LIMIT = 4096  # also WhatsApp's longest text message
PHRASE_LIMIT = 60

_LETTER = r"\w\u0900-\u097f"  # Devanagari vowel signs and viramas are not \w on their own
_NUKTA = {"क": "\u0958", "ख": "\u0959", "ग": "\u095a", "ज": "\u095b", "ड": "\u095c",
          "ढ": "\u095d", "फ": "\u095e", "य": "\u095f"}


def devanagari_tolerant(pattern: str) -> str:
    """Devanagari is written with and without the nukta (फ / फ़), precomposed or not, and with
    chandrabindu or anusvara (हूँ / हूं): patterns are written plain and match every form."""
    out = []
    for char in pattern:
        if char in _NUKTA:
            out.append(f"(?:{char}\u093c?|{_NUKTA[char]})")
        elif char in "\u0901\u0902":
            out.append("[\u0901\u0902]")
        else:
            out.append(char)
    return "".join(out)


def word_rule(body: str) -> re.Pattern:
    """A case-insensitive pattern that matches whole words only (Latin and Devanagari). The
    lookahead lets the engine pass over spaces, marks and symbols without trying every word
    of the rule there."""
    return re.compile(
        rf"(?<![{_LETTER}])(?=[{_LETTER}])(?:{devanagari_tolerant(body)})(?![{_LETTER}])",
        re.IGNORECASE)


# A clause ends at punctuation, a spaced dash, or a contrast ("not this week but next").
_CLAUSE_BREAK = re.compile(
    r"[.,;:!?\u0964\u0965|()\[\]{}\n\r\"]|\s[-\u2013\u2014]\s"
    rf"|(?<![{_LETTER}])(?:but|lekin|magar|however|though|although|whereas|otherwise|warna"
    rf"|varna|लेकिन|मगर|पर\s+अभी)(?![{_LETTER}])", re.IGNORECASE)
WORD = re.compile(rf"[{_LETTER}'\u2019]+")
_WINDOW = 80  # characters looked at either side of a match, so context stays local


def words_before(text: str, start: int, count: int) -> list[str]:
    """The last ``count`` words of the clause that ends at ``start``, lower case."""
    window = text[max(0, start - _WINDOW):start]
    breaks = list(_CLAUSE_BREAK.finditer(window))
    if breaks:
        window = window[breaks[-1].end():]
    words = WORD.findall(window.lower().replace("\u2019", "'"))
    return words[-count:] if count else []


def words_after(text: str, end: int, count: int) -> list[str]:
    """The first ``count`` words of the clause that goes on from ``end``, lower case."""
    window = text[end:end + _WINDOW]
    found = _CLAUSE_BREAK.search(window)
    if found:
        window = window[:found.start()]
    return WORD.findall(window.lower().replace("\u2019", "'"))[:count]


def clause_after(text: str, end: int) -> str:
    window = text[end:end + _WINDOW]
    found = _CLAUSE_BREAK.search(window)
    return window[:found.start()] if found else window


# Negators before the words (Hindi's come after them: ``HINDI_NEGATORS``; "aaj nahi to kal"
# negates today, not tomorrow).
NEGATORS = {"not", "no", "never", "nor", "neither", "cannot", "without", "na", "न"}
_NEGATED_VERB = re.compile(r"n'?t$")  # don't, can't, wont, isnt …
NEGATION_VOIDERS = {"until", "till", "untill", "before", "than", "later", "sooner", "earlier"}


def is_negator(word: str) -> bool:
    return word in NEGATORS or (
        len(word) > 3 and bool(_NEGATED_VERB.search(word))
        and word not in {"want", "went", "meant", "sent", "spent", "rent", "event", "urgent",
                         "client", "agent", "payment", "moment", "current", "recent",
                         "different", "student", "front", "point", "account", "amount",
                         "count", "print", "hint", "plant", "tent", "content", "intent",
                         "percent", "present", "parent", "talent", "patient", "descent"})


def negated_before(text: str, start: int, count: int = 3) -> bool:
    """A negator among the few words before, with nothing between that turns it into a bound
    ("not this week" is negated; "not until next month" and "no later than Friday" are not)."""
    for word in reversed(words_before(text, start, count)):
        if word in NEGATION_VOIDERS:
            return False
        if is_negator(word):
            return True
    return False


HINDI_NEGATORS = {"nahi", "nahin", "nhi", "nai", "nahee", "nahii", "mat", "नहीं", "नही", "मत"}


def negated_after(text: str, end: int, count: int = 3) -> bool:
    """Hindi negates after the words ("aaj nahi", "कल नहीं")."""
    return any(word in HINDI_NEGATORS for word in words_after(text, end, count))


def resolved(candidates: list[tuple[int, int, object]], length: int) -> list:
    """Overlapping matches keep the longest ("next Monday" over "Monday", "abhi nahi" over
    "abhi"); a tie keeps the earlier. Linear in the number of matches."""
    taken = bytearray(length + 1)
    kept = []
    for start, end, payload in sorted(candidates, key=lambda c: (c[0] - c[1], c[0])):
        if any(taken[start:end]):
            continue
        taken[start:end] = b"\x01" * (end - start)
        kept.append((start, end, payload))
    return kept


def phrase_of(text: str, start: int, end: int) -> str:
    """The lead's own words, trimmed and at most ``PHRASE_LIMIT`` characters (still a
    substring of the message)."""
    return text[start:min(end, start + PHRASE_LIMIT)].strip()


def devanagari_plain(word: str) -> str:
    """The spelling the tables use: no nukta, anusvara for chandrabindu."""
    for plain, composed in _NUKTA.items():
        word = word.replace(composed, plain)
    return word.replace("\u093c", "").replace("\u0901", "\u0902")
