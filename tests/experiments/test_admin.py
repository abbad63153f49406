"""Experiments in the manager console: the list and the read-only detail, creating through
the service with its refusals on the form, and Start, Stop and Roll back, each through a page
that says what will happen, refusals as messages, never a 500, and never on another tenant's
experiment."""

import re
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from experiments import services
from experiments.models import Assignment, Experiment, ExperimentStatus, Variant
from flexoraa.models import AuditEvent
from tests.experiments.factories import make_experiment
from tests.experiments.test_results_over_time import assign
from tests.factories import SETUP_ACTOR

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/experiments/experiment/"
ADD = "/admin/experiments/experiment/add/"


def change_url(experiment):
    return f"{CHANGELIST}{experiment.pk}/change/"


def action_url(experiment, action, variant=None):
    tail = f"rollback/{variant.pk}/" if variant is not None else f"{action}/"
    return f"{CHANGELIST}{experiment.pk}/{tail}"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_text(response) -> str:
    words = unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))
    return re.sub(r"\s+", " ", words)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def variant(experiment, key) -> Variant:
    return Variant.objects.get(experiment=experiment, key=key)


def add_form(**overrides):
    """The add form's POST: the experiment's fields and five variant rows."""
    data = {"name": "Reply tone", "key": "", "target_metric": "conversion",
            "min_sample_per_variant": "500", "duration_days": "14",
            "variants-TOTAL_FORMS": "5", "variants-INITIAL_FORMS": "0",
            "variants-MIN_NUM_FORMS": "0", "variants-MAX_NUM_FORMS": "20"}
    rows = overrides.pop("rows", [
        {"key": "control", "name": "Control", "is_control": "on", "weight": "60"},
        {"key": "warm", "name": "Warm tone", "weight": "40", "config": '{"tone": "warm"}'},
    ])
    for index, row in enumerate(rows):
        for field, value in row.items():
            data[f"variants-{index}-{field}"] = value
    data.update(overrides)
    return data


@pytest.fixture
def console(manager):
    return signed_in(manager.user)


@pytest.fixture
def root(db):
    return signed_in(get_user_model().objects.create_superuser(
        "root", "root@example.test", "pw-unused"))


# --- the list and the detail -----------------------------------------------------------------

def test_the_list_shows_the_tenants_experiments_with_weights_and_roll_backs_only(
    org, other_org, console
):
    running = make_experiment(org, name="Psychology tactics")
    services.variant_rollback(org=org, experiment=running,
                              variant=variant(running, "scarcity"), actor=SETUP_ACTOR)
    make_experiment(org, name="Later", start=False)
    make_experiment(other_org, name="Their experiment")

    page = page_text(console.get(CHANGELIST))

    assert "Psychology tactics" in page and "Later" in page
    assert "Their experiment" not in page
    assert ("Control 50 % (control) · Scarcity-heavy 25 % (rolled back) · "
            "Social-proof-heavy 25 %") in page
    assert f'href="/experiments/{running.pk}/"' in console.get(CHANGELIST).content.decode()


def test_the_list_filters_by_status_and_searches_names_and_keys(org, console):
    make_experiment(org, name="Running one")
    make_experiment(org, name="Draft one", start=False, key="tone-test")

    drafts = page_text(console.get(CHANGELIST, {"status__exact": "draft"}))
    assert "Draft one" in drafts and "Running one" not in drafts
    found = page_text(console.get(CHANGELIST, {"q": "tone-test"}))
    assert "Draft one" in found and "Running one" not in found


def test_the_detail_shows_variants_read_only_thresholds_and_the_results_link(org, console):
    experiment = make_experiment(org, start=False)

    response = console.get(change_url(experiment))
    page = response.content.decode()

    assert response.status_code == 200
    assert 'name="variants-0-weight"' not in page and 'name="name"' not in page
    assert "Scarcity-heavy" in page and "fixed once created" in page
    assert "+50 %" in page and "+30 %" in page and "+100 %" in page and "+80 %" in page
    assert f'href="/experiments/{experiment.pk}/"' in page
    assert f'href="{action_url(experiment, "start")}"' in page
    assert f'href="{action_url(experiment, "stop")}"' in page
    # Roll-backs belong to a running experiment.
    assert "/rollback/" not in page


def test_a_running_experiment_offers_stop_and_a_roll_back_per_variant_but_not_start(
    org, console
):
    experiment = make_experiment(org)

    page = console.get(change_url(experiment)).content.decode()

    assert f'href="{action_url(experiment, "start")}"' not in page
    assert f'href="{action_url(experiment, "stop")}"' in page
    for key in ("scarcity", "social-proof"):
        assert f'href="{action_url(experiment, None, variant(experiment, key))}"' in page
    assert f'href="{action_url(experiment, None, variant(experiment, "control"))}"' not in page


