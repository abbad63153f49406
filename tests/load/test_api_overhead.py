"""What API key authentication and tenancy scoping cost per request, as ratios of a bare
Django view measured in the same run, in-process (no network), on the configured database.

Run by `make bench`; prints a table. Not part of `make test`.
"""

import time

import pytest
from django.test import Client, override_settings

from flexoraa.models import Role
from tests.factories import OrganizationFactory, make_api_key, make_membership

REQUESTS = 1500
# The API path stays within this factor of a bare view's throughput (in-process, so it is
# Django's own work only: middleware, auth lookup, one scoped query, JSON rendering).
MIN_RATIO_ME = 0.25


def requests_per_second(client: Client, path: str, **headers) -> float:
    for _ in range(50):  # warm caches and connections
        client.get(path, **headers)
    started = time.perf_counter()
    for _ in range(REQUESTS):
        response = client.get(path, **headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.content[:300]
    return REQUESTS / elapsed


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.load.bench_urls")
def test_api_request_overhead_against_a_bare_view(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    org = OrganizationFactory()
    for _ in range(3):
        OrganizationFactory()
    for _ in range(40):
        make_membership(org, role=Role.SDR)
    _key, raw = make_api_key(org)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    client = Client()

    rows = [("bare Django view (baseline)", requests_per_second(client, "/bench/noop/"))]
    rows.append(("GET /api/me/ with an API key", requests_per_second(client, "/api/me/", **auth)))
    rows.append(("GET /api/memberships/?limit=20 with an API key",
                 requests_per_second(client, "/api/memberships/?limit=20", **auth)))
    baseline = rows[0][1]

    print("\n\nAPI overhead, in-process, same run\n")
    print(f"| {'request':<48} | {'req/s':>8} | {'x baseline':>10} |")
    print(f"|{'-' * 50}|{'-' * 10}|{'-' * 12}|")
    for name, rate in rows:
        print(f"| {name:<48} | {rate:>8.0f} | {rate / baseline:>10.2f} |")
    assert rows[1][1] / baseline >= MIN_RATIO_ME
