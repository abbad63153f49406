"""Hostile bodies and query strings on every REST route: each is a 4xx in the one error shape
naming why, never a 500 or a RecursionError, and nothing is written.

The routes come from walking the router (as the cross-tenant test does): every create, update
and POST/PUT/PATCH action, each on an object of the caller's own organization. Run it on
PostgreSQL too: a lone surrogate or a NUL got through SQLite and failed only there, with a
500.
"""

from importlib import import_module

import pytest
from django.conf import settings
from django_filters.rest_framework import DjangoFilterBackend

from flexoraa.api import router
from flexoraa.models import AuditEvent
from tests.factories import TENANT_OBJECT_MAKERS
from tests.support import assert_error_shape

pytestmark = pytest.mark.django_db

WRITE_METHODS = {"create": "post", "update": "put", "partial_update": "patch"}


def write_routes() -> list[tuple[str, str, type, bool]]:
    """``(method, path template, model, needs an object)`` for every write on the router;
    ``{pk}`` in the path stands for an object of the caller's organization."""
    import_module(settings.ROOT_URLCONF)  # every app's API module registers on the router
    routes = []
    for prefix, viewset, _basename in router.registry:
        model = viewset.queryset.model
        for action, method in WRITE_METHODS.items():
            if hasattr(viewset, action) and method in viewset.http_method_names:
                detail = action != "create"
                path = f"/api/{prefix}/{{pk}}/" if detail else f"/api/{prefix}/"
                routes.append((method, path, model, detail))
        for extra in viewset.get_extra_actions():
            for method in extra.mapping:
                if method in ("post", "put", "patch"):
                    path = (f"/api/{prefix}/{{pk}}/{extra.url_path}/" if extra.detail
                            else f"/api/{prefix}/{extra.url_path}/")
                    routes.append((method, path, model, extra.detail))
    return routes


ROUTES = write_routes()
ROUTE_IDS = [f"{method.upper()} {path}" for method, path, _model, _detail in ROUTES]


def test_the_walk_finds_the_write_routes_that_matter():
    found = set(ROUTE_IDS)
    for route in ("POST /api/leads/", "PATCH /api/leads/{pk}/", "POST /api/api-keys/",
                  "POST /api/conversations/{pk}/send/", "POST /api/token-ledger/debit/",
                  "POST /api/routing-pool-members/", "PATCH /api/memberships/{pk}/"):
        assert route in found, (route, sorted(found))


def deep_array(levels: int) -> str:
    return "[" * levels + "]" * levels


