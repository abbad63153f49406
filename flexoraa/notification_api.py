"""The notification centre in the API: the signed-in person's own notifications, and marking
them read. A notification belongs to a person, so an API key (which is nobody) is refused
with a 403 that says so; another person's notification is a 404 like one that does not
exist."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from flexoraa import selectors
from flexoraa.api import TenantViewSet, router
from flexoraa.filters import TenantFilterSet
from flexoraa.models import Membership, Notification
from flexoraa.notifications import notifications_mark_read

BIGINT_MAX = 2**63 - 1
READ_IDS_MAX = 500
NO_PERSON = ("Notifications belong to a person, and an API key is not one: sign in to read "
             "your notifications.")


class NotificationSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "kind", "kind_label", "title", "body", "url", "created_at", "read_at",
                  "is_read"]
        read_only_fields = fields


class IdListField(serializers.ListField):
    """A list of ids whose refusal is a flat list of sentences naming each bad item (the
    error shape's ``fields`` hold lists of strings, not an index of nested errors)."""

    def run_child_validation(self, data):
        values, problems = [], []
        for index, item in enumerate(data):
            try:
                values.append(self.child.run_validation(item))
            except serializers.ValidationError as error:
                details = error.detail if isinstance(error.detail, list) else [error.detail]
                problems.append(f"Item {index}: {' '.join(str(detail) for detail in details)}")
        if problems:
            more = len(problems) - 3
            raise serializers.ValidationError(
                problems[:3] + ([f"And {more} more item{'s' if more != 1 else ''}."]
                                if more > 0 else []))
        return values


class NotificationReadSerializer(serializers.Serializer):
    ids = IdListField(
        child=serializers.IntegerField(min_value=1, max_value=BIGINT_MAX), required=False,
        allow_empty=False, max_length=READ_IDS_MAX,
        help_text=f"Ids of your notifications to mark read (at most {READ_IDS_MAX}); ids that "
                  "are not yours change nothing.",
    )
    all = serializers.BooleanField(required=False, help_text="true: mark all of them read.")

    def validate(self, data):
        if ("ids" in data) == bool(data.get("all")):
            raise serializers.ValidationError(
                "Give either ids (a list of your notification ids) or all: true.")
        return data


class NotificationReadResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text="How many were unread and are read now.")
    unread = serializers.IntegerField(help_text="How many stay unread (counted up to 100).")


class NotificationFilter(TenantFilterSet):
    unread = django_filters.BooleanFilter(field_name="read_at", lookup_expr="isnull",
                                          label="true: only the unread ones.")

    class Meta:
        model = Notification
        fields = ["kind", "unread"]


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, TenantViewSet):
    """The caller's own notifications, newest first (``?unread=true`` for the unread ones),
    and ``POST read/`` to mark some or all of them read. Managers read only their own too."""

    queryset = Notification.objects.all()
    serializer_class = NotificationSerializer
    filterset_class = NotificationFilter
    http_method_names = ["get", "post", "head", "options"]

    def scope_queryset(self, queryset):
        membership: Membership | None = self.request.membership
        if membership is None:
            return queryset.none()  # an API key holds no notifications
        return queryset.filter(recipient=membership).order_by("-created_at", "-id")

    def filter_for_sdr(self, queryset, membership):
        return queryset  # already the person's own

    def get_serializer_class(self):
        if self.action == "read":
            return NotificationReadSerializer
        return super().get_serializer_class()

    def _person(self) -> Membership:
        if self.request.membership is None:
            raise exceptions.PermissionDenied(NO_PERSON)
        return self.request.membership

    def list(self, request, *args, **kwargs):
        self._person()
        return super().list(request, *args, **kwargs)

    @extend_schema(request=NotificationReadSerializer,
                   responses={200: NotificationReadResultSerializer})
    @action(detail=False, methods=["post"], url_path="read")
    def read(self, request):
        membership = self._person()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = notifications_mark_read(org=self.organization, recipient=membership,
                                         ids=serializer.validated_data.get("ids"))
        unread = selectors.notification_unread_count(self.organization, membership)
        return Response({"marked": marked, "unread": unread})


router.register("notifications", NotificationViewSet, basename="notification")
