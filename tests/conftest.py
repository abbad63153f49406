import os

import pytest
from rest_framework.test import APIClient

from flexoraa.models import Role
from tests.factories import OrganizationFactory, make_api_key, make_membership


def pytest_configure(config):
    # Without a real broker configured, tests publish to kombu's in-memory transport so
    # they never leave messages in var/broker for the next `make run` to pick up.
    if not os.environ.get("CELERY_BROKER_URL"):
        from flexoraa.celery import app

        app.conf.broker_url = "memory://"
        app.conf.broker_transport_options = {}


@pytest.fixture(autouse=True)
def _fresh_channel_memory():
    # The webhook endpoints remember channel ids per process; ids are reused across
    # rolled-back tests, so no test may see another's.
    from agents import webhooks

    webhooks.channel_cache_clear()
    yield
    webhooks.channel_cache_clear()


@pytest.fixture(autouse=True)
def _webhook_tasks_queued_at_once(settings):
    # In production the endpoints queue in batches from a background thread; tests assert on
    # what was queued right after the request (tests/flexoraa/test_batching.py covers batches).
    settings.WEBHOOK_ENQUEUE_INTERVAL_SECONDS = 0


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Real hashers cost ~100 ms a user by design; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def org(db):
    return OrganizationFactory(name="Acme Leads", slug="acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(name="Other Co", slug="other")


@pytest.fixture
def manager(org):
    return make_membership(org, role=Role.MANAGER, capacity=50)


@pytest.fixture
def sdr(org):
    return make_membership(org, role=Role.SDR, capacity=5)


@pytest.fixture
def api_key(org):
    """``(api_key, raw_key)`` for ``org``."""
    return make_api_key(org)


@pytest.fixture
def other_api_key(other_org):
    return make_api_key(other_org)


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def key_client(api_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")
    return client


@pytest.fixture
def other_key_client(other_api_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {other_api_key[1]}")
    return client


@pytest.fixture
def manager_client(manager):
    """The API as the signed-in manager of ``org``."""
    client = APIClient()
    client.force_login(manager.user)
    return client


@pytest.fixture
def login_client():
    """A function giving a Django test client signed in as a membership's user."""
    from django.test import Client

    def signed_in(membership):
        client = Client()
        client.force_login(membership.user)
        return client

    return signed_in


@pytest.fixture
def celery_eager():
    """Tasks run in the calling thread, as on a worker, when they are queued."""
    from flexoraa.celery import app

    before = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before
