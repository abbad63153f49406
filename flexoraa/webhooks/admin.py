"""The console's page of webhook deliveries: every provider's, filterable by provider, state
and tenant, with the failed ones' errors and a replay. Managers see their own organization's
deliveries; a delivery no tenant was matched to is seen by platform superusers only."""

import json

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from flexoraa.actors import Actor
from flexoraa.admin import ReadOnlyTenantAdmin
from flexoraa.models import WebhookDelivery
from flexoraa.webhooks import services


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyTenantAdmin):
    # Few columns, so the error still shows beside the filters at a laptop's width; the
    # event type, the next try and the sanitized mark are on each delivery's page.
    list_display = ["event_id", "received", "provider", "state", "attempts", "short_error"]
    list_filter = ["provider", "state", "sanitized", "outcome"]
    search_fields = ["event_id"]
    date_hierarchy = "received_at"
    actions = ["replay"]
    fields = ["provider", "event_id", "event_type", "organization", "state", "outcome",
              "attempts", "received_at", "processed_at", "next_attempt_at", "sanitized",
              "last_error", "payload_pretty"]
    readonly_fields = fields
    list_per_page = 50
    show_full_result_count = False  # a count of every delivery is a full scan

    @admin.display(description="received", ordering="received_at")
    def received(self, delivery):
        return date_format(timezone.localtime(delivery.received_at), "j M, H:i")

    @admin.display(description="error")
    def short_error(self, delivery):
        error = delivery.last_error
        return error if len(error) <= 40 else error[:39] + "…"

    @admin.display(description="payload")
    def payload_pretty(self, delivery):
        text = json.dumps(delivery.payload, indent=2, ensure_ascii=False, sort_keys=True)
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', text)

    @admin.action(description="Replay the selected failed deliveries")
    def replay(self, request, queryset):
        actor = getattr(request, "actor", None) or Actor.for_user(
            request.user, getattr(request, "membership", None))
        replayed = services.deliveries_replay(deliveries=list(queryset), actor=actor)
        skipped = queryset.count() - replayed
        message = f"{replayed} deliveries queued again."
        if skipped:
            message += f" {skipped} were not failed and were left as they are."
        self.message_user(request, message, messages.SUCCESS if replayed else messages.WARNING)
