"""Simulate A/A experiments through the production verdict and kill-switches and print the
A/A table: how often an experiment with no real difference is declared significant (by the
always-valid verdict, by the fixed-horizon z-test peeked at daily, and by it looked at once)
and how often a kill-switch trips on it.

    python manage.py experiments_aa_simulate [--experiments 1000] [--days 14]
        [--subjects-per-day 300] [--base-rate 0.1] [--seed S] [--look-minutes 5]

Progress goes to stderr; the table to stdout. Pure computation: no database is touched.
"""

import secrets
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from experiments.simulation import (
    AA_TABLE_HEADER,
    aa_simulate,
    aa_table_row,
    format_table,
    kill_switch_aa_simulate,
)
from flexoraa.progress import ProgressBar

MAX_EXPERIMENTS = 100_000
MAX_DAYS = 365
MAX_SUBJECTS_PER_DAY = 1_000_000


class Command(BaseCommand):
    help = ("Simulate A/A experiments: the share declared significant by the always-valid "
            "verdict and by the fixed-horizon test, and the kill-switches' false trips.")

    def add_arguments(self, parser):
        parser.add_argument("--experiments", type=int, default=1000,
                            help="Experiments simulated (default 1000).")
        parser.add_argument("--days", type=int, default=14,
                            help="Days each runs, with one verdict look a day (default 14).")
        parser.add_argument("--subjects-per-day", type=int, default=300,
                            help="New subjects per arm per day, Poisson (default 300).")
        parser.add_argument("--base-rate", type=float, default=0.1,
                            help="Conversion rate of both arms, between 0 and 1 (default 0.1).")
        parser.add_argument("--min-sample", type=int, default=None,
                            help="Minimum sample per arm before a verdict (default: "
                                 "AB_TEST_MIN_SAMPLE_SIZE).")
        parser.add_argument("--look-minutes", type=int, default=5,
                            help="Minutes between kill-switch looks (default 5, as the job).")
        parser.add_argument("--seed", type=int, default=None,
                            help="Random seed (default: a fresh one, printed to repeat the run).")

    def handle(self, *args, experiments, days, subjects_per_day, base_rate, min_sample,
               look_minutes, seed, **options):
        min_sample = settings.AB_TEST_MIN_SAMPLE_SIZE if min_sample is None else min_sample
        if not 1 <= experiments <= MAX_EXPERIMENTS:
            raise CommandError(f"--experiments must be from 1 to {MAX_EXPERIMENTS}.")
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be from 1 to {MAX_DAYS}.")
        if not 1 <= subjects_per_day <= MAX_SUBJECTS_PER_DAY:
            raise CommandError(f"--subjects-per-day must be from 1 to {MAX_SUBJECTS_PER_DAY}.")
        if not 0 < base_rate < 1:
            raise CommandError("--base-rate must be a rate strictly between 0 and 1.")
        if min_sample < 1:
            raise CommandError("--min-sample must be at least 1.")
        if not 1 <= look_minutes <= 24 * 60:
            raise CommandError("--look-minutes must be from 1 to 1440 (one day).")
        if seed is None:
            seed = secrets.randbits(32)
        elif seed < 0:
            raise CommandError("--seed must be 0 or more.")

        # The bars go to the real stderr: Django's wrapper would end every redraw with a
        # newline. call_command(stderr=...) hands its own stream in the options.
        stream = options.get("stderr") or sys.stderr
        with ProgressBar(experiments, stream, "A/A verdicts, daily looks") as bar:
            verdicts = aa_simulate(experiments=experiments, days=days,
                                   subjects_per_day=subjects_per_day, base_rate=base_rate,
                                   min_sample=min_sample, seed=seed, progress=bar.update)
        with ProgressBar(experiments, stream,
                         f"A/A kill-switches, a look every {look_minutes} min") as bar:
            switches = kill_switch_aa_simulate(experiments=experiments, days=days,
                                               look_minutes=look_minutes,
                                               subjects_per_day=subjects_per_day,
                                               seed=seed + 1, progress=bar.update)
        self.stdout.write(
            f"A/A simulation, seed {seed}: {experiments:,} experiments of {days} days, "
            f"{subjects_per_day:,} new subjects per arm a day, minimum sample {min_sample:,} "
            f"per arm; kill-switches at their default thresholds (error +50 %, response time "
            f"+30 %, hallucination +100 %, objection +80 %) from {switches.min_exposure} "
            f"subjects, one-sided alpha {switches.alpha:g} per look.\n"
        )
        self.stdout.write(format_table(AA_TABLE_HEADER, [aa_table_row(verdicts, switches)]))
        trips = ", ".join(f"{metric} {count}" for metric, count in switches.trips.items())
        self.stdout.write(f"\nKill-switch trips by switch: {trips}.")
