"""A/B traffic: replay labelled test sentences through a router over registered runs and analyse the split."""

from __future__ import annotations

import functools

import plotly.express as px
import streamlit as st

from ner_core.errors import NerError
from ner_core.evaluation import held_out
from ner_core.traffic import ab_statistics, experiment, replay, routing, simulator
from ner_core.workbench import registry_view, render
from ui import ab_quality, live_traffic, util

KEY = "ab_traffic"
MAX_ARMS = 6
ARM_COLUMNS = [2, 4, 2, 2, 2]  # widths of an arm's name, run, weight, error probability, added latency
PERCENT = st.column_config.NumberColumn(format="percent")


def arm_inputs(runs, *, key: str) -> tuple[list[experiment.Arm], list]:
    """One row of inputs per arm, starting from the registry's roles (else ``experiment.default_arms``'s split)."""
    defaults = experiment.default_arms(runs, registry_view.serving_role_runs(util.get_store()))
    count = st.number_input("Arms", min_value=1, max_value=MAX_ARMS, value=len(defaults), key=f"{key}_arm_count")
    for column, label in zip(st.columns(ARM_COLUMNS), ["name", "run", "weight (%)", "error probability", "added latency (ms)"]):
        column.caption(label)
    run_ids, arms, labels = [run.id for run in runs], [], util.run_labels(runs)
    for i in range(int(count)):
        default = defaults[i] if i < len(defaults) else experiment.arm_from_run(runs[0], weight=0.0, name=f"arm {i + 1}")
        cells, prefix, hidden = st.columns(ARM_COLUMNS), f"{key}_arm{i}", {"label_visibility": "collapsed"}
        name = cells[0].text_input("name", value=default.name, key=f"{prefix}_name", **hidden)
        index = run_ids.index(default.run_id) if default.run_id in run_ids else 0
        run = cells[1].selectbox("run", runs, index=index, format_func=lambda r: labels[r.id], key=f"{prefix}_run", **hidden)
        weight = cells[2].number_input("weight", 0.0, 100.0, float(default.weight), 1.0, key=f"{prefix}_weight", **hidden)
        error = cells[3].number_input("error probability", 0.0, 1.0, 0.0, 0.05, key=f"{prefix}_error", **hidden)
        delay = cells[4].number_input("added latency", 0.0, 60_000.0, 0.0, 10.0, key=f"{prefix}_latency", **hidden)
        arm = experiment.arm_from_run(run, weight=weight, name=name.strip(), error_probability=error, added_latency_ms=delay)
        arms.append(arm)
    return arms, [runs[run_ids.index(arm.run_id)] for arm in arms]


