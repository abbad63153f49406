"""The preset "Psychology tactics" experiment, and the demo tenant's copy of it."""

import pytest
from django.core.management import call_command

from experiments import services
from experiments.errors import ExperimentInvalid
from experiments.models import Experiment, ExperimentStatus
from flexoraa.models import Organization
from tests.factories import SETUP_ACTOR

pytestmark = pytest.mark.django_db


def test_the_psychology_tactics_preset_splits_50_25_25_with_each_tactic(org):
    experiment = services.experiment_preset_create(org=org, preset="psychology-tactics",
                                                   actor=SETUP_ACTOR)

    assert (experiment.name, experiment.key, experiment.status) == (
        "Psychology tactics", "psychology-tactics", ExperimentStatus.DRAFT)
    assert experiment.target_metric == "conversion"
    assert [(v.key, v.is_control, v.weight, v.config["tactic"])
            for v in experiment.variants.order_by("id")] == [
        ("control", True, 50, "none"),
        ("scarcity-heavy", False, 25, "scarcity"),
        ("social-proof-heavy", False, 25, "social_proof"),
    ]


def test_the_preset_can_start_at_once(org):
    experiment = services.experiment_preset_create(org=org, preset="psychology-tactics",
                                                   actor=SETUP_ACTOR, start=True)

    assert experiment.status == ExperimentStatus.RUNNING and experiment.started_at


def test_a_tenant_gets_the_preset_once_and_another_tenant_gets_its_own(org, other_org):
    services.experiment_preset_create(org=org, preset="psychology-tactics", actor=SETUP_ACTOR)

    with pytest.raises(ExperimentInvalid) as refused:
        services.experiment_preset_create(org=org, preset="psychology-tactics",
                                          actor=SETUP_ACTOR)
    assert "key" in refused.value.fields
    services.experiment_preset_create(org=other_org, preset="psychology-tactics",
                                      actor=SETUP_ACTOR)
    assert Experiment.objects.filter(key="psychology-tactics").count() == 2


@pytest.mark.parametrize("preset", ["nope", "", None, 3, ["psychology-tactics"]])
def test_an_unknown_preset_is_refused_naming_the_choices(org, preset):
    with pytest.raises(ExperimentInvalid) as refused:
        services.experiment_preset_create(org=org, preset=preset, actor=SETUP_ACTOR)

    assert "psychology-tactics" in refused.value.message
    assert not Experiment.objects.exists()


def test_the_demo_tenant_runs_the_preset_after_seeding_and_seeding_again_changes_nothing(
        capsys):
    call_command("seed_demo")

    call_command("seed_demo_experiments")
    call_command("seed_demo_experiments")

    demo = Organization.objects.get(slug="demo")
    experiment = Experiment.objects.for_org(demo).get()
    assert (experiment.key, experiment.status) == ("psychology-tactics",
                                                   ExperimentStatus.RUNNING)
    assert "already" in capsys.readouterr().out
