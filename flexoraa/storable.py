"""Text and JSON values PostgreSQL can store as they are.

PostgreSQL holds no NUL character in ``text`` or ``jsonb``, and no unpaired surrogate (it is
not UTF-8): either one fails the INSERT with a 500. Where the project takes text from outside
and stores it as given (the REST API, the console's forms, the public web form, a message an
SDR sends), it refuses such text with these reasons; webhook bodies, which must never be lost,
are repaired instead (``flexoraa.jsonsafe.json_clean``).
"""

import math
import re

_NUL = "\x00"
_SURROGATE = re.compile("[\ud800-\udfff]")
# A str from json.loads holds a valid surrogate pair as one code point, so any code point in
# the surrogate range is unpaired.
UNSTORABLE_CHARACTER = re.compile("[\x00\ud800-\udfff]")


def first_unstorable(value) -> tuple[str, str, str] | None:
    """``(path, reason, code)`` of the first string or number in a parsed JSON value that the
    API must not store, or None. The path is dotted (``items.0.text``); an object key with a
    bad character is reported at the key itself, shown with U+FFFD in its place: an answer
    holding the very character refused would fail to render the way storing it did. The value
    must be bounded in depth (``json_parse`` checks it); the walk is iterative all the same."""
    problem = _first_unstorable(value)
    if problem is None:
        return None
    path, reason, code = problem
    return UNSTORABLE_CHARACTER.sub("\ufffd", path), reason, code


def _first_unstorable(value) -> tuple[str, str, str] | None:
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            reason = unstorable_text_reason(item)
            if reason is not None:
                return path, reason, "unstorable_text"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return (path, "NaN and Infinity are not JSON numbers; send a finite number.",
                        "malformed_json")
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                key_reason = unstorable_text_reason(key)
                if key_reason is not None:
                    return child_path, f"this key {key_reason[0].lower()}{key_reason[1:]}", (
                        "unstorable_text")
                children.append((child_path, child))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(f"{path}.{index}" if path else str(index), child)
                                   for index, child in enumerate(item)]))
    return None


def unstorable_text_reason(text: str) -> str | None:
    """Why the database cannot store this text as it is, or None when it can."""
    if text.isascii() and _NUL not in text:
        return None
    if _NUL in text:
        return ("Contains a NUL character (U+0000), which cannot be stored; "
                "remove it and send the text again.")
    surrogate = _SURROGATE.search(text)
    if surrogate is not None:
        return (f"Contains an unpaired surrogate (U+{ord(surrogate.group()):04X}), which is not "
                "valid Unicode text; send the text as valid UTF-8.")
    return None
