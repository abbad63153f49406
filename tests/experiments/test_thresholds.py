"""Per-experiment kill-switch thresholds: changed by a manager through the service (in the
console as whole percents), validated naming the field, audited, and closed once the
experiment has ended or to another tenant."""

import pytest

from experiments import services
from experiments.errors import ExperimentInvalid, ExperimentStatusRefused
from experiments.models import Experiment
from flexoraa.errors import NotFound
from flexoraa.models import AuditEvent
from tests.experiments.factories import make_experiment
from tests.experiments.test_admin import CHANGELIST, page_text, signed_in
from tests.factories import SETUP_ACTOR

pytestmark = pytest.mark.django_db


def thresholds_url(experiment):
    return f"{CHANGELIST}{experiment.pk}/thresholds/"


def test_a_running_experiments_thresholds_change_and_the_change_is_audited(org):
    experiment = make_experiment(org)

    services.experiment_thresholds_update(org=org, experiment=experiment, actor=SETUP_ACTOR,
                                          kill_error_rate_up=0.25, kill_min_exposure=300)

    experiment.refresh_from_db()
    assert (experiment.kill_error_rate_up, experiment.kill_min_exposure) == (0.25, 300)
    assert experiment.kill_response_time_up == 0.3  # untouched
    event = AuditEvent.objects.for_org(org).get(action="experiment.thresholds_update")
    assert event.data == {"before": {"kill_error_rate_up": 0.5, "kill_min_exposure": 100},
                          "after": {"kill_error_rate_up": 0.25, "kill_min_exposure": 300}}


@pytest.mark.parametrize(("changes", "field"), [
    ({"kill_error_rate_up": 0}, "kill_error_rate_up"),
    ({"kill_objection_rate_up": -1}, "kill_objection_rate_up"),
    ({"kill_response_time_up": float("nan")}, "kill_response_time_up"),
    ({"kill_hallucination_rate_up": True}, "kill_hallucination_rate_up"),
    ({"kill_hallucination_rate_up": "1"}, "kill_hallucination_rate_up"),
    ({"kill_error_rate_up": 1e9}, "kill_error_rate_up"),
    ({"kill_min_exposure": 0}, "kill_min_exposure"),
    ({"kill_min_exposure": 2.5}, "kill_min_exposure"),
    ({"status": "running"}, "status"),
])
def test_a_value_out_of_range_or_an_unknown_field_is_refused_naming_it(org, changes, field):
    experiment = make_experiment(org)

    with pytest.raises(ExperimentInvalid) as refused:
        services.experiment_thresholds_update(org=org, experiment=experiment,
                                              actor=SETUP_ACTOR, **changes)

    assert field in refused.value.fields
    assert not AuditEvent.objects.for_org(org).filter(
        action="experiment.thresholds_update").exists()


def test_an_ended_experiment_has_no_switches_to_change(org):
    experiment = make_experiment(org)
    services.experiment_stop(org=org, experiment=experiment, actor=SETUP_ACTOR)

    with pytest.raises(ExperimentStatusRefused):
        services.experiment_thresholds_update(org=org, experiment=experiment,
                                              actor=SETUP_ACTOR, kill_error_rate_up=0.2)


def test_another_tenants_experiment_is_not_found(org, other_org):
    theirs = make_experiment(other_org)

    with pytest.raises(NotFound):
        services.experiment_thresholds_update(org=org, experiment=theirs, actor=SETUP_ACTOR,
                                              kill_error_rate_up=0.2)


def test_the_console_edits_thresholds_in_whole_percents(org, manager):
    experiment = make_experiment(org)
    console = signed_in(manager.user)

    form = console.get(thresholds_url(experiment))
    assert form.status_code == 200 and 'value="50"' in form.content.decode()
    saved = console.post(thresholds_url(experiment), {
        "kill_error_rate_up": "35", "kill_response_time_up": "30",
        "kill_hallucination_rate_up": "100", "kill_objection_rate_up": "80",
        "kill_min_exposure": "150"})

    assert saved.status_code == 302
    experiment.refresh_from_db()
    assert (experiment.kill_error_rate_up, experiment.kill_min_exposure) == (0.35, 150)


def test_the_console_shows_a_bad_value_on_the_form_and_saves_nothing(org, manager):
    experiment = make_experiment(org)
    console = signed_in(manager.user)

    response = console.post(thresholds_url(experiment), {
        "kill_error_rate_up": "0", "kill_response_time_up": "abc",
        "kill_hallucination_rate_up": "100", "kill_objection_rate_up": "80",
        "kill_min_exposure": "100"})

    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 1" in page_text(response)
    assert Experiment.objects.get(pk=experiment.pk).kill_error_rate_up == 0.5


def test_the_console_refuses_an_ended_experiment_on_the_form(org, manager):
    experiment = make_experiment(org)
    services.experiment_stop(org=org, experiment=experiment, actor=SETUP_ACTOR)
    console = signed_in(manager.user)

    response = console.post(thresholds_url(experiment), {
        "kill_error_rate_up": "20", "kill_response_time_up": "30",
        "kill_hallucination_rate_up": "100", "kill_objection_rate_up": "80",
        "kill_min_exposure": "100"})

    assert response.status_code == 200
    assert "has no kill-switches to change" in page_text(response)


def test_another_tenants_thresholds_page_is_not_found(org, other_org, manager):
    theirs = make_experiment(other_org)
    console = signed_in(manager.user)

    assert console.get(thresholds_url(theirs)).status_code == 404
    assert console.post(thresholds_url(theirs), {"kill_error_rate_up": "20"}).status_code == 404
