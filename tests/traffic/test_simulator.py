import json
import threading
import time

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ner_core.corpus.annotated import Sentence
from ner_core.errors import ConfigError
from ner_core.evaluation import latency
from ner_core.modeling import architectures, encoding
from ner_core.store.database import Store
from ner_core.traffic import ab_statistics, circuit_breaker, experiment, replay, routing, simulator

SENTENCES = [
    Sentence(words=["John", "lives", "in", "London", "."], tags=["B-per", "O", "O", "B-geo", "O"]),
    Sentence(words=["Mary", "Smith", "visited", "Paris", "."], tags=["B-per", "I-per", "O", "B-geo", "O"]),
    Sentence(words=["The", "talks", "in", "New", "York", "ended", "."], tags=["O", "O", "O", "B-geo", "I-geo", "O", "O"]),
    Sentence(words=["Nothing", "happened", "today", "."], tags=["O", "O", "O", "O"]),
    Sentence(words=["Smith", "met", "John", "in", "Berlin", "."], tags=["B-per", "O", "B-per", "O", "B-geo", "O"]),
    Sentence(words=["Paris", "and", "London", "agreed", "."], tags=["B-geo", "O", "B-geo", "O", "O"]),
]
LOG_COLUMNS = {
    "source",
    "simulation_id",
    "simulated_time_s",
    "arm",
    "run_id",
    "text",
    "entities_json",
    "latency_ms",
    "error",
    "error_kind",
    "breaker_state",
    "routing_reason",
    "gold_json",
    "predicted_tags_json",
}


def make_arm(name, weight=1.0, **facts):
    return experiment.Arm(name=name, run_id=f"run-{name}", weight=weight, **facts)


def counts_with_f1(n, hit_rate, seed):
    """Per-request (tp, predicted, gold) with 2 gold and 2 predicted entities, each right with ``hit_rate``."""
    rng = np.random.default_rng(seed)
    tp = rng.binomial(2, hit_rate, size=n)
    return np.column_stack([tp, np.full(n, 2), np.full(n, 2)]).astype(float)


# ----------------------------------------------------------------- circuit breaker


def test_breaker_opens_after_exactly_threshold_consecutive_failures():
    breaker = circuit_breaker.CircuitBreaker(failure_threshold=5, reset_s=60.0)
    for second in range(4):
        breaker.record_failure(float(second))
    assert breaker.state == "closed"
    assert breaker.allow(4.0)
    breaker.record_failure(4.0)
    assert breaker.state == "open"
    assert breaker.timeline == [(0.0, "closed"), (4.0, "open")]


def test_breaker_success_resets_the_consecutive_count():
    breaker = circuit_breaker.CircuitBreaker(failure_threshold=5)
    for second in range(4):
        breaker.record_failure(float(second))
    breaker.record_success(4.0)
    for second in range(5, 9):
        breaker.record_failure(float(second))
    assert breaker.state == "closed"


def test_breaker_rejects_while_open_and_half_opens_after_reset():
    breaker = circuit_breaker.CircuitBreaker(failure_threshold=5, reset_s=60.0)
    for _ in range(5):
        breaker.record_failure(10.0)
    assert not breaker.allow(10.0)
    assert not breaker.allow(69.9)
    assert breaker.state == "open"
    assert breaker.allow(70.0)  # the one trial request
    assert breaker.state == "half_open"
    assert not breaker.allow(70.5)  # a second request waits for the trial


def test_breaker_half_open_success_closes_and_failure_reopens():
    breaker = circuit_breaker.CircuitBreaker(failure_threshold=5, reset_s=60.0)
    for _ in range(5):
        breaker.record_failure(0.0)
    assert breaker.allow(60.0)
    breaker.record_failure(60.0)
    assert breaker.state == "open"
    assert not breaker.allow(100.0)
    assert breaker.allow(120.0)
    breaker.record_success(120.0)
    assert breaker.state == "closed"
    assert breaker.allow(120.1)
    assert [state for _, state in breaker.timeline] == ["closed", "open", "half_open", "open", "half_open", "closed"]
    assert [time_s for time_s, _ in breaker.timeline] == [0.0, 0.0, 60.0, 60.0, 120.0, 120.0]


