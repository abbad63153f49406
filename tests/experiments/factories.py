"""Experiments for tests, made through the services as the product makes them."""

from experiments import services
from tests.factories import SETUP_ACTOR

TACTICS = [
    {"key": "control", "name": "Control", "is_control": True, "weight": 50},
    {"key": "scarcity", "name": "Scarcity-heavy", "is_control": False, "weight": 25,
     "config": {"tactic": "scarcity"}},
    {"key": "social-proof", "name": "Social-proof-heavy", "is_control": False, "weight": 25,
     "config": {"tactic": "social_proof"}},
]


def make_experiment(org, *, name="Psychology tactics", variants=None, start=True, **options):
    experiment = services.experiment_create(
        org=org, name=name, variants=variants or TACTICS, target_metric="meeting_booked",
        actor=SETUP_ACTOR, **options,
    )
    if start:
        experiment = services.experiment_start(org=org, experiment=experiment,
                                               actor=SETUP_ACTOR)
    return experiment