# (case, body bytes, content type, status, code, field named in "fields" or None)
HOSTILE_BODIES = [
    ("100,000 nested arrays", deep_array(100_000).encode(), "application/json", 400,
     "too_deep", None),
    ("an object nested 40 deep in a field",
     ('{"name": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}").encode(), "application/json", 400,
     "too_deep", None),
    ("NUL in a string", b'{"name": "Asha\\u0000Rao"}', "application/json", 400,
     "unstorable_text", "name"),
    ("NUL in a nested string", b'{"params": ["ok", {"text": "a\\u0000"}]}', "application/json",
     400, "unstorable_text", "params.1.text"),
    ("an unpaired high surrogate", b'{"name": "\\ud800"}', "application/json", 400,
     "unstorable_text", "name"),
    ("an unpaired low surrogate after text", b'{"text": "hi \\udc00 there"}',
     "application/json", 400, "unstorable_text", "text"),
    ("an unpaired surrogate in a key", b'{"\\udfff": "x"}', "application/json", 400,
     "unstorable_text", "\ufffd"),
    ("NUL in a key", b'{"na\\u0000me": "x"}', "application/json", 400,
     "unstorable_text", "na\ufffdme"),
    ("bytes that are not UTF-8", b'{"name": "\xff\xfe"}', "application/json", 400,
     "malformed_json", None),
    ("a surrogate encoded as UTF-8 bytes", b'{"name": "\xed\xa0\x80"}', "application/json",
     400, "malformed_json", None),
    ("NaN", b'{"amount": NaN}', "application/json", 400, "malformed_json", "amount"),
    ("a number too large for a float", b'{"amount": 1e999}', "application/json", 400,
     "malformed_json", "amount"),
    ("Latin-1 bytes declared as Latin-1", '{"name": "Zoë\\u0000"}'.encode("latin-1"),
     "application/json; charset=latin-1", 400, "unstorable_text", "name"),
    ("truncated JSON", b'{"name": ', "application/json", 400, "malformed_json", None),
    ("an integer of 5,000 digits", b'{"units": ' + b"9" * 5000 + b"}", "application/json", 400,
     "malformed_json", None),
    ("a body over the limit", b'{"name": "' + b"x" * settings.REQUEST_BODY_LIMIT_BYTES + b'"}',
     "application/json", 413, "body_too_large", None),
    ("a form-encoded body", b"name=Asha%00", "application/x-www-form-urlencoded", 415,
     "unsupported_media_type", None),
    ("a multipart body", (b"--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n"
                          b"A\x00\r\n--b--\r\n"), "multipart/form-data; boundary=b", 415,
     "unsupported_media_type", None),
]


def database_rows():
    """Every row of every tenant model the API writes, and the audit log (without the time an
    API key was last used: the caller's key is used, and that is not a write of the body)."""
    models = [*TENANT_OBJECT_MAKERS, AuditEvent]
    return {model.__name__: [{name: value for name, value in row.items()
                              if name != "last_used_at"}
                             for row in model.objects.order_by("pk").values()]
            for model in models}


@pytest.mark.parametrize(("method", "path", "model", "detail"), ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize(("case", "body", "content_type", "status", "code", "field"),
                         HOSTILE_BODIES, ids=[case[0] for case in HOSTILE_BODIES])
def test_a_hostile_body_is_refused_in_the_error_shape_and_nothing_is_written(
    key_client, org, method, path, model, detail, case, body, content_type, status, code,
    field,
):
    url = path.format(pk=TENANT_OBJECT_MAKERS[model](org).pk) if detail else path
    before = database_rows()

    response = key_client.generic(method.upper(), url, body, content_type=content_type)

    error = assert_error_shape(response, status, code)
    if field is not None:
        assert field in error["fields"], error
        assert error["message"].startswith(f"{field}: "), error
    assert database_rows() == before


def test_the_messages_say_what_to_fix(key_client):
    def refused(body: bytes) -> str:
        response = key_client.generic("POST", "/api/leads/", body,
                                      content_type="application/json")
        return response.json()["error"]["message"]

    assert refused(deep_array(100_000).encode()) == (
        "The body nests arrays and objects more than 32 levels deep; no real payload does.")
    assert refused(b'{"name": "A\\u0000"}') == (
        "name: Contains a NUL character (U+0000), which cannot be stored; remove it and send "
        "the text again.")
    assert refused(b'{"need": "\\ud83d"}') == (
        "need: Contains an unpaired surrogate (U+D83D), which is not valid Unicode text; send "
        "the text as valid UTF-8.")
    assert refused(b'{"name": "\xff"}') == (
        "The body is not valid utf-8 text; send JSON encoded as UTF-8.")
    assert refused(b'{"units": ' + b"9" * 5000 + b"}").startswith(
        "The body is not JSON: Exceeds the limit (4300 digits) for integer string conversion")


def test_text_that_is_valid_unicode_is_taken_as_it_is(key_client, org):
    # A surrogate pair spelled as escapes is one valid character, not a lone surrogate.
    body = '{"name": "Zo\\u00eb \\ud83d\\ude00 \\u202eRao", "phone": "+919876543210"}'
    response = key_client.generic("POST", "/api/leads/", body.encode(),
                                  content_type="application/json")
    assert response.status_code == 201, response.content
    assert response.json()["lead"]["name"] == "Zoë \U0001f600 \u202eRao"


def test_nesting_within_the_limit_reaches_the_serializer(key_client):
    body = '{"name": ' + "[" * 31 + "]" * 31 + ', "phone": "+919876543210"}'
    response = key_client.generic("POST", "/api/leads/", body.encode(),
                                  content_type="application/json")
    assert_error_shape(response, 400, "validation_failed")


def test_an_action_that_reads_no_body_still_refuses_a_hostile_one(key_client, org):
    breach = TENANT_OBJECT_MAKERS[model_named("SlaBreach")](org)
    response = key_client.generic("POST", f"/api/sla-breaches/{breach.pk}/acknowledge/",
                                  deep_array(50).encode(), content_type="application/json")
    assert_error_shape(response, 400, "too_deep")
    breach.refresh_from_db()
    assert breach.acknowledged_at is None


def model_named(name: str):
    return next(model for model in TENANT_OBJECT_MAKERS if model.__name__ == name)


# --- query strings ---------------------------------------------------------------------------


def list_query_parameters() -> list[tuple[str, str]]:
    """``(list path, parameter)`` for every filter of every list route and list action, and
    the paging parameters."""
    import_module(settings.ROOT_URLCONF)
    cases = []
    backend = DjangoFilterBackend()
    for prefix, viewset, _basename in router.registry:
        if hasattr(viewset, "list"):
            view = viewset()
            view.action = "list"
            filterset = backend.get_filterset_class(view, viewset.queryset)
            names = list(filterset.base_filters) if filterset else []
            for name in [*names, "limit", "offset"]:
                cases.append((f"/api/{prefix}/", name))
        for extra in viewset.get_extra_actions():
            if not extra.detail and "get" in extra.mapping:
                cases.append((f"/api/{prefix}/{extra.url_path}/", "days"))
    return cases


QUERY_CASES = list_query_parameters()


def test_the_walk_finds_the_filters_that_take_free_text():
    assert ("/api/leads/", "q") in QUERY_CASES
    assert ("/api/audit-events/", "target_type") in QUERY_CASES
    assert ("/api/leads/sla-report/", "days") in QUERY_CASES


@pytest.mark.parametrize(("path", "parameter"), QUERY_CASES,
                         ids=[f"{path}?{name}" for path, name in QUERY_CASES])
def test_a_nul_in_any_filter_is_a_400_naming_the_parameter(key_client, path, parameter):
    response = key_client.get(f"{path}?{parameter}=a%00b")
    error = assert_error_shape(response, 400, "invalid_query")
    assert f"'{parameter}'" in error["message"]


def test_a_nul_in_a_parameter_name_is_refused_too(key_client):
    error = assert_error_shape(key_client.get("/api/leads/?q%00=x"), 400, "invalid_query")
    assert "'q\\0'" in error["message"]


def test_a_percent_encoded_surrogate_in_a_query_is_read_as_a_replacement_character(
    key_client, org
):
    # %ED%A0%80 would be U+D800 in UTF-8; it is not UTF-8, so it decodes to U+FFFD and the
    # search simply finds nothing.
    response = key_client.get("/api/leads/?q=%ED%A0%80")
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_the_console_and_the_admin_refuse_a_nul_in_their_searches(login_client, manager):
    console = login_client(manager)
    for url in ("/admin/leads/lead/?q=%00", "/leads/?q=%00", "/inbox/?q=%00"):
        response = console.get(url)
        assert response.status_code == 400, (url, response.status_code)
        assert "NUL character" in response.content.decode()


# --- console forms ----------------------------------------------------------------------------


def test_a_nul_typed_in_the_inbox_reply_is_a_reason_on_the_page_not_a_500(login_client, manager,
                                                                          org):
    from django.utils import timezone

    from agents.models import Message
    from tests.agents.factories import make_conversation

    conversation = make_conversation(org, last_inbound_at=timezone.now())
    before = database_rows()

    response = login_client(manager).post(f"/inbox/{conversation.pk}/reply/",
                                          {"text": "Hello\x00there"})

    assert response.status_code == 400
    assert "NUL character (U+0000)" in response.content.decode()
    assert not Message.objects.filter(conversation=conversation, body__contains="Hello").exists()
    assert database_rows() == before


def test_the_send_route_refuses_a_nul_or_surrogate_in_template_parameters(key_client, org):
    conversation = TENANT_OBJECT_MAKERS[model_named("Conversation")](org)
    for escaped in ("\\u0000", "\\udbff"):
        body = '{"template": 1, "template_params": ["ok", "x' + escaped + '"]}'
        response = key_client.generic("POST", f"/api/conversations/{conversation.pk}/send/",
                                      body.encode(), content_type="application/json")
        error = assert_error_shape(response, 400, "unstorable_text")
        assert list(error["fields"]) == ["template_params.1"]


@pytest.mark.parametrize("field", ["razorpay_order_id", "razorpay_payment_id",
                                   "razorpay_signature"])
def test_a_nul_in_razorpays_checkout_answer_is_a_reason_on_the_wallet_not_a_500(
    login_client, manager, field
):
    answer = {"razorpay_order_id": "order_1", "razorpay_payment_id": "pay_1",
              "razorpay_signature": "0" * 64, field: "x\x00y"}
    before = database_rows()

    response = login_client(manager).post("/billing/checkout/callback/", answer)

    assert response.status_code == 400
    assert "holds a character no Razorpay id has" in response.content.decode()
    assert database_rows() == before