# ----------------------------------------------------------------- router


def test_router_weighted_split_matches_weights_on_10000_draws():
    weights = {"model2": 0.90, "baseline": 0.08, "advanced": 0.02}
    config = experiment.SimulationConfig(arms=[make_arm(name, weight) for name, weight in weights.items()], seed=3)
    router = routing.Router(config)
    draws = [router.choose() for _ in range(10_000)]
    shares = pd.Series([arm.name for arm, _ in draws]).value_counts(normalize=True)
    for name, weight in weights.items():
        assert abs(shares[name] - weight) < 0.015
    assert {reason for _, reason in draws} == {"weighted draw"}
    assert router.planned_split() == pytest.approx(weights)


def test_router_weighted_never_picks_a_zero_weight_arm():
    config = experiment.SimulationConfig(arms=[make_arm("a", 1.0), make_arm("b", 0.0)])
    router = routing.Router(config)
    assert {router.choose()[0].name for _ in range(500)} == {"a"}


RULE_ARMS = [
    make_arm("fast", 0.2, latency_p50_ms=2.0, entity_f1=0.70),
    make_arm("mid", 0.3, latency_p50_ms=5.0, entity_f1=0.85),
    make_arm("slow", 0.5, latency_p50_ms=20.0, entity_f1=0.90, model_name="baseline"),
]


def test_rules_speed_priority_picks_fastest_arm_under_max_latency():
    config = experiment.SimulationConfig(arms=RULE_ARMS, strategy="rules", speed_priority=True, max_latency_ms=10.0)
    arm, reason = routing.Router(config).choose()
    assert arm.name == "fast"
    assert reason == "rule: fastest arm under 10 ms"


def test_rules_combine_latency_and_f1_from_measured_facts():
    config = experiment.SimulationConfig(arms=RULE_ARMS, strategy="rules", max_latency_ms=10.0, min_entity_f1=0.8)
    router = routing.Router(config)
    picks = {router.choose() for _ in range(200)}
    assert {arm.name for arm, _ in picks} == {"mid"}
    assert {reason for _, reason in picks} == {"rule: weighted draw among arms with latency <= 10 ms and entity F1 >= 0.8"}


def test_rules_weighted_among_qualifying_arms():
    config = experiment.SimulationConfig(arms=RULE_ARMS, strategy="rules", min_entity_f1=0.8, seed=1)
    router = routing.Router(config)
    names = pd.Series([router.choose()[0].name for _ in range(4000)])
    assert set(names) == {"mid", "slow"}
    assert abs((names == "mid").mean() - 0.3 / 0.8) < 0.03


def test_rules_count_added_latency_against_max_latency():
    arms = [
        make_arm("fast", latency_p50_ms=2.0, entity_f1=0.7, added_latency_ms=50.0),
        make_arm("mid", latency_p50_ms=5.0, entity_f1=0.8),
    ]
    config = experiment.SimulationConfig(arms=arms, strategy="rules", speed_priority=True, max_latency_ms=10.0)
    assert routing.Router(config).choose()[0].name == "mid"


def test_rules_fall_back_when_no_arm_qualifies():
    config = experiment.SimulationConfig(arms=RULE_ARMS, strategy="rules", max_latency_ms=10.0, min_entity_f1=0.95)
    arm, reason = routing.Router(config).choose()
    assert arm.name == "slow"  # the baseline-model arm is the default fallback
    assert reason.startswith("fallback: no arm has latency <= 10 ms and entity F1 >= 0.95")


def test_rules_unknown_facts_never_qualify():
    arms = [make_arm("unmeasured"), make_arm("measured", latency_p50_ms=30.0, entity_f1=0.5)]
    config = experiment.SimulationConfig(arms=arms, strategy="rules", speed_priority=True)
    assert routing.Router(config).choose()[0].name == "measured"


