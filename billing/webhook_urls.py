"""Razorpay's webhook address, mounted at /webhooks/razorpay/."""

from django.urls import path

from billing import webhooks

urlpatterns = [
    path("", webhooks.razorpay_webhook, name="razorpay-webhook"),
]
