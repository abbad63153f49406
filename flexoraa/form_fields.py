"""Form fields for JSON typed by a person (the console's business hours and settings).

Django's ``forms.JSONField`` reads with ``json.loads``: a value nested 100,000 deep is a
RecursionError (a 500, on saving and on showing the form again), and ``"\\u0000"`` or a lone
``"\\ud800"`` passes the form and fails in PostgreSQL, another 500. This field reads through
``flexoraa.jsonsafe`` and says on the form what to fix.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput, JSONString

from flexoraa.jsonsafe import MAX_JSON_DEPTH, JsonRejected, json_parse
from flexoraa.storable import first_unstorable


class BoundedJSONFormField(forms.JSONField):
    def to_python(self, value):
        if self.disabled:
            return value
        if value in self.empty_values:
            return None
        if isinstance(value, list | dict | int | float | JSONString):
            return value
        try:
            converted = json_parse(value)
        except JsonRejected as exc:
            message = (f"This nests lists and objects more than {MAX_JSON_DEPTH} levels deep; "
                       f"no setting needs more than a few." if exc.code == "too_deep"
                       else exc.message.replace("The body", "This"))
            raise ValidationError(message, code=exc.code) from None
        problem = first_unstorable(converted)
        if problem is not None:
            path, reason, code = problem
            where = f"At {path}: " if path else ""
            raise ValidationError(f"{where}{reason}", code=code)
        return JSONString(converted) if isinstance(converted, str) else converted

    def bound_data(self, data, initial):
        if self.disabled:
            return initial
        if data is None:
            return None
        # A value refused is shown again as typed, with the reason from ``to_python`` beside
        # it; parsed, a lone surrogate would make the page itself impossible to encode.
        try:
            value = json_parse(data)
        except JsonRejected:
            return InvalidJSONInput(data)
        return InvalidJSONInput(data) if first_unstorable(value) is not None else value
