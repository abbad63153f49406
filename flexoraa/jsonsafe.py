"""Reading JSON from outside: bounded nesting, and text the database can store.

Every JSON body the project reads from outside (provider webhooks, the REST API, the public
web form) goes through ``json_parse``, so a body nested deeper than any real payload is one
clear error instead of a ``RecursionError`` or a 500, and ``json_clean`` turns text that
PostgreSQL cannot store (NUL, which neither ``text`` nor ``jsonb`` accepts, and unpaired
surrogates, which are not UTF-8) into U+FFFD, so one hostile character never costs the rest of
a body.
"""

import json
import math

from flexoraa.storable import UNSTORABLE_CHARACTER

# The deepest real payload we take (a WhatsApp status with its pricing and errors) nests 8
# levels; 32 leaves room for any provider's growth and still stops a hostile body early.
MAX_JSON_DEPTH = 32
REPLACEMENT = "\ufffd"


class JsonRejected(ValueError):
    """The body is not JSON we take; ``code`` and ``message`` go into the 400."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def json_parse(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH):
    """The parsed value. Raises ``JsonRejected`` with code ``malformed_json`` (not JSON, or
    not UTF-8) or ``too_deep`` (arrays and objects nested more than ``max_depth`` levels)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise JsonRejected("malformed_json", f"The body is not JSON: {_reason(exc)}") from None
    if _depth_exceeds(value, max_depth):
        raise _too_deep(max_depth)
    return value


def json_clean(value) -> tuple[object, bool]:
    """``(value, changed)``: the value with NUL and unpaired surrogates replaced by U+FFFD in
    every string and key, and NaN and infinities (which Python reads but JSON columns refuse)
    by null; ``changed`` says whether anything was replaced. The value must be bounded in
    depth (``json_parse`` checks it)."""
    if isinstance(value, float):
        return (value, False) if math.isfinite(value) else (None, True)
    if isinstance(value, str):
        if value.isascii() and "\x00" not in value:
            return value, False
        cleaned = UNSTORABLE_CHARACTER.sub(REPLACEMENT, value)
        return cleaned, cleaned != value
    if isinstance(value, dict):
        changed = False
        out = {}
        for key, item in value.items():
            clean_key, key_changed = json_clean(key)
            clean_item, item_changed = json_clean(item)
            out[clean_key] = clean_item
            changed = changed or key_changed or item_changed
        return (out, True) if changed else (value, False)
    if isinstance(value, list):
        changed = False
        out_list = []
        for item in value:
            clean_item, item_changed = json_clean(item)
            out_list.append(clean_item)
            changed = changed or item_changed
        return (out_list, True) if changed else (value, False)
    return value, False


def _depth_exceeds(value, max_depth: int) -> bool:
    # Iterative, so the check itself never recurses as deep as the body does.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, dict | list))
    return False


def _too_deep(max_depth: int) -> JsonRejected:
    return JsonRejected("too_deep", f"The body nests arrays and objects more than {max_depth} "
                                    "levels deep; no real payload does.")


def _reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}."
    if isinstance(exc, UnicodeDecodeError):
        return "it is not valid UTF-8."
    # Python refuses to read an integer of more than 4,300 digits (CVE-2020-10735).
    return f"{exc}."
