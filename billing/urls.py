"""Token economy pages, mounted at /billing/."""

from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.WalletView.as_view(), name="wallet"),
    path("alert-level/", views.ThresholdView.as_view(), name="threshold"),
    path("buy/", views.BuyView.as_view(), name="buy"),
    path("checkout/callback/", views.CheckoutCallbackView.as_view(), name="checkout-callback"),
    path("usage/", views.UsageView.as_view(), name="usage"),
    path("payments/", views.PaymentsView.as_view(), name="payments"),
    path("payments.csv", views.PaymentsCsvView.as_view(), name="payments-csv"),
    path("low-balance-banner/", views.LowBalanceBannerView.as_view(),
         name="low-balance-banner"),
]
