"""Recognising a message that IS an opt-out (pure logic, no ORM).

An opt-out withdraws consent, so a false positive silences a lead who wanted to talk and a
false negative keeps messaging someone who said stop. The rule is therefore narrow: the
whole message, once normalised, must be one of the known opt-out phrases, optionally with
politeness or filler around it ("please stop", "STOP!!", "stop messaging me pls"). A
sentence that merely contains the word ("don't stop, tell me more", "can you stop by
Monday?") is not an opt-out.
"""

import re
import unicodedata

# Latin phrases (English and romanised Hindi), compared after lower-casing and squashing
# punctuation and spaces.
_LATIN_PHRASES = (
    "stop", "stop all", "stopall", "unsubscribe", "unsub", "opt out", "optout", "opt-out",
    "remove me", "stop messaging me", "stop messaging",
    "stop texting me", "stop sending messages", "stop sending me messages",
    "stop contacting me", "stop the messages", "dont message me", "do not message me",
    "dont contact me", "do not contact me", "no more messages", "unsubscribe me",
    "take me off your list", "remove me from your list",
    # Hinglish
    "band karo", "band kar do", "bandh karo", "band karein", "band kijiye", "mat bhejo",
    "message mat bhejo", "msg mat bhejo", "messages mat bhejo", "mujhe message mat bhejo",
    "unsubscribe karo", "unsubscribe kar do", "unsubscribe karein", "rok do", "roko",
    "message band karo", "messages band karo", "msg band karo",
)
# Devanagari phrases, compared after NFC normalisation and squashing punctuation and spaces.
_DEVANAGARI_PHRASES = (
    "रोकें", "रोको", "रोक दो", "बंद करो", "बंद करें", "बंद कर दो", "बंद कीजिए", "बन्द करो",
    "बन्द करें", "मैसेज मत भेजो", "मैसेज मत भेजें", "मुझे मैसेज मत भेजो", "संदेश मत भेजो",
    "संदेश न भेजें", "सदस्यता रद्द करें", "सदस्यता रद्द करो", "अनसब्सक्राइब",
    "मैसेज बंद करो", "संदेश बंद करें",
)
# Words that may surround a phrase without changing what it means.
_FILLER = {
    "please", "pls", "plz", "kindly", "now", "thanks", "thank you", "thankyou", "ok", "okay",
    "just", "all", "sir", "madam", "bhai", "ji", "kripya", "कृपया", "अब", "प्लीज़", "प्लीज",
    "धन्यवाद", "जी", "भाई", "yaar", "abhi", "immediately", "right now",
}

_PUNCTUATION = re.compile(r"[^\w\s\u0900-\u097F-]+", re.UNICODE)
_SPACES = re.compile(r"\s+")
# Devanagari danda and double danda end sentences like full stops.
_DANDA = re.compile(r"[\u0964\u0965]")


def _normalised(text: str) -> str:
    text = unicodedata.normalize("NFC", text or "").casefold()
    text = text.replace("\u2019", "").replace("'", "")
    text = _DANDA.sub(" ", text)
    text = _PUNCTUATION.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


_PHRASES = frozenset(_normalised(phrase) for phrase in (*_LATIN_PHRASES, *_DEVANAGARI_PHRASES))
_FILLERS = frozenset(_normalised(word) for word in _FILLER)
_LONGEST_FILLER = max(len(filler.split()) for filler in _FILLERS)


def _strip_filler(words: list[str]) -> list[str]:
    """Drop filler words and phrases from both ends."""
    changed = True
    while changed and words:
        changed = False
        for size in range(min(_LONGEST_FILLER, len(words)), 0, -1):
            if " ".join(words[:size]) in _FILLERS:
                words, changed = words[size:], True
                break
            if " ".join(words[-size:]) in _FILLERS:
                words, changed = words[:-size], True
                break
    return words


def is_opt_out(text: str) -> bool:
    """True when the whole message asks us to stop messaging (English, Hindi, Hinglish)."""
    normalised = _normalised(text)
    if not normalised or len(normalised) > 80:
        return False  # a long message is a conversation, not a keyword
    if normalised in _PHRASES:
        return True
    core = " ".join(_strip_filler(normalised.split(" ")))
    return bool(core) and core in _PHRASES
