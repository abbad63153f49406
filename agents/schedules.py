"""Periodic jobs of this app, synced into django-celery-beat by name."""

from datetime import timedelta

from flexoraa.jobs import PeriodicJob

SCHEDULES = [
    PeriodicJob(
        name="agents.scheduled_messages_send",
        task="agents.scheduled_messages_send",
        description="Send each scheduled message that has come due, once, even when two "
                    "workers run this at the same time.",
        every=timedelta(minutes=1),
    ),
    PeriodicJob(
        name="agents.gmail_poll_all",
        task="agents.gmail_poll_all",
        description="Fetch every connected Gmail mailbox's new emails (history since the "
                    "stored historyId; a full sync when Gmail no longer has it).",
        every=timedelta(minutes=15),
    ),
    PeriodicJob(
        name="agents.cold_recovery",
        task="agents.cold_recovery",
        description="Send a recovery message to leads silent for the configured hours after "
                    "our last message (a template when the WhatsApp window is closed), up to "
                    "the configured number of times.",
        every=timedelta(days=1),
    ),
]
