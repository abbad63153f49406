from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Token wallet and ledger, Razorpay orders and payments, threshold alerts"

    def ready(self):
        from billing.webhooks import ADAPTER
        from flexoraa.webhooks.adapters import adapter_register

        adapter_register(ADAPTER)
