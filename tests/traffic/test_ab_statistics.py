"""The request-table summaries the A/B page shows: the traffic split, the error breakdown by
kind and the breaker summary (the statistical tests are in test_simulator.py)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from ner_core.errors import ConfigError
from ner_core.traffic import ab_statistics, experiment, simulator

NONE, FAULT, REJECTED, OTHER = (
    experiment.ERROR_NONE,
    experiment.ERROR_INJECTED_FAULT,
    experiment.ERROR_BREAKER_REJECTED,
    experiment.ERROR_OTHER,
)


def result_of(requests, planned=None, timelines=None):
    return simulator.SimulationResult("sim", pd.DataFrame(requests), planned or {}, timelines or {}, "A", False, 0.0)


def routed(pairs):
    """Requests from (chosen arm, serving arm) pairs."""
    return {"chosen_arm": [chosen for chosen, _ in pairs], "arm": [served for _, served in pairs]}


# ----------------------------------------------------------------- traffic split


def test_split_table_counts_picks_and_serving_against_the_plan():
    # 6 requests: A picked 4 times (one fell back to B), B picked twice.
    pairs = [("A", "A"), ("A", "A"), ("A", "A"), ("A", "B"), ("B", "B"), ("B", "B")]
    table = ab_statistics.split_table(result_of(routed(pairs), planned={"A": 0.75, "B": 0.25}))
    assert list(table.columns) == ["arm", "planned share", "router picks", "picked share", "served", "served share"]
    assert list(table["arm"]) == ["A", "B"]
    assert list(table["planned share"]) == [0.75, 0.25]
    assert list(table["router picks"]) == [4, 2]
    assert list(table["picked share"]) == pytest.approx([4 / 6, 2 / 6])
    assert list(table["served"]) == [3, 3]
    assert list(table["served share"]) == pytest.approx([0.5, 0.5])


def test_split_table_lists_planned_arms_that_got_nothing_and_unplanned_ones_that_did():
    table = ab_statistics.split_table(result_of(routed([("A", "A"), ("A", "C")]), planned={"A": 0.5, "B": 0.5}))
    rows = table.set_index("arm")
    assert list(rows.index) == ["A", "B", "C"]
    assert rows.loc["B", "router picks"] == 0 and rows.loc["B", "served"] == 0
    assert rows.loc["C", "served"] == 1 and math.isnan(rows.loc["C", "planned share"])


def test_split_table_of_a_replayed_simulation_has_no_planned_share():
    table = ab_statistics.split_table(result_of(routed([("A", "A"), ("B", "B")])))
    assert table["planned share"].isna().all()
    assert ab_statistics.split_shares_long(table)["split"].unique().tolist() == ["picked share", "served share"]


def test_split_table_of_no_requests_is_the_plan_alone():
    table = ab_statistics.split_table(result_of(routed([]), planned={"A": 1.0}))
    assert table.to_dict("records") == [
        {"arm": "A", "planned share": 1.0, "router picks": 0, "picked share": 0.0, "served": 0, "served share": 0.0}
    ]


def test_split_shares_long_has_one_row_per_arm_and_share():
    table = ab_statistics.split_table(result_of(routed([("A", "A"), ("A", "B")]), planned={"A": 1.0, "B": 0.0}))
    long = ab_statistics.split_shares_long(table)
    assert list(long.columns) == ["arm", "split", "share"]
    shares = {(row.arm, row.split): row.share for row in long.itertuples()}
    assert shares == {
        ("A", "planned share"): 1.0,
        ("B", "planned share"): 0.0,
        ("A", "picked share"): 1.0,
        ("B", "picked share"): 0.0,
        ("A", "served share"): 0.5,
        ("B", "served share"): 0.5,
    }


def test_split_shares_long_refuses_a_table_without_the_shares():
    with pytest.raises(ConfigError, match="lacks picked share, served share"):
        ab_statistics.split_shares_long(pd.DataFrame({"arm": ["A"], "planned share": [1.0]}))


# ----------------------------------------------------------------- errors by kind


def requests_with_kinds(rows):
    """Requests from (serving arm, error kind) pairs; ``error`` is true for every kind but none."""
    return pd.DataFrame(
        {"arm": [arm for arm, _ in rows], "error_kind": [kind for _, kind in rows], "error": [kind != NONE for _, kind in rows]}
    )


def test_error_breakdown_counts_each_kind_per_serving_arm():
    rows = [("A", NONE), ("A", FAULT), ("A", FAULT), ("A", REJECTED), ("B", NONE), ("B", NONE), ("B", OTHER), ("B", NONE)]
    table = ab_statistics.error_breakdown(requests_with_kinds(rows))
    assert list(table.columns) == ["arm", "error rate", "injected faults", "rejected (breaker open)"]
    assert table.to_dict("records") == [
        {"arm": "A", "error rate": 0.75, "injected faults": 2, "rejected (breaker open)": 1},
        {"arm": "B", "error rate": 0.25, "injected faults": 0, "rejected (breaker open)": 0},  # "other" counts in the rate only
    ]


def test_error_breakdown_reads_kinds_not_messages():
    frame = requests_with_kinds([("A", FAULT), ("A", NONE)]).assign(error_message=["rejected: looks like a rejection", ""])
    table = ab_statistics.error_breakdown(result_of(frame)).set_index("arm")
    assert (table.loc["A", "injected faults"], table.loc["A", "rejected (breaker open)"]) == (1, 0)


def test_error_breakdown_of_no_requests_is_empty_with_its_columns():
    table = ab_statistics.error_breakdown(requests_with_kinds([]))
    assert table.empty and list(table.columns) == ["arm", "error rate", "injected faults", "rejected (breaker open)"]


def test_error_breakdown_needs_the_error_kind_column():
    with pytest.raises(ConfigError, match="no error_kind column"):
        ab_statistics.error_breakdown(pd.DataFrame({"arm": ["A"], "error": [True]}))


def test_error_breakdown_refuses_unknown_kinds():
    with pytest.raises(ConfigError, match="unknown error kinds 'timeout'"):
        ab_statistics.error_breakdown(requests_with_kinds([("A", "timeout")]))


# ----------------------------------------------------------------- breakers


def test_breaker_summary_counts_openings_and_reports_the_last_state():
    timelines = {
        "flaky": [(0.0, "closed"), (1.0, "open"), (61.0, "half_open"), (61.0, "open"), (121.0, "half_open")],
        "good": [(0.0, "closed")],
    }
    table = ab_statistics.breaker_summary(result_of(routed([]), timelines=timelines))
    assert table.to_dict("records") == [
        {"arm": "flaky", "times opened": 2, "final state": "half_open"},
        {"arm": "good", "times opened": 0, "final state": "closed"},
    ]


def test_breaker_summary_of_no_timelines_is_empty_with_its_columns():
    table = ab_statistics.breaker_summary(result_of(routed([]), timelines={"A": []}))
    assert table.empty and list(table.columns) == ["arm", "times opened", "final state"]


# ----------------------------------------------------------------- split mismatch, time buckets, F1 difference


def test_split_mismatch_p_value_tests_the_router_picks_against_the_plan():
    pairs = [("A", "A")] * 60 + [("B", "A")] * 40  # every B pick fell back to A: the served split is 100/0
    result = result_of(routed(pairs), planned={"A": 0.5, "B": 0.5})
    expected = ab_statistics.sample_ratio_mismatch({"A": 60, "B": 40}, {"A": 0.5, "B": 0.5})
    assert ab_statistics.split_mismatch_p_value(result) == pytest.approx(expected)
    assert expected == pytest.approx(0.0455, abs=1e-4)  # chi-square 4.0 with 1 degree of freedom


def test_split_mismatch_p_value_is_none_without_a_recorded_plan():
    assert ab_statistics.split_mismatch_p_value(result_of(routed([("A", "A")]))) is None


@pytest.mark.parametrize(
    ("times", "bucket"),
    [
        ([0.5, 100.0], 5.0),  # 100 s / 20
        ([1.0, 33.0], 1.6),  # rounded to 0.1 s
        ([0.1, 4.0], 1.0),  # never below 1 s
        ([0.0], 1.0),
        ([], 1.0),
    ],
)
def test_default_time_bucket_is_a_twentieth_of_the_simulated_time(times, bucket):
    assert ab_statistics.default_time_bucket_s(pd.DataFrame({"time_s": times}, dtype=float)) == bucket


def counts_frame(arm_counts):
    """Requests from {arm: [(correct, predicted, gold), ...]}; the i-th request of every arm replays sentence i."""
    rows = [(arm, i, *counts) for arm, per_request in arm_counts.items() for i, counts in enumerate(per_request)]
    return pd.DataFrame(rows, columns=["arm", "sentence_index", "correct_entities", "predicted_entities", "gold_entities"])


def test_f1_difference_between_two_serving_arms():
    frame = counts_frame({"A": [(2, 2, 2)] * 30, "B": [(0, 2, 2)] * 15 + [(2, 2, 2)] * 15})
    found = ab_statistics.f1_difference_between(frame, "A", "B", n_boot=200)
    assert (found.arm_a, found.arm_b, found.sentences) == ("A", "B", 30)
    assert found.difference == pytest.approx(1.0 - 0.5)
    assert found.low <= found.difference <= found.high and found.low > 0
    assert found.p_value < 0.05
    counts = ab_statistics.per_sentence_counts(frame, ["A", "B"])[1]
    assert (found.difference, found.low, found.high, found.p_value) == ab_statistics.f1_difference_test(
        counts[0], counts[1], n_boot=200
    )


def test_f1_difference_between_an_arm_that_served_nothing_is_a_config_error():
    with pytest.raises(ConfigError, match="no requests were served by 'C'"):
        ab_statistics.f1_difference_between(counts_frame({"A": [(1, 1, 1)]}), "A", "C")


# ----------------------------------------------------------------- bootstrap by sentence


def replayed(arm_sentences, replays):
    """Requests of arms that each serve every sentence ``replays`` times; ``arm_sentences``:
    {arm: [(correct, predicted, gold) per distinct sentence]}."""
    rows = [
        (arm, sentence, *counts)
        for arm, sentences in arm_sentences.items()
        for sentence, counts in enumerate(sentences)
        for _ in range(replays)
    ]
    return pd.DataFrame(rows, columns=["arm", "sentence_index", "correct_entities", "predicted_entities", "gold_entities"])


N_SENTENCES = 40
# Half the sentences are tagged right (1 of 1 entity), half wrong (0 of 1): in a resample of 40 sentences
# with m right ones, F1 = 2m / (40 + 40) = m / 40, and m ~ Binomial(40, 1/2). So the 95% interval is known.
HALF_RIGHT = [(1, 1, 1)] * (N_SENTENCES // 2) + [(0, 1, 1)] * (N_SENTENCES // 2)
BINOMIAL_LOW, BINOMIAL_HIGH = (stats.binom.ppf(q, N_SENTENCES, 0.5) / N_SENTENCES for q in (0.025, 0.975))


def test_the_f1_interval_resamples_sentences_and_matches_the_known_binomial_interval():
    assert (BINOMIAL_LOW, BINOMIAL_HIGH) == (14 / 40, 26 / 40)
    table = ab_statistics.entity_f1_by_arm(replayed({"A": HALF_RIGHT}, replays=24), n_boot=20_000, seed=3)
    row = table.loc["A"]
    assert (row["requests"], row["sentences"], row["f1"]) == (960, 40, 0.5)
    # The bootstrap quantiles sit on the binomial ones (within one sentence of 1/40; np.quantile interpolates).
    assert row["ci_low"] == pytest.approx(BINOMIAL_LOW, abs=1 / N_SENTENCES)
    assert row["ci_high"] == pytest.approx(BINOMIAL_HIGH, abs=1 / N_SENTENCES)


def test_replaying_each_sentence_more_often_does_not_narrow_the_interval():
    once = ab_statistics.entity_f1_by_arm(replayed({"A": HALF_RIGHT}, replays=1), n_boot=2000, seed=0).loc["A"]
    often = ab_statistics.entity_f1_by_arm(replayed({"A": HALF_RIGHT}, replays=24), n_boot=2000, seed=0).loc["A"]
    assert (often["ci_low"], often["ci_high"]) == (once["ci_low"], once["ci_high"])
    # What resampling requests would claim: an interval about sqrt(24) ~ 4.9 times narrower.
    per_request = ab_statistics.per_request_counts(replayed({"A": HALF_RIGHT}, replays=24), "A")
    _, low, high = ab_statistics.bootstrap_f1_ci(per_request, n_boot=2000, seed=0)
    assert (often["ci_high"] - often["ci_low"]) > 3 * (high - low)


def test_the_difference_resamples_sentences_for_both_arms_at_once():
    # A tags every sentence right (F1 1 in any resample); B only half: F1_A - F1_B = 1 - m/40, m ~ Binomial(40, 1/2).
    frame = replayed({"A": [(1, 1, 1)] * N_SENTENCES, "B": HALF_RIGHT}, replays=12)
    found = ab_statistics.f1_difference_between(frame, "A", "B", n_boot=20_000, seed=5)
    assert (found.difference, found.sentences) == (0.5, 40)
    assert found.low == pytest.approx(1 - BINOMIAL_HIGH, abs=1 / N_SENTENCES)
    assert found.high == pytest.approx(1 - BINOMIAL_LOW, abs=1 / N_SENTENCES)
    assert found.p_value == 0.0  # no resample puts B level with A


def test_arms_that_served_different_sentences_are_paired_on_the_union():
    frame = pd.concat([replayed({"A": HALF_RIGHT}, replays=2), replayed({"B": HALF_RIGHT[:10]}, replays=3)])
    sentences, counts = ab_statistics.per_sentence_counts(frame, ["A", "B"])
    assert list(sentences) == list(range(40)) and counts.shape == (2, 40, 3)
    assert counts[0, 0].tolist() == [2, 2, 2] and counts[1, 0].tolist() == [3, 3, 3]
    assert counts[1, 39].tolist() == [0, 0, 0]  # B never served sentence 39
    table = ab_statistics.entity_f1_by_arm(frame, n_boot=100)
    assert table.loc["A", "sentences"] == 40 and table.loc["B", "sentences"] == 10


def test_a_request_table_without_sentences_cannot_be_bootstrapped_by_sentence():
    frame = counts_frame({"A": [(1, 1, 1)]}).drop(columns="sentence_index")
    with pytest.raises(ConfigError, match="no sentence_index column"):
        ab_statistics.entity_f1_by_arm(frame)
    with pytest.raises(ConfigError, match="do not say which sentence"):
        ab_statistics.entity_f1_by_arm(counts_frame({"A": [(1, 1, 1)]}).assign(sentence_index=-1))


# ----------------------------------------------------------------- the primary arm against each other arm


def test_the_primary_arm_has_the_highest_planned_weight_or_else_the_most_picks():
    planned = result_of(routed([("B", "B"), ("B", "B"), ("A", "A")]), planned={"A": 0.7, "B": 0.2, "C": 0.1})
    assert ab_statistics.primary_arm(planned) == "A"
    replayed_from_log = result_of(routed([("B", "B"), ("B", "A"), ("A", "A")]))
    assert ab_statistics.primary_arm(replayed_from_log) == "B"  # picked twice (once it fell back to A)
    with pytest.raises(ConfigError, match="no primary arm"):
        ab_statistics.primary_arm(result_of(routed([])))


def test_the_primary_arm_is_compared_with_each_other_arm():
    frame = replayed({"A": [(1, 1, 1)] * N_SENTENCES, "B": HALF_RIGHT, "C": [(1, 1, 1)] * N_SENTENCES}, replays=2)
    table = ab_statistics.differences_from_primary(frame, "A", n_boot=500)
    assert list(table.columns) == ab_statistics.DIFFERENCE_COLUMNS
    assert list(table["versus"]) == ["B", "C"]
    rows = table.set_index("versus")
    assert rows.loc["B", "F1 difference"] == 0.5 and rows.loc["C", "F1 difference"] == 0.0
    assert rows.loc["C", "ci_low"] == rows.loc["C", "ci_high"] == 0.0 and rows.loc["C", "p-value"] == 1.0
    assert set(rows["sentences"]) == {40}
