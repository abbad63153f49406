"""DRF serializers of LeadOS. Writes are validated by the services; these shape the JSON."""

from rest_framework import serializers

from flexoraa.api import TenantScopedPrimaryKeyField
from flexoraa.models import Membership
from leads.models import (
    Authority,
    FollowUp,
    Lead,
    LeadAssignment,
    LeadEvent,
    LostReason,
    Note,
    RoutingPoolMember,
    SlaBreach,
    Source,
    Status,
    Tier,
    Timeline,
)

BUDGET = {"max_digits": 14, "decimal_places": 2, "min_value": 0, "allow_null": True,
          "required": False}


class LeadSerializer(serializers.ModelSerializer):
    owner_username = serializers.CharField(source="owner.user.username", read_only=True,
                                           default=None)
    lost_reason_label = serializers.CharField(source="lost_reason.label", read_only=True,
                                              default=None)

    class Meta:
        model = Lead
        fields = [
            "id", "name", "phone", "email", "source", "status", "tier", "score",
            "score_breakdown", "owner", "owner_username", "assigned_at", "need",
            "budget_amount", "budget_currency", "budget_period", "authority", "timeline",
            "evidence", "intent",
            "intent_confidence", "inbound_count", "last_reply_seconds", "verification_status",
            "verification", "first_response_due_at", "first_response_at", "sla_breached_at",
            "leak_due_at", "leak_moves", "last_inbound_at", "last_outbound_at", "created_at",
            "updated_at", "lost_reason", "lost_reason_label",
        ]
        read_only_fields = fields


class LeadIntakeSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                  help_text="Any common format; read in the tenant's country "
                                            "unless it starts with +.")
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    source = serializers.ChoiceField(choices=Source.choices, default=Source.API)
    need = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    budget_amount = serializers.DecimalField(**BUDGET)
    budget_currency = serializers.CharField(max_length=3, required=False, allow_blank=True)
    authority = serializers.ChoiceField(choices=Authority.choices, required=False,
                                        allow_blank=True)
    timeline = serializers.ChoiceField(choices=Timeline.choices, required=False,
                                       allow_blank=True)


class LeadIntakeResultSerializer(serializers.Serializer):
    merged = serializers.BooleanField(
        help_text="True when the phone or email matched an existing lead, which was updated."
    )
    lead = LeadSerializer()


class LeadUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=[
        (value, label) for value, label in Status.choices
        if value not in (Status.OPTED_OUT, Status.ANONYMIZED)
    ], required=False)
    need = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    budget_amount = serializers.DecimalField(**BUDGET)
    budget_currency = serializers.CharField(max_length=3, required=False, allow_blank=True)
    authority = serializers.ChoiceField(choices=Authority.choices, required=False,
                                        allow_blank=True)
    timeline = serializers.ChoiceField(choices=Timeline.choices, required=False,
                                       allow_blank=True)
    lost_reason = TenantScopedPrimaryKeyField(
        queryset=LostReason.objects.filter(is_active=True), required=False, allow_null=True,
        help_text="Required with status lost: one of the organization's active lost reasons "
                  "(GET /api/lost-reasons/).",
        error_messages={"does_not_exist": "No lost reason of this organization has that id.",
                        "incorrect_type": "Give a lost reason's id."},
    )


class LeadAssignSerializer(serializers.Serializer):
    owner = TenantScopedPrimaryKeyField(queryset=Membership.objects.all(),
                                        help_text="The membership id to hand the lead to.")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class FirstResponseSerializer(serializers.Serializer):
    at = serializers.DateTimeField(required=False,
                                   help_text="When the reply went out; now when left out.")


class LeadEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadEvent
        fields = ["id", "kind", "actor", "data", "created_at"]
        read_only_fields = fields


class LeadAssignmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadAssignment
        fields = ["id", "from_owner", "to_owner", "reason", "detail", "actor", "created_at"]
        read_only_fields = fields


class LeadTimelineSerializer(serializers.Serializer):
    events = LeadEventSerializer(many=True)
    assignments = LeadAssignmentSerializer(many=True)


class SlaReportQuerySerializer(serializers.Serializer):
    """The SLA report's query parameters. ``owner`` resolves only inside the caller's
    organization: another tenant's membership reads as one that does not exist."""

    days = serializers.IntegerField(
        required=False, default=30, min_value=1, max_value=365,
        error_messages={key: "Give a whole number of days from 1 to 365."
                        for key in ("invalid", "min_value", "max_value", "max_string_length")},
    )
    owner = TenantScopedPrimaryKeyField(
        queryset=Membership.objects.all(), required=False, allow_null=True,
        error_messages={"does_not_exist": "No member of this organization has that id.",
                        "incorrect_type": "Give a membership id."},
    )


class SlaReportSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    answered = serializers.IntegerField()
    met = serializers.IntegerField()
    overdue = serializers.IntegerField()
    waiting = serializers.IntegerField()
    met_percent = serializers.FloatField(allow_null=True)
    p50_seconds = serializers.FloatField(allow_null=True)
    p90_seconds = serializers.FloatField(allow_null=True)


class SlaBreachSerializer(serializers.ModelSerializer):
    class Meta:
        model = SlaBreach
        fields = ["id", "lead", "owner", "tier", "due_at", "breached_at", "acknowledged_at",
                  "acknowledged_by"]
        read_only_fields = fields


class RoutingPoolMemberSerializer(serializers.ModelSerializer):
    tier = serializers.ChoiceField(choices=Tier.choices)
    membership = TenantScopedPrimaryKeyField(queryset=Membership.objects.all())

    class Meta:
        model = RoutingPoolMember
        fields = ["id", "tier", "membership"]
        read_only_fields = ["id"]
        # The service reports a duplicate as a 409; the serializer must not pre-empt it.
        validators = []


class LostReasonSerializer(serializers.ModelSerializer):
    class Meta:
        model = LostReason
        fields = ["id", "label", "position", "is_active"]
        read_only_fields = fields


class NoteSerializer(serializers.ModelSerializer):
    author_username = serializers.CharField(source="author.user.username", read_only=True,
                                            default=None)
    mentions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Note
        fields = ["id", "lead", "author", "author_username", "body", "mentions", "created_at"]
        read_only_fields = fields


class NoteCreateSerializer(serializers.Serializer):
    body = serializers.CharField(
        max_length=5000, help_text="The note. @username (or @First, when only one member has "
                                   "that first name) mentions a colleague, who is notified.")


class FollowUpSerializer(serializers.ModelSerializer):
    owner_username = serializers.CharField(source="owner.user.username", read_only=True,
                                           default=None)

    class Meta:
        model = FollowUp
        fields = ["id", "lead", "owner", "owner_username", "due_at", "note", "done_at",
                  "notified_at", "created_by", "created_at"]
        read_only_fields = fields


class FollowUpCreateSerializer(serializers.Serializer):
    due_at = serializers.DateTimeField(help_text="When it is due; must be in the future.")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    owner = TenantScopedPrimaryKeyField(
        queryset=Membership.objects.all(), required=False, allow_null=True,
        help_text="Who follows up (a membership id): yourself when left out, or the lead's "
                  "owner for an integration. Only managers set one for someone else.",
        error_messages={"does_not_exist": "No member of this organization has that id.",
                        "incorrect_type": "Give a membership id."},
    )


class FollowUpRescheduleSerializer(serializers.Serializer):
    due_at = serializers.DateTimeField(help_text="The new due time, in the future.")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)
