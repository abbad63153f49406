"""Channels, templates, canned replies and inbox settings in the manager console; conversations
and messages read-only (they change through the inbox and the providers' events).

Access tokens are write-only here: the form never shows the stored one, and leaving the field
blank keeps it. Gmail mailboxes are connected through Google's consent screen, not typed in.
"""

from django import forms
from django.contrib import admin
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from agents import canned as canned_text
from agents import selectors
from agents.models import (
    CannedReply,
    Channel,
    ChannelKind,
    Conversation,
    InboxSettings,
    Message,
    Template,
)
from agents.services import canned as canned_services
from agents.services import channels as services
from flexoraa.admin import TenantAdmin, console_actor


def _org_of(request, obj=None):
    if obj is not None and obj.organization_id:
        return obj.organization
    return request.organization


class ChannelForm(forms.ModelForm):
    access_token = forms.CharField(
        required=False, strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="The page or system-user access token Meta issued. Never shown again; "
                  "leave blank to keep the stored one.",
    )

    class Meta:
        model = Channel
        fields = ["kind", "external_id", "name"]
        help_texts = {
            "external_id": "WhatsApp: the phone_number_id. Instagram: the account id. "
                           "Messenger: the page id.",
        }

    def clean_kind(self):
        kind = self.cleaned_data["kind"]
        if kind == ChannelKind.GMAIL and not self.instance.pk:
            raise forms.ValidationError(
                "Connect a Gmail mailbox with the 'Connect Gmail' link above: Google must "
                "grant access first."
            )
        return kind


@admin.register(Channel)
class ChannelAdmin(TenantAdmin):
    form = ChannelForm
    list_display = ["__str__", "kind", "external_id", "status", "last_polled_at", "created_at"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "external_id"]
    manager_can_add = True
    manager_can_change = True
    change_list_template = "agents/admin/channel_change_list.html"

    def get_readonly_fields(self, request, obj=None):
        fixed = ["status", "status_reason", "last_polled_at"]
        return fixed + (["kind", "external_id"] if obj is not None else [])

    def get_fields(self, request, obj=None):
        fields = ["kind", "external_id", "name", "access_token", "status", "status_reason",
                  "last_polled_at"]
        if obj is not None and obj.kind == ChannelKind.GMAIL:
            fields.remove("access_token")
        return fields

    def changelist_view(self, request, extra_context=None):
        try:
            connect_url = reverse("inbox-gmail-connect")
        except NoReverseMatch:
            connect_url = ""
        return super().changelist_view(
            request, extra_context={**(extra_context or {}), "gmail_connect_url": connect_url}
        )

    def save_model(self, request, obj, form, change):
        org = _org_of(request, obj if change else None)
        token = form.cleaned_data.get("access_token") or ""
        if change:
            # The form has already set the new values on obj; the service compares against
            # the stored row.
            stored = Channel.objects.for_org(org).get(pk=obj.pk)
            services.channel_update(org=org, channel=stored, actor=console_actor(request, org),
                                    name=form.cleaned_data.get("name"), access_token=token)
            return
        created = services.channel_create(
            org=org, kind=form.cleaned_data["kind"], external_id=form.cleaned_data["external_id"],
            name=form.cleaned_data.get("name", ""), access_token=token,
            actor=console_actor(request, org),
        )
        obj.pk = created.pk


class TemplateForm(forms.ModelForm):
    class Meta:
        model = Template
        fields = ["channel", "name", "language", "body", "approved", "for_recovery"]
        help_texts = {
            "name": "Exactly as approved in WhatsApp Manager.",
            "body": "The approved text, with {{1}}, {{2}} … where parameters go.",
            "for_recovery": "Cold recovery sends this one when the lead's window is closed.",
        }


@admin.register(Template)
class TemplateAdmin(TenantAdmin):
    form = TemplateForm
    list_display = ["name", "language", "channel", "param_count", "approved", "for_recovery"]
    list_filter = ["approved", "for_recovery", "channel__kind"]
    search_fields = ["name", "body"]
    manager_can_add = True
    manager_can_change = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("channel")

    def save_model(self, request, obj, form, change):
        values = {field: form.cleaned_data[field] for field in
                  ("name", "language", "body", "approved", "for_recovery")}
        if change:
            services.template_update(org=obj.organization, template=obj,
                                     actor=console_actor(request, obj.organization), **values)
            return
        org = _org_of(request)
        created = services.template_create(org=org, channel=form.cleaned_data["channel"],
                                           actor=console_actor(request, org), **values)
        obj.pk = created.pk


