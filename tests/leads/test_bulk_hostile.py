"""Hostile bodies at the team queue's bulk actions and the queue's claim: odd characters, ids
too big for the database, huge selections. Each is a clear refusal or a count of what was not
found, never a server error, and nothing changes."""

import pytest

from leads.models import Lead, Status
from tests.leads.pages_support import lead_of

pytestmark = pytest.mark.django_db

HOSTILE_IDS = ["", "abc", "-1", "1.5", "9" * 40, "١٢", "1\x00", "<script>", "0x10",
               " 7 ", "1e3"]
HOSTILE_OWNERS = ["", "abc", "9" * 40, "١٢", "-5", "1\x00", "NaN"]


@pytest.mark.parametrize("value", HOSTILE_IDS)
def test_a_hostile_lead_id_in_a_bulk_action_counts_as_not_found(
    value, manager, sdr, login_client
):
    lead = lead_of(sdr)
    response = login_client(manager).post(
        "/leads/team/", {"action": "status", "status": Status.LOST, "lead": [value]},
        follow=True)
    assert response.status_code == 200
    assert Lead.objects.get(pk=lead.pk).status == Status.NEW
    assert "not found" in response.content.decode() or "Select" in response.content.decode()


@pytest.mark.parametrize("value", HOSTILE_OWNERS)
def test_a_hostile_owner_in_a_bulk_reassign_is_refused_and_nothing_moves(
    value, manager, sdr, login_client
):
    lead = lead_of(sdr)
    response = login_client(manager).post(
        "/leads/team/", {"action": "reassign", "owner": value, "lead": [str(lead.pk)]},
        follow=True)
    assert response.status_code == 200
    assert "Choose who in your team takes the selected leads." in response.content.decode()
    assert Lead.objects.get(pk=lead.pk).owner_id == sdr.pk


@pytest.mark.parametrize("status", ["", "won\x00", "LOST", "anonymized", "x" * 10_000])
def test_a_hostile_status_in_a_bulk_change_is_refused_and_nothing_moves(
    status, manager, sdr, login_client
):
    lead = lead_of(sdr)
    response = login_client(manager).post(
        "/leads/team/", {"action": "status", "status": status, "lead": [str(lead.pk)]},
        follow=True)
    assert response.status_code == 200
    assert Lead.objects.get(pk=lead.pk).status == Status.NEW


def test_a_selection_past_the_limit_is_refused_in_words(manager, sdr, login_client):
    response = login_client(manager).post(
        "/leads/team/", {"action": "status", "status": Status.LOST,
                         "lead": [str(n) for n in range(1, 602)]}, follow=True)
    assert response.status_code == 200
    assert "Select at most 500 leads at a time." in response.content.decode()
    # More fields than any form of ours sends is refused before the view: a 400, not a 500.
    flood = login_client(manager).post(
        "/leads/team/", {"action": "status", "lead": [str(n) for n in range(5_000)]})
    assert flood.status_code == 400


@pytest.mark.parametrize("value", ["abc", "9" * 40, "-1", "١٢"])
def test_a_hostile_id_in_the_claim_api_is_not_found(value, manager_client):
    response = manager_client.post(f"/api/leads/{value}/claim/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
