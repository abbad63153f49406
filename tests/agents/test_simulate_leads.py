"""`manage.py simulate_leads` against a running app: signed Meta deliveries posted over HTTP
to the live server, stored once each and processed (Celery eager), as a newcomer would see
the inbox fill after `make run`."""

import re
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from agents.management.commands import simulate_leads
from agents.models import ChannelKind, Direction, Message
from flexoraa.models import Organization, WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)  # the live server's thread sees the rows


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo_channels", stdout=StringIO())
    return Organization.objects.get(slug="demo")


def simulate(url: str, out: StringIO, err: StringIO) -> None:
    call_command("simulate_leads", "--count", "12", "--duplicates", "0.5", "--seed", "3",
                 "--url", url, stdout=out, stderr=err)


class SimulatorSettings:
    """The simulator's view of the settings, with its own app secret; the app keeps the
    real one."""

    def __init__(self, app_secret: str):
        self.META_APP_SECRET = app_secret

    def __getattr__(self, name):
        return getattr(settings, name)


def test_twelve_simulated_leads_become_twelve_inbound_messages_across_the_three_channels(
        live_server, celery_eager, demo):
    out, err = StringIO(), StringIO()
    simulate(live_server.url, out, err)
    summary = out.getvalue()

    inbound = Message.objects.for_org(demo).filter(direction=Direction.INBOUND)
    assert inbound.count() == 12
    by_channel = {kind: inbound.filter(conversation__channel__kind=kind).count()
                  for kind in (ChannelKind.WHATSAPP, ChannelKind.INSTAGRAM,
                               ChannelKind.MESSENGER)}
    assert by_channel == {ChannelKind.WHATSAPP: 4, ChannelKind.INSTAGRAM: 4,
                          ChannelKind.MESSENGER: 4}
    assert not inbound.filter(body="").exists()
    # Every event stored once and processed, the duplicate deliveries included.
    deliveries = WebhookDelivery.objects.filter(organization=demo)
    assert deliveries.count() == 12
    assert not deliveries.filter(processed_at__isnull=True).exists()

    posted = re.search(r"Posted (\d+) messages and (\d+) duplicate deliveries to (\S+); "
                       r"(\d+) failed\.", summary)
    assert posted, summary
    sent, duplicates, url, failed = posted.groups()
    assert (int(sent), url, int(failed)) == (12, live_server.url, 0)
    assert int(duplicates) >= 1  # about half of 12 at --duplicates 0.5, with this seed
    assert f"{live_server.url}/inbox/" in summary
    progress = err.getvalue()
    assert "Posting inbound messages" in progress
    assert "12/12" in progress and "100%" in progress


def test_a_simulator_with_another_app_secret_fails_with_a_clear_error_and_stores_nothing(
        live_server, celery_eager, demo, monkeypatch):
    monkeypatch.setattr(simulate_leads, "settings", SimulatorSettings("not-the-app-secret"))

    err = StringIO()
    with pytest.raises(CommandError, match="META_APP_SECRET") as refused:
        simulate(live_server.url, StringIO(), err)

    # The first refusal stops it, saying why.
    assert "answered 401" in str(refused.value)
    assert not Message.objects.for_org(demo).exists()
    assert not WebhookDelivery.objects.exists()


def test_without_a_url_the_simulator_posts_to_the_stack_running_on_this_machine(
        live_server, celery_eager, demo, settings, tmp_path):
    from flexoraa import stack

    settings.VAR_DIR = tmp_path
    settings.SITE_URL = "http://127.0.0.1:9"  # nothing answers there
    stack.record_address(live_server.url)  # as run_stack --port records it; this process lives
    out = StringIO()
    call_command("simulate_leads", "--count", "3", "--duplicates", "0", "--seed", "1",
                 stdout=out, stderr=StringIO())
    assert f"to {live_server.url}; 0 failed." in out.getvalue()
    assert Message.objects.for_org(demo).filter(direction=Direction.INBOUND).count() == 3


def test_a_stack_that_is_gone_leaves_the_simulator_on_site_url(settings, tmp_path):
    import subprocess
    import sys

    from flexoraa import stack

    settings.VAR_DIR = tmp_path
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    stack.record_address("http://127.0.0.1:8123", pid=int(finished.stdout))
    assert stack.running_stack_url() is None
    stack.record_address("http://127.0.0.1:8123")
    assert stack.running_stack_url() == "http://127.0.0.1:8123"
    stack.forget_address()
    assert stack.running_stack_url() is None and not (tmp_path / "stack.json").exists()
