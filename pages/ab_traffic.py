"""A/B traffic: replay labelled test sentences through a router over registered runs and analyse the split."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from ner_core.errors import NerError
from ner_core.traffic import ab_statistics, experiment, replay, routing, simulator
from ner_core.training import loop
from ner_core.training.config import TrainConfig
from ui import util

KEY = "ab_traffic"
RESULTS_STATE = f"{KEY}_results"  # simulation id -> SimulationResult, for simulations run in this session
LAST_STATE = f"{KEY}_last_simulation"
MAX_ARMS = 6
STATE_LEVELS = {"closed": 0, "half_open": 1, "open": 2}
LOG_COLUMNS = [
    "id",
    "simulated_time_s",
    "arm",
    "run_id",
    "latency_ms",
    "error",
    "breaker_state",
    "routing_reason",
    "text",
    "entities_json",
]


@st.cache_data(show_spinner="Reading the test split...", max_entries=4)
def test_sentences(run_id: str, config_json: str) -> list:
    """The labelled test split of a run's dataset, rebuilt from its config (``config_json`` keys the cache)."""
    run = util.get_store().get_run(run_id)
    _, splits = loop.prepare_splits(TrainConfig.from_dict(run.config))
    return list(splits.test)


@st.cache_data(show_spinner=False, max_entries=8)
def log_rows(database_url: str, simulation_id: str, count: int) -> list[dict]:
    """A finished simulation's log rows (``count`` keys the cache: a simulation's rows never change afterwards)."""
    return util.get_store().prediction_rows(simulation_id=simulation_id)


@st.cache_data(show_spinner="Bootstrapping entity F1...", max_entries=8)
def quality_by_arm(requests: pd.DataFrame) -> pd.DataFrame:
    return ab_statistics.entity_f1_by_arm(requests, n_boot=1000)


@st.cache_data(show_spinner=False, max_entries=16)
def f1_difference(requests: pd.DataFrame, arm_a: str, arm_b: str) -> tuple[float, float, float, float]:
    return ab_statistics.f1_difference_test(
        ab_statistics.per_request_counts(requests, arm_a), ab_statistics.per_request_counts(requests, arm_b), n_boot=1000
    )


def default_arms(runs) -> list[dict]:
    """The product split (model2 90%, baseline 8%, advanced 2%) over each model's latest run;
    with fewer of those, the two newest runs 50/50, or an A/A test of the only run."""
    latest = {}
    for run in runs:  # newest first
        latest.setdefault(run.model_name, run)
    arms = [
        {"name": model, "run": latest[model], "weight": share * 100}
        for model, share in experiment.DEFAULT_WEIGHTS.items()
        if model in latest
    ]
    if len(arms) >= 2:
        return arms
    if len(runs) >= 2:
        first, second = runs[0], runs[1]
        names = [first.model_name, second.model_name]
        if names[0] == names[1]:
            names = [f"{names[0]} (newest)", f"{names[1]} (previous)"]
        return [{"name": names[0], "run": first, "weight": 50.0}, {"name": names[1], "run": second, "weight": 50.0}]
    return [{"name": "A", "run": runs[0], "weight": 50.0}, {"name": "B", "run": runs[0], "weight": 50.0}]


# --------------------------------------------------------------------------- configuration


