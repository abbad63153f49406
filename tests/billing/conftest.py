import pytest

from tests.billing.razorpay_support import make_package, point_settings_at, running_sandbox


@pytest.fixture(scope="session")
def razorpay_sandbox_server():
    """One Razorpay sandbox on a free port for the whole run; each test resets it."""
    with running_sandbox() as server:
        yield server


@pytest.fixture
def razorpay_sandbox(razorpay_sandbox_server, settings):
    """The sandbox, empty, with the app's settings pointing at it (webhooks are kept in
    ``events`` for the test to deliver, not posted anywhere)."""
    point_settings_at(settings, razorpay_sandbox_server)
    sandbox = razorpay_sandbox_server.razorpay
    sandbox.reset()
    sandbox.webhook_url = None
    yield sandbox
    sandbox.reset()


@pytest.fixture
def token_package(db):
    return make_package()
