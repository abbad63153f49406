"""The one JSON error shape: {"error": {"code", "message", "fields"}}."""

from django.http import JsonResponse

JSON_PATH_PREFIXES = ("/api/", "/webhooks/")


def error_body(*, code: str, message: str, fields: dict | None = None, **extra) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}, **extra}}


def error_response(*, status: int, code: str, message: str, fields: dict | None = None, **extra):
    return JsonResponse(
        error_body(code=code, message=message, fields=fields, **extra), status=status
    )


def wants_json(request) -> bool:
    """JSON routes, and any request that sent or asked for JSON (the public form's JSON
    endpoints live beside its HTML page)."""
    if request.path.startswith(JSON_PATH_PREFIXES):
        return True
    content_type = request.META.get("CONTENT_TYPE", "")
    accept = request.META.get("HTTP_ACCEPT", "")
    return content_type.startswith("application/json") or (
        "application/json" in accept and "text/html" not in accept
    )
