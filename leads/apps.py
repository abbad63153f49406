from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "LeadOS: intake, verification, scoring, routing, SLA and leakage prevention"