def test_fallback_defaults_to_baseline_model_then_first_arm():
    assert experiment.SimulationConfig(arms=RULE_ARMS).resolved_fallback_arm() == "slow"
    plain = experiment.SimulationConfig(arms=[make_arm("x"), make_arm("y")])
    assert plain.resolved_fallback_arm() == "x"
    assert plain.resolved_fallback_arm({"y": "baseline"}) == "y"
    assert experiment.SimulationConfig(arms=RULE_ARMS, fallback_arm="mid").resolved_fallback_arm() == "mid"


# ----------------------------------------------------------------- config validation


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"arms": []}, "at least one arm"),
        ({"arms": [make_arm("a", -1.0)]}, "weight"),
        ({"arms": [make_arm("a", 0.0), make_arm("b", 0.0)]}, "sum to 0"),
        ({"arms": [make_arm("a", 1.0, error_probability=1.5)]}, "error probability"),
        ({"arms": [make_arm("a", 1.0, added_latency_ms=-1.0)]}, "added latency"),
        ({"arms": [make_arm("a"), make_arm("a")]}, "unique"),
        ({"requests": 0}, "requests"),
        ({"requests": 1_000_001}, "requests"),
        ({"arrival_rate_per_s": 0.0}, "arrival rate"),
        ({"strategy": "random"}, "strategy"),
        ({"fallback_arm": "nope"}, "fallback"),
        ({"min_entity_f1": 1.5}, "F1"),
        ({"max_latency_ms": -3.0}, "latency"),
        ({"breaker_failure_threshold": 0}, "threshold"),
        ({"batch_log_size": 0}, "batch size"),
    ],
)
def test_bad_config_raises_config_error(changes, message):
    values = {"arms": [make_arm("a"), make_arm("b")], **changes}
    with pytest.raises(ConfigError, match=message):
        experiment.SimulationConfig(**values)


def test_simulate_needs_a_predictor_for_every_arm():
    config = experiment.SimulationConfig(arms=[make_arm("a"), make_arm("b")], requests=10)
    with pytest.raises(ConfigError, match="no predictor for arm 'b'"):
        simulator.simulate(config, {"a": object()}, SENTENCES, latency_samples_ms={"a": [1.0], "b": [1.0]})


# ----------------------------------------------------------------- analysis


def test_srm_balanced_counts_give_high_p_value():
    p_value = ab_statistics.sample_ratio_mismatch({"a": 5010, "b": 4990}, {"a": 0.5, "b": 0.5})
    assert p_value > 0.5
    assert p_value == pytest.approx(stats.chisquare([5010, 4990], [5000, 5000]).pvalue)


def test_srm_skewed_counts_give_tiny_p_value_matching_hand_computation():
    observed = {"a": 9200, "b": 700, "c": 100, "unused": 40}
    planned = {"a": 0.90, "b": 0.08, "c": 0.02, "unused": 0.0}
    expected = np.array([9000.0, 800.0, 200.0])
    chi_square = float((((np.array([9200, 700, 100]) - expected) ** 2) / expected).sum())
    p_value = ab_statistics.sample_ratio_mismatch(observed, planned)
    assert p_value < 0.001
    assert p_value == pytest.approx(stats.chi2.sf(chi_square, df=2))


def test_bootstrap_ci_contains_estimate_and_narrows_with_more_data():
    small = counts_with_f1(100, 0.7, seed=1)
    large = counts_with_f1(5000, 0.7, seed=2)
    f1_small, low_small, high_small = ab_statistics.bootstrap_f1_ci(small, n_boot=500, seed=0)
    f1_large, low_large, high_large = ab_statistics.bootstrap_f1_ci(large, n_boot=500, seed=0)
    assert f1_small == pytest.approx(2 * small[:, 0].sum() / (small[:, 1].sum() + small[:, 2].sum()))
    assert low_small <= f1_small <= high_small
    assert low_large <= f1_large <= high_large
    assert high_large - low_large < (high_small - low_small) / 3


