"""Server-rendered pages of the token economy: the wallet (with its low-balance alert level),
buying a package through Razorpay Checkout and Checkout's callback, the usage report, the
payment history with its CSV of receipts, and the dashboard's low-balance banner.

Money is for owners and managers: an SDR gets 403 on every page here. A refusal (an unknown
package, a signature that does not match, Razorpay unreachable, a bad alert level) shows the
wallet again with the reason and the error's status; nothing is credited. Reads go through
``billing.selectors``, writes through ``billing.services``.
"""

import csv
from itertools import chain
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View

from billing import charts, receipts, selectors, services
from billing.errors import PaymentProviderUnavailable
from billing.models import PaymentStatus
from billing.templatetags.billing_format import thousands
from flexoraa.csv_cells import safe_row
from flexoraa.errors import FlexoraaError, ValidationFailed
from flexoraa.storable import unstorable_text_reason
from flexoraa.views import TenantPageMixin

RECENT_PAYMENTS = 10
RECENT_LEDGER = 10
PAYMENTS_PAGE_SIZE = 25
CSV_CHUNK = 500
MAX_THRESHOLD = 10**12
SHOP_NAME = "Flexoraa"


class TokenCountField(forms.IntegerField):
    """A number of tokens as people type it: "1,000", "1 000" and "1_000" read as 1000."""

    def to_python(self, value):
        if isinstance(value, str):
            value = value.replace(",", "").replace(" ", "").replace("_", "")
        return super().to_python(value)


