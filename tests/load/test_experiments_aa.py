"""The A/A table at scale: 1,000 simulated A/A experiments per row, at several base rates and
traffic levels, through the production verdict and kill-switch judges
(experiments/simulation.py). Run by `make bench`; prints the table, then asserts the bounds.
Not part of `make test` (tests/experiments/test_aa_simulation.py is the quick version).

Bounds, from the issue:

* checked daily for 14 days, at most 5 % of A/A experiments are declared significant by the
  verdict (the always-valid interval), and the fixed-horizon z-test peeked at daily declares
  more than that (the inflation that the always-valid interval removes);
* the kill-switches, judged every 5 or 15 minutes for 14 days at their default thresholds,
  trip falsely in at most 1 % of A/A experiments.

No database: everything here is pure computation. Each row has its own seed, so the rows are
independent replicates. About 75 s of CPU; low traffic costs the most (small arms give many
looks at which the variant is observed above the threshold, and each is judged).
"""

import os
import time

from experiments.guardrails import KILL_ALPHA
from experiments.simulation import (
    AA_TABLE_HEADER,
    aa_simulate,
    aa_table_row,
    format_table,
    kill_switch_aa_simulate,
)

EXPERIMENTS = 1000
DAYS = 14
MIN_SAMPLE = 1050
# (base conversion rate, new subjects per arm a day, minutes between kill-switch looks)
ROWS = ((0.02, 150, 15), (0.05, 300, 15), (0.10, 1000, 5), (0.30, 3000, 5))
MAX_SEQUENTIAL_SHARE = 0.05
MAX_KILL_SWITCH_SHARE = 0.01


def test_aa_table_at_scale_keeps_false_positives_and_false_trips_within_bounds():
    results, seconds = [], []
    for seed, (base_rate, subjects_per_day, look_minutes) in enumerate(ROWS, start=101):
        started = time.perf_counter()
        verdicts = aa_simulate(experiments=EXPERIMENTS, days=DAYS,
                               subjects_per_day=subjects_per_day, base_rate=base_rate,
                               min_sample=MIN_SAMPLE, seed=seed)
        switches = kill_switch_aa_simulate(experiments=EXPERIMENTS, days=DAYS,
                                           look_minutes=look_minutes,
                                           subjects_per_day=subjects_per_day, seed=seed + 1000)
        results.append((verdicts, switches))
        seconds.append(time.perf_counter() - started)

    print(f"\n\nA/A simulation: {EXPERIMENTS:,} experiments per row, {DAYS} days, minimum "
          f"sample {MIN_SAMPLE:,} per arm, verdicts at alpha 0.05; kill-switches at their "
          f"default thresholds from 100 subjects, one-sided alpha {KILL_ALPHA:g} per look; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n")
    print(format_table((*AA_TABLE_HEADER, "judge calls", "seconds"),
                       [(*aa_table_row(verdicts, switches), f"{switches.judged:,}", f"{s:.0f}")
                        for (verdicts, switches), s in zip(results, seconds, strict=True)]))
    print()

    for verdicts, switches in results:
        row = aa_table_row(verdicts, switches)
        assert verdicts.sequential_share <= MAX_SEQUENTIAL_SHARE, row
        assert verdicts.fixed_daily_share > verdicts.sequential_share, row
        assert switches.any_share <= MAX_KILL_SWITCH_SHARE, (row, switches.trips)
