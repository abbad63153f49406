import pytest

from flexoraa.models import Role
from tests.factories import UserFactory, make_membership
from tests.leads.factories import make_lead
from tests.leads.pages_support import HOT


@pytest.fixture
def other_sdr(org):
    return make_membership(org, role=Role.SDR, capacity=5,
                           user=UserFactory(username="ravi-other-sdr"))


@pytest.fixture
def outsider_lead(other_org):
    make_membership(other_org, role=Role.SDR)
    return make_lead(other_org, name="Outside Olga", **HOT)
