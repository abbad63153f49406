"""LeadOS use cases. Everything that writes a lead goes through one of these functions."""

from leads.services.assignment import (
    BulkReassignResult,
    Decision,
    OrgRouter,
    lead_reassign,
    leads_reassign_bulk,
)
from leads.services.bulk import BULK_STATUSES, BulkStatusResult, leads_status_change_bulk
from leads.services.config import (
    lead_settings_update,
    routing_pool_member_add,
    routing_pool_member_remove,
)
from leads.services.follow_ups import (
    follow_up_complete,
    follow_up_reschedule,
    follow_up_set,
    follow_ups_due_notify,
)
from leads.services.intake import IntakeResult, LeadInput, lead_input_check, lead_intake
from leads.services.lifecycle import (
    allowed_status_changes,
    lead_lock,
    lead_mark_first_response,
    lead_message_record,
    lead_opt_out,
    lead_update,
)
from leads.services.lost_reasons import (
    DEFAULT_LOST_REASONS,
    lost_reason_choices,
    lost_reason_create,
    lost_reason_delete,
    lost_reason_resolve,
    lost_reason_update,
    lost_reasons_seed,
)
from leads.services.notes import note_add
from leads.services.queue import (
    lead_claim,
    queue_drain_after_commit,
    queue_tiers_for,
    unassigned_queue_drain,
    unassigned_queues_drain,
)
from leads.services.reading import MessageReading, first_touch_score
from leads.services.watch import (
    breach_acknowledge,
    leaking_leads_move,
    managers_tell,
    sla_breaches_record,
)

__all__ = [
    "BULK_STATUSES",
    "DEFAULT_LOST_REASONS",
    "BulkReassignResult",
    "BulkStatusResult",
    "Decision",
    "IntakeResult",
    "LeadInput",
    "MessageReading",
    "OrgRouter",
    "allowed_status_changes",
    "breach_acknowledge",
    "first_touch_score",
    "follow_up_complete",
    "follow_up_reschedule",
    "follow_up_set",
    "follow_ups_due_notify",
    "lead_claim",
    "lead_input_check",
    "lead_intake",
    "lead_lock",
    "lead_mark_first_response",
    "lead_message_record",
    "lead_opt_out",
    "lead_reassign",
    "lead_settings_update",
    "lead_update",
    "leads_reassign_bulk",
    "leads_status_change_bulk",
    "leaking_leads_move",
    "lost_reason_choices",
    "lost_reason_create",
    "lost_reason_delete",
    "lost_reason_resolve",
    "lost_reason_update",
    "lost_reasons_seed",
    "managers_tell",
    "note_add",
    "queue_drain_after_commit",
    "queue_tiers_for",
    "routing_pool_member_add",
    "routing_pool_member_remove",
    "sla_breaches_record",
    "unassigned_queue_drain",
    "unassigned_queues_drain",
]
