"""Calendly links and webhooks, appointments, free slots and booking."""
