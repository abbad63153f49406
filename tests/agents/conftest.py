import pytest
from django.core.management import call_command


@pytest.fixture(scope="session")
def nlu_model(django_db_blocker):
    """The corpus's model, trained once if this checkout has not built it yet."""
    from agents import nlu

    with django_db_blocker.unblock():
        call_command("train_nlu", if_missing=True, no_register=True, verbosity=0)
    nlu.forget_loaded_model()
    return nlu


@pytest.fixture(scope="session")
def _provider_sandbox_running():
    from sandbox.providers import sandbox_server_build

    with sandbox_server_build() as server:
        yield server


@pytest.fixture
def provider_sandbox_server(_provider_sandbox_running, settings):
    """One provider sandbox (Razorpay, Meta's Graph API, Gmail + Google OAuth when present)
    on a free port for the whole run, emptied for each test, with every provider URL of the
    settings pointing at it. Webhooks are not posted anywhere unless a test says so."""
    from sandbox.providers import point_settings_at

    server = _provider_sandbox_running
    point_settings_at(settings, server)
    for sandbox in (server.razorpay, server.meta, server.google):
        if sandbox is not None and hasattr(sandbox, "reset"):
            sandbox.reset()
    server.meta.webhook_urls = {}
    server.meta.strict_windows = False
    server.razorpay.webhook_url = None
    yield server
    server.meta.webhooks_wait(timeout=5)


@pytest.fixture
def meta_sandbox(provider_sandbox_server):
    return provider_sandbox_server.meta