def arm_inputs(runs) -> list[tuple[experiment.Arm, object]]:
    """One row of inputs per arm; returns each arm with its run."""
    defaults = default_arms(runs)
    count = st.number_input("Arms", min_value=1, max_value=MAX_ARMS, value=len(defaults), key=f"{KEY}_arm_count")
    header = st.columns([2, 4, 2, 2, 2])
    for column, label in zip(header, ["name", "run", "weight (%)", "error probability", "added latency (ms)"]):
        column.caption(label)
    arms = []
    for i in range(int(count)):
        default = defaults[i] if i < len(defaults) else {"name": f"arm {i + 1}", "run": runs[0], "weight": 0.0}
        cells = st.columns([2, 4, 2, 2, 2])
        name = cells[0].text_input("name", value=default["name"], key=f"{KEY}_arm{i}_name", label_visibility="collapsed")
        run = cells[1].selectbox(
            "run",
            runs,
            index=runs.index(default["run"]) if default["run"] in runs else 0,
            format_func=util.run_label,
            key=f"{KEY}_arm{i}_run",
            label_visibility="collapsed",
        )
        weight = cells[2].number_input(
            "weight",
            min_value=0.0,
            max_value=100.0,
            value=float(default["weight"]),
            step=1.0,
            key=f"{KEY}_arm{i}_weight",
            label_visibility="collapsed",
        )
        error = cells[3].number_input(
            "error probability",
            min_value=0.0,
            max_value=1.0,
            value=0.0,
            step=0.05,
            key=f"{KEY}_arm{i}_error",
            label_visibility="collapsed",
        )
        delay = cells[4].number_input(
            "added latency",
            min_value=0.0,
            max_value=60_000.0,
            value=0.0,
            step=10.0,
            key=f"{KEY}_arm{i}_latency",
            label_visibility="collapsed",
        )
        arm = experiment.arm_from_run(run, weight=weight, name=name.strip(), error_probability=error, added_latency_ms=delay)
        arms.append((arm, run))
    return arms


def strategy_inputs() -> dict:
    strategy = st.radio(
        "Routing strategy",
        experiment.STRATEGIES,
        horizontal=True,
        key=f"{KEY}_strategy",
        format_func={"weighted": "weighted split", "rules": "rules on measured latency and F1"}.get,
    )
    if strategy == "weighted":
        return {"strategy": strategy}
    st.caption(
        "Rules compare your thresholds with each run's measured latency p50 (+ added latency) and test-split "
        "entity F1; an arm with an unmeasured fact never qualifies, and no qualifying arm means the fallback arm."
    )
    cells = st.columns(3)
    speed = cells[0].checkbox("Speed priority (fastest qualifying arm)", key=f"{KEY}_speed")
    use_latency = cells[1].checkbox("Maximum latency", key=f"{KEY}_use_max_latency")
    max_latency = cells[1].number_input("ms", min_value=0.001, value=50.0, key=f"{KEY}_max_latency", disabled=not use_latency)
    use_f1 = cells[2].checkbox("Minimum entity F1", key=f"{KEY}_use_min_f1")
    min_f1 = cells[2].number_input(
        "F1", min_value=0.0, max_value=1.0, value=0.5, step=0.05, key=f"{KEY}_min_f1", disabled=not use_f1
    )
    return {
        "strategy": strategy,
        "speed_priority": speed,
        "max_latency_ms": max_latency if use_latency else None,
        "min_entity_f1": min_f1 if use_f1 else None,
    }


def simulation_inputs(arms: list[experiment.Arm]) -> dict:
    cells = st.columns(3)
    requests = cells[0].number_input("Requests", min_value=1, max_value=100_000, value=1000, step=100, key=f"{KEY}_requests")
    rate = cells[1].number_input("Arrival rate (requests/s)", min_value=0.01, value=20.0, key=f"{KEY}_rate")
    seed = cells[2].number_input("Seed", min_value=0, value=0, key=f"{KEY}_seed")
    cells = st.columns(3)
    threshold = cells[0].number_input("Breaker opens after consecutive failures", min_value=1, value=5, key=f"{KEY}_threshold")
    reset = cells[1].number_input("Breaker half-opens after (simulated s)", min_value=0.1, value=60.0, key=f"{KEY}_reset")
    names = [arm.name for arm in arms]
    default_fallback = next((arm.name for arm in arms if arm.model_name == experiment.BASELINE_MODEL), names[0])
    fallback = cells[2].selectbox("Fallback arm", names, index=names.index(default_fallback), key=f"{KEY}_fallback")
    return {
        "requests": int(requests),
        "arrival_rate_per_s": float(rate),
        "seed": int(seed),
        "breaker_failure_threshold": int(threshold),
        "breaker_reset_s": float(reset),
        "fallback_arm": fallback,
    }


