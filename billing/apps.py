from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Token wallet and ledger, Razorpay orders and payments, threshold alerts"
