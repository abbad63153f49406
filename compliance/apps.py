from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "GDPR deletion requests, anonymization, export, consent and opt-out"
