"""The manager console. ``TenantAdmin`` is the one base for tenant-owned models: a manager
sees and edits only their own organization's rows; platform superusers see all."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from flexoraa import selectors, services
from flexoraa.actors import Actor
from flexoraa.errors import FlexoraaError
from flexoraa.form_fields import BoundedJSONFormField
from flexoraa.models import (
    ApiKey,
    AuditEvent,
    JobRun,
    Membership,
    Organization,
    Role,
    TenantOwned,
)
from flexoraa.tenancy import role_is_managing

User = get_user_model()

admin.site.site_header = "Flexoraa manager console"
admin.site.site_title = "Flexoraa"
admin.site.index_title = "Your organization"


def is_tenant_manager(request) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and role_is_managing(membership.role)


# JSON a manager types (business hours, settings) is read with bounded nesting and text the
# database can store, so a bad value is a reason on the form, never a 500.
JSON_FORM_FIELDS = {models.JSONField: {"form_class": BoundedJSONFormField}}


def console_actor(request, org: Organization) -> Actor:
    """Who acts in the console on ``org``: the manager's own membership (built once for the
    request), or, for a platform superuser working on another tenant, that person with their
    membership there if they have one."""
    actor = getattr(request, "actor", None)
    if actor is not None and actor.organization_id == org.pk:
        return actor
    membership = Membership.objects.for_org(org).filter(user_id=request.user.pk).first()
    return Actor.for_user(request.user, membership)


class ReadOnlyAdminMixin:
    """Rows no one adds, edits or deletes in the console, superusers included: they change
    only through their services (a ledger, an audit log, a provider's events)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TenantAdmin(admin.ModelAdmin):
    """Scopes rows, foreign-key choices and permissions to ``request.organization``."""

    manager_can_add = False
    manager_can_change = False
    manager_can_delete = False
    formfield_overrides = JSON_FORM_FIELDS

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.for_org(request.organization)

    # A service refusing a change (last manager, owner role …) is told to the manager on
    # the same page; the admin's transaction has already rolled back.
    def _telling_refusals(self, view, request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except FlexoraaError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request, *args, **kwargs):
        return self._telling_refusals(super().changeform_view, request, *args, **kwargs)

    def changelist_view(self, request, *args, **kwargs):
        return self._telling_refusals(super().changelist_view, request, *args, **kwargs)

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser:
            exclude.append("organization")
        return exclude

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser:
            filters.insert(0, "organization")
        return filters

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if not request.user.is_superuser:
            if issubclass(related, TenantOwned):
                kwargs["queryset"] = related.objects.for_org(request.organization)
            elif related is User:
                kwargs["queryset"] = User.objects.filter(
                    memberships__organization=request.organization
                )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_module_permission(self, request):
        return request.user.is_superuser or is_tenant_manager(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request, obj, True)

    def has_add_permission(self, request):
        return request.user.is_superuser or (is_tenant_manager(request) and self.manager_can_add)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj, self.manager_can_change)

    def has_delete_permission(self, request, obj=None):
        return self._allowed(request, obj, self.manager_can_delete)

    def _allowed(self, request, obj, manager_flag):
        if request.user.is_superuser:
            return True
        if not (is_tenant_manager(request) and manager_flag):
            return False
        return obj is None or obj.organization_id == request.organization.pk


class ReadOnlyTenantAdmin(ReadOnlyAdminMixin, TenantAdmin):
    """A tenant's rows, seen and never changed in the console."""


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "country", "created_at"]
    search_fields = ["name", "slug"]
    fields = ["name", "slug", "timezone", "country", "business_hours", "settings"]
    formfield_overrides = JSON_FORM_FIELDS

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        if request.organization is None:
            return queryset.none()
        return queryset.filter(pk=request.organization.pk)

    def get_readonly_fields(self, request, obj=None):
        return [] if request.user.is_superuser else ["slug"]

    def has_module_permission(self, request):
        return request.user.is_superuser or is_tenant_manager(request)

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or (
            is_tenant_manager(request) and (obj is None or obj.pk == request.organization.pk)
        )

    has_change_permission = has_view_permission

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            created = services.organization_create(
                name=obj.name, slug=obj.slug, timezone_name=obj.timezone, country=obj.country,
                business_hours=obj.business_hours, settings=obj.settings,
                actor=Actor.for_user(request.user),
            )
            obj.pk, obj.created_at = created.pk, created.created_at
            return
        services.organization_update(
            org=obj, actor=console_actor(request, obj),
            **{field: getattr(obj, field) for field in form.changed_data
               if field in services.ORGANIZATION_CHANGEABLE},
        )


class MembershipAddForm(forms.ModelForm):
    """Adds a person: creates their login and their membership together."""

    username = forms.CharField(max_length=150)
    email = forms.EmailField()
    password = forms.CharField(widget=forms.PasswordInput, help_text="At least 8 characters.")

    class Meta:
        model = Membership
        fields = ["role", "capacity", "is_available"]

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("That username is taken.")
        return username

    def clean_password(self):
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


