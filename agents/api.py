"""The inbox API: channels and templates (read), conversations with their messages, sending,
and the verdict on the NLU's predicted intent. Registered on the one router."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from agents import selectors
from agents.models import Channel, Conversation, Message, SenderKind, Template
from agents.selectors import sdr_reach
from agents.serializers import (
    ChannelSerializer,
    ConversationSerializer,
    IntentVerdictSerializer,
    MessageSendSerializer,
    MessageSerializer,
    TemplateSerializer,
)
from agents.services import inbox, outbound
from flexoraa.api import ALL_ROLES, MANAGING, TenantViewSet, router


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


class ConversationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Conversations, newest activity first. SDRs see theirs; managers and keys all."""

    queryset = Conversation.objects.select_related("channel").order_by("-last_message_at",
                                                                       "-id")
    serializer_class = ConversationSerializer
    allowed_roles = ALL_ROLES
    filterset_fields = ["channel", "lead", "assignee"]

    def filter_for_sdr(self, queryset, membership):
        return queryset.filter(sdr_reach(membership))

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


class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """Messages across the tenant's conversations, newest first."""

    queryset = Message.objects.order_by("-created_at", "-id")
    serializer_class = MessageSerializer
    allowed_roles = ALL_ROLES
    filterset_fields = ["conversation", "direction", "status", "intent_verdict"]

    def filter_for_sdr(self, queryset, membership):
        return queryset.filter(sdr_reach(membership, "conversation__"))

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


router.register("channels", ChannelViewSet, basename="channel")
router.register("templates", TemplateViewSet, basename="template")
router.register("conversations", ConversationViewSet, basename="conversation")
router.register("messages", MessageViewSet, basename="message")
