"""Query-parameter filters of the API, scoped to the caller's organization in one place.

A foreign-key filter (``?lead=``, ``?channel=``, ``?membership=`` …) accepts only ids of
the caller's own tenant. Another tenant's id is then refused exactly like an id that does
not exist (the same 400 and message), so a filter cannot tell anyone which ids other tenants
hold. Every viewset filters through ``TenantFilterBackend`` (``TenantViewSet`` sets it), and
the backend refuses a FilterSet that is not a ``TenantFilterSet``.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django_filters import ModelChoiceFilter, ModelMultipleChoiceFilter
from django_filters.rest_framework import DjangoFilterBackend, FilterSet

from flexoraa.models import Organization, TenantOwned


def tenant_choices(queryset, organization):
    """The rows of ``queryset`` that a caller of ``organization`` may name: a tenant-owned
    table's own rows, the tenant itself, the people who are its members. Tables shared by
    every tenant (token packages) are the same for all."""
    model = queryset.model
    if organization is None:
        return queryset.none()
    if issubclass(model, TenantOwned):
        return queryset.filter(organization=organization)
    if issubclass(model, Organization):
        return queryset.filter(pk=organization.pk)
    if issubclass(model, get_user_model()):
        return queryset.filter(memberships__organization=organization)
    return queryset


class TenantFilterSet(FilterSet):
    """The base of every API FilterSet: model-choice filters choose only among the rows of
    the request's organization."""

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        super().__init__(data=data, queryset=queryset, request=request, prefix=prefix)
        organization = getattr(request, "organization", None)
        # ``self.filters`` is this instance's deep copy, and a filter builds its form field
        # on first use, so the scoped queryset is the one the field validates against.
        for model_filter in self.filters.values():
            if isinstance(model_filter, (ModelChoiceFilter, ModelMultipleChoiceFilter)):
                choices = model_filter.get_queryset(request)
                model_filter.queryset = tenant_choices(choices, organization)


class TenantFilterBackend(DjangoFilterBackend):
    """``DjangoFilterBackend`` whose automatic FilterSets are ``TenantFilterSet``s."""

    filterset_base = TenantFilterSet

    def get_filterset_class(self, view, queryset=None):
        filterset_class = super().get_filterset_class(view, queryset)
        if filterset_class is not None and not issubclass(filterset_class, TenantFilterSet):
            raise ImproperlyConfigured(
                f"{type(view).__name__}.filterset_class must derive from "
                f"flexoraa.filters.TenantFilterSet, so its foreign-key filters stay inside "
                f"the caller's organization."
            )
        return filterset_class
