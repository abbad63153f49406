import pytest
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from flexoraa.api import TenantScopedPrimaryKeyField
from flexoraa.models import Membership, Role
from tests.factories import make_membership

pytestmark = pytest.mark.django_db


class AssignmentSerializer(serializers.Serializer):
    owner = TenantScopedPrimaryKeyField(queryset=Membership.objects.all())


def validate_for(org, owner_id):
    request = APIRequestFactory().post("/api/anything/")
    request.organization = org
    serializer = AssignmentSerializer(data={"owner": owner_id}, context={"request": request})
    return serializer.is_valid(), serializer


def test_a_foreign_key_into_the_callers_organization_resolves(org, sdr):
    valid, serializer = validate_for(org, sdr.pk)
    assert valid and serializer.validated_data["owner"] == sdr


def test_a_foreign_key_into_another_organization_reads_as_not_existing(org, other_org):
    outsider = make_membership(other_org, role=Role.SDR)
    valid, serializer = validate_for(org, outsider.pk)
    assert not valid
    assert "does not exist" in str(serializer.errors["owner"][0])


def test_without_an_organization_no_foreign_key_resolves(sdr):
    valid, _ = validate_for(None, sdr.pk)
    assert not valid
