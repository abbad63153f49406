"""DRF serializers of the inbox API. Tokens never leave the server."""

from rest_framework import serializers

from agents.models import (
    CannedReply,
    Channel,
    Conversation,
    IntentVerdict,
    Message,
    Template,
)
from agents.window import TEXT_LIMITS, window_closes_at
from flexoraa.api import TenantScopedPrimaryKeyField


class ChannelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Channel
        fields = ["id", "kind", "external_id", "name", "status", "status_reason",
                  "last_polled_at", "created_at"]
        read_only_fields = fields


class TemplateSerializer(serializers.ModelSerializer):
    class Meta:
        model = Template
        fields = ["id", "channel", "name", "language", "body", "param_count", "approved",
                  "for_recovery"]
        read_only_fields = fields


class ConversationSerializer(serializers.ModelSerializer):
    channel_kind = serializers.CharField(source="channel.kind", read_only=True)
    window_closes_at = serializers.SerializerMethodField()
    assignee = serializers.IntegerField(
        source="assignee_pk", read_only=True, allow_null=True,
        help_text="Who holds the conversation: its lead's owner (for a closed lead, whom "
                  "the conversation was handed to).")
    unread_count = serializers.IntegerField(
        read_only=True, allow_null=True,
        help_text="Messages from the lead the caller has not read. For an API key: the "
                  "assignee's, null when nobody holds the conversation.")

    class Meta:
        model = Conversation
        fields = ["id", "channel", "channel_kind", "lead", "contact_id", "contact_name",
                  "assignee", "unread_count", "last_message_at", "last_inbound_at",
                  "last_outbound_at", "window_closes_at", "recovery_count", "created_at"]
        read_only_fields = fields

    def get_window_closes_at(self, conversation) -> str | None:
        closes = window_closes_at(conversation.last_inbound_at)
        return None if closes is None else serializers.DateTimeField().to_representation(closes)


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ["id", "conversation", "direction", "sender", "author", "kind", "body",
                  "subject", "template", "template_params", "attachments",
                  "provider_message_id", "client_id", "status", "error_code", "error_message",
                  "created_at", "scheduled_for", "sent_at", "delivered_at", "read_at", "tag",
                  "predicted_intent", "intent_confidence", "intent_verdict"]
        read_only_fields = fields


class MessageSendSerializer(serializers.Serializer):
    text = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                 max_length=max(TEXT_LIMITS.values()),
                                 help_text="Free text (only while the channel allows it).")
    template = TenantScopedPrimaryKeyField(queryset=Template.objects.all(), required=False,
                                           allow_null=True,
                                           help_text="An approved template of this channel.")
    template_params = serializers.ListField(child=serializers.CharField(max_length=1024),
                                            required=False, default=list, max_length=20)
    scheduled_for = serializers.DateTimeField(required=False, allow_null=True,
                                              help_text="Send later, at this time.")
    client_id = serializers.CharField(required=False, max_length=64, allow_blank=False,
                                      help_text="Your id for this message: sending the same "
                                                "id again returns the first message.")

    def validate(self, attrs):
        has_text = bool((attrs.get("text") or "").strip())
        has_template = attrs.get("template") is not None
        if has_text == has_template:
            raise serializers.ValidationError(
                {"text": ["Give either text or a template, not both and not neither."]}
            )
        return attrs


class CannedReplySerializer(serializers.ModelSerializer):
    class Meta:
        model = CannedReply
        fields = ["id", "title", "shortcut", "body", "created_at", "updated_at"]
        read_only_fields = fields


class IntentVerdictSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=IntentVerdict.choices)
