"""factory_boy factories for the platform core, and the registry of tenant-owned objects
the cross-tenant test creates. Each app's issue adds its models to TENANT_OBJECT_MAKERS."""

import uuid

import factory
from django.contrib.auth import get_user_model

from flexoraa import services
from flexoraa.actors import Actor
from flexoraa.models import (
    ApiKey,
    AuditEvent,
    Membership,
    Notification,
    NotificationKind,
    Organization,
    Role,
)

User = get_user_model()

# Who sets up a test's data: the platform itself, so a test that checks the actor of its
# own step never confuses it with the setup's.
SETUP_ACTOR = Actor.system("test:setup")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Tenant {n}")
    slug = factory.Sequence(lambda n: f"tenant-{n}")
    timezone = "Asia/Kolkata"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def make_membership(org, *, role=Role.SDR, capacity=10, is_available=True, user=None):
    return services.membership_create(
        org=org, user=user or UserFactory(), role=role, capacity=capacity,
        is_available=is_available, actor=SETUP_ACTOR,
    )


def make_api_key(org, *, name="Integration"):
    """Returns ``(api_key, raw_key)``."""
    return services.api_key_create(org=org, name=name, actor=SETUP_ACTOR)


def make_audit_event(org, *, action="test.event", data=None, actor=SETUP_ACTOR):
    return services.audit_event_record(org=org, actor=actor, action=action, data=data or {})


def make_notification(recipient, *, kind=NotificationKind.LEAD_ASSIGNED, title="A lead for you",
                      url="", body="", dedupe_key=None):
    """One notification for ``recipient`` (a membership), created as the services do."""
    from flexoraa.notifications import notifications_create

    key = dedupe_key or f"test:{uuid.uuid4().hex}"
    (notification,) = notifications_create(
        org=recipient.organization, recipient_ids=[recipient.pk], kind=kind, title=title,
        url=url, body=body, dedupe_key=key)
    return notification


def _make_sla_breach(org):
    from django.utils import timezone

    from leads.models import SlaBreach
    from tests.leads.factories import make_lead

    lead = make_lead(org)
    now = timezone.now()
    return SlaBreach.objects.create(organization=org, lead=lead, owner=lead.owner,
                                    tier=lead.tier, due_at=now, breached_at=now)


def _make_pool_member(org):
    from leads import services
    from leads.models import Tier

    return services.routing_pool_member_add(org=org, tier=Tier.HOT,
                                            membership=make_membership(org),
                                            actor=SETUP_ACTOR)


def _make_lead(org):
    from tests.leads.factories import make_lead

    return make_lead(org)


def _make_ledger_entry(org):
    import uuid

    from billing import services as billing_services

    return billing_services.wallet_credit(org=org, amount=100, reason="adjustment",
                                          idempotency_key=uuid.uuid4().hex,
                                          actor=SETUP_ACTOR).entry


def _make_channel(org):
    from tests.agents.factories import make_channel

    return make_channel(org)


def _make_conversation(org):
    from tests.agents.factories import make_conversation

    return make_conversation(org)


def _make_message(org):
    from tests.agents.factories import make_conversation, make_message

    return make_message(org, make_conversation(org))


def _make_template(org):
    from tests.agents.factories import make_channel, make_template

    return make_template(org, make_channel(org))


def _make_canned_reply(org):
    from agents.services.canned import canned_reply_create

    return canned_reply_create(org=org, title="Pricing", shortcut="pricing",
                               body="Hi {first_name}, our plans start at 999 a month.",
                               actor=SETUP_ACTOR)


def _make_experiment(org):
    from tests.experiments.factories import make_experiment

    return make_experiment(org)


def _make_follow_up(org):
    from datetime import timedelta

    from django.utils import timezone

    from leads import services
    from tests.leads.factories import make_lead

    lead = make_lead(org)
    return services.follow_up_set(org=org, lead=lead, due_at=timezone.now() + timedelta(days=1),
                                  owner=lead.owner or make_membership(org), actor=SETUP_ACTOR)


def _make_lost_reason(org):
    from leads import services

    return services.lost_reason_create(org=org, label="Chose to build it themselves",
                                       actor=SETUP_ACTOR)


def _tenant_object_makers():
    from agents.models import CannedReply, Channel, Conversation, Message, Template
    from billing.models import TokenLedgerEntry
    from experiments.models import Experiment
    from leads.models import FollowUp, Lead, LostReason, RoutingPoolMember, SlaBreach

    return {
        Membership: lambda org: make_membership(org),
        ApiKey: lambda org: make_api_key(org)[0],
        AuditEvent: lambda org: make_audit_event(org),
        Notification: lambda org: make_notification(make_membership(org)),
        Lead: _make_lead,
        FollowUp: _make_follow_up,
        LostReason: _make_lost_reason,
        SlaBreach: _make_sla_breach,
        RoutingPoolMember: _make_pool_member,
        TokenLedgerEntry: _make_ledger_entry,
        Channel: _make_channel,
        Conversation: _make_conversation,
        Message: _make_message,
        Template: _make_template,
        CannedReply: _make_canned_reply,
        Experiment: _make_experiment,
    }


# model -> callable(org) creating one object of that model in the org.
TENANT_OBJECT_MAKERS = _tenant_object_makers()