@admin.register(Membership)
class MembershipAdmin(TenantAdmin):
    list_display = ["user", "role", "capacity", "is_available", "created_at"]
    list_filter = ["role", "is_available"]
    list_editable = ["capacity", "is_available"]
    search_fields = ["user__username", "user__email"]
    manager_can_add = True
    manager_can_change = True
    fields = ["role", "capacity", "is_available"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "organization")

    @staticmethod
    def _is_owner(request) -> bool:
        membership = getattr(request, "membership", None)
        return request.user.is_superuser or (membership is not None
                                             and membership.role == Role.OWNER)

    def get_readonly_fields(self, request, obj=None):
        # Only owners grant or take away the owner role (the service enforces it too).
        if obj is not None and obj.role == Role.OWNER and not self._is_owner(request):
            return ["role"]
        return []

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and not self._is_owner(request):
            kwargs["choices"] = [c for c in Role.choices if c[0] != Role.OWNER]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = MembershipAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            fields = ["username", "email", "password", "role", "capacity", "is_available"]
            return (["organization", *fields] if request.user.is_superuser else fields)
        return self.fields

    def save_model(self, request, obj, form, change):
        org = obj.organization if request.user.is_superuser and obj.organization_id else (
            request.organization
        )
        if change:
            services.membership_update(
                org=org, membership=Membership.objects.get(pk=obj.pk),
                actor=console_actor(request, org),
                **{field: getattr(obj, field) for field in form.changed_data
                   if field in services.MEMBERSHIP_CHANGEABLE},
            )
            return
        created = services.member_invite(
            org=org, username=form.cleaned_data["username"], email=form.cleaned_data["email"],
            password=form.cleaned_data["password"], role=obj.role, capacity=obj.capacity,
            is_available=obj.is_available, actor=console_actor(request, org),
        )
        obj.pk, obj.user, obj.organization = created.pk, created.user, org


class ApiKeyAddForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name"]


@admin.register(ApiKey)
class ApiKeyAdmin(TenantAdmin):
    list_display = ["name", "prefix", "is_active", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_keys"]
    manager_can_add = True
    manager_can_change = False

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, **kwargs)

    @admin.display(boolean=True)
    def is_active(self, obj):
        return obj.is_active

    def save_model(self, request, obj, form, change):
        org = obj.organization if request.user.is_superuser and obj.organization_id else (
            request.organization
        )
        api_key, raw_key = services.api_key_create(
            org=org, name=form.cleaned_data["name"], actor=console_actor(request, org)
        )
        obj.pk, obj.prefix, obj.organization = api_key.pk, api_key.prefix, org
        obj.raw_key = raw_key

    def response_add(self, request, obj, post_url_continue=None):
        # The key goes out once, in this page's body: never in a redirect's messages cookie
        # or the session, where proxies, logs or a later page could pick it up.
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "api_key": obj, "raw_key": obj.raw_key, "title": "Copy your new API key"}
        return TemplateResponse(request, "admin/flexoraa/apikey/created.html", context)

    @admin.action(description="Revoke the selected keys")
    def revoke_keys(self, request, queryset):
        revoked = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            services.api_key_revoke(org=api_key.organization, api_key=api_key,
                                    actor=console_actor(request, api_key.organization))
            revoked += 1
        already = queryset.count() - revoked
        note = f" ({already} already revoked)" if already else ""
        messages.success(request, f"{revoked} key(s) revoked{note}.")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not (request.user.is_superuser or is_tenant_manager(request)):
            actions.pop("revoke_keys", None)
        return actions

    def has_revoke_keys_permission(self, request):
        return request.user.is_superuser or is_tenant_manager(request)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyTenantAdmin):
    list_display = ["id", "created_at", "action", "target", "actor"]
    list_filter = ["action"]
    search_fields = ["action", "target_id"]
    ordering = ["-id"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
    change_list_template = "admin/flexoraa/auditevent/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor_user", "actor_api_key")

    @admin.display(description="target")
    def target(self, obj):
        return f"{obj.target_type} #{obj.target_id}" if obj.target_type else "—"

    @admin.display(description="actor")
    def actor(self, obj):
        if obj.actor_user_id:
            return obj.actor_user.get_username()
        if obj.actor_api_key_id:
            return f"API key {obj.actor_api_key.prefix}…"
        return f"system ({obj.actor_system})" if obj.actor_system else "system"

    def get_urls(self):
        verify = self.admin_site.admin_view(self.verify_chain_view)
        return [path("verify/", verify, name="flexoraa_auditevent_verify"), *super().get_urls()]

    def verify_chain_view(self, request):
        """Checks the chain of the manager's organization (a superuser: every organization)."""
        if request.method != "POST" or not self.has_view_permission(request):
            raise PermissionDenied
        organizations = (Organization.objects.order_by("name") if request.user.is_superuser
                         else [request.organization])
        for org in organizations:
            found = selectors.audit_chain_first_break(org)
            if found is None:
                messages.success(request, f"{org.name}: the audit chain verifies.")
            else:
                messages.error(
                    request, f"{org.name}: event #{found.event_id} is broken: {found.reason}."
                )
        return HttpResponseRedirect(reverse("admin:flexoraa_auditevent_changelist"))


@admin.register(JobRun)
class JobRunAdmin(admin.ModelAdmin):
    """Platform-wide job history: superusers only (the default Django permissions)."""

    list_display = ["name", "started_at", "finished_at", "outcome"]
    list_filter = ["name", "outcome"]
    readonly_fields = ["name", "started_at", "finished_at", "outcome", "detail"]

    def has_add_permission(self, request):
        return False



# The deliveries page lives with the webhook inbox; registering it here puts it in the console.
from flexoraa.webhooks import admin as webhooks_admin  # noqa: E402, F401
