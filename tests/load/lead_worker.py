"""One worker process of the LeadOS benchmark: runs the SLA check and the leakage scan once
over the due leads, after a warm-up, and prints seconds, results and peak RSS as one JSON line.

Run by tests/load/test_lead_watch.py as ``python -m tests.load.lead_worker <warm-up time>``
against the test database, so its memory is the worker's alone (not pytest's or the data
loader's). The warm-up runs both jobs with ``now`` set to the given time, which only the
warm-up rows are due by: imports, query compilation and connection set-up are paid there.
"""

import json
import resource
import sys
import time
from datetime import datetime


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM belongs to the address space, which exec
    replaces; ru_maxrss would carry over the peak of the forked pytest process (Linux keeps
    rusage across execve), so it is only the fallback where /proc is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> None:
    import django

    django.setup()
    from django.core import mail

    from leads.services import leaking_leads_move, sla_breaches_record

    warmup_at = datetime.fromisoformat(sys.argv[1])
    ready_mb = peak_rss_mb()
    warmup = {"sla": sla_breaches_record(now=warmup_at),
              "leak": leaking_leads_move(now=warmup_at)}
    mail.outbox = []

    started = time.perf_counter()
    sla = sla_breaches_record()
    sla_seconds = time.perf_counter() - started

    started = time.perf_counter()
    leak = leaking_leads_move()
    leak_seconds = time.perf_counter() - started

    print(json.dumps({
        "warmup": warmup, "sla": sla, "sla_seconds": sla_seconds, "leak": leak,
        "leak_seconds": leak_seconds, "emails": len(mail.outbox), "ready_mb": ready_mb,
        "peak_mb": peak_rss_mb(),
    }))


if __name__ == "__main__":
    main()