def config_inputs(arms: list[experiment.Arm], *, key: str) -> experiment.SimulationConfig:
    """Routing strategy, traffic and breaker settings for ``arms``; raises ConfigError on a bad combination."""
    labels = {"weighted": "weighted split", "rules": "rules on measured latency and F1"}
    strategy = st.radio("Routing strategy", experiment.STRATEGIES, horizontal=True, key=f"{key}_strategy", format_func=labels.get)
    rules = {}
    if strategy == "rules":
        st.caption(
            "Rules compare your thresholds with each run's measured latency p50 (+ added latency) and test-split "
            "entity F1; an arm with an unmeasured fact never qualifies, and no qualifying arm means the fallback arm."
        )
        cells = st.columns(3)
        speed = cells[0].checkbox("Speed priority (fastest qualifying arm)", key=f"{key}_speed")
        use_latency = cells[1].checkbox("Maximum latency", key=f"{key}_use_max_latency")
        max_latency = cells[1].number_input("ms", min_value=0.001, value=50.0, key=f"{key}_max_latency", disabled=not use_latency)
        use_f1 = cells[2].checkbox("Minimum entity F1", key=f"{key}_use_min_f1")
        min_f1 = cells[2].number_input("F1", 0.0, 1.0, 0.5, 0.05, key=f"{key}_min_f1", disabled=not use_f1)
        limits = {"max_latency_ms": max_latency if use_latency else None, "min_entity_f1": min_f1 if use_f1 else None}
        rules = {"speed_priority": speed, **limits}
    cells = st.columns(3)
    requests = cells[0].number_input("Requests", min_value=1, max_value=100_000, value=1000, step=100, key=f"{key}_requests")
    rate = cells[1].number_input("Arrival rate (requests/s)", min_value=0.01, value=20.0, key=f"{key}_rate")
    seed = cells[2].number_input("Seed", min_value=0, value=0, key=f"{key}_seed")
    cells = st.columns(3)
    threshold = cells[0].number_input("Breaker opens after consecutive failures", min_value=1, value=5, key=f"{key}_threshold")
    reset = cells[1].number_input("Breaker half-opens after (simulated s)", min_value=0.1, value=60.0, key=f"{key}_reset")
    names = [arm.name for arm in arms]
    index = names.index(experiment.default_fallback_arm(arms))
    fallback = cells[2].selectbox("Fallback arm", names, index=index, key=f"{key}_fallback")
    breaker = {"breaker_failure_threshold": int(threshold), "breaker_reset_s": float(reset), "fallback_arm": fallback}
    traffic = {"requests": int(requests), "arrival_rate_per_s": float(rate), "seed": int(seed)}
    return experiment.SimulationConfig(arms=arms, strategy=strategy, **rules, **traffic, **breaker)


def run_simulation(config: experiment.SimulationConfig, arm_runs: list, store, *, key: str) -> simulator.SimulationResult:
    with st.spinner("Reading the test split..."):
        sentences = held_out.test_split_for_run(arm_runs[0].run_dir)
    predictors = {arm.name: util.get_predictor(run.run_dir) for arm, run in zip(config.arms, arm_runs)}
    bar = st.progress(0.0, text="Measuring each arm's latency...")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{done:,} / {total:,} requests")

    result = simulator.simulate(config, predictors, sentences, store=store, progress=progress)
    bar.empty()
    st.session_state.setdefault(f"{key}_results", {})[result.simulation_id] = result
    st.session_state[f"{key}_last_simulation"] = st.session_state[f"{key}_simulation"] = result.simulation_id
    return result


def visualize_setup(runs, store, *, key: str) -> None:
    arms, arm_runs = arm_inputs(runs, key=key)
    try:
        config = config_inputs(arms, key=key)
    except NerError as exc:
        util.show_error(exc)
        return
    st.dataframe(routing.plan_table(config), hide_index=True, width="stretch", column_config={"planned share": PERCENT})
    first = arm_runs[0].config
    dataset = f"{render.markdown_escape(first.get('dataset'))} (seed {first.get('seed')})"
    st.caption(f"Traffic: the labelled test split of {dataset}, the first arm's dataset, replayed on a simulated clock.")
    if not experiment.same_training_data(arm_runs):
        st.warning(
            "The arms were not trained on the same dataset and seed; some test sentences may be training "
            "data for another arm, which flatters its F1."
        )
    if st.button("Run simulation", type="primary", key=f"{key}_run"):
        try:
            result = run_simulation(config, arm_runs, store, key=key)
        except NerError as exc:
            util.show_error(exc)
        else:
            done = f"{len(result.requests):,} requests in {result.elapsed_s:.1f} s, {result.rows_logged:,} rows logged"
            st.success(f"Simulation {result.simulation_id}: {done}.")


def choose_simulation(store, *, key: str) -> simulator.SimulationResult | None:
    summaries = store.simulation_summaries()
    if not summaries:
        return None
    counts = {summary["simulation_id"]: summary["requests"] for summary in summaries}
    ids = list(counts)
    if st.session_state.get(f"{key}_simulation") not in ids:
        last = st.session_state.get(f"{key}_last_simulation")
        st.session_state[f"{key}_simulation"] = last if last in ids else ids[0]
    chosen = st.selectbox("Simulation", ids, key=f"{key}_simulation", format_func=lambda sim: f"{sim} ({counts[sim]:,} requests)")
    if chosen in st.session_state.get(f"{key}_results", {}):  # simulated in this session
        return st.session_state[f"{key}_results"][chosen]
    st.caption(
        "A simulation from an earlier session, rebuilt from the prediction log: its planned split was not "
        "logged, so there is no sample-ratio test, and breaker states are those its requests saw."
    )
    return replay.result_from_log(chosen, util.simulation_log_rows(store.url, chosen, counts[chosen]))


