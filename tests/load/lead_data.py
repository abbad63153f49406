"""Benchmark data for the LeadOS watches: tenants and their teams in bulk, leads by COPY.

Test data, written straight into the tables: the services' audit trail is not what is
measured. Every row is drawn from a seeded random generator, so two runs load the same data.

Each lead is one of five kinds:

* ordinary: most leads. Of the open ones, 5 % are not routed yet, about 10 % still wait
  for a first response due hours ahead (in both partial indexes, but not due), and the rest
  were answered long ago (out of both partial indexes). Closed leads were answered.
* sla_due: waits for a first response that was due minutes ago; its leakage threshold is
  still ahead. Due for the SLA check only.
* leak_due: its SLA was breached and recorded earlier, and its leakage threshold passed
  minutes ago; it may have moved before (``leak_moves`` 0 to 3, with the matching assignment
  history, so "never back to an SDR it left" has work to do, and a lead at the tenant's
  maximum goes to a manager). Due for the leakage scan only.
* warmup_sla / warmup_leak: the same, due hours earlier, so a run with ``now`` set before
  the measured due set handles only them (the worker's warm-up). Warm-up leaks are COLD,
  whose next threshold is days away, so the measured run never sees them again.
"""

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import pairwise

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection

from flexoraa.models import MAX_CAPACITY, Membership, Organization, Role
from leads.models import LeadSettings

TENANTS = 100
SDRS_PER_TENANT = 10
# How far before the load time the warm-up due rows fall due, and the warm-up run's clock.
WARMUP_DUE_MINUTES = 180
WARMUP_RUN_MINUTES = 120
# Nothing that is not due falls due sooner than this after the load time.
FUTURE_MIN_MINUTES = 180

LEAD_COLUMNS = (
    "id", "organization_id", "name", "phone", "email", "source", "status", "tier", "score",
    "score_breakdown", "owner_id", "assigned_at", "need", "budget_amount", "budget_currency",
    "authority", "timeline", "intent", "intent_confidence", "inbound_count",
    "last_reply_seconds", "last_inbound_at", "last_outbound_at", "verification_status",
    "verification", "first_response_due_at", "first_response_at", "sla_breached_at",
    "leak_due_at", "leak_moves", "created_at", "updated_at",
)
ASSIGNMENT_COLUMNS = (
    "organization_id", "lead_id", "from_owner_id", "to_owner_id", "reason", "detail",
    "created_at",
)

NULL = "\\N"
OPEN = ("new", "qualifying", "qualified")
STATUSES = (*OPEN, "won", "lost", "opted_out")
STATUS_WEIGHTS = (30, 20, 30, 8, 10, 2)
SOURCES = ("whatsapp", "instagram", "messenger", "gmail", "web_form", "api", "csv_import")
TIERS = ("hot", "warm", "cold")
SCORE_RANGE = {"hot": (70, 100), "warm": (40, 69), "cold": (0, 39)}
# The scoring service's stored shape, at its usual size (the leakage scan loads whole rows).
BREAKDOWN = (
    '{"total": %d, "tier": "%s", "factors": ['
    '{"name": "intent", "points": 16, "max": 20, "explanation": "High intent."}, '
    '{"name": "budget", "points": 12, "max": 20, "explanation": "Budget near target."}, '
    '{"name": "authority", "points": 10, "max": 20, "explanation": "Influencer."}, '
    '{"name": "timeline", "points": 8, "max": 20, "explanation": "Within a month."}, '
    '{"name": "engagement", "points": 6, "max": 20, "explanation": "Replies on WhatsApp."}]}'
)
VERIFICATION = '{"phone": {"valid": true, "region": "IN"}}'
LEAK_MOVES_WEIGHTS = (60, 20, 10, 10)  # 0, 1, 2 and 3 earlier moves (3 is the default maximum)


@dataclass(frozen=True)
class Tenant:
    org_id: int
    manager_id: int
    sdr_ids: tuple[int, ...]


@dataclass
class DueSet:
    """Lead ids of each due kind in one load."""

    sla: list[int] = field(default_factory=list)
    leak: list[int] = field(default_factory=list)
    warmup_sla: list[int] = field(default_factory=list)
    warmup_leak: list[int] = field(default_factory=list)

    def all_ids(self) -> list[int]:
        return [*self.sla, *self.leak, *self.warmup_sla, *self.warmup_leak]