def visualize_plan(config: experiment.SimulationConfig) -> None:
    """The arms' measured facts and the split the router will aim for, before anything runs."""
    planned = routing.Router(config).planned_split()
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "arm": arm.name,
                    "run": arm.run_id,
                    "model": arm.model_name,
                    "planned share": planned[arm.name],
                    "measured latency p50 (ms)": arm.latency_p50_ms,
                    "measured entity F1": arm.entity_f1,
                    "error probability": arm.error_probability,
                    "added latency (ms)": arm.added_latency_ms,
                }
                for arm in config.arms
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={"planned share": st.column_config.NumberColumn(format="percent")},
    )


def run_simulation(config: experiment.SimulationConfig, arm_runs: list, store) -> simulator.SimulationResult:
    first_run = arm_runs[0]
    sentences = test_sentences(first_run.id, first_run.config_json)
    predictors = {arm.name: util.get_predictor(run.run_dir) for arm, run in zip(config.arms, arm_runs)}
    bar = st.progress(0.0, text="Measuring each arm's latency...")
    result = simulator.simulate(
        config,
        predictors,
        sentences,
        store=store,
        progress=lambda done, total: bar.progress(done / total, text=f"{done:,} / {total:,} requests"),
    )
    bar.empty()
    st.session_state.setdefault(RESULTS_STATE, {})[result.simulation_id] = result
    st.session_state[LAST_STATE] = st.session_state[f"{KEY}_simulation"] = result.simulation_id
    return result


def visualize_setup(runs, store) -> None:
    arm_runs = arm_inputs(runs)
    arms = [arm for arm, _ in arm_runs]
    options = strategy_inputs()
    try:
        config = experiment.SimulationConfig(arms=arms, **options, **simulation_inputs(arms))
    except NerError as exc:
        util.show_error(exc)
        return
    visualize_plan(config)
    datasets = {(run.dataset_sha256, run.config.get("seed")) for _, run in arm_runs}
    st.caption(
        f"Traffic: the labelled test split of `{arm_runs[0][1].config.get('dataset')}` (seed "
        f"{arm_runs[0][1].config.get('seed')}), the first arm's dataset, replayed on a simulated clock."
    )
    if len(datasets) > 1:
        st.warning(
            "The arms were not trained on the same dataset and seed; some test sentences may be training "
            "data for another arm, which flatters its F1."
        )
    if st.button("Run simulation", type="primary", key=f"{KEY}_run"):
        try:
            result = run_simulation(config, [run for _, run in arm_runs], store)
        except NerError as exc:
            util.show_error(exc)
        else:
            st.success(
                f"Simulation {result.simulation_id}: {len(result.requests):,} requests in "
                f"{result.elapsed_s:.1f} s, {result.rows_logged:,} rows logged."
            )


# --------------------------------------------------------------------------- results


def choose_simulation(store) -> simulator.SimulationResult | None:
    summaries = store.simulation_summaries()
    if not summaries:
        return None
    ids = [summary["simulation_id"] for summary in summaries]
    counts = {summary["simulation_id"]: summary["requests"] for summary in summaries}
    if st.session_state.get(f"{KEY}_simulation") not in ids:
        last = st.session_state.get(LAST_STATE)
        st.session_state[f"{KEY}_simulation"] = last if last in ids else ids[0]
    chosen = st.selectbox("Simulation", ids, key=f"{KEY}_simulation", format_func=lambda sim: f"{sim} ({counts[sim]:,} requests)")
    in_session = st.session_state.get(RESULTS_STATE, {}).get(chosen)
    if in_session is not None:
        return in_session
    st.caption(
        "A simulation from an earlier session, rebuilt from the prediction log: its planned split was not "
        "logged, so there is no sample-ratio test, and breaker states are those its requests saw."
    )
    return replay.result_from_log(chosen, log_rows(store.url, chosen, counts[chosen]))