def test_nobody_edits_or_deletes_an_experiments_row_here(org, console, root):
    experiment = make_experiment(org)
    for client in (console, root):
        assert client.post(change_url(experiment), {"name": "Renamed"}).status_code == 403
        assert client.get(f"{CHANGELIST}{experiment.pk}/delete/").status_code == 403
    experiment.refresh_from_db()
    assert experiment.name == "Psychology tactics"


def test_an_sdr_never_reaches_the_experiments(org, sdr):
    experiment = make_experiment(org)
    client = signed_in(sdr.user)
    for url in (CHANGELIST, ADD, change_url(experiment), action_url(experiment, "stop")):
        response = client.get(url)
        assert response.status_code in (302, 403)
        assert "Psychology tactics" not in response.content.decode()
    assert client.post(action_url(experiment, "stop")).status_code in (302, 403)
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.RUNNING


# --- creating ------------------------------------------------------------------------------

def test_a_manager_creates_a_draft_through_the_service(org, manager, console):
    response = console.post(ADD, add_form())

    experiment = Experiment.objects.for_org(org).get(name="Reply tone")
    assert response.status_code == 302
    assert response["Location"] == change_url(experiment)
    assert (experiment.status, experiment.key, experiment.target_metric) == (
        ExperimentStatus.DRAFT, "reply-tone", "conversion")
    assert (experiment.min_sample_per_variant, experiment.duration_days) == (500, 14)
    assert list(experiment.variants.values_list("key", "is_control", "weight", "config")) == [
        ("control", True, 60, {}), ("warm", False, 40, {"tone": "warm"})]
    event = AuditEvent.objects.for_org(org).get(action="experiment.create")
    assert event.actor_user_id == manager.user_id


def test_the_add_form_starts_with_a_control_row_and_the_default_sample(org, console, settings):
    settings.AB_TEST_MIN_SAMPLE_SIZE = 777
    page = console.get(ADD).content.decode()
    assert 'name="variants-0-key" value="control"' in page
    assert re.search(r'name="variants-0-is_control"[^>]*checked', page)
    assert 'name="min_sample_per_variant" value="777"' in page
    assert page.count('data-testid="variant-row"') == 5
    assert 'name="organization"' not in page


def test_weights_left_blank_split_evenly(org, console):
    console.post(ADD, add_form(rows=[
        {"key": "control", "name": "Control", "is_control": "on"},
        {"key": "b", "name": "B"}, {"key": "c", "name": "C"}]))
    experiment = Experiment.objects.for_org(org).get()
    assert list(experiment.variants.values_list("weight", flat=True)) == [34, 33, 33]


@pytest.mark.parametrize(("overrides", "says"), [
    ({"rows": [{"key": "a", "name": "A", "is_control": "on", "weight": "50"},
               {"key": "b", "name": "B", "is_control": "on", "weight": "50"}]},
     "Mark exactly one variant as the control (2 marked)."),
    ({"rows": [{"key": "a", "name": "A", "is_control": "on", "weight": "50"},
               {"key": "b", "name": "B", "weight": "30"}]},
     "Weights must sum to 100 (they sum to 80)."),
    ({"rows": [{"key": "a", "name": "A", "is_control": "on", "weight": "100"}]},
     "Give at least two variants: a control and one to test."),
    ({"rows": [{"key": "same", "name": "A", "is_control": "on", "weight": "50"},
               {"key": "same", "name": "B", "weight": "50"}]},
     "Variant keys must be unique; repeated: same."),
    ({"rows": [{"key": "a b!", "name": "A", "is_control": "on", "weight": "50"},
               {"key": "b", "name": "B", "weight": "50"}]},
     "Give each variant a key of 1 to 64 letters, digits, hyphens or underscores."),
    ({"target_metric": "Has Spaces"}, "Give the metric to judge by"),
    ({"name": "   "}, "This field is required."),
    ({"rows": [{"key": "a", "name": "A", "is_control": "on", "weight": "half"}]},
     "Enter a whole number."),
    ({"rows": [{"key": "a", "name": "A", "is_control": "on", "weight": "50",
                "config": "{not json"}]}, "This is not JSON"),
    ({"duration_days": "0"}, "Ensure this value is greater than or equal to 1."),
])
def test_a_refused_experiment_is_explained_on_the_form_and_nothing_is_created(
    org, console, overrides, says
):
    response = console.post(ADD, add_form(**overrides))

    assert response.status_code == 200
    assert says in page_text(response)
    assert not Experiment.objects.for_org(org).exists()