@admin.register(InboxSettings)
class InboxSettingsAdmin(TenantAdmin):
    list_display = ["__str__", "recovery_enabled", "recovery_max_attempts",
                    "recovery_after_hours"]
    manager_can_change = True
    fieldsets = [
        ("Cold recovery", {"fields": ["recovery_enabled", "recovery_after_hours",
                                      "recovery_max_attempts", "recovery_text"]}),
    ]

    def save_model(self, request, obj, form, change):
        services.inbox_settings_update(
            org=obj.organization, actor=console_actor(request, obj.organization),
            **{field: form.cleaned_data[field] for field in services.INBOX_SETTINGS_FIELDS},
        )


class ReadOnlyAdmin(TenantAdmin):
    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "lead", "assigned_to", "last_inbound_at",
                    "last_message_at", "recovery_count", "open_in_inbox"]
    list_filter = ["channel__kind"]
    list_select_related = ["channel", "lead__owner__user", "handed_to__user"]
    search_fields = ["contact_name", "contact_id"]

    @admin.display(description="assignee")
    def assigned_to(self, obj):
        return obj.assignee or "-"

    @admin.display(description="inbox")
    def open_in_inbox(self, obj):
        try:
            return format_html('<a href="{}">Open</a>',
                               reverse("inbox-thread", args=[obj.pk]))
        except NoReverseMatch:
            return ""


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "conversation", "direction", "sender", "kind", "status",
                    "predicted_intent", "intent_verdict"]
    list_filter = ["direction", "sender", "status", "intent_verdict"]
    list_select_related = ["conversation__channel"]
    search_fields = ["provider_message_id", "client_id"]


class CannedReplyForm(forms.ModelForm):
    """Refusals beside their field: a taken shortcut, a placeholder that does not exist."""

    class Meta:
        model = CannedReply
        fields = ["title", "shortcut", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 6})}

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        known = ", ".join(f"{{{name}}} ({meaning})"
                          for name, meaning in canned_text.PLACEHOLDERS.items())
        self.fields["body"].help_text = f"Placeholders filled in from the lead: {known}."

    def clean_shortcut(self):
        shortcut = canned_text.normalized_shortcut(self.cleaned_data["shortcut"])
        taken = selectors.canned_replies(self.organization).filter(shortcut=shortcut)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"/{shortcut} is taken already; choose another "
                                        "shortcut.")
        return shortcut

    def clean_body(self):
        body = self.cleaned_data["body"]
        unknown = canned_text.unknown_placeholders(body)
        if unknown:
            raise forms.ValidationError(
                f"{{{unknown[0]}}} is not a placeholder; use one of those listed below, or "
                "remove the braces.")
        return body


@admin.register(CannedReply)
class CannedReplyAdmin(TenantAdmin):
    form = CannedReplyForm
    list_display = ["shortcut_typed", "title", "updated_at"]
    search_fields = ["shortcut", "title", "body"]
    manager_can_add = True
    manager_can_change = True
    manager_can_delete = True

    @admin.display(description="shortcut", ordering="shortcut")
    def shortcut_typed(self, obj):
        return f"/{obj.shortcut}"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        organization = _org_of(request, obj)

        class ScopedForm(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, organization=organization, **inner)

        return ScopedForm

    def save_model(self, request, obj, form, change):
        org = _org_of(request, obj if change else None)
        values = {field: form.cleaned_data[field] for field in ("title", "shortcut", "body")}
        if change:
            stored = selectors.canned_reply(org, obj.pk)
            canned_services.canned_reply_update(org=org, reply=stored,
                                                actor=console_actor(request, org), **values)
            return
        created = canned_services.canned_reply_create(org=org,
                                                      actor=console_actor(request, org),
                                                      **values)
        obj.pk = created.pk

    def delete_model(self, request, obj):
        canned_services.canned_reply_delete(org=obj.organization, reply=obj,
                                            actor=console_actor(request, obj.organization))

    def delete_queryset(self, request, queryset):
        for reply in queryset:
            self.delete_model(request, reply)
