from datetime import timedelta

from flexoraa.jobs import PeriodicJob

SCHEDULES = [
    PeriodicJob(
        name="leads.sla_check",
        task="leads.sla_check",
        description="Record each lead that passed its first-response target unanswered, once, "
                    "and email each tenant's managers.",
        every=timedelta(minutes=1),
    ),
    PeriodicJob(
        name="leads.sla_warning",
        task="leads.sla_warning",
        description="Tell the owner of each lead that has used 80 % of its first-response time "
                    "without a reply, once per target, in their notification centre.",
        every=timedelta(minutes=1),
    ),
    PeriodicJob(
        name="leads.follow_ups_due",
        task="leads.follow_ups_due",
        description="Tell the owner of each open follow-up whose time has come, once per due "
                    "time, in their notification centre.",
        every=timedelta(minutes=1),
    ),
    PeriodicJob(
        name="leads.leakage_scan",
        task="leads.leakage_scan",
        description="Move leads whose owner has not acted past the leakage threshold to the next "
                    "SDR with room (or keep them with an owner at work, or queue them when the "
                    "owner is away); after the maximum moves, escalate them to a manager.",
        every=timedelta(minutes=5),
    ),
    PeriodicJob(
        name="leads.unassigned_queue_sweep",
        task="leads.unassigned_queue_sweep",
        description="Backstop of the unassigned queue: give queued leads, soonest target first, "
                    "to SDRs who have room, in every tenant that has queued leads.",
        every=timedelta(minutes=1),
    ),
]