def test_bootstrap_of_10000_requests_1000_times_is_fast():
    counts = counts_with_f1(10_000, 0.8, seed=0)
    started = time.perf_counter()
    ab_statistics.bootstrap_f1_ci(counts, n_boot=1000, seed=0)
    assert time.perf_counter() - started < 5.0


def test_difference_test_detects_a_big_difference():
    difference, low, high, p_value = ab_statistics.f1_difference_test(
        counts_with_f1(400, 0.9, seed=1), counts_with_f1(400, 0.5, seed=2), n_boot=1000, seed=0
    )
    assert difference == pytest.approx(0.4, abs=0.05)
    assert 0 < low <= difference <= high
    assert p_value < 0.01


def test_difference_test_finds_nothing_in_identical_arms():
    counts = counts_with_f1(400, 0.7, seed=1)
    # Paired by sentence: the same answers on the same sentences differ by nothing in every resample.
    assert ab_statistics.f1_difference_test(counts, counts.copy(), n_boot=1000, seed=0) == (0.0, 0.0, 0.0, 1.0)
    # Two arms equally good but wrong on different sentences: an interval around zero.
    difference, low, high, p_value = ab_statistics.f1_difference_test(
        counts, counts_with_f1(400, 0.7, seed=2), n_boot=1000, seed=0
    )
    assert low < 0 < high and low < difference < high
    assert p_value > 0.2


def request_table():
    return pd.DataFrame(
        {
            "sentence_index": [0, 1, 2, 3, 0, 1],
            "time_s": [0.5, 1.5, 2.5, 3.5, 0.7, 1.7],
            "arm": ["a", "a", "a", "a", "b", "b"],
            "latency_ms": [1.0, 2.0, 3.0, 100.0, 5.0, 7.0],
            "error": [False, False, False, True, False, False],
            "correct_entities": [1, 2, 0, 0, 1, 0],
            "predicted_entities": [1, 2, 1, 0, 2, 0],
            "gold_entities": [1, 2, 1, 2, 1, 1],
        }
    )


def test_latency_percentiles_exclude_errors_and_match_numpy():
    table = ab_statistics.latency_percentiles(request_table())
    assert table.loc["a", "requests"] == 3
    assert table.loc["a", "p50"] == pytest.approx(np.percentile([1.0, 2.0, 3.0], 50))
    assert table.loc["a", "p99"] == pytest.approx(np.percentile([1.0, 2.0, 3.0], 99))
    assert table.loc["b", "p95"] == pytest.approx(np.percentile([5.0, 7.0], 95))


def test_latency_over_time_buckets_by_simulated_time():
    table = ab_statistics.latency_over_time(request_table(), bucket_s=2.0)
    a_rows = table[table["arm"] == "a"].set_index("time_s")
    assert list(a_rows.index) == [0.0, 2.0]
    assert a_rows.loc[0.0, "requests"] == 2
    assert a_rows.loc[2.0, "p50"] == 3.0


def test_error_rates_and_entity_f1_by_arm():
    frame = request_table()
    assert ab_statistics.error_rates(frame) == {"a": 0.25, "b": 0.0}
    table = ab_statistics.entity_f1_by_arm(frame, n_boot=200)
    # arm a: tp 3, predicted 4, gold 6 (the errored request's 2 gold entities are missed)
    assert table.loc["a", "f1"] == pytest.approx(2 * 3 / (4 + 6))
    assert table.loc["a", "recall"] == pytest.approx(0.5)
    assert table.loc["b", "f1"] == pytest.approx(2 * 1 / (2 + 2))


# ----------------------------------------------------------------- end to end with real (untrained) models


