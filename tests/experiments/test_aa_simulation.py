"""A/A simulations (experiments/simulation.py) through the production verdict and judges:
1,000 experiments with no real difference, checked daily for 14 days, are declared
significant in at most 5 % by the verdict (the always-valid interval), while the fixed-horizon
z-test peeked at daily declares more; the kill-switches trip falsely in at most 1 %; and the
same simulations with a real difference do declare it and do trip. No database.

The larger run with more traffic and 5-minute looks is tests/load/test_experiments_aa.py."""

import io

import pytest
from django.core.management import CommandError, call_command

from experiments.simulation import (
    AA_TABLE_HEADER,
    aa_simulate,
    aa_table_row,
    format_table,
    kill_switch_aa_simulate,
)

SEED = 20240614


@pytest.fixture(scope="module")
def aa_daily():
    return aa_simulate(experiments=1000, days=14, subjects_per_day=300, base_rate=0.1,
                       min_sample=1050, seed=SEED)


@pytest.fixture(scope="module")
def switches():
    return kill_switch_aa_simulate(experiments=1000, days=14, look_minutes=240,
                                   subjects_per_day=200, seed=SEED)


def test_a_thousand_aa_experiments_checked_daily_are_declared_in_at_most_five_percent(
        aa_daily):
    assert (aa_daily.experiments, aa_daily.days) == (1000, 14)
    assert aa_daily.sequential_share <= 0.05


def test_the_fixed_horizon_test_peeked_at_daily_declares_more_than_the_verdict(aa_daily):
    # Peeking inflates the z-test well past its 5 %; looked at once it keeps about 5 %.
    assert aa_daily.fixed_daily_share > aa_daily.sequential_share
    assert aa_daily.fixed_daily_share > 0.08
    assert 0.025 <= aa_daily.fixed_final_share <= 0.075
    assert aa_daily.fixed_final_share < aa_daily.fixed_daily_share


def test_a_real_effect_is_declared_by_the_same_simulation():
    report = aa_simulate(experiments=100, days=14, subjects_per_day=300, base_rate=0.1,
                         variant_rate=0.13, min_sample=1050, seed=SEED)
    assert report.sequential_share >= 0.8
    assert report.fixed_daily_share >= report.sequential_share


def test_nothing_is_declared_before_the_minimum_sample_whatever_the_effect():
    # Three days of 300 a day never reach 1,050 per arm.
    report = aa_simulate(experiments=100, days=3, subjects_per_day=300, base_rate=0.1,
                         variant_rate=0.5, min_sample=1050, seed=SEED)
    assert (report.sequential, report.fixed_daily, report.fixed_final) == (0, 0, 0)


def test_kill_switches_trip_falsely_in_at_most_one_percent_of_aa_experiments(switches):
    assert switches.experiments == 1000 and switches.looks == 14 * 6
    assert switches.any_share <= 0.01
    assert switches.judged > 1000  # the judges were really asked, many times
    assert set(switches.trips) == {"error", "response_time", "hallucination", "objection"}


def test_each_kill_switch_trips_on_a_variant_that_is_really_worse():
    rates = {"error": 0.05, "hallucination": 0.02, "objection": 0.10}
    for metric, worse in [("error", 0.15), ("hallucination", 0.08), ("objection", 0.3)]:
        report = kill_switch_aa_simulate(experiments=10, look_minutes=240, subjects_per_day=200,
                                         seed=SEED, event_rates=rates,
                                         variant_event_rates={metric: worse})
        assert report.trips[metric] == 10, (metric, report.trips)
    slow = kill_switch_aa_simulate(experiments=10, look_minutes=240, subjects_per_day=200,
                                   seed=SEED, variant_time_scale=2.0)
    assert slow.trips["response_time"] == 10


def test_the_kill_switch_simulation_refuses_an_alpha_its_shortcut_cannot_serve():
    with pytest.raises(ValueError, match="alpha"):
        kill_switch_aa_simulate(experiments=1, subjects_per_day=10, seed=1, alpha=0.5)


def test_the_aa_table_shows_the_shares_side_by_side(aa_daily, switches):
    table = format_table(AA_TABLE_HEADER, [aa_table_row(aa_daily, switches)])
    header, rule, row = table.splitlines()
    assert "sequential share" in header and "kill-switch false trips" in header
    assert set(rule) <= {"|", "-"}
    assert f"{aa_daily.sequential_share:.1%}" in row
    assert f"of {switches.experiments:,}" in row


def test_the_command_prints_the_aa_table_and_shows_progress_on_stderr():
    out, err = io.StringIO(), io.StringIO()
    call_command("experiments_aa_simulate", "--experiments", "20", "--days", "5",
                 "--subjects-per-day", "400", "--base-rate", "0.2", "--min-sample", "500",
                 "--look-minutes", "240", "--seed", "7", stdout=out, stderr=err)
    text = out.getvalue()
    assert "seed 7: 20 experiments of 5 days, 400 new subjects per arm a day" in text
    header = next(line for line in text.splitlines() if line.startswith("| base rate"))
    assert [cell.strip() for cell in header.split("|")[1:-1]] == list(AA_TABLE_HEADER)
    row = next(line for line in text.splitlines() if line.startswith("| 20.0%"))
    assert "5 daily" in row and "30 every 240 min" in row and "of 20)" in row
    progress = err.getvalue()
    assert "A/A verdicts, daily looks" in progress and "20/20" in progress
    assert "A/A kill-switches, a look every 240 min" in progress
    # The same seed gives the same table.
    again = io.StringIO()
    call_command("experiments_aa_simulate", "--experiments", "20", "--days", "5",
                 "--subjects-per-day", "400", "--base-rate", "0.2", "--min-sample", "500",
                 "--look-minutes", "240", "--seed", "7", stdout=again, stderr=io.StringIO())
    assert again.getvalue() == text


@pytest.mark.parametrize("arguments, message", [
    (["--experiments", "0"], "--experiments must be from 1"),
    (["--experiments", "100001"], "--experiments must be from 1"),
    (["--days", "0"], "--days must be from 1 to 365"),
    (["--subjects-per-day", "0"], "--subjects-per-day must be from 1"),
    (["--base-rate", "0"], "--base-rate must be a rate strictly between 0 and 1"),
    (["--base-rate", "1.5"], "--base-rate must be a rate strictly between 0 and 1"),
    (["--min-sample", "0"], "--min-sample must be at least 1"),
    (["--look-minutes", "0"], "--look-minutes must be from 1 to 1440"),
    (["--seed", "-1"], "--seed must be 0 or more"),
])
def test_the_command_refuses_out_of_range_arguments_with_a_clear_message(arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("experiments_aa_simulate", *arguments, stdout=io.StringIO(),
                     stderr=io.StringIO())
