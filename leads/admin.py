"""LeadOS in the manager console: leads (with reassignment), SLA breaches, routing pools,
lead settings and lost reasons. Every write goes through a service."""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse

from flexoraa.admin import TenantAdmin, console_actor, is_tenant_manager
from flexoraa.models import Organization
from leads import csv_import, selectors, services
from leads.errors import CsvHeaderRefused
from leads.models import (
    Lead,
    LeadAssignment,
    LeadSettings,
    LostReason,
    RoutingPoolMember,
    SlaBreach,
)
from leads.services.config import SETTINGS_FIELDS


class LeadAssignmentInline(admin.TabularInline):
    model = LeadAssignment
    fk_name = "lead"
    extra = 0
    can_delete = False
    fields = ["created_at", "reason", "from_owner", "to_owner", "detail", "actor"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class LeadReassignForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=None, label="Hand the selected leads to")
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = selectors.assignable_members(organization)


def csv_upload_limit() -> int:
    """The upload limit: ours, or the site's request-body limit when that is lower (the
    middleware refuses a larger body before the view could say why)."""
    return min(csv_import.CSV_UPLOAD_MAX_BYTES, settings.UPLOAD_BODY_LIMIT_BYTES)


class LeadCsvImportForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.order_by("name"),
        help_text="The organization the leads belong to.",
    )
    file = forms.FileField(label="CSV file")

    def __init__(self, *args, pick_organization: bool, max_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes
        # A manager imports into their own organization; only a superuser picks one.
        if not pick_organization:
            del self.fields["organization"]
        self.fields["file"].help_text = (
            f"UTF-8 CSV with a header row, up to {filesizeformat(max_bytes)}."
        )
        self.fields["file"].widget.attrs.update({"accept": ".csv,text/csv",
                                                 "data-max-bytes": str(max_bytes)})

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.max_bytes:
            raise forms.ValidationError(
                f"This file is {filesizeformat(upload.size)}; the limit is "
                f"{filesizeformat(self.max_bytes)}. Split it into smaller files, or have it "
                f"imported on the server with 'manage.py import_leads'."
            )
        return upload


@admin.register(Lead)
class LeadAdmin(TenantAdmin):
    list_display = ["__str__", "tier", "score", "status", "owner", "source",
                    "verification_status", "first_response_due_at", "sla_breached_at",
                    "created_at"]
    list_filter = ["tier", "status", "source", "verification_status"]
    search_fields = ["name", "email", "phone"]
    list_select_related = ["owner__user", "organization"]
    ordering = ["-id"]
    inlines = [LeadAssignmentInline]
    actions = ["reassign_leads"]
    readonly_fields = [
        "name", "phone", "email", "source", "status", "tier", "score", "score_breakdown",
        "owner", "assigned_at", "need", "budget_amount", "budget_currency", "authority",
        "timeline", "intent", "intent_confidence", "inbound_count", "last_reply_seconds",
        "verification_status", "verification", "first_response_due_at", "first_response_at",
        "sla_breached_at", "leak_due_at", "leak_moves", "last_inbound_at", "last_outbound_at",
        "created_at", "updated_at",
    ]
    # Managers read leads here and reassign them with the action; edits go through the
    # dashboard and the API, which validate and rescore.
    manager_can_change = False
    # Adds the "Import leads from CSV" button; whoever sees this list may import.
    change_list_template = "admin/leads/lead/change_list.html"

    def get_urls(self):
        import_view = self.admin_site.admin_view(self.import_csv_view)
        return [path("import/", import_view, name="leads_lead_import"), *super().get_urls()]

    def import_csv_view(self, request):
        """Upload a CSV of leads: a manager into their organization, a superuser into the
        one they pick. Shows the summary and the rejected rows on the same page."""
        if not (request.user.is_superuser or is_tenant_manager(request)):
            raise PermissionDenied
        pick_organization = request.user.is_superuser
        limit = csv_upload_limit()
        report = organization = None
        if request.method == "POST":
            form = LeadCsvImportForm(request.POST, request.FILES, max_bytes=limit,
                                     pick_organization=pick_organization)
            if form.is_valid():
                organization = (form.cleaned_data["organization"] if pick_organization
                                else request.organization)
                upload = form.cleaned_data["file"]
                try:
                    report = csv_import.leads_import_csv(
                        org=organization, file=upload,
                        actor=console_actor(request, organization),
                    )
                except CsvHeaderRefused as exc:
                    form.add_error("file", exc.message)
                finally:
                    upload.close()
        else:
            form = LeadCsvImportForm(max_bytes=limit, pick_organization=pick_organization,
                                     initial={"organization": request.organization})
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": "Import leads from CSV", "form": form, "report": report,
            "organization": organization, "column_guide": csv_import.COLUMN_GUIDE,
            "upload_limit": limit,
        }
        return TemplateResponse(request, "admin/leads/lead/import.html", context)

    @admin.action(description="Reassign the selected leads…")
    def reassign_leads(self, request, queryset):
        organization = request.organization
        if "apply" in request.POST:
            form = LeadReassignForm(request.POST, organization=organization)
            if form.is_valid():
                owner = form.cleaned_data["owner"]
                # The owner's tenant: a superuser's selection may span tenants, and leads
                # of another one than the owner's are not this owner's to take.
                org = owner.organization
                result = services.leads_reassign_bulk(
                    org=org, lead_ids=list(queryset.values_list("pk", flat=True)),
                    owner_id=owner.pk, actor=console_actor(request, org),
                    note=form.cleaned_data["note"],
                )
                notes = []
                if result.closed:
                    notes.append(f"{result.closed} closed lead(s) left as they were")
                if result.not_found:
                    notes.append(f"{result.not_found} lead(s) of another organization left out")
                note = f"; {'; '.join(notes)}" if notes else ""
                self.message_user(request, f"{result.moved} lead(s) reassigned{note}.",
                                  messages.SUCCESS)
                return None
        else:
            form = LeadReassignForm(organization=organization)
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": "Reassign leads", "form": form, "leads": queryset,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/leads/lead/reassign.html", context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not (request.user.is_superuser or request.organization is not None):
            actions.pop("reassign_leads", None)
        return actions