def test_a_refused_form_shows_what_was_typed_again_and_blank_configs_stay_blank(org, console):
    response = console.post(ADD, add_form(rows=[
        {"key": "a", "name": "A", "is_control": "on", "weight": "70",
         "config": '{"tactic": "none"}'},
        {"key": "b", "name": "B", "weight": "20"}]))

    page = response.content.decode()
    assert 'value="{&quot;tactic&quot;: &quot;none&quot;}"' in page
    assert 'value="null"' not in page
    assert 'name="variants-1-weight" value="20"' in page


def test_a_key_the_tenant_already_uses_is_refused_by_the_key_field(org, console):
    make_experiment(org, key="taken", start=False)

    response = console.post(ADD, add_form(key="taken"))

    assert response.status_code == 200
    assert response.context["form"].errors["key"] == [
        "This tenant already has an experiment with the key 'taken'."]
    assert Experiment.objects.for_org(org).count() == 1


def test_a_superuser_creates_an_experiment_for_the_organization_they_pick(
    org, other_org, root
):
    response = root.post(ADD, add_form(organization=str(other_org.pk)))

    assert response.status_code == 302
    assert Experiment.objects.for_org(other_org).get().name == "Reply tone"
    assert not Experiment.objects.for_org(org).exists()


# --- start, stop, roll back ----------------------------------------------------------------

def test_starting_asks_first_and_then_starts_as_the_manager(org, manager, console):
    experiment = make_experiment(org, start=False)

    confirm = console.get(action_url(experiment, "start"))
    assert confirm.status_code == 200
    words = page_text(confirm)
    assert ("Starting “Psychology tactics” assigns every lead it sees from now on to a variant "
            "(Control 50 %, Scarcity-heavy 25 %, Social-proof-heavy 25 %)") in words
    assert 'value="Start the experiment"' in confirm.content.decode()
    assert re.search(rf'<a href="{change_url(experiment)}"[^>]*>Cancel</a>',
                     confirm.content.decode())
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.DRAFT  # looking changes nothing

    done = console.post(action_url(experiment, "start"), follow=True)

    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.RUNNING and experiment.started_at
    assert "Started “Psychology tactics”." in messages_of(done)
    assert AuditEvent.objects.for_org(org).get(
        action="experiment.running").actor_user_id == manager.user_id


def test_stopping_says_how_many_subjects_are_kept_and_stops(org, console):
    experiment = make_experiment(org)
    for key in ("control", "control", "scarcity"):
        assign(experiment, key, at=experiment.started_at)

    words = page_text(console.get(action_url(experiment, "stop")))
    assert ("Stopping “Psychology tactics” gives every lead control from their next message. "
            "The 3 subjects assigned and every observation are kept") in words

    done = console.post(action_url(experiment, "stop"), follow=True)
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.STOPPED
    assert "Stopped “Psychology tactics”: everyone gets control from now on." in messages_of(done)
    assert Assignment.objects.filter(experiment=experiment).count() == 3


def test_rolling_back_names_the_variant_and_its_subjects_and_moves_nobody_else(org, console):
    experiment = make_experiment(org)
    scarcity = variant(experiment, "scarcity")
    for key in ("scarcity", "scarcity", "social-proof", "control"):
        assign(experiment, key, at=experiment.started_at)

    words = page_text(console.get(action_url(experiment, None, scarcity)))
    assert ("Rolling back Scarcity-heavy sends its 2 subjects to control from their next "
            "message; the other variants do not move.") in words
    assert "whole experiment" not in words
    scarcity.refresh_from_db()
    assert scarcity.rolled_back_at is None

    done = console.post(action_url(experiment, None, scarcity), follow=True)

    scarcity.refresh_from_db()
    assert scarcity.rolled_back_at is not None
    assert variant(experiment, "social-proof").rolled_back_at is None
    assert "Rolled back Scarcity-heavy: its subjects get control from now on." in \
        messages_of(done)
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.RUNNING


def test_rolling_back_the_last_variant_warns_that_the_experiment_ends(org, console):
    experiment = make_experiment(org)
    services.variant_rollback(org=org, experiment=experiment,
                              variant=variant(experiment, "scarcity"), actor=SETUP_ACTOR)
    last = variant(experiment, "social-proof")

    words = page_text(console.get(action_url(experiment, None, last)))
    assert "sends its 0 subjects to control" in words
    assert "the whole experiment rolls back and ends" in words

    console.post(action_url(experiment, None, last))
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.ROLLED_BACK


