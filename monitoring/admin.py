"""Model versions in the console: platform data, read by superusers."""

from django.contrib import admin

from flexoraa.admin import ReadOnlyAdminMixin
from monitoring.models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "version", "is_active", "trained_at", "activated_at"]
    list_filter = ["name", "is_active"]
    readonly_fields = ["name", "version", "artefact_sha256", "metrics", "trained_at",
                       "is_active", "activated_at"]

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

