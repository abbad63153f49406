"""Errors of the platform core. The API's exception handler turns any ``FlexoraaError``
into the one JSON error shape with the error's ``status_code`` and ``code``."""


class FlexoraaError(Exception):
    status_code = 400
    code = "invalid"

    def __init__(self, message: str, *, fields: dict | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        self.extra = extra or {}


class NotFound(FlexoraaError):
    status_code = 404
    code = "not_found"


class PermissionDenied(FlexoraaError):
    status_code = 403
    code = "permission_denied"


class ValidationFailed(FlexoraaError):
    status_code = 400
    code = "validation_failed"


class Conflict(FlexoraaError):
    status_code = 409
    code = "conflict"