def visualize_split(result: simulator.SimulationResult, *, key: str) -> None:
    table = ab_statistics.split_table(result)
    st.dataframe(table, hide_index=True, width="stretch", column_config=dict.fromkeys(ab_statistics.SPLIT_SHARES, PERCENT))
    p_value, alpha = ab_statistics.split_mismatch_p_value(result), ab_statistics.SRM_ALPHA
    if p_value is not None:
        st.metric("Sample-ratio mismatch p-value (chi-square, router picks vs plan)", f"{p_value:.4f}")
        if p_value < alpha:
            st.warning(f"The router's picks differ from the planned split more than chance explains (p < {alpha:g}).")
        else:
            st.caption(
                f"p >= {alpha:g}: the observed split is consistent with the plan. "
                "Served counts also move with breaker fallbacks, by design."
            )
    long = ab_statistics.split_shares_long(table)
    st.plotly_chart(px.bar(long, x="arm", y="share", color="split", barmode="group"), width="stretch", key=f"{key}_split_chart")


def visualize_log(result: simulator.SimulationResult, store, *, key: str) -> None:
    rows = util.simulation_log_rows(store.url, result.simulation_id, store.count_predictions(simulation_id=result.simulation_id))
    if not rows:
        st.info("Nothing of this simulation is in the prediction log.")
        return
    log = replay.log_frame(rows)
    cells = st.columns(3)
    arms = cells[0].multiselect("Arm", sorted(log["arm"].dropna().unique()), key=f"{key}_log_arms")
    states = cells[1].multiselect("Breaker state", sorted(log["breaker_state"].dropna().unique()), key=f"{key}_log_states")
    errors_only = cells[2].checkbox("Errors only", key=f"{key}_log_errors")
    log = replay.filter_log(log, arms=arms, states=states, errors_only=errors_only)
    st.caption(f"{len(log):,} of {len(rows):,} logged requests")
    st.dataframe(log, hide_index=True, width="stretch", height=320)
    csv, file_name = log.to_csv(index=False).encode("utf-8"), f"{result.simulation_id}.csv"
    st.download_button("Export these rows as CSV", csv, file_name=file_name, mime="text/csv", key=f"{key}_log_export")


st.title("A/B traffic")
runs = util.completed_runs_or_stop("come back here: its runs become the arms of the experiment")
store = util.get_store()
if live_traffic.visualize_live_mode(
    runs, store, result_views={"Split": visualize_split, "Entity F1": ab_quality.visualize_quality}, key=KEY
):
    st.stop()  # live mode: real HTTP requests to a running API (ui/live_traffic.py)

with st.expander("Experiment setup", expanded=True):
    visualize_setup(runs, store, key=KEY)

try:
    result = choose_simulation(store, key=KEY)
except NerError as exc:
    util.show_error(exc)
    st.stop()
if result is None:
    st.info("No simulation yet: set up the arms and press Run simulation.")
    st.stop()

views = [
    visualize_split,
    ab_quality.visualize_latency,
    ab_quality.visualize_quality,
    functools.partial(ab_quality.visualize_breakers, empty="No breaker timeline for this simulation."),
    functools.partial(visualize_log, store=store),
]
tabs = st.tabs(["Split", "Latency and errors", "Entity F1", "Circuit breakers", "Request log"])
for tab, view in zip(tabs, views):
    with tab:
        try:
            view(result, key=KEY)
        except NerError as exc:
            util.show_error(exc)
