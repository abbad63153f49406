"""Documents the one error shape on every operation of the OpenAPI schema."""

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "example": "validation_failed"},
                "message": {"type": "string", "example": "capacity: Give a whole number."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "Per-field problems, by field name.",
                },
            },
        }
    },
}

_ALWAYS = {
    "400": "Invalid input or query parameters; `fields` names each problem.",
    "401": "No valid API key (`Authorization: Bearer <key>`) or session.",
    "403": "Your role does not allow this.",
    "429": "Too many API keys that are not valid came from your address; wait `Retry-After` "
           "seconds.",
}
_WITH_BODY = {
    "413": "The request body is larger than the limit.",
    "415": "The body is not `application/json`.",
}


def add_error_responses(result, generator, request, public):
    """drf-spectacular post-processing hook."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            statuses = dict(_ALWAYS)
            if method in {"post", "put", "patch"}:
                statuses.update(_WITH_BODY)
            if "{" in path:
                statuses["404"] = "No such object in your organization."
            responses = operation.setdefault("responses", {})
            for status, description in statuses.items():
                responses.setdefault(status, {"description": description, "content": content})
            # Errors a view declares itself (402, 409 …, as an OpenApiResponse with only a
            # description) have the same shape.
            for status, response in responses.items():
                if status[0] in "45" and "content" not in response:
                    response["content"] = content
    return result
