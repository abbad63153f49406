"""LeadOS API: leads (intake, edits, assignment, first response, timeline, SLA report, the
unassigned queue and claiming from it, notes and follow-ups), follow-ups, lost reasons, SLA
breaches and routing pools. Registered on the one router."""

import django_filters
from django.db.models import Q
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from flexoraa.api import ALL_ROLES, MANAGING, TenantViewSet, router
from flexoraa.filters import TenantFilterSet
from flexoraa.models import Role
from flexoraa.tenancy import request_role
from leads import selectors, services
from leads.models import (
    FollowUp,
    Lead,
    LostReason,
    RoutingPoolMember,
    SlaBreach,
    Source,
    Status,
    Tier,
)
from leads.serializers import (
    FirstResponseSerializer,
    FollowUpCreateSerializer,
    FollowUpRescheduleSerializer,
    FollowUpSerializer,
    LeadAssignSerializer,
    LeadIntakeResultSerializer,
    LeadIntakeSerializer,
    LeadSerializer,
    LeadTimelineSerializer,
    LeadUpdateSerializer,
    LostReasonSerializer,
    NoteCreateSerializer,
    NoteSerializer,
    RoutingPoolMemberSerializer,
    SlaBreachSerializer,
    SlaReportQuerySerializer,
    SlaReportSerializer,
)

TIMELINE_LIMIT = 200


class LeadFilter(TenantFilterSet):
    tier = django_filters.ChoiceFilter(choices=Tier.choices)
    status = django_filters.ChoiceFilter(choices=Status.choices)
    source = django_filters.ChoiceFilter(choices=Source.choices)
    owner = django_filters.NumberFilter(field_name="owner_id", min_value=1,
                                        max_value=2**63 - 1)
    q = django_filters.CharFilter(method="search", label="Name, email or phone contains")

    class Meta:
        model = Lead
        fields = ["tier", "status", "source", "owner"]

    def search(self, queryset, name, value):
        return selectors.lead_search(queryset, value)


def _require_managing(request) -> None:
    if request_role(request) not in MANAGING:
        raise PermissionDenied("Only managers (or an integration's API key) can do this.")


class LeadViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, TenantViewSet
):
    """Leads. SDRs see and work only their own; managers and API keys see the tenant's."""

    queryset = Lead.objects.select_related("owner__user", "lost_reason").order_by("-id")
    serializer_class = LeadSerializer
    filterset_class = LeadFilter
    allowed_roles = ALL_ROLES
    http_method_names = ["get", "post", "patch", "head", "options"]

    def filter_for_sdr(self, queryset, membership):
        return queryset.filter(owner=membership)

    def get_serializer_class(self):
        if self.action in ("notes", "follow_ups") and self.request.method == "POST":
            return {"notes": NoteCreateSerializer,
                    "follow_ups": FollowUpCreateSerializer}[self.action]
        return {
            "create": LeadIntakeSerializer, "partial_update": LeadUpdateSerializer,
            "assign": LeadAssignSerializer, "first_response": FirstResponseSerializer,
        }.get(self.action, LeadSerializer)

    @extend_schema(
        request=LeadIntakeSerializer,
        responses={201: LeadIntakeResultSerializer, 200: LeadIntakeResultSerializer},
        description="Take in a lead: verified, deduplicated (the same phone or email merges "
                    "into the existing lead and answers 200), scored and routed.",
    )
    def create(self, request, *args, **kwargs):
        _require_managing(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        source = values.pop("source")
        result = services.lead_intake(
            org=self.organization, data=services.LeadInput(**values), source=source,
            actor=self.actor,
        )
        lead = self.get_queryset().get(pk=result.lead.pk)
        body = {"merged": not result.created, "lead": LeadSerializer(lead).data}
        return Response(body, status=status.HTTP_201_CREATED if result.created else 200)

    @extend_schema(request=LeadUpdateSerializer, responses={
        200: LeadSerializer,
        409: OpenApiResponse(description="The status cannot be reached from the current one, "
                                         "or another lead has that phone or email."),
    })
    def partial_update(self, request, *args, **kwargs):
        lead = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.lead_update(org=self.organization, lead=lead, actor=self.actor,
                             **serializer.validated_data)
        return Response(LeadSerializer(self.get_queryset().get(pk=lead.pk)).data)

    @extend_schema(request=LeadAssignSerializer, responses={
        200: LeadSerializer, 409: OpenApiResponse(description="The lead is closed."),
    })
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Hand the lead to another member by hand (managers)."""
        lead = self.get_object()
        _require_managing(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.lead_reassign(
            org=self.organization, lead=lead, owner_id=serializer.validated_data["owner"].pk,
            actor=self.actor, note=serializer.validated_data["note"],
        )
        return Response(LeadSerializer(self.get_queryset().get(pk=lead.pk)).data)

    @extend_schema(request=FirstResponseSerializer, responses=LeadSerializer)
    @action(detail=True, methods=["post"], url_path="first-response")
    def first_response(self, request, pk=None):
        """Record the first reply to the lead (once; later calls change nothing)."""
        lead = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.lead_mark_first_response(
            org=self.organization, lead=lead, at=serializer.validated_data.get("at"),
            actor=self.actor,
        )
        return Response(LeadSerializer(self.get_queryset().get(pk=lead.pk)).data)

    @extend_schema(
        responses={
            200: LeadSerializer,
            403: OpenApiResponse(description="An integration's key (integrations assign "
                                             "instead), or an SDR outside the lead's tier "
                                             "pool."),
            404: OpenApiResponse(description="No lead of this organization has that id."),
            409: OpenApiResponse(description="Someone else took the lead a moment ago "
                                             "(lead_taken), the caller is at capacity "
                                             "(at_capacity), or the lead is closed "
                                             "(lead_closed)."),
        },
        request=None,
    )
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        """Take a lead from the unassigned queue for oneself (SDRs and managers)."""
        # Among all the tenant's leads, not the caller's own: an SDR claims a lead they do not
        # hold yet, and one someone else took a moment ago is a 409 that says so, not a 404.
        lead = get_object_or_404(selectors.leads_for_org(self.organization), pk=pk)
        services.lead_claim(org=self.organization, lead=lead, actor=self.actor)
        return Response(LeadSerializer(self.get_queryset().get(pk=lead.pk)).data)

    @extend_schema(
        responses=LeadSerializer(many=True),
        description="The unassigned queue: open leads nobody holds (no SDR of their tier "
                    "pool had room), soonest first-response target first. Managers and "
                    "integrations see all of it; an SDR sees the tiers whose pool includes "
                    "them. The lead filters apply.",
    )
    @action(detail=False, methods=["get"], url_path="unassigned")
    def unassigned(self, request):
        """The unassigned queue, soonest first-response target first."""
        queued = selectors.unassigned_leads(self.organization)
        if request_role(request) == Role.SDR:
            queued = queued.filter(
                tier__in=services.queue_tiers_for(self.organization, request.membership)
            )
        page = self.paginate_queryset(self.filter_queryset(queued))
        return self.get_paginated_response(LeadSerializer(page, many=True).data)

    @extend_schema(responses=LeadTimelineSerializer)
    @action(detail=True, methods=["get"])
    def timeline(self, request, pk=None):
        """The lead's latest events and its assignment history (newest first)."""
        lead = self.get_object()
        body = {
            "events": selectors.lead_timeline(self.organization, lead)[:TIMELINE_LIMIT],
            "assignments": selectors.lead_assignments(self.organization, lead)[:TIMELINE_LIMIT],
        }
        return Response(LeadTimelineSerializer(body).data)

    @extend_schema(methods=["GET"], responses=NoteSerializer(many=True),
                   description="The lead's internal notes, newest first.")
    @extend_schema(methods=["POST"], request=NoteCreateSerializer,
                   responses={201: NoteSerializer},
                   description="Write an internal note; each colleague it @mentions is "
                               "notified once.")
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    def notes(self, request, pk=None):
        """The lead's internal notes (GET), or a new one (POST)."""
        lead = self.get_object()
        if request.method == "POST":
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            note = services.note_add(org=self.organization, lead=lead, actor=self.actor,
                                     body=serializer.validated_data["body"])
            note = selectors.notes_for_org(self.organization).get(pk=note.pk)
            return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)
        notes = selectors.notes_for_org(self.organization).filter(lead=lead)
        page = self.paginate_queryset(notes)
        return self.get_paginated_response(NoteSerializer(page, many=True).data)

    @extend_schema(methods=["GET"], responses=FollowUpSerializer(many=True),
                   description="The lead's follow-ups, soonest due first.")
    @extend_schema(methods=["POST"], request=FollowUpCreateSerializer,
                   responses={201: FollowUpSerializer},
                   description="Set a follow-up; a due time in the past is refused. Its owner "
                               "is notified when it comes due.")
    @action(detail=True, methods=["get", "post"], url_path="follow-ups", filterset_class=None)
    def follow_ups(self, request, pk=None):
        """The lead's follow-ups (GET), or a new one (POST)."""
        lead = self.get_object()
        if request.method == "POST":
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            follow_up = services.follow_up_set(
                org=self.organization, lead=lead, actor=self.actor, due_at=data["due_at"],
                note=data["note"], owner=data.get("owner"))
            follow_up = selectors.follow_ups_for_org(self.organization).get(pk=follow_up.pk)
            return Response(FollowUpSerializer(follow_up).data, status=status.HTTP_201_CREATED)
        follow_ups = selectors.follow_ups_for_org(self.organization).filter(lead=lead)
        page = self.paginate_queryset(follow_ups.order_by("due_at", "id"))
        return self.get_paginated_response(FollowUpSerializer(page, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("owner", int, description="A membership id; SDRs always get "
                                                       "their own report."),
            OpenApiParameter("days", int, description="Leads created in the last N days "
                                                      "(1 to 365, default 30)."),
        ],
        responses=SlaReportSerializer,
    )
    @action(detail=False, methods=["get"], url_path="sla-report", filterset_class=None)
    def sla_report(self, request):
        """% of first-response targets met and p50 / p90 first-response time."""
        query = SlaReportQuerySerializer(data=request.query_params,
                                         context=self.get_serializer_context())
        query.is_valid(raise_exception=True)
        owner = query.validated_data.get("owner")
        if request_role(request) not in MANAGING:
            owner = request.membership
        report = selectors.sla_report(self.organization, owner=owner,
                                      days=query.validated_data["days"])
        data = {**report.__dict__, "met_percent": report.met_percent}
        return Response(SlaReportSerializer(data).data)


class SlaBreachViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Missed first-response targets. SDRs see their own; managers acknowledge them."""

    queryset = SlaBreach.objects.order_by("-breached_at", "-id")
    serializer_class = SlaBreachSerializer
    allowed_roles = ALL_ROLES
    filterset_fields = {"acknowledged_at": ["isnull"], "tier": ["exact"], "owner": ["exact"]}

    def filter_for_sdr(self, queryset, membership):
        return queryset.filter(owner=membership)

    @extend_schema(request=None, responses=SlaBreachSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        breach = self.get_object()
        _require_managing(request)
        breach = services.breach_acknowledge(org=self.organization, breach=breach,
                                             actor=self.actor)
        return Response(SlaBreachSerializer(breach).data)


@extend_schema_view(create=extend_schema(responses={
    201: RoutingPoolMemberSerializer,
    409: OpenApiResponse(description="That SDR is already in that pool."),
}))
class RoutingPoolMemberViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    mixins.DestroyModelMixin, TenantViewSet,
):
    """Which SDRs take each tier's leads. A tier with nobody in its pool goes to every SDR."""

    queryset = RoutingPoolMember.objects.order_by("tier", "membership_id")
    serializer_class = RoutingPoolMemberSerializer
    allowed_roles = MANAGING
    filterset_fields = ["tier", "membership"]

    def perform_create(self, serializer):
        serializer.instance = services.routing_pool_member_add(
            org=self.organization, tier=serializer.validated_data["tier"],
            membership=serializer.validated_data["membership"], actor=self.actor,
        )

    def perform_destroy(self, instance):
        services.routing_pool_member_remove(org=self.organization, member=instance,
                                            actor=self.actor)


class FollowUpFilter(TenantFilterSet):
    open = django_filters.BooleanFilter(field_name="done_at", lookup_expr="isnull",
                                        label="Open (not done) only")

    class Meta:
        model = FollowUp
        fields = ["lead", "owner", "open"]


@extend_schema_view(partial_update=extend_schema(
    request=FollowUpRescheduleSerializer, responses={
        200: FollowUpSerializer,
        409: OpenApiResponse(description="The follow-up is done."),
    }, description="Reschedule: a new due time in the future (and a new note when given)."))
class FollowUpViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      mixins.UpdateModelMixin, TenantViewSet):
    """Follow-ups. SDRs see theirs and those on their leads; managers and integrations the
    tenant's. Set one on a lead (POST /api/leads/{id}/follow-ups/)."""

    queryset = FollowUp.objects.select_related("lead", "owner__user").order_by("due_at", "id")
    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilter
    allowed_roles = ALL_ROLES
    http_method_names = ["get", "post", "patch", "head", "options"]

    def filter_for_sdr(self, queryset, membership):
        return queryset.filter(Q(owner=membership) | Q(lead__owner=membership))

    def get_serializer_class(self):
        if self.action == "partial_update":
            return FollowUpRescheduleSerializer
        return FollowUpSerializer

    def partial_update(self, request, *args, **kwargs):
        follow_up = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        follow_up = services.follow_up_reschedule(
            org=self.organization, follow_up=follow_up, actor=self.actor,
            due_at=data["due_at"], note=data.get("note"))
        return Response(FollowUpSerializer(self.get_queryset().get(pk=follow_up.pk)).data)

    @extend_schema(request=None, responses=FollowUpSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """Mark the follow-up done (again changes nothing)."""
        follow_up = services.follow_up_complete(org=self.organization,
                                                follow_up=self.get_object(), actor=self.actor)
        return Response(FollowUpSerializer(self.get_queryset().get(pk=follow_up.pk)).data)


class LostReasonViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The organization's reasons a lead is lost (managers edit them in the console). Moving
    a lead to lost names one of the active ones."""

    queryset = LostReason.objects.order_by("position", "label", "id")
    serializer_class = LostReasonSerializer
    allowed_roles = ALL_ROLES
    filterset_fields = ["is_active"]

    def list(self, request, *args, **kwargs):
        # A tenant that never needed one gets the default list to choose from.
        services.lost_reasons_seed(org=self.organization)
        return super().list(request, *args, **kwargs)


router.register("leads", LeadViewSet, basename="lead")
router.register("follow-ups", FollowUpViewSet, basename="follow-up")
router.register("lost-reasons", LostReasonViewSet, basename="lost-reason")
router.register("sla-breaches", SlaBreachViewSet, basename="sla-breach")
router.register("routing-pool-members", RoutingPoolMemberViewSet,
                basename="routing-pool-member")
