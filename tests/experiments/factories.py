"""Experiments for tests, made through the services as the product makes them, and the leads
they assign."""

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


def make_lead_ids(org, count: int) -> list[int]:
    """Ids of ``count`` new leads of ``org``, oldest first. ``variant_for`` assigns only the
    tenant's own leads, and an experiment needs no more of a lead than that it exists, so
    these are bare rows in one INSERT: intake, scoring and routing (tests/leads/factories.py)
    would cost seconds for the thousand subjects a test of the weights needs."""
    from leads.models import Lead, Source, Tier, VerificationStatus

    leads = Lead.objects.bulk_create([
        Lead(organization=org, source=Source.API, tier=Tier.COLD, score=0,
             verification_status=VerificationStatus.FAILED)
        for _ in range(count)
    ])
    return [lead.pk for lead in leads]


def make_lead_id(org) -> int:
    return make_lead_ids(org, 1)[0]
