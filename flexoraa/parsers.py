"""The API's one body parser: JSON read through ``flexoraa.jsonsafe``.

DRF's own JSONParser recurses as deep as the body nests (100,000 ``[`` is a RecursionError and
a 500) and hands on any string JSON can spell, including NUL and unpaired surrogates, which
PostgreSQL cannot store (a lead's name of ``"\\ud800"`` failed at INSERT with a 500). The REST
API stores what it is given rather than repairing it, so text the database cannot hold is
refused with a 400 that names the field, not replaced the way a provider's webhook body is.
"""

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer

from flexoraa.errors import FlexoraaError
from flexoraa.jsonsafe import JsonRejected, json_parse
from flexoraa.storable import first_unstorable


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
