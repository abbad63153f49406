"""Token economy pages, mounted at /billing/."""

from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.WalletView.as_view(), name="wallet"),
    path("buy/", views.BuyView.as_view(), name="buy"),
    path("checkout/callback/", views.CheckoutCallbackView.as_view(), name="checkout-callback"),
]