@pytest.fixture(scope="module")
def predictors():
    import keras

    from ner_core.serving.predictor import Predictor

    keras.utils.set_random_seed(7)
    word_vocab = encoding.build_word_vocabulary(SENTENCES)
    tag_vocab = encoding.build_tag_vocabulary(t for s in SENTENCES for t in s.tags)
    built = {}
    for name in ("model2", "baseline"):
        model = architectures.build_model(name, architectures.ModelDimensions(len(word_vocab), len(tag_vocab)))
        built[name] = Predictor(
            model, encoding.FeatureEncoder(word_vocab, tag_vocab), max_len=75, run_id=f"run-{name}", model_name=name
        )
    return built


@pytest.fixture(scope="module")
def latency_samples(predictors):
    return {name: latency.latency_samples(p, SENTENCES, count=10) for name, p in predictors.items()}


def test_simulate_logs_every_request_with_real_predictions(tmp_path, predictors, latency_samples):
    store = Store(f"sqlite:///{tmp_path}/t.db")
    config = experiment.SimulationConfig(
        arms=[make_arm("model2", 0.7, error_probability=0.3), make_arm("baseline", 0.3)],
        requests=200,
        seed=5,
        batch_log_size=64,
        breaker_failure_threshold=1000,
    )
    progress = []
    result = simulator.simulate(
        config,
        predictors,
        SENTENCES,
        store=store,
        simulation_id="sim-test",
        latency_samples_ms=latency_samples,
        progress=lambda done, total: progress.append((done, total)),
    )

    rows = store.prediction_rows(simulation_id="sim-test")
    assert len(rows) == 200 == result.rows_logged == len(result.requests)
    assert LOG_COLUMNS <= set(rows[0])
    assert {row["source"] for row in rows} == {"simulation"}
    assert progress[-1] == (200, 200)
    assert not result.cancelled

    requests = result.requests
    assert abs((requests["arm"] == "model2").mean() - 0.7) < 0.1
    assert ab_statistics.sample_ratio_mismatch(result.observed_counts("chosen_arm"), result.planned_weights) > 0.001
    errors = ab_statistics.error_rates(result)
    assert abs(errors["model2"] - 0.3) < 0.12
    assert errors["baseline"] == 0.0
    assert (requests["time_s"].diff().dropna() > 0).all()

    for row in rows[:40]:
        sentence = next(s for s in SENTENCES if " ".join(s.words) == row["text"])
        assert json.loads(row["gold_json"]) == sentence.tags
        assert row["error_kind"] == (experiment.ERROR_INJECTED_FAULT if row["error"] else experiment.ERROR_NONE)
        if row["error"]:
            assert row["error"] == "injected fault"
            assert json.loads(row["entities_json"]) == []
            continue
        predicted = json.loads(row["predicted_tags_json"])
        assert predicted == predictors[row["arm"]].tag_sentences([sentence.words])[0][0]  # real model output
        for entity in json.loads(row["entities_json"]):
            assert row["text"][entity["start"] : entity["end"]] == entity["text"]
        assert row["latency_ms"] >= min(latency_samples[row["arm"]])


def test_simulate_opens_breaker_and_falls_back_to_baseline(predictors, latency_samples):
    config = experiment.SimulationConfig(
        arms=[make_arm("model2", 0.9, error_probability=1.0), make_arm("baseline", 0.1)],
        requests=200,
        arrival_rate_per_s=20.0,
        breaker_reset_s=2.0,
        seed=1,
    )
    result = simulator.simulate(config, predictors, SENTENCES, store=None, latency_samples_ms=latency_samples)
    requests = result.requests
    assert result.fallback_arm == "baseline"

    model2_served = requests[requests["arm"] == "model2"]
    assert model2_served["error"].all()
    assert (model2_served["error_kind"] == experiment.ERROR_INJECTED_FAULT).all()
    first_five = model2_served.iloc[:5]
    states = [state for _, state in result.breaker_timelines["model2"]]
    assert states[:3] == ["closed", "open", "half_open"]
    assert result.breaker_timelines["model2"][1][0] == first_five["time_s"].iloc[-1]
    assert "closed" not in states[1:]  # every trial fails

    fallbacks = requests[requests["reason"].str.startswith("fallback: breaker open for model2")]
    assert len(fallbacks) > 100
    assert (fallbacks["arm"] == "baseline").all()
    assert (fallbacks["breaker_state"] == "open").all()
    assert not fallbacks["error"].any()
    assert (fallbacks["error_kind"] == experiment.ERROR_NONE).all()
    # Only the trials after each 2 s reset reach model2 once it has opened.
    simulated_s = requests["time_s"].iloc[-1]
    assert len(model2_served) <= 5 + simulated_s / 2.0 + 1


