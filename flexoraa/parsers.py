"""The API's one body parser: JSON read through ``flexoraa.jsonsafe``.

DRF's own JSONParser recurses as deep as the body nests (100,000 ``[`` is a RecursionError and
a 500) and hands on any string JSON can spell, including NUL and unpaired surrogates, which
PostgreSQL cannot store (a lead's name of ``"\\ud800"`` failed at INSERT with a 500). The REST
API stores what it is given rather than repairing it, so text the database cannot hold is
refused with a 400 that names the field, not replaced the way a provider's webhook body is.
"""

import math
import re

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer

from flexoraa.errors import FlexoraaError
from flexoraa.jsonsafe import JsonRejected, json_parse

_NUL = "\x00"
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class BodyRejected(ParseError, FlexoraaError):
    """A body the API does not take. A ``ParseError``, so DRF treats it as the failure to read
    ``request.data`` it is; a ``FlexoraaError``, so the one exception handler answers it in the
    one error shape with this ``code`` and, for a problem inside the body, the field's path in
    ``fields``."""

    status_code = 400

    def __init__(self, code: str, message: str, *, fields: dict | None = None):
        ParseError.__init__(self, detail=message, code=code)
        self.code = code
        self.message = message
        self.fields = fields or {}
        self.extra = {}


class BoundedJSONParser(BaseParser):
    """``application/json`` bodies: UTF-8 (or the charset the request names), nested at most
    ``MAX_JSON_DEPTH`` levels, with finite numbers and text PostgreSQL can store."""

    media_type = "application/json"
    renderer_class = JSONRenderer

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise BodyRejected(
                "malformed_json",
                f"The body is not valid {encoding} text; send JSON encoded as UTF-8.",
            ) from None
        try:
            value = json_parse(text)
        except JsonRejected as exc:
            raise BodyRejected(exc.code, exc.message) from None
        problem = first_unstorable(value)
        if problem is not None:
            path, reason, code = problem
            raise BodyRejected(code, f"{path or 'The body'}: {reason}",
                               fields={path or "non_field_errors": [reason]})
        return value


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
    return _UNSTORABLE.sub("\ufffd", path), reason, code


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