class ThresholdForm(forms.Form):
    """Only shapes what was typed; ``services.wallet_threshold_update`` decides."""

    low_balance_threshold = TokenCountField(
        label="Alert level", min_value=0, max_value=MAX_THRESHOLD,
        help_text="Owners and managers are told when the balance drops below this many "
                  "tokens; 0 turns the alert off.",
        error_messages={
            "required": "Give an alert level in tokens (0 turns the alert off).",
            "invalid": "Give a whole number of tokens, such as 1000.",
            "min_value": "The alert level cannot be below 0.",
            "max_value": f"The alert level can be at most {MAX_THRESHOLD:,} tokens.",
        },
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def refused(self, error: FlexoraaError) -> None:
        """Shows a service's refusal by the field it names (its message without the
        "field: " prefix), else above the form."""
        if "low_balance_threshold" in error.fields:
            self.add_error("low_balance_threshold", error.message.split(": ", 1)[-1])
        else:
            self.add_error(None, error.message)


class WalletPageMixin(TenantPageMixin):
    manager_only = True

    def wallet_context(self, *, threshold_form: ThresholdForm | None = None, **extra) -> dict:
        wallet = selectors.wallet_for(self.organization)
        return {
            "wallet": wallet,
            "threshold_form": threshold_form or ThresholdForm(
                initial={"low_balance_threshold": wallet.low_balance_threshold}),
            **extra,
        }

    def wallet_page(self, request, *, error: str = "", status: int = 200,
                    threshold_form: ThresholdForm | None = None):
        org = self.organization
        return render(request, "billing/wallet.html", {
            **self.wallet_context(threshold_form=threshold_form),
            "packages": list(selectors.packages_for_sale()),
            "payments": selectors.payments_recent(org, limit=RECENT_PAYMENTS),
            "ledger": selectors.ledger_recent(org, limit=RECENT_LEDGER),
            "prices": selectors.action_prices(org),
            "error": error,
        }, status=status)


class WalletView(WalletPageMixin, View):
    """The balance and its alert level, the packages on sale with Buy buttons, what each AI
    action costs, and the latest ledger entries and purchases."""

    def get(self, request):
        return self.wallet_page(request)


class ThresholdView(WalletPageMixin, View):
    """POST the low-balance alert level. With htmx the wallet's status card comes back (with
    the problem, as a 200, since htmx swaps only 2xx answers); without, a redirect with a
    message, or the wallet page with the problem and status 400."""

    http_method_names = ["post", "options"]

    def post(self, request):
        form = ThresholdForm(request.POST)
        done = ""
        if form.is_valid():
            threshold = form.cleaned_data["low_balance_threshold"]
            try:
                services.wallet_threshold_update(org=self.organization, threshold=threshold,
                                                 actor=self.actor)
            except ValidationFailed as error:
                form.refused(error)
            else:
                done = (f"Alert level set to {thousands(threshold)} tokens." if threshold
                        else "Alert level set to 0: the low-balance alert is off.")
        if request.htmx:
            context = self.wallet_context(threshold_form=None if done else form, done=done)
            return render(request, "billing/_wallet_status.html", context)
        if not done:
            return self.wallet_page(request, threshold_form=form, status=400)
        messages.success(request, done)
        return redirect("billing:wallet")


def checkout_options(payment, user) -> dict:
    """What Razorpay Checkout opens with. The only personal detail is the buyer's own email,
    to prefill the payment form."""
    options = {
        "key": settings.RAZORPAY_KEY_ID,
        "amount": payment.amount_paise,
        "currency": payment.currency,
        "order_id": payment.razorpay_order_id,
        "name": SHOP_NAME,
        "description": f"{payment.package.name}: {thousands(payment.tokens)} tokens",
        "notes": {"receipt": payment.receipt},
        "theme": {"color": "#3b5bdb"},
    }
    if getattr(user, "email", ""):
        options["prefill"] = {"email": user.email}
    return options


class BuyView(WalletPageMixin, View):
    """POST a package id: the Razorpay order is created and Checkout opens on it."""

    manager_only = True
    http_method_names = ["post", "options"]

    def post(self, request):
        try:
            payment = services.payment_order_create(
                org=self.organization, package_id=request.POST.get("package_id"),
                actor=self.actor,
            )
        except FlexoraaError as error:
            return self.wallet_page(request, error=error.message, status=error.status_code)
        response = render(request, "billing/checkout.html", {
            "payment": payment,
            "checkout_options": checkout_options(payment, request.user),
            "checkout_js": settings.RAZORPAY_CHECKOUT_JS,
        })
        # An order page is for this buyer, now: never from a cache.
        response["Cache-Control"] = "no-store"
        return response


CHECKOUT_FIELDS = ("razorpay_order_id", "razorpay_payment_id", "razorpay_signature")
CHECKOUT_UNREADABLE = ("Razorpay's answer could not be read: it holds a character no Razorpay "
                       "id has. If the payment went through, the tokens are added as soon as "
                       "Razorpay confirms it.")


class CheckoutCallbackView(WalletPageMixin, View):
    """Checkout's handler posts razorpay_payment_id, razorpay_order_id and
    razorpay_signature here (a CSRF-protected form)."""

    manager_only = True
    http_method_names = ["post", "options"]

    def post(self, request):
        answer = {name: request.POST.get(name, "") for name in CHECKOUT_FIELDS}
        if any(unstorable_text_reason(value) for value in answer.values()):
            # No Razorpay id holds a NUL; looked up as it is, PostgreSQL refused it with a 500.
            return self.wallet_page(request, error=CHECKOUT_UNREADABLE, status=400)
        try:
            payment = services.payment_checkout_confirm(
                org=self.organization,
                order_id=answer["razorpay_order_id"],
                payment_id=answer["razorpay_payment_id"],
                signature=answer["razorpay_signature"],
                actor=self.actor,
            )
        except PaymentProviderUnavailable as error:
            message = (f"{error.message} If the payment went through, the tokens are added as "
                       "soon as Razorpay confirms it.")
            return self.wallet_page(request, error=message, status=error.status_code)
        except FlexoraaError as error:
            return self.wallet_page(request, error=error.message, status=error.status_code)
        tokens = thousands(payment.tokens)
        if payment.status in (PaymentStatus.CAPTURED, PaymentStatus.REFUNDED):
            messages.success(request, f"Payment received: {tokens} tokens are in your wallet.")
        elif payment.status == PaymentStatus.AUTHORIZED:
            messages.info(request, "Razorpay has authorized the payment; the "
                                   f"{tokens} tokens are added as soon as it is captured.")
        elif payment.status == PaymentStatus.FAILED:
            messages.error(request, f"The payment failed: {payment.failure_reason} No tokens "
                                    "were added and nothing was charged to your tokens.")
        else:
            messages.info(request, "Razorpay has not confirmed the payment yet; the tokens are "
                                   "added as soon as it does.")
        return redirect("billing:wallet")


# --- usage ---------------------------------------------------------------------------------

class UsageView(TenantPageMixin, View):
    """Tokens spent over the last 7, 30 or 90 days: per day as a bar chart (with the numbers
    as a table), per action and per person the usage was for."""

    manager_only = True

    def get(self, request):
        problem = ""
        raw = request.GET.get("days", "30")
        try:
            days = int(raw)
        except ValueError:
            days = 0
        if days not in selectors.USAGE_DAY_CHOICES:
            choices = ", ".join(str(choice) for choice in selectors.USAGE_DAY_CHOICES)
            problem = f"'{raw}' is not one of {choices} days; showing the last 30 days."
            days = 30
        report = selectors.usage_report(self.organization, days=days)
        chart = charts.bar_chart([(day.day, day.tokens) for day in report.per_day])
        return render(request, "billing/usage.html", {
            "report": report, "chart": chart, "days": days, "problem": problem,
            "day_choices": selectors.USAGE_DAY_CHOICES,
        })


# --- payments ------------------------------------------------------------------------------

class PaymentsView(TenantPageMixin, View):
    """Every purchase of the tenant, newest first, a page at a time."""

    manager_only = True

    def get(self, request):
        page = Paginator(selectors.payments_for_org(self.organization),
                         PAYMENTS_PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "billing/payments.html", {"page": page})


class _Echo:
    """csv.writer writes each row here and gets the text back, to stream it."""

    def write(self, value):
        return value


class PaymentsCsvView(TenantPageMixin, View):
    """The receipts of every purchase as a CSV, streamed as the rows are read (the time zone
    is the tenant's own: the rows are written after the request's zone is switched back)."""

    manager_only = True

    def get(self, request):
        org = self.organization
        zone = ZoneInfo(org.timezone)
        payments = selectors.payments_for_org(org).iterator(chunk_size=CSV_CHUNK)
        rows = (receipts.receipt_row(payment, zone) for payment in payments)
        writer = csv.writer(_Echo())
        response = StreamingHttpResponse(
            (writer.writerow(row) for row in chain([safe_row(receipts.HEADER)], rows)),
            content_type="text/csv; charset=utf-8",
        )
        today = timezone.localdate(timezone=zone)
        response["Content-Disposition"] = (
            f'attachment; filename="flexoraa-payments-{org.slug}-{today:%Y-%m-%d}.csv"')
        response["Cache-Control"] = "no-store"
        return response


# --- the dashboard's banner ----------------------------------------------------------------

class LowBalanceBannerView(TenantPageMixin, View):
    """The dashboard's low-balance banner, loaded after the page (htmx) so the dashboard keeps
    its fixed query count."""

    manager_only = True

    def get(self, request):
        return render(request, "billing/_low_balance_banner.html",
                      {"wallet": selectors.wallet_for(self.organization)})
