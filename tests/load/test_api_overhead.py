"""What API key authentication, tenancy scoping and a list page cost per request, in-process
(no network), on the configured database; figures are ratios of a bare Django view measured
in the same run. Run by `make bench`; prints a table. Not part of `make test`.

Target: a list page costs the same whether the tenant has 40 members or 4,000 (the page is
bounded by ?limit, and every query goes through an index), within 0.8 x.
"""

import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client, override_settings

from flexoraa.models import Membership, Role
from tests.factories import OrganizationFactory, make_api_key

REQUESTS = 1000
MIN_LARGE_TENANT_RATIO = 0.8


def requests_per_second(client: Client, path: str, **headers) -> float:
    for _ in range(50):  # warm caches and connections
        client.get(path, **headers)
    started = time.perf_counter()
    for _ in range(REQUESTS):
        response = client.get(path, **headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.content[:300]
    return REQUESTS / elapsed


def add_members(org, count: int, start: int) -> None:
    """Benchmark data in bulk (the services' audit trail is not what is measured here)."""
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"bench-{org.slug}-{start + i}") for i in range(count)
    )
    Membership.objects.bulk_create(
        Membership(organization=org, user=user, role=Role.SDR) for user in users
    )


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="tests.load.bench_urls")
def test_api_request_costs_against_a_bare_view():
    small, large = OrganizationFactory(), OrganizationFactory()
    add_members(small, 40, 0)
    add_members(large, 4000, 0)
    for _ in range(3):
        add_members(OrganizationFactory(), 500, 0)
    with connection.cursor() as cursor:
        # Fresh rows have no planner statistics yet; production tables do (autovacuum).
        cursor.execute("ANALYZE")
    client = Client()
    small_auth = {"HTTP_AUTHORIZATION": f"Bearer {make_api_key(small)[1]}"}
    large_auth = {"HTTP_AUTHORIZATION": f"Bearer {make_api_key(large)[1]}"}
    page = "/api/memberships/?limit=20&offset=10"

    rows = [
        ("bare Django view (baseline)", requests_per_second(client, "/bench/noop/")),
        ("GET /api/me/ with an API key", requests_per_second(client, "/api/me/", **small_auth)),
        ("list page, tenant of 40 members", requests_per_second(client, page, **small_auth)),
        ("list page, tenant of 4,000 members", requests_per_second(client, page, **large_auth)),
    ]
    baseline = rows[0][1]
    print("\n\nAPI request cost, in-process, same run\n")
    print(f"| {'request':<40} | {'req/s':>8} | {'x baseline':>10} |")
    print(f"|{'-' * 42}|{'-' * 10}|{'-' * 12}|")
    for name, rate in rows:
        print(f"| {name:<40} | {rate:>8.0f} | {rate / baseline:>10.2f} |")
    large_over_small = rows[3][1] / rows[2][1]
    print(f"\nlist page at 4,000 members / at 40 members: {large_over_small:.2f} "
          f"(target >= {MIN_LARGE_TENANT_RATIO})")
    assert large_over_small >= MIN_LARGE_TENANT_RATIO
