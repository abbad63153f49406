from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from flexoraa import services
from flexoraa.api import ALL_ROLES, MANAGING, TenantViewSet, router
from flexoraa.models import ApiKey, AuditEvent, Membership
from flexoraa.serializers import (
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    AuditEventSerializer,
    MembershipSerializer,
    MeSerializer,
    OrganizationSerializer,
)
from flexoraa.tenancy import request_role


class MeView(APIView):
    """Who the caller is: its organization and role. Integrations use it to check a key."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        principal = request.user.get_username()
        body = {
            "organization": OrganizationSerializer(request.organization).data,
            "role": request_role(request),
            "principal": principal,
        }
        return Response(body)


class MembershipViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, TenantViewSet
):
    """The team. Managers see and edit everyone; an SDR sees only their own membership."""

    queryset = Membership.objects.select_related("user")
    serializer_class = MembershipSerializer
    allowed_roles = ALL_ROLES
    http_method_names = ["get", "patch", "head", "options"]
    filterset_fields = ["role", "is_available"]

    def filter_for_sdr(self, queryset, membership):
        return queryset.filter(pk=membership.pk)

    def perform_update(self, serializer):
        if request_role(self.request) not in MANAGING and set(serializer.validated_data) - {
            "is_available"
        }:
            # An SDR (who only ever sees their own row) may say when they are away.
            raise PermissionDenied("SDRs change only their own availability.")
        services.membership_update(
            org=self.organization, membership=serializer.instance, actor=self.actor,
            **serializer.validated_data,
        )


class ApiKeyViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    mixins.DestroyModelMixin, TenantViewSet,
):
    """Integration keys. Created keys are shown once; DELETE revokes (the row is kept)."""

    queryset = ApiKey.objects.all()
    serializer_class = ApiKeySerializer
    allowed_roles = MANAGING

    @extend_schema(responses={201: ApiKeyCreatedSerializer})
    def create(self, request, *args, **kwargs):
        self._refuse_key_management_by_keys()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key, raw_key = services.api_key_create(
            org=self.organization, name=serializer.validated_data["name"], actor=self.actor
        )
        api_key.key = raw_key
        return Response(ApiKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        self._refuse_key_management_by_keys()
        services.api_key_revoke(org=self.organization, api_key=instance, actor=self.actor)

    def _refuse_key_management_by_keys(self):
        # A leaked key must not be able to mint keys that outlive its own revocation.
        if self.request.api_key is not None:
            raise PermissionDenied(
                "API keys cannot create or revoke API keys; a manager does that, signed in."
            )


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The tenant's append-only audit log, newest first."""

    queryset = AuditEvent.objects.order_by("-id")
    serializer_class = AuditEventSerializer
    allowed_roles = MANAGING
    filterset_fields = ["action", "target_type", "target_id"]


router.register("memberships", MembershipViewSet, basename="membership")
router.register("api-keys", ApiKeyViewSet, basename="api-key")
router.register("audit-events", AuditEventViewSet, basename="audit-event")
