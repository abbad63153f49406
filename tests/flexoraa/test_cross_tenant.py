"""Walks every API route on the router: objects of tenant A, called with tenant B's key,
are all 404. Each app's issue registers its models' makers in tests/factories.py."""

import re
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.urls import get_resolver
from rest_framework.test import APIClient

from flexoraa.api import TenantViewSet, router
from flexoraa.filters import TenantFilterBackend
from tests.factories import (
    TENANT_OBJECT_MAKERS,
    OrganizationFactory,
    make_api_key,
    make_membership,
)
from tests.support import assert_error_shape

# Routes under /api/ that are not object routes of the router: what each one is.
NON_ROUTER_API_ROUTES = {"api/me/", "api/schema/", "api/docs/", "api/^.*$"}

DETAIL_METHODS = ("get", "put", "patch", "delete")
PATH_PARAMETER = re.compile(r"\(\?P<\w+>[^)]*\)")


def registered_viewsets():
    import_module(settings.ROOT_URLCONF)  # every app's API module registers on the router
    return [(prefix, viewset) for prefix, viewset, _basename in router.registry]


def test_every_registered_viewset_uses_the_tenant_base_class():
    offenders = [prefix for prefix, viewset in registered_viewsets()
                 if not issubclass(viewset, TenantViewSet)]
    assert offenders == [], f"viewsets not built on TenantViewSet: {offenders}"


def test_every_api_route_is_a_router_route_or_a_known_one():
    router_prefixes = {f"api/{prefix}" for prefix, _ in registered_viewsets()}
    unknown = []
    for pattern in get_resolver().url_patterns:
        if str(pattern.pattern) != "api/":
            continue
        for inner in pattern.url_patterns:
            route = f"api/{inner.pattern}"
            if route in NON_ROUTER_API_ROUTES:
                continue
            if hasattr(inner, "url_patterns"):  # the router's include
                continue
            unknown.append(route)
    assert unknown == [], f"API routes outside the router and not listed here: {unknown}"
    assert router_prefixes, "the router has no routes"


def allowed_detail_methods(viewset):
    methods = []
    for method in DETAIL_METHODS:
        if method not in viewset.http_method_names:
            continue
        action = {"get": "retrieve", "put": "update", "patch": "partial_update",
                  "delete": "destroy"}[method]
        if hasattr(viewset, action):
            methods.append(method)
    return methods


@pytest.mark.django_db
@pytest.mark.parametrize(("prefix", "viewset"), registered_viewsets(),
                         ids=[p for p, _ in registered_viewsets()])
def test_another_tenants_objects_are_not_found_through_any_route(prefix, viewset):
    model = viewset.queryset.model
    assert model in TENANT_OBJECT_MAKERS, (
        f"register a maker for {model.__name__} in tests/factories.py TENANT_OBJECT_MAKERS"
    )
    tenant_a = OrganizationFactory()
    tenant_b = OrganizationFactory()
    target = TENANT_OBJECT_MAKERS[model](tenant_a)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant_b)[1]}")

    url = f"/api/{prefix}/{target.pk}/"
    methods = allowed_detail_methods(viewset)
    assert methods, f"{prefix} has no detail route to check"
    for method in methods:
        response = getattr(client, method)(url, {}, format="json")
        assert_error_shape(response, 404, "not_found")
    for action in viewset.get_extra_actions():
        if not action.detail:
            continue
        # A further path parameter (experiments' variant/{leadId}) gets a value, so the URL
        # reaches the action and the object lookup is what answers.
        action_url = f"{url}{PATH_PARAMETER.sub('1', action.url_path)}/"
        for method in action.mapping:
            response = getattr(client, method)(action_url, {}, format="json")
            assert_error_shape(response, 404, "not_found")

    listing = client.get(f"/api/{prefix}/")
    if listing.status_code == 200:
        ids = [row["id"] for row in listing.json()["results"]]
        assert target.pk not in ids
    model.objects.get(pk=target.pk)  # still there, untouched


def foreign_key_filters(viewset):
    """``(parameter, related model)`` of every filter of the viewset's list route that names
    a row of another table by id (a model-choice filter, or a number filter on ``<fk>_id``)."""
    filterset_class = TenantFilterBackend().get_filterset_class(
        viewset(), viewset.queryset.all())
    if filterset_class is None:
        return []
    model = viewset.queryset.model
    found = []
    for name, query_filter in filterset_class.base_filters.items():
        field_name = query_filter.field_name.removesuffix("_id")
        try:
            field = model._meta.get_field(field_name)
        except FieldDoesNotExist:
            continue
        if field.many_to_one or field.one_to_one:
            found.append((name, field.related_model))
    return found


def another_tenants_row(model, tenant):
    if model is get_user_model():
        return make_membership(tenant).user
    assert model in TENANT_OBJECT_MAKERS, (
        f"register a maker for {model.__name__} in tests/factories.py TENANT_OBJECT_MAKERS"
    )
    return TENANT_OBJECT_MAKERS[model](tenant)


LIST_ROUTES_WITH_FOREIGN_KEY_FILTERS = [
    (prefix, viewset) for prefix, viewset in registered_viewsets()
    if hasattr(viewset, "list") and foreign_key_filters(viewset)
]


def test_the_walker_finds_the_foreign_key_filters_it_must_try():
    checked = {(prefix, name) for prefix, viewset in LIST_ROUTES_WITH_FOREIGN_KEY_FILTERS
               for name, _model in foreign_key_filters(viewset)}
    # A sample that must be among them, so a walker that finds nothing cannot pass.
    assert {("conversations", "lead"), ("conversations", "channel"), ("messages", "conversation"),
            ("token-ledger", "membership"), ("routing-pool-members", "membership"),
            ("leads", "owner")} <= checked


@pytest.mark.django_db
@pytest.mark.parametrize(("prefix", "viewset"), LIST_ROUTES_WITH_FOREIGN_KEY_FILTERS,
                         ids=[p for p, _ in LIST_ROUTES_WITH_FOREIGN_KEY_FILTERS])
def test_another_tenants_id_in_a_filter_answers_like_an_id_that_does_not_exist(prefix, viewset):
    tenant_a = OrganizationFactory()
    tenant_b = OrganizationFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_api_key(tenant_b)[1]}")
    for parameter, related_model in foreign_key_filters(viewset):
        theirs = another_tenants_row(related_model, tenant_a)
        # The caller's own tenant has rows of that table too, so its list is not empty.
        another_tenants_row(related_model, tenant_b)
        missing_id = related_model.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000

        foreign = client.get(f"/api/{prefix}/", {parameter: theirs.pk})
        missing = client.get(f"/api/{prefix}/", {parameter: missing_id})

        where = f"/api/{prefix}/?{parameter}="
        assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json()), (
            f"{where}<another tenant's id> answers unlike {where}<an id that does not exist>"
        )
        if foreign.status_code == 200:
            assert foreign.json()["results"] == [], where
        else:
            assert_error_shape(foreign, 400, "validation_failed")
