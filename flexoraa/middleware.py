from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone

from flexoraa.responses import error_response, wants_json
from flexoraa.tenancy import attach_session_tenant


class RequestBodyLimitMiddleware:
    """Refuse bodies over REQUEST_BODY_LIMIT_BYTES (UPLOAD_BODY_LIMIT_BYTES on the upload
    paths) with 413 before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw_length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            length = -1
        limit = (settings.UPLOAD_BODY_LIMIT_BYTES
                 if request.path.startswith(settings.UPLOAD_PATH_PREFIXES)
                 else settings.REQUEST_BODY_LIMIT_BYTES)
        if length < 0:
            return self._refuse(request, 400, "bad_content_length",
                                "The Content-Length header is not a number.")
        if length > limit:
            return self._refuse(
                request, 413, "body_too_large",
                f"The request body is {length} bytes; the limit is {limit} bytes.",
            )
        return self.get_response(request)

    @staticmethod
    def _refuse(request, status, code, message):
        if wants_json(request):
            return error_response(status=status, code=code, message=message)
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class NulQueryMiddleware:
    """Refuse a NUL character in the query string with 400 before any view filters by it.

    PostgreSQL cannot hold NUL in a text value, so ``?q=%00`` in any filter or search (the
    API's filter sets, the console's lists, the admin's search) failed deep in the database
    driver with a 500. No real link carries one, so it is refused here, in one place, naming
    the parameter. (An unpaired surrogate cannot come this way: percent-decoding gives bytes,
    and bytes that are not UTF-8 are decoded to U+FFFD.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:  # cheap: most requests skip the parse
            for name, values in request.GET.lists():
                if "\x00" in name or any("\x00" in value for value in values):
                    shown = name.replace("\x00", "\\0")
                    return RequestBodyLimitMiddleware._refuse(
                        request, 400, "invalid_query",
                        f"The query parameter '{shown}' contains a NUL character (%00), "
                        f"which no search or filter takes; remove it.",
                    )
        return self.get_response(request)


class OrganizationMiddleware:
    """Resolves the signed-in person's organization and shows times in its time zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        attach_session_tenant(request)
        if request.organization is None:
            return self.get_response(request)
        timezone.activate(ZoneInfo(request.organization.timezone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
