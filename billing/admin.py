"""The token economy in the manager console.

Packages are platform-wide: superusers set them, managers see the ones on sale. Prices are
per tenant and go through ``services.action_price_set``. The ledger, payments and wallets are
read-only here for everyone, superusers included: a balance changes only with its ledger row
(``wallet_credit`` / ``wallet_debit``), payments only through Razorpay's events, and the alert
level on the wallet page.
"""

from django import forms
from django.contrib import admin

from billing import services
from billing.models import (
    DEFAULT_ACTION_PRICES,
    ActionPrice,
    Payment,
    TokenLedgerEntry,
    TokenPackage,
    TokenWallet,
)
from billing.templatetags.billing_format import money
from flexoraa.admin import ReadOnlyTenantAdmin, TenantAdmin, console_actor, is_tenant_manager


@admin.register(TokenPackage)
class TokenPackageAdmin(admin.ModelAdmin):
    """Not tenant-owned, so not a ``TenantAdmin``: superusers add and change packages;
    managers may look at the ones on sale. No one deletes one (payments point at it): untick
    "is active" to stop selling it."""

    list_display = ["name", "tokens", "price", "currency", "is_active", "sort_order"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    ordering = ["sort_order", "price_paise", "id"]

    @admin.display(description="price", ordering="price_paise")
    def price(self, obj):
        return money(obj.price_paise, obj.currency)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(is_active=True)

    def get_list_filter(self, request):
        return self.list_filter if request.user.is_superuser else []

    def has_module_permission(self, request):
        return request.user.is_superuser or is_tenant_manager(request)

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        return is_tenant_manager(request) and (obj is None or obj.is_active)

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return False


class ActionPriceForm(forms.ModelForm):
    """Refuses a second price for an action on the form. The unique constraint names the
    organization, which a manager's form leaves out, so Django would not check it and the
    INSERT would fail; a superuser's form has the field and Django checks it."""

    organization = None  # the manager's tenant, set per request by ActionPriceAdmin.get_form

    class Meta:
        model = ActionPrice
        fields = ["organization", "action", "tokens"]

    def clean(self):
        cleaned = super().clean()
        org = self.organization
        action = cleaned.get("action") or self.instance.action
        if "organization" not in self.fields and org is not None and action:
            taken = ActionPrice.objects.for_org(org).filter(action=action).exclude(
                pk=self.instance.pk)
            if taken.exists():
                self.add_error("action", (
                    f"{ActionPrice(action=action).get_action_display()} already has a price "
                    "in this organization; change that one instead."))
        return cleaned


@admin.register(ActionPrice)
class ActionPriceAdmin(TenantAdmin):
    """A manager sets their tenant's price of each AI action (once per action; an action
    without one costs the standard price)."""

    form = ActionPriceForm
    list_display = ["action", "tokens", "standard_price"]
    manager_can_add = True
    manager_can_change = True

    @admin.display(description="standard price")
    def standard_price(self, obj):
        return DEFAULT_ACTION_PRICES.get(obj.action, "")

    def get_readonly_fields(self, request, obj=None):
        # A price is for its action: another action gets its own row.
        if obj is None:
            return []
        return ["organization", "action"] if request.user.is_superuser else ["action"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.organization = obj.organization if obj is not None else request.organization
        return form

    def has_delete_permission(self, request, obj=None):
        # Every write goes through the service; setting the standard price is the way back.
        return False

    def save_model(self, request, obj, form, change):
        # A manager's form has no organization: theirs (a change keeps the row's own).
        org = obj.organization if obj.organization_id else request.organization
        saved = services.action_price_set(org=org, action=obj.action, tokens=obj.tokens,
                                          actor=console_actor(request, org))
        obj.pk, obj.organization = saved.pk, org


@admin.register(TokenLedgerEntry)
class TokenLedgerEntryAdmin(ReadOnlyTenantAdmin):
    """The append-only ledger (a PostgreSQL trigger refuses UPDATE and DELETE as well)."""

    list_display = ["id", "created_at", "delta", "balance_after", "reason", "action",
                    "membership", "reference"]
    list_filter = ["reason", "action"]
    search_fields = ["reference", "idempotency_key"]
    list_select_related = ["membership__user"]
    ordering = ["-id"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyTenantAdmin):
    list_display = ["receipt", "created_at", "package", "tokens", "amount", "status",
                    "refunded", "razorpay_payment_id"]
    list_filter = ["status"]
    search_fields = ["receipt", "razorpay_order_id", "razorpay_payment_id"]
    list_select_related = ["package"]
    ordering = ["-created_at", "-id"]

    @admin.display(description="amount", ordering="amount_paise")
    def amount(self, obj):
        return money(obj.amount_paise, obj.currency)

    @admin.display(description="refunded")
    def refunded(self, obj):
        return money(obj.refunded_paise, obj.currency) if obj.refunded_paise else "—"


@admin.register(TokenWallet)
class TokenWalletAdmin(ReadOnlyTenantAdmin):
    """The balance (changed only with a ledger row) and the alert level (set on the wallet
    page)."""

    list_display = ["organization", "balance", "low_balance_threshold", "is_low",
                    "low_balance_alerted_at", "updated_at"]
    list_select_related = ["organization"]

    @admin.display(boolean=True, description="low")
    def is_low(self, obj):
        return obj.is_low