def visualize_split(result: simulator.SimulationResult) -> None:
    requests = result.requests
    arms = sorted(set(result.planned_weights) | set(requests["arm"]) | set(requests["chosen_arm"]))
    chosen, served = requests["chosen_arm"].value_counts(), requests["arm"].value_counts()
    total = max(1, len(requests))
    table = pd.DataFrame(
        {
            "arm": arms,
            "planned share": [result.planned_weights.get(arm) for arm in arms],
            "router picks": [int(chosen.get(arm, 0)) for arm in arms],
            "picked share": [chosen.get(arm, 0) / total for arm in arms],
            "served": [int(served.get(arm, 0)) for arm in arms],
            "served share": [served.get(arm, 0) / total for arm in arms],
        }
    )
    percent = st.column_config.NumberColumn(format="percent")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={"planned share": percent, "picked share": percent, "served share": percent},
    )
    if result.planned_weights:
        p_value = ab_statistics.sample_ratio_mismatch(result.observed_counts("chosen_arm"), result.planned_weights)
        st.metric("Sample-ratio mismatch p-value (chi-square, router picks vs plan)", f"{p_value:.4f}")
        if p_value < 0.001:
            st.warning("The router's picks differ from the planned split more than chance explains (p < 0.001).")
        else:
            st.caption(
                "p >= 0.001: the observed split is consistent with the plan. Served counts also move "
                "with breaker fallbacks, by design."
            )
    long = table.melt(
        id_vars="arm", value_vars=["planned share", "picked share", "served share"], var_name="split", value_name="share"
    ).dropna()
    st.plotly_chart(px.bar(long, x="arm", y="share", color="split", barmode="group"), width="stretch")