def test_a_request_no_arm_can_take_is_a_breaker_rejection(predictors, latency_samples):
    # One flaky arm is its own fallback: once its breaker opens, nobody can serve.
    config = experiment.SimulationConfig(
        arms=[make_arm("model2", 1.0, error_probability=1.0)], requests=40, breaker_reset_s=1000.0, seed=2
    )
    result = simulator.simulate(config, predictors, SENTENCES, latency_samples_ms=latency_samples)
    kinds = list(result.requests["error_kind"])
    assert kinds == [experiment.ERROR_INJECTED_FAULT] * 5 + [experiment.ERROR_BREAKER_REJECTED] * 35
    assert result.requests["error"].all()
    rejected = result.requests.iloc[5:]
    assert rejected["error_message"].str.startswith("rejected: circuit open for model2").all()
    assert set(rejected["breaker_state"]) == {"open"}


def test_simulate_is_reproducible_and_cancellable(tmp_path, predictors, latency_samples):
    config = experiment.SimulationConfig(
        arms=[make_arm("model2", 0.5), make_arm("baseline", 0.5)], requests=200, seed=9, batch_log_size=50
    )
    first = simulator.simulate(config, predictors, SENTENCES, latency_samples_ms=latency_samples)
    second = simulator.simulate(config, predictors, SENTENCES, latency_samples_ms=latency_samples)
    pd.testing.assert_frame_equal(first.requests, second.requests)

    store = Store(f"sqlite:///{tmp_path}/t.db")
    cancel = threading.Event()
    result = simulator.simulate(
        config,
        predictors,
        SENTENCES,
        store=store,
        simulation_id="sim-cancel",
        latency_samples_ms=latency_samples,
        cancel=cancel,
        progress=lambda done, total: cancel.set() if done >= 100 else None,
    )
    assert result.cancelled
    assert len(result.requests) == 100
    assert store.count_predictions(simulation_id="sim-cancel") == 100
    pd.testing.assert_frame_equal(result.requests, first.requests.iloc[:100])


def test_result_from_log_rebuilds_the_request_table_of_an_earlier_simulation(tmp_path, predictors, latency_samples):
    store = Store(f"sqlite:///{tmp_path}/t.db")
    config = experiment.SimulationConfig(
        arms=[make_arm("model2", 0.8, error_probability=1.0), make_arm("baseline", 0.2)],
        requests=120,
        breaker_reset_s=2.0,
        seed=3,
    )
    result = simulator.simulate(
        config, predictors, SENTENCES, store=store, simulation_id="sim-log", latency_samples_ms=latency_samples
    )
    assert store.simulation_summaries()[0]["simulation_id"] == "sim-log"
    assert store.simulation_summaries()[0]["requests"] == 120

    rebuilt = replay.result_from_log("sim-log", store.prediction_rows(simulation_id="sim-log"))
    columns = [
        "time_s",
        "chosen_arm",
        "arm",
        "run_id",
        "latency_ms",
        "error",
        "error_kind",
        "breaker_state",
        "reason",
        "correct_entities",
        "gold_entities",
        "predicted_entities",
    ]
    pd.testing.assert_frame_equal(rebuilt.requests[columns], result.requests[columns], check_dtype=False)
    assert rebuilt.planned_weights == {}  # not recorded in the log
    assert [state for _, state in rebuilt.breaker_timelines["model2"]][:2] == ["closed", "open"]