@admin.register(SlaBreach)
class SlaBreachAdmin(TenantAdmin):
    list_display = ["lead", "tier", "owner", "due_at", "breached_at", "acknowledged_at"]
    list_filter = ["tier", ("acknowledged_at", admin.EmptyFieldListFilter)]
    list_select_related = ["lead", "owner__user"]
    readonly_fields = ["lead", "owner", "tier", "due_at", "breached_at", "acknowledged_at",
                       "acknowledged_by"]
    actions = ["acknowledge"]

    @admin.action(description="Acknowledge the selected breaches")
    def acknowledge(self, request, queryset):
        count = 0
        for breach in queryset.filter(acknowledged_at__isnull=True):
            services.breach_acknowledge(org=breach.organization, breach=breach,
                                        actor=console_actor(request, breach.organization))
            count += 1
        self.message_user(request, f"{count} breach(es) acknowledged.", messages.SUCCESS)


@admin.register(RoutingPoolMember)
class RoutingPoolMemberAdmin(TenantAdmin):
    list_display = ["tier", "membership"]
    list_filter = ["tier"]
    list_select_related = ["membership__user"]
    fields = ["tier", "membership"]
    manager_can_add = True
    manager_can_delete = True

    def save_model(self, request, obj, form, change):
        org = obj.organization if request.user.is_superuser and obj.organization_id else (
            request.organization
        )
        created = services.routing_pool_member_add(
            org=org, tier=obj.tier, membership=obj.membership, actor=console_actor(request, org)
        )
        obj.pk, obj.organization = created.pk, org

    def delete_model(self, request, obj):
        services.routing_pool_member_remove(org=obj.organization, member=obj,
                                            actor=console_actor(request, obj.organization))

    def delete_queryset(self, request, queryset):
        for member in queryset:
            self.delete_model(request, member)


@admin.register(LeadSettings)
class LeadSettingsAdmin(TenantAdmin):
    list_display = ["__str__", "hot_threshold", "warm_threshold", "sla_hot_minutes",
                    "sla_warm_minutes", "sla_cold_minutes", "leak_multiplier", "max_leak_moves"]
    manager_can_change = True
    fieldsets = [
        ("Scoring weights (each factor scores 0-20)", {"fields": [
            "weight_intent", "weight_budget", "weight_authority", "weight_timeline",
            "weight_engagement"]}),
        ("Tiers", {"fields": ["hot_threshold", "warm_threshold", "target_deal_amount",
                              "target_deal_currency"]}),
        ("First-response targets, in business hours", {"fields": [
            "sla_hot_minutes", "sla_warm_minutes", "sla_cold_minutes"]}),
        ("Leakage prevention", {"fields": ["leak_multiplier", "max_leak_moves"]}),
    ]

    def save_model(self, request, obj, form, change):
        org = obj.organization if request.user.is_superuser and obj.organization_id else (
            request.organization
        )
        saved = services.lead_settings_update(
            org=org, actor=console_actor(request, org),
            **{field: form.cleaned_data[field] for field in form.changed_data
               if field in SETTINGS_FIELDS},
        )
        obj.pk = saved.pk

    def changelist_view(self, request, extra_context=None):
        # A manager has exactly one settings row: open it (made with the defaults on first use).
        if not request.user.is_superuser and request.organization is not None:
            saved = services.lead_settings_update(org=request.organization,
                                                  actor=request.actor)
            return HttpResponseRedirect(
                reverse("admin:leads_leadsettings_change", args=[saved.pk])
            )
        return super().changelist_view(request, extra_context)


@admin.register(LostReason)
class LostReasonAdmin(TenantAdmin):
    """Each tenant's reasons a lead is lost: managers add, rename, reorder and retire them.
    A manager opening the list for the first time finds the default list to start from."""

    list_display = ["label", "position", "is_active"]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["label"]
    ordering = ["position", "label"]
    fields = ["label", "position", "is_active"]
    manager_can_add = True
    manager_can_change = True
    manager_can_delete = True

    def changelist_view(self, request, extra_context=None):
        if request.organization is not None:
            services.lost_reasons_seed(org=request.organization)
        return super().changelist_view(request, extra_context)

    def _org(self, request, obj):
        if request.user.is_superuser and obj.organization_id:
            return obj.organization
        return request.organization

    def save_model(self, request, obj, form, change):
        org = self._org(request, obj)
        actor = console_actor(request, org)
        if change:
            saved = services.lost_reason_update(
                # The list's inline edits carry position and active only.
                org=org, reason=obj, actor=actor, label=form.cleaned_data.get("label"),
                position=form.cleaned_data.get("position"),
                is_active=form.cleaned_data.get("is_active"))
        else:
            saved = services.lost_reason_create(
                org=org, label=obj.label, position=obj.position, is_active=obj.is_active,
                actor=actor)
        obj.pk, obj.organization = saved.pk, org

    def delete_model(self, request, obj):
        services.lost_reason_delete(org=obj.organization, reason=obj,
                                    actor=console_actor(request, obj.organization))

    def delete_queryset(self, request, queryset):
        for reason in queryset:
            self.delete_model(request, reason)
