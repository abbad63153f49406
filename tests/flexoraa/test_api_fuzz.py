"""Property-based fuzzing of every operation in the OpenAPI schema, with Schemathesis.

The schema is read from ``/api/schema/?format=json`` through ``flexoraa.wsgi.application`` and
the generated requests go to the same WSGI app in-process (no server), on the test's database
connection, so they see the organization, people and key the fixtures create. Schemathesis makes
one pytest item per operation (``test_...[GET /api/me/]``), each with its own fixtures.

Properties, for valid and invalid inputs alike:

* no request is answered with a 5xx;
* every status is one the operation documents, with a documented content type, and the body
  matches the documented schema (the resource on success, the one ``Error`` shape otherwise).

Each operation is fuzzed as an integration (``Authorization: Bearer <key>``) and as a signed-in
manager (session cookie and CSRF token, as a browser sends them).
"""

import secrets
import traceback

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.python import wsgi

from flexoraa.models import Role
from flexoraa.wsgi import application
from tests.experiments.factories import make_experiment
from tests.factories import make_audit_event, make_membership

pytestmark = pytest.mark.django_db

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    # A method the path does not document is a 405 naming the documented ones in ``Allow``.
    checks.unsupported_method,
    checks.allow_header_conformance,
]

# Deterministic (CI reproduces a failure exactly), no example database written into the repo,
# few enough examples that the file runs in well under a minute on two cores. The fixtures run
# once per operation, not per example: the examples share (and may change) one tenant, which
# the checks allow for, so the function-scoped-fixture health check does not apply.
FUZZ_SETTINGS = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


# Ids of real objects per templated path (one of another tenant among them); ``fuzz_world``
# fills it for each test and empties it after.
REAL_IDS: dict[str, list[int]] = {}


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """Requests here go through the bare WSGI app, whose request signals close a connection that
    is in a transaction: on PostgreSQL, the test's. Django's test client disconnects the same
    receiver around its requests."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def fuzz_world(org, other_org, manager, sdr, api_key):
    """The tenant the fuzzer works in, with a few real objects for path ids to hit."""
    other_manager = make_membership(org, role=Role.MANAGER)
    event = make_audit_event(org)
    foreign = make_membership(other_org, role=Role.SDR)
    experiments = [make_experiment(org).pk, make_experiment(other_org).pk]
    REAL_IDS.update({
        "/api/memberships/{id}/": [sdr.pk, other_manager.pk, foreign.pk],
        "/api/api-keys/{id}/": [api_key[0].pk],
        "/api/audit-events/{id}/": [event.pk],
        **{f"/api/experiments/{{id}}/{route}": experiments
           for route in ("", "start/", "stop/", "results/", "record/", "variant/{leadId}/")},
    })
    yield
    REAL_IDS.clear()


# Loaded at import: pytest-django has configured Django by then, and the schema view reads no
# database. (``schemathesis.pytest.from_fixture`` would defer it, but as of schemathesis 4.32.5
# it breaks on pytest 9.2: "'Function' object has no attribute '_nodeid'".)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Besides generated ids (which nearly always miss), often ask for a real object."""
    ids = REAL_IDS.get(context.operation.path)
    if not ids:
        return st.just(path_parameters)
    # Other parameters of the path (an experiment's variant/{leadId}) keep generated values.
    return st.one_of(st.sampled_from(ids).map(lambda pk: {**path_parameters, "id": pk}),
                     st.just(path_parameters))


@pytest.fixture
def server_errors():
    """Tracebacks of the exceptions the app turned into a 500, to show beside a failure."""
    seen = []

    def record(sender, request=None, **kwargs):
        seen.append(traceback.format_exc())

    got_request_exception.connect(record)
    yield seen
    got_request_exception.disconnect(record)


@pytest.fixture
def key_auth(api_key):
    return {"headers": {"Authorization": f"Bearer {api_key[1]}"}}


@pytest.fixture
def session_auth(manager):
    client = Client()
    client.force_login(manager.user)
    csrf = secrets.token_hex(16)
    session_key = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    return {
        "headers": {"X-CSRFToken": csrf},
        "cookies": {
            django_settings.SESSION_COOKIE_NAME: session_key,
            django_settings.CSRF_COOKIE_NAME: csrf,
        },
    }


def fuzz_call(case, server_errors, *, headers, cookies=None, extra_checks=()):
    checks_for_case = [*CHECKS, *extra_checks]
    server_errors.clear()
    try:
        case.call_and_validate(headers=headers, cookies=cookies, checks=checks_for_case)
    except BaseException as exc:  # Schemathesis' FailureGroup is a BaseExceptionGroup
        if server_errors:
            exc.add_note("Server traceback:\n" + "\n".join(server_errors))
        raise


@schema.parametrize()
@FUZZ_SETTINGS
def test_no_5xx_and_schema_conformance_as_an_integration(case, key_auth, server_errors):
    # ignored_auth re-sends a 2xx request without the key, and with a made-up one: both are 401.
    # (Not in the session run: it cannot take away a session it does not know it sent.)
    fuzz_call(case, server_errors, **key_auth, extra_checks=[checks.ignored_auth])


@schema.parametrize()
@FUZZ_SETTINGS
def test_no_5xx_and_schema_conformance_as_a_signed_in_manager(case, session_auth, server_errors):
    # Schemathesis fills the bearer scheme with a made-up value; the session is the credential.
    case.headers.pop("Authorization", None)
    fuzz_call(case, server_errors, **session_auth)


@pytest.mark.parametrize("auth", ["key_auth", "session_auth"])
def test_the_fuzzers_credentials_are_accepted(request, auth, org):
    """Guards the fuzz tests against fuzzing nothing but 401s."""
    kwargs = request.getfixturevalue(auth)
    client = wsgi.get_client(application)
    for name, value in kwargs.get("cookies", {}).items():
        client.set_cookie(name, value, domain="localhost")
    response = client.get("/api/me/", headers=kwargs["headers"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["organization"]["id"] == org.pk
    patched = client.patch(
        f"/api/memberships/{REAL_IDS['/api/memberships/{id}/'][0]}/", json={"capacity": 7},
        headers=kwargs["headers"],
    )
    assert patched.status_code == 200, patched.get_data(as_text=True)


@pytest.mark.parametrize(("method", "path"), [
    ("delete", "/api/api-keys/-7.907620278050193e-50/"),  # the fuzzer's input
    ("post", "/api/nothing/here/"),
])
def test_an_unsafe_request_to_an_unknown_api_route_is_a_json_404(method, path, key_auth):
    # Found by the fuzzer: the CSRF check used to answer first with Django's HTML 403 page.
    # django.test.Client skips CSRF checks, so tests/flexoraa/test_error_shape.py cannot see it.
    client = wsgi.get_client(application)
    response = getattr(client, method)(path, headers=key_auth["headers"])
    assert response.status_code == 404, (response.status_code, response.mimetype)
    assert response.json["error"]["code"] == "not_found"
