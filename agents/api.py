"""The inbox API: channels and templates (read), conversations with their messages, sending,
and the verdict on the NLU's predicted intent. Registered on the one router."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from agents import selectors
from agents.models import CannedReply, Channel, Conversation, Message, SenderKind, Template
from agents.selectors import sdr_reach
from agents.serializers import (
    CannedReplySerializer,
    ChannelSerializer,
    ConversationSerializer,
    IntentVerdictSerializer,
    MessageSendSerializer,
    MessageSerializer,
    TemplateSerializer,
)
from agents.services import inbox, outbound
from flexoraa.api import ALL_ROLES, MANAGING, TenantViewSet, router
from flexoraa.filters import TenantFilterSet
from flexoraa.models import Membership
from flexoraa.tenancy import role_is_managing
from leads import services as lead_services


def _sdr_tiers(request) -> list[str]:
    return lead_services.queue_tiers_for(request.organization, request.membership)


class ChannelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The tenant's connected channels (managers and API keys). Tokens are never returned."""

    queryset = Channel.objects.order_by("kind", "id")
    serializer_class = ChannelSerializer
    allowed_roles = MANAGING


class TemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Approved message templates, sendable outside the WhatsApp 24-hour window."""

    queryset = Template.objects.order_by("name", "language", "id")
    serializer_class = TemplateSerializer
    allowed_roles = ALL_ROLES
    filterset_fields = ["channel", "approved", "for_recovery"]

    def filter_for_sdr(self, queryset, membership):
        return queryset


class ConversationFilter(TenantFilterSet):
    """The inbox's views and orders, for the API. ``assignee`` is who holds the conversation
    (the lead's owner; see ``Conversation.assignee``)."""

    assignee = django_filters.ModelChoiceFilter(queryset=Membership.objects.all(),
                                                method="filter_assignee")
    view = django_filters.ChoiceFilter(
        choices=[(v, v) for v in selectors.VIEWS], method="filter_view",
        help_text="mine: the caller's own (people only); unassigned: nobody's; all: the "
                  "whole tenant (managers and API keys). Without it: all the caller reaches.")
    unread = django_filters.BooleanFilter(method="filter_unread",
                                          help_text="Only those with unread messages.")
    sort = django_filters.ChoiceFilter(
        choices=[(v, v) for v in selectors.SORTS], method="filter_sort",
        help_text="urgent: waiting for a first response, breached first, then the soonest "
                  "deadline; recent (the default): latest activity first; oldest.")

    class Meta:
        model = Conversation
        fields = ["channel", "lead"]

    @extend_schema_field(OpenApiTypes.INT)  # a membership id; the schema cannot guess it
    def filter_assignee(self, queryset, name, value):
        return selectors.with_assignee(queryset).filter(assignee_pk=value.pk)

    def filter_view(self, queryset, name, value):
        membership = getattr(self.request, "membership", None)
        if value == selectors.MINE:
            if membership is None:
                raise ValidationError({"view": [
                    "An API key has no conversations of its own; use view=all, or "
                    "assignee=<membership id> for one person's."]})
            return queryset.filter(selectors.held_by(membership))
        if value == selectors.UNASSIGNED:
            return queryset.filter(selectors.unassigned())
        if membership is not None and not role_is_managing(membership.role):
            raise PermissionDenied("All conversations are for managers; use view=mine or "
                                   "view=unassigned.")
        return queryset

    def filter_unread(self, queryset, name, value):
        return queryset.filter(unread_count__gt=0) if value else queryset

    def filter_sort(self, queryset, name, value):
        return selectors.sorted_by(queryset, value)


class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Conversations, newest activity first (``sort`` for others). SDRs see those they hold,
    those of their leads and the unassigned ones of the tiers they may take; managers and
    keys all. ``unread_count`` is the caller's own; for an API key, which has no person, it
    is the assignee's (null when nobody holds the conversation)."""

    queryset = Conversation.objects.select_related("channel").order_by("-last_message_at",
                                                                       "-id")
    serializer_class = ConversationSerializer
    allowed_roles = ALL_ROLES
    filterset_class = ConversationFilter

    def scope_queryset(self, queryset):
        reader = getattr(self.request, "membership", None)
        return selectors.with_unread(selectors.with_assignee(queryset), reader)

    def filter_for_sdr(self, queryset, membership):
        return queryset.filter(sdr_reach(membership, _sdr_tiers(self.request)))

    def get_serializer_class(self):
        return {"send": MessageSendSerializer}.get(self.action, ConversationSerializer)

    @extend_schema(responses=MessageSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def messages(self, request, pk=None):
        """The conversation's latest messages, oldest first."""
        conversation = self.get_object()
        thread = selectors.thread_messages(self.organization, conversation)
        return Response(MessageSerializer(thread, many=True).data)

    @extend_schema(request=MessageSendSerializer, responses={
        201: MessageSerializer,
        200: OpenApiResponse(MessageSerializer, description="This client_id was sent before; "
                                                            "the first message."),
        409: OpenApiResponse(description="The window is closed (send a template), or the "
                                         "lead opted out."),
    })
    @action(detail=True, methods=["post"], filter_backends=[])
    def send(self, request, pk=None):
        """Send (or schedule) a message on the conversation's channel."""
        conversation = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        person = getattr(request, "api_key", None) is None
        client_id = values.get("client_id")
        existed = bool(client_id) and selectors.client_id_used(self.organization, client_id)
        message = outbound.message_send(
            org=self.organization, conversation=conversation,
            sender=SenderKind.SDR if person else SenderKind.SYSTEM,
            author=request.membership if person else None,
            text=values.get("text") or "", template=values.get("template"),
            template_params=values.get("template_params") or [],
            scheduled_for=values.get("scheduled_for"), client_id=client_id,
        )
        return Response(MessageSerializer(message).data,
                        status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


    @extend_schema(request=None, responses=ConversationSerializer)
    @action(detail=True, methods=["post"], filter_backends=[])
    def read(self, request, pk=None):
        """Mark the conversation read for the caller (their own unread count only)."""
        conversation = self.get_object()
        if getattr(request, "membership", None) is None:
            raise PermissionDenied("An API key has no unread messages of its own; only a "
                                   "person marks a conversation read.")
        inbox.conversation_mark_read(org=self.organization, conversation=conversation,
                                     actor=self.actor)
        return Response(self.get_serializer(self.get_object()).data)


class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Messages across the tenant's conversations, newest first."""

    queryset = Message.objects.order_by("-created_at", "-id")
    serializer_class = MessageSerializer
    allowed_roles = ALL_ROLES
    filterset_fields = ["conversation", "direction", "status", "intent_verdict"]

    def filter_for_sdr(self, queryset, membership):
        return queryset.filter(sdr_reach(membership, _sdr_tiers(self.request),
                                         "conversation__"))

    def get_serializer_class(self):
        return {"intent_verdict": IntentVerdictSerializer}.get(self.action, MessageSerializer)

    @extend_schema(request=IntentVerdictSerializer, responses=MessageSerializer)
    @action(detail=True, methods=["post"], url_path="intent-verdict", filter_backends=[])
    def intent_verdict(self, request, pk=None):
        """Mark the NLU's predicted intent on an inbound message right or wrong."""
        message = self.get_object()
        if getattr(request, "membership", None) is None:
            raise PermissionDenied("Only a person in this organization can judge an intent.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = inbox.intent_verdict_record(
            org=self.organization, message=message,
            verdict=serializer.validated_data["verdict"], actor=self.actor,
        )
        return Response(MessageSerializer(message).data)


class CannedReplyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The tenant's canned replies (managers keep them in the console). Bodies hold their
    placeholders ({first_name}, {last_name}, {name}, {my_name}, {company}) unfilled."""

    queryset = CannedReply.objects.order_by("shortcut", "id")
    serializer_class = CannedReplySerializer
    allowed_roles = ALL_ROLES
    filterset_fields = ["shortcut"]

    def filter_for_sdr(self, queryset, membership):
        return queryset


router.register("channels", ChannelViewSet, basename="channel")
router.register("templates", TemplateViewSet, basename="template")
router.register("conversations", ConversationViewSet, basename="conversation")
router.register("messages", MessageViewSet, basename="message")
router.register("canned-replies", CannedReplyViewSet, basename="canned-reply")