def visualize_latency(result: simulator.SimulationResult) -> None:
    st.dataframe(ab_statistics.latency_percentiles(result).reset_index(), hide_index=True, width="stretch")
    duration = float(result.requests["time_s"].max() or 1.0)
    cells = st.columns(2)
    bucket = cells[0].number_input(
        "Time bucket (simulated s)", min_value=0.1, value=max(1.0, round(duration / 20, 1)), key=f"{KEY}_bucket"
    )
    percentile = cells[1].radio("Percentile", ["p50", "p95", "p99"], index=1, horizontal=True, key=f"{KEY}_percentile")
    over_time = ab_statistics.latency_over_time(result, bucket)
    if not over_time.empty:
        st.plotly_chart(
            px.line(
                over_time,
                x="time_s",
                y=percentile,
                color="arm",
                markers=True,
                labels={"time_s": "simulated time (s)", percentile: f"latency {percentile} (ms)"},
            ),
            width="stretch",
        )
    errors = ab_statistics.error_rates(result)
    failed = result.requests[result.requests["error"].astype(bool)]
    st.dataframe(
        pd.DataFrame(
            {
                "arm": list(errors),
                "error rate": list(errors.values()),
                "injected faults": [
                    int(((failed["arm"] == arm) & (failed["error_message"] == experiment.INJECTED_FAULT)).sum()) for arm in errors
                ],
                "rejected (breaker open)": [
                    int(((failed["arm"] == arm) & failed["error_message"].str.startswith("rejected")).sum()) for arm in errors
                ],
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={"error rate": st.column_config.NumberColumn(format="percent")},
    )


def visualize_quality(result: simulator.SimulationResult) -> None:
    quality = quality_by_arm(result.requests)
    st.dataframe(quality.reset_index(), hide_index=True, width="stretch")
    st.caption(
        "Micro entity F1 of each serving arm against the gold tags, with a 95% bootstrap interval over "
        "requests (1,000 resamples); an errored request predicts nothing, so its entities count as missed."
    )
    arms = list(quality.index)
    if len(arms) < 2:
        return
    cells = st.columns(2)
    arm_a = cells[0].selectbox("Arm", arms, index=0, key=f"{KEY}_diff_a")
    arm_b = cells[1].selectbox("versus arm", arms, index=1, key=f"{KEY}_diff_b")
    if arm_a == arm_b:
        return
    difference, low, high, p_value = f1_difference(result.requests, arm_a, arm_b)
    cells = st.columns(2)
    cells[0].metric(f"F1 {arm_a} - F1 {arm_b}", f"{difference:+.4f}", help=f"95% CI [{low:+.4f}, {high:+.4f}]")
    cells[1].metric("Difference test p-value (bootstrap)", f"{p_value:.4f}")
    st.caption(f"95% interval of the difference: [{low:+.4f}, {high:+.4f}]; independent bootstraps of the two arms.")


def visualize_breakers(result: simulator.SimulationResult) -> None:
    timeline = replay.breaker_timeline_frame(result)
    if timeline.empty:
        st.info("No breaker timeline for this simulation.")
        return
    end = float(result.requests["time_s"].max() or 0.0)
    last = timeline.sort_values("time_s").groupby("arm").tail(1).assign(time_s=end)
    steps = pd.concat([timeline, last]).sort_values(["arm", "time_s"], kind="stable")
    steps["level"] = steps["state"].map(STATE_LEVELS)
    figure = px.line(
        steps,
        x="time_s",
        y="level",
        color="arm",
        line_shape="hv",
        markers=True,
        labels={"time_s": "simulated time (s)", "level": "breaker state"},
    )
    figure.update_yaxes(tickvals=list(STATE_LEVELS.values()), ticktext=list(STATE_LEVELS))
    st.plotly_chart(figure, width="stretch")
    opened = timeline[timeline["state"] == "open"].groupby("arm").size()
    st.dataframe(
        pd.DataFrame({"arm": sorted(timeline["arm"].unique())}).assign(
            **{
                "times opened": lambda f: [int(opened.get(arm, 0)) for arm in f["arm"]],
                "final state": lambda f: [timeline[timeline["arm"] == arm]["state"].iloc[-1] for arm in f["arm"]],
            }
        ),
        hide_index=True,
        width="stretch",
    )


def visualize_log(result: simulator.SimulationResult, store) -> None:
    rows = log_rows(store.url, result.simulation_id, store.count_predictions(simulation_id=result.simulation_id))
    if not rows:
        st.info("Nothing of this simulation is in the prediction log.")
        return
    log = pd.DataFrame(rows)[LOG_COLUMNS]
    cells = st.columns(3)
    arms = cells[0].multiselect("Arm", sorted(log["arm"].dropna().unique()), key=f"{KEY}_log_arms")
    states = cells[1].multiselect("Breaker state", sorted(log["breaker_state"].dropna().unique()), key=f"{KEY}_log_states")
    errors_only = cells[2].checkbox("Errors only", key=f"{KEY}_log_errors")
    if arms:
        log = log[log["arm"].isin(arms)]
    if states:
        log = log[log["breaker_state"].isin(states)]
    if errors_only:
        log = log[log["error"].notna()]
    st.caption(f"{len(log):,} of {len(rows):,} logged requests")
    st.dataframe(log, hide_index=True, width="stretch", height=320)
    st.download_button(
        "Export these rows as CSV",
        log.to_csv(index=False).encode("utf-8"),
        file_name=f"{result.simulation_id}.csv",
        mime="text/csv",
        key=f"{KEY}_log_export",
    )


# --------------------------------------------------------------------------- page

st.title("A/B traffic")
st.caption(
    "Replay labelled test sentences as requests through a router over your registered runs, "
    "with fault injection and circuit breakers on a simulated clock; every request is logged."
)

try:
    store = util.get_store()
    runs = util.completed_runs()
except Exception as exc:  # noqa: BLE001 - shown to the user as an actionable error
    util.show_error(exc)
    st.stop()

if not runs:
    st.info(
        "No trained model yet. Train at least one model on the Training runs page (or from Home); "
        "its runs become the arms of the experiment."
    )
    st.stop()

with st.expander("Experiment setup", expanded=True):
    visualize_setup(runs, store)

result = choose_simulation(store)
if result is None:
    st.info("No simulation yet: set up the arms and press Run simulation.")
    st.stop()

split_tab, latency_tab, quality_tab, breaker_tab, log_tab = st.tabs(
    ["Split", "Latency and errors", "Entity F1", "Circuit breakers", "Request log"]
)
with split_tab:
    visualize_split(result)
with latency_tab:
    visualize_latency(result)
with quality_tab:
    visualize_quality(result)
with breaker_tab:
    visualize_breakers(result)
with log_tab:
    visualize_log(result, store)
