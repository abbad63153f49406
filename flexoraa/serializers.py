from rest_framework import serializers

from flexoraa.models import ApiKey, AuditEvent, Membership, Organization, Role


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "timezone", "country", "business_hours"]
        read_only_fields = fields


class MeSerializer(serializers.Serializer):
    organization = OrganizationSerializer()
    role = serializers.CharField()
    principal = serializers.CharField()


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    role = serializers.ChoiceField(choices=Role.choices, required=False)

    class Meta:
        model = Membership
        fields = ["id", "username", "role", "capacity", "is_available", "created_at"]
        read_only_fields = ["id", "username", "created_at"]


class ApiKeySerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "is_active", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "is_active", "created_at", "last_used_at",
                            "revoked_at"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "action", "target_type", "target_id", "actor_user", "actor_api_key",
                  "actor_system", "data", "created_at", "prev_hash", "hash"]
        read_only_fields = fields