def tenants_create(count: int = TENANTS, sdrs: int = SDRS_PER_TENANT) -> list[Tenant]:
    """``count`` tenants, each with a manager, ``sdrs`` SDRs of ample capacity and its lead
    settings. Half keep weekday business hours, so due times go through the business clock."""
    zones = ("Asia/Kolkata", "Europe/London", "America/New_York", "Asia/Singapore")
    weekdays = {day: ["09:00", "18:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    orgs = Organization.objects.bulk_create(
        Organization(name=f"Bench tenant {n}", slug=f"bench-{n}", timezone=zones[n % len(zones)],
                     business_hours=weekdays if n % 2 else {})
        for n in range(count)
    )
    user_model = get_user_model()
    unusable = make_password(None)
    users = user_model.objects.bulk_create(
        user_model(username=f"bench-{n}-{k}", email=f"bench-{n}-{k}@example.test",
                   password=unusable)
        for n in range(count) for k in range(sdrs + 1)
    )
    memberships = Membership.objects.bulk_create(
        Membership(organization=org, user=users[n * (sdrs + 1) + k],
                   role=Role.MANAGER if k == 0 else Role.SDR, capacity=MAX_CAPACITY)
        for n, org in enumerate(orgs) for k in range(sdrs + 1)
    )
    LeadSettings.objects.bulk_create(LeadSettings(organization=org) for org in orgs)
    tenants = []
    for n, org in enumerate(orgs):
        team = memberships[n * (sdrs + 1):(n + 1) * (sdrs + 1)]
        tenants.append(Tenant(org.pk, team[0].pk, tuple(m.pk for m in team[1:])))
    return tenants


@cache
def _stamp(minute: int, base: datetime) -> str:
    return (base + timedelta(minutes=minute)).isoformat()


class _Rows:
    """Generates the COPY text of leads and of their assignment history."""

    def __init__(self, tenants: list[Tenant], base: datetime, rng: random.Random):
        self.tenants = tenants
        self.base = base
        self.rng = rng
        self.assignments: list[str] = []

    def ts(self, minute: int | None) -> str:
        return NULL if minute is None else _stamp(minute, self.base)

    def lead(self, lead_id: int, kind: str) -> str:
        rng = self.rng
        tenant = self.tenants[lead_id % len(self.tenants)]
        tier = "cold" if kind == "warmup_leak" else rng.choice(TIERS)
        status = rng.choice(OPEN) if kind != "ordinary" else rng.choices(
            STATUSES, STATUS_WEIGHTS)[0]
        owner = rng.choice(tenant.sdr_ids)
        fr_due = fr_at = breached = leak_due = None
        moves = 0
        if kind == "ordinary":
            created = -rng.randint(FUTURE_MIN_MINUTES, 90 * 24 * 60)
            if status in OPEN and rng.random() < 0.05:
                owner = None  # arrived, not routed yet
            elif status in OPEN and rng.random() < 0.10:
                fr_due = rng.randint(FUTURE_MIN_MINUTES, 48 * 60)
                leak_due = fr_due + rng.randint(60, 48 * 60)
            else:
                fr_due = created + 60
                fr_at = created + rng.randint(1, 59)
        elif kind in ("sla_due", "warmup_sla"):
            fr_due = -rng.randint(1, 30) - (WARMUP_DUE_MINUTES if kind == "warmup_sla" else 0)
            created = fr_due - rng.randint(5, 24 * 60)
            leak_due = rng.randint(FUTURE_MIN_MINUTES, 24 * 60)
        else:  # leak_due, warmup_leak
            leak_due = -rng.randint(1, 30) - (WARMUP_DUE_MINUTES if kind == "warmup_leak" else 0)
            fr_due = leak_due - rng.randint(5, 24 * 60)
            breached = fr_due + 1
            created = fr_due - rng.randint(5, 24 * 60)
            if kind == "leak_due":
                moves = rng.choices(range(len(LEAK_MOVES_WEIGHTS)), LEAK_MOVES_WEIGHTS)[0]
            if moves:
                chain = rng.sample(tenant.sdr_ids, moves + 1)
                owner = chain[-1]
                self._history(tenant, lead_id, chain, created)
        assigned = None if owner is None else created + 1
        low, high = SCORE_RANGE[tier]
        score = rng.randint(low, high)
        inbound = rng.randint(0, 12)
        fields = (
            str(lead_id), str(tenant.org_id), f"Bench lead {lead_id}", f"+9190{lead_id:08d}",
            f"lead{lead_id}@example.test" if lead_id % 2 else "", rng.choice(SOURCES), status,
            tier, str(score), BREAKDOWN % (score, tier), NULL if owner is None else str(owner),
            self.ts(assigned), "", NULL, "", "", "", "", NULL, str(inbound), NULL,
            self.ts(created + 2) if inbound else NULL, self.ts(fr_at), "verified", VERIFICATION,
            self.ts(fr_due), self.ts(fr_at), self.ts(breached), self.ts(leak_due), str(moves),
            self.ts(created), self.ts(created + 2),
        )
        return "\t".join(fields) + "\n"

    def _history(self, tenant: Tenant, lead_id: int, chain: list[int], created: int) -> None:
        org = str(tenant.org_id)
        self.assignments.append(
            "\t".join((org, str(lead_id), NULL, str(chain[0]), "routing", "", self.ts(created)))
            + "\n"
        )
        for step, (left, took) in enumerate(pairwise(chain), start=1):
            self.assignments.append("\t".join((
                org, str(lead_id), str(left), str(took), "leakage",
                "The owner did not act in time.", self.ts(created + step * 60),
            )) + "\n")


def _copy(table: str, columns: tuple[str, ...], lines) -> None:
    """Stream text lines into ``table`` with one COPY (psycopg 3)."""
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    batch: list[str] = []
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for line in lines:
            batch.append(line)
            if len(batch) >= 20_000:
                copy.write("".join(batch))
                batch.clear()
        if batch:
            copy.write("".join(batch))


def leads_load(
    tenants: list[Tenant], *, first_id: int, count: int, due: int, warmup: int,
    base: datetime, seed: int,
) -> DueSet:
    """COPY ``count`` leads with ids from ``first_id``, spread over the tenants and their
    SDRs; ``due`` of them due for the SLA check and ``due`` others for the leakage scan, at
    random places in the load; ``warmup`` of each warm-up kind likewise. Times are relative
    to ``base``. Returns the ids of the due rows."""
    rng = random.Random(seed)
    picks = rng.sample(range(count), 2 * due + 2 * warmup)
    kinds: dict[int, str] = {}
    due_set = DueSet()
    bounds = (("sla", "sla_due", due), ("leak", "leak_due", due),
              ("warmup_sla", "warmup_sla", warmup), ("warmup_leak", "warmup_leak", warmup))
    start = 0
    for attribute, kind, size in bounds:
        ids = [first_id + offset for offset in picks[start:start + size]]
        getattr(due_set, attribute).extend(ids)
        kinds.update(dict.fromkeys(ids, kind))
        start += size
    rows = _Rows(tenants, base, rng)
    _copy("leads_lead", LEAD_COLUMNS,
          (rows.lead(lead_id, kinds.get(lead_id, "ordinary"))
           for lead_id in range(first_id, first_id + count)))
    _copy("leads_leadassignment", ASSIGNMENT_COLUMNS, rows.assignments)
    _stamp.cache_clear()
    with connection.cursor() as cursor:
        # Ids were given explicitly: move the identity on past them for later inserts.
        cursor.execute("SELECT setval(pg_get_serial_sequence('leads_lead', 'id'), "
                       "(SELECT max(id) FROM leads_lead))")
    return due_set


def load_time() -> datetime:
    """Now, to the minute: the base of a load's times."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def tables_settle() -> None:
    """What autovacuum gives a production table (planner statistics and a visibility map),
    then a checkpoint, so the load's dirty pages are not being written out during the timed
    run and every run starts from the same point of the checkpoint cycle."""
    with connection.cursor() as cursor:
        for table in ("leads_lead", "leads_leadassignment", "leads_leadevent",
                      "leads_slabreach", "flexoraa_auditevent"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
        cursor.execute("CHECKPOINT")  # needs a superuser or the pg_checkpoint role


RUN_TABLES = ("leads_slabreach", "leads_leadevent", "leads_leadassignment")


def run_watermarks() -> dict[str, int]:
    """The highest id of each table a run of the watches appends to."""
    with connection.cursor() as cursor:
        marks = {}
        for table in RUN_TABLES:
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
            marks[table] = cursor.fetchone()[0]
    return marks


def run_forget(marks: dict[str, int], due_ids: list[int]) -> None:
    """Take back what a run did, so the next size starts from the same state: delete the
    breaches, timeline events and assignments it wrote, reset the routing state, and settle
    the leads it handled as ordinary answered leads (out of both partial indexes). Audit
    events stay: the log is append-only, and the watches only ever append to it."""
    with connection.cursor() as cursor:
        for table in RUN_TABLES:
            cursor.execute(f"DELETE FROM {table} WHERE id > %s", [marks[table]])
        cursor.execute("DELETE FROM leads_routingcredit")
        cursor.execute("UPDATE leads_leadsettings SET routing_clock = '{}'")
        cursor.execute(
            "UPDATE leads_lead SET first_response_at = first_response_due_at - interval '1 minute',"
            " sla_breached_at = NULL, leak_due_at = NULL WHERE id = ANY(%s)",
            [due_ids],
        )
