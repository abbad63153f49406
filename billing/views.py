"""Server-rendered pages of the token economy: the wallet, buying a package through Razorpay
Checkout, and Checkout's callback.

Buying is for owners and managers. A refusal (an unknown package, a signature that does not
match, Razorpay unreachable) shows the wallet again with the reason and the error's status;
nothing is credited. Reads go through ``billing.selectors``, writes through
``billing.services``.
"""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views import View

from billing import selectors, services
from billing.errors import PaymentProviderUnavailable
from billing.models import PaymentStatus
from billing.templatetags.billing_format import thousands
from flexoraa.errors import FlexoraaError
from flexoraa.tenancy import role_is_managing
from flexoraa.views import TenantPageMixin

RECENT_PAYMENTS = 10
SHOP_NAME = "Flexoraa"


class WalletPageMixin(TenantPageMixin):
    def wallet_page(self, request, *, error: str = "", status: int = 200):
        managing = role_is_managing(self.membership.role)
        return render(request, "billing/wallet.html", {
            "wallet": selectors.wallet_for(self.organization),
            "packages": list(selectors.packages_for_sale()),
            "payments": selectors.payments_recent(self.organization, limit=RECENT_PAYMENTS)
            if managing else [],
            "can_buy": managing,
            "error": error,
        }, status=status)


class WalletView(WalletPageMixin, View):
    """The balance, the packages on sale (with Buy buttons for managers) and the latest
    purchases."""

    def get(self, request):
        return self.wallet_page(request)


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
                actor=request.user,
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


class CheckoutCallbackView(WalletPageMixin, View):
    """Checkout's handler posts razorpay_payment_id, razorpay_order_id and
    razorpay_signature here (a CSRF-protected form)."""

    manager_only = True
    http_method_names = ["post", "options"]

    def post(self, request):
        try:
            payment = services.payment_checkout_confirm(
                org=self.organization,
                order_id=request.POST.get("razorpay_order_id", ""),
                payment_id=request.POST.get("razorpay_payment_id", ""),
                signature=request.POST.get("razorpay_signature", ""),
                actor=request.user,
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