@pytest.mark.parametrize(("setup", "action", "says"), [
    ("running", "start", "A running experiment cannot be started."),
    ("stopped", "stop", "A stopped experiment cannot be stopped."),
    ("running", "control", "The control cannot be rolled back; stop the experiment."),
    ("rolled", "scarcity", "This variant is already rolled back."),
    ("draft", "scarcity", "Only a running experiment's variants are rolled back."),
])
def test_a_refusal_is_an_error_message_on_the_experiment_never_a_500(
    org, console, setup, action, says
):
    experiment = make_experiment(org, start=setup != "draft")
    if setup == "stopped":
        services.experiment_stop(org=org, experiment=experiment, actor=SETUP_ACTOR)
    if setup == "rolled":
        services.variant_rollback(org=org, experiment=experiment,
                                  variant=variant(experiment, "scarcity"), actor=SETUP_ACTOR)
    url = (action_url(experiment, action) if action in ("start", "stop")
           else action_url(experiment, None, variant(experiment, action)))
    before = Experiment.objects.get(pk=experiment.pk).status

    assert console.get(url).status_code == 200
    response = console.post(url, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == change_url(experiment)
    assert any(says in message for message in messages_of(response))
    assert Experiment.objects.get(pk=experiment.pk).status == before


def test_another_tenants_experiment_is_not_found_on_any_action_and_nothing_changes(
    org, other_org, console
):
    theirs = make_experiment(other_org, name="Their experiment")
    draft = make_experiment(other_org, name="Their draft", start=False)
    urls = [action_url(theirs, "stop"), action_url(draft, "start"),
            action_url(theirs, None, variant(theirs, "scarcity"))]

    for url in urls:
        assert console.get(url).status_code == 404
        assert console.post(url).status_code == 404
    # Django's own detail page sends an unknown id back to the console's home.
    assert "Their experiment" not in page_text(console.get(change_url(theirs), follow=True))

    theirs.refresh_from_db()
    draft.refresh_from_db()
    assert (theirs.status, draft.status) == (ExperimentStatus.RUNNING, ExperimentStatus.DRAFT)
    assert variant(theirs, "scarcity").rolled_back_at is None


def test_a_variant_of_another_experiment_is_not_found_under_this_one(org, console):
    ours = make_experiment(org, name="Ours")
    other = make_experiment(org, name="Other", key="other")
    url = action_url(ours, None, variant(other, "scarcity"))

    assert console.get(url).status_code == 404
    assert console.post(url).status_code == 404
    assert variant(other, "scarcity").rolled_back_at is None


def test_a_superuser_acts_on_any_tenants_experiment(other_org, root):
    theirs = make_experiment(other_org)

    root.post(action_url(theirs, "stop"))

    theirs.refresh_from_db()
    assert theirs.status == ExperimentStatus.STOPPED


# --- the ready-made experiment -------------------------------------------------------------

def test_a_manager_creates_the_psychology_tactics_preset_in_one_click(org, manager, console):
    page = console.get(ADD).content.decode()
    assert 'value="Create “Psychology tactics”"' in page
    assert "Control 50 %, Scarcity-heavy 25 %, Social-proof-heavy 25 %" in page

    response = console.post(f"{CHANGELIST}preset/", {"preset": "psychology-tactics"},
                            follow=True)

    experiment = Experiment.objects.for_org(org).get()
    assert response.redirect_chain == [(change_url(experiment), 302)]
    assert messages_of(response) == [
        "Created the draft experiment “Psychology tactics”. Check its variants, then start it."]
    assert (experiment.key, experiment.status) == ("psychology-tactics", ExperimentStatus.DRAFT)
    assert list(experiment.variants.values_list("weight", flat=True)) == [50, 25, 25]
    assert AuditEvent.objects.for_org(org).get(
        action="experiment.create").actor_user_id == manager.user_id

    again = console.post(f"{CHANGELIST}preset/", {"preset": "psychology-tactics"}, follow=True)
    assert messages_of(again) == [
        "This tenant already has an experiment with the key 'psychology-tactics'."]
    unknown = console.post(f"{CHANGELIST}preset/", {"preset": "nope"}, follow=True)
    assert messages_of(unknown) == ["Choose one of: psychology-tactics."]
    assert Experiment.objects.for_org(org).count() == 1
    assert console.get(f"{CHANGELIST}preset/").status_code == 403


def test_a_superuser_creates_the_preset_for_the_organization_they_pick(other_org, root):
    assert 'id="preset-psychology-tactics-organization"' in root.get(ADD).content.decode()

    root.post(f"{CHANGELIST}preset/", {"preset": "psychology-tactics",
                                       "organization": str(other_org.pk)})

    assert Experiment.objects.for_org(other_org).get().key == "psychology-tactics"
