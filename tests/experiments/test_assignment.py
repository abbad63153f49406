"""Pure assignment: stable buckets, weighted ranges, roll-back to control. No database."""

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from experiments.assignment import (
    BUCKETS,
    bucket,
    even_weights,
    variant_for_bucket,
    variant_key_for,
)

WEIGHTS = [("control", 50), ("scarcity", 25), ("social-proof", 25)]


def assign_all(subjects, *, rolled_back=()):
    return {
        subject: variant_key_for(experiment_key="psychology-tactics", subject_id=subject,
                                 weights=WEIGHTS, rolled_back=rolled_back, control="control")
        for subject in subjects
    }


def test_ten_thousand_subjects_over_50_25_25_land_within_2_percent_of_the_weights():
    shares = Counter(assign_all(range(1, 10_001)).values())
    for key, weight in WEIGHTS:
        assert abs(shares[key] / 10_000 - weight / 100) <= 0.02, (key, shares)


def test_the_same_subject_always_gets_the_same_variant():
    first = assign_all(range(1, 2_001))
    assert assign_all(range(1, 2_001)) == first


def test_buckets_are_pinned_so_every_process_and_release_computes_the_same_ones():
    # SHA-256 of "<experiment key>:<subject id>": changing the hash would re-randomise every
    # running experiment, so these values must never move.
    assert bucket("psychology-tactics", 1) == 233
    assert bucket("psychology-tactics", 2) == 4108
    assert bucket("psychology-tactics", 3) == 2165
    assert bucket("psychology-tactics", 1000) == 5490
    assert bucket("psychology-tactics", 2**63 - 1) == 9599
    assert bucket("reply-tone", 1) == 7524


def test_a_fresh_interpreter_with_another_hash_seed_computes_the_same_bucket():
    code = "from experiments.assignment import bucket; print(bucket('psychology-tactics', 2))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONHASHSEED": "12345"},
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "4108"


def test_another_experiment_key_shuffles_subjects_independently():
    same = sum(bucket("a", s) == bucket("b", s) for s in range(1, 5_001))
    assert same < 10


def test_buckets_fall_into_consecutive_ranges_in_the_order_of_the_variants():
    assert variant_for_bucket(0, WEIGHTS) == "control"
    assert variant_for_bucket(4999, WEIGHTS) == "control"
    assert variant_for_bucket(5000, WEIGHTS) == "scarcity"
    assert variant_for_bucket(7499, WEIGHTS) == "scarcity"
    assert variant_for_bucket(7500, WEIGHTS) == "social-proof"
    assert variant_for_bucket(BUCKETS - 1, WEIGHTS) == "social-proof"


def test_a_variant_of_weight_zero_gets_nobody():
    weights = [("control", 50), ("off", 0), ("on", 50)]
    assert "off" not in {variant_for_bucket(b, weights) for b in range(BUCKETS)}


@pytest.mark.parametrize("bad", [-1, BUCKETS])
def test_a_bucket_out_of_range_is_refused(bad):
    with pytest.raises(ValueError, match="bucket"):
        variant_for_bucket(bad, WEIGHTS)


def test_weights_that_do_not_sum_to_100_are_refused():
    with pytest.raises(ValueError, match="sum to 100"):
        variant_for_bucket(0, [("control", 50), ("a", 40)])


def test_rolling_back_one_arm_moves_only_its_own_subjects_to_control():
    before = assign_all(range(1, 10_001))
    after = assign_all(range(1, 10_001), rolled_back={"scarcity"})
    moved = {s for s in before if before[s] != after[s]}
    assert moved == {s for s, key in before.items() if key == "scarcity"}
    assert all(after[s] == "control" for s in moved)
    assert "scarcity" not in after.values()


def test_an_even_split_gives_the_remainder_to_control():
    assert even_weights(2, control_index=0) == [50, 50]
    assert even_weights(3, control_index=1) == [33, 34, 33]
    assert even_weights(7, control_index=6) == [14] * 6 + [16]
    with pytest.raises(ValueError):
        even_weights(3, control_index=3)
