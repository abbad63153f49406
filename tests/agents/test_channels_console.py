"""Channels, templates and inbox settings: the services, the console, and tokens at rest."""

import json

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from agents.models import Channel, ChannelKind, Template
from agents.services import channels as services
from flexoraa.errors import Conflict, ValidationFailed
from flexoraa.models import AuditEvent
from tests.agents.factories import make_channel, make_template
from tests.factories import SETUP_ACTOR

pytestmark = pytest.mark.django_db


@pytest.fixture
def console(client, manager):
    client.force_login(manager.user)
    return client


def _stored_token(channel_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM agents_channel WHERE id = %s", [channel_id])
        return cursor.fetchone()[0]


def test_a_channel_token_is_encrypted_in_the_database_and_plain_in_python(org):
    channel = make_channel(org, access_token="EAAG-secret-page-token")
    raw = _stored_token(channel.pk)
    assert "EAAG-secret-page-token" not in raw
    assert raw.startswith("fernet:")
    assert Channel.objects.get(pk=channel.pk).access_token == "EAAG-secret-page-token"


def test_a_rotated_key_still_opens_tokens_written_with_the_old_one(org, settings):
    old = settings.CHANNEL_TOKEN_KEY
    channel = make_channel(org, access_token="written-under-old-key")
    settings.CHANNEL_TOKEN_KEY = f"{Fernet.generate_key().decode()},{old}"
    assert Channel.objects.get(pk=channel.pk).access_token == "written-under-old-key"


def test_a_token_under_an_unknown_key_fails_loudly_instead_of_reading_garbage(org, settings):
    channel = make_channel(org, access_token="secret")
    settings.CHANNEL_TOKEN_KEY = Fernet.generate_key().decode()
    with pytest.raises(ImproperlyConfigured, match="CHANNEL_TOKEN_KEY"):
        Channel.objects.get(pk=channel.pk)


def test_one_provider_id_belongs_to_one_tenant_only(org, other_org):
    make_channel(org, external_id="106540352242922")
    with pytest.raises(Conflict, match="already connected"):
        make_channel(other_org, external_id="106540352242922")


def test_a_channel_needs_a_known_kind_and_an_id(org):
    with pytest.raises(ValidationFailed, match="kind"):
        services.channel_create(org=org, kind="telegram", external_id="1", actor=SETUP_ACTOR)
    with pytest.raises(ValidationFailed, match="external_id"):
        services.channel_create(org=org, kind=ChannelKind.WHATSAPP, external_id="  ",
                                actor=SETUP_ACTOR)


def test_a_template_counts_its_placeholders_and_refuses_a_second_of_the_same_name(org):
    channel = make_channel(org)
    template = make_template(org, channel, body="Hi {{1}}, your slot is {{2}}.")
    assert template.param_count == 2
    with pytest.raises(Conflict):
        make_template(org, channel, body="Other text {{1}}")


def test_a_manager_connects_a_whatsapp_number_in_the_console_and_never_sees_its_token_again(
    console, org,
):
    response = console.post("/admin/agents/channel/add/", {
        "kind": "whatsapp", "external_id": "106540352242922", "name": "Sales line",
        "access_token": "EAAG-console-token",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    channel = Channel.objects.for_org(org).get()
    assert channel.access_token == "EAAG-console-token"
    page = console.get(f"/admin/agents/channel/{channel.pk}/change/").content.decode()
    assert "EAAG-console-token" not in page
    # Saving with the token left blank keeps it.
    response = console.post(f"/admin/agents/channel/{channel.pk}/change/",
                            {"name": "Sales line (IN)", "access_token": ""})
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.access_token) == ("Sales line (IN)", "EAAG-console-token")
    logged = AuditEvent.objects.filter(action__startswith="channel.").values_list("data",
                                                                                  flat=True)
    assert all("EAAG" not in str(data) for data in logged)


def test_gmail_is_not_typed_into_the_console(console, org):
    response = console.post("/admin/agents/channel/add/", {
        "kind": "gmail", "external_id": "sales@example.test", "access_token": "x",
    })
    assert response.status_code == 200
    assert "Connect a Gmail mailbox" in response.content.decode()
    assert not Channel.objects.exists()


def test_a_manager_adds_a_template_and_edits_the_recovery_settings(console, org):
    channel = make_channel(org)
    response = console.post("/admin/agents/template/add/", {
        "channel": channel.pk, "name": "recovery_check_in", "language": "en_US",
        "body": "Hi {{1}}, still interested?", "approved": "on", "for_recovery": "on",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Template.objects.for_org(org).get().param_count == 1
    row = services.inbox_settings_for(org)
    response = console.post(f"/admin/agents/inboxsettings/{row.pk}/change/", {
        "recovery_enabled": "on", "recovery_after_hours": 48, "recovery_max_attempts": 3,
        "recovery_text": "Still there?",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    row.refresh_from_db()
    assert (row.recovery_after_hours, row.recovery_max_attempts) == (48, 3)


def test_inbox_settings_refuse_values_out_of_range_naming_the_field(org):
    with pytest.raises(ValidationFailed, match="recovery_max_attempts"):
        services.inbox_settings_update(org=org, recovery_max_attempts=50, actor=SETUP_ACTOR)
    assert services.inbox_settings_for(org).recovery_max_attempts == 2


def test_another_tenants_channel_cannot_be_opened_in_the_console(console, other_org):
    foreign = make_channel(other_org)
    assert console.get(f"/admin/agents/channel/{foreign.pk}/change/").status_code == 302
    assert foreign.external_id not in console.get("/admin/agents/channel/").content.decode()


def test_the_demo_channels_are_seeded_once_with_the_ids_seed_demo_reports(capsys):
    call_command("seed_demo", "--json")
    report = capsys.readouterr().out
    call_command("seed_demo_channels")
    call_command("seed_demo_channels")
    ids = json.loads(report)["channels"]
    assert Channel.objects.get(kind="whatsapp").external_id == ids["whatsapp"]["phone_number_id"]
    assert Channel.objects.get(kind="instagram").external_id == ids["instagram"]["account_id"]
    assert Channel.objects.get(kind="messenger").external_id == ids["messenger"]["page_id"]
    assert Channel.objects.count() == 3
    assert Template.objects.filter(for_recovery=True).count() == 1
