"""A/B result views shared by the simulated and the live mode: each arm's entity F1 with an interval
that rests on distinct sentences, the primary arm against each other arm
(:mod:`ner_core.traffic.ab_statistics`), latency and errors, and the breakers' timeline."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from ner_core.traffic import ab_statistics, replay, simulator
from ner_core.workbench import render

SIGNED = st.column_config.NumberColumn(format="%+.4f")
PERCENT = st.column_config.NumberColumn(format="percent")
P_VALUE = st.column_config.NumberColumn(format="%.4f")

# Cached per request table (and arms): bootstraps of 1,000 resamples are worth keeping across reruns.
quality_by_arm = st.cache_data(show_spinner="Bootstrapping entity F1...", max_entries=8)(ab_statistics.entity_f1_by_arm)
f1_difference = st.cache_data(show_spinner=False, max_entries=16)(ab_statistics.f1_difference_between)
versus_primary = st.cache_data(show_spinner="Bootstrapping F1 differences...", max_entries=8)(
    ab_statistics.differences_from_primary
)


def visualize_quality(result: simulator.SimulationResult, *, key: str) -> None:
    quality = quality_by_arm(result.requests, n_boot=1000)
    st.dataframe(quality.reset_index(), hide_index=True, width="stretch")
    sentences = int(result.requests["sentence_index"].nunique())
    st.caption(
        f"Micro entity F1 of each serving arm against the gold tags, with a 95% interval from a bootstrap over "
        f"sentences (1,000 resamples): the {len(result.requests):,} requests replay {sentences:,} distinct test "
        "sentences, so each sentence is resampled with all its requests, and the interval rests on the sentences "
        "column, not on the requests. An errored request predicts nothing, so its entities count as missed."
    )
    arms = list(quality.index)
    if len(arms) < 2:
        return
    primary = ab_statistics.primary_arm(result)
    primary = primary if primary in arms else arms[0]  # the primary arm may have served nothing (all fallbacks)
    why = "the highest planned weight" if result.planned_weights else "the router's most frequent pick"
    st.markdown(f"**{render.markdown_escape(primary)}** (the primary arm: {why}) versus each other arm")
    differences = versus_primary(result.requests, primary, n_boot=1000)
    st.dataframe(differences, hide_index=True, width="stretch", column_config={"F1 difference": SIGNED, "p-value": P_VALUE})
    st.caption(
        "F1 of the primary arm minus F1 of the other, with its 95% interval and two-sided p-value from a paired "
        "bootstrap over the sentences both arms served (sentences: how many distinct ones)."
    )
    with st.expander("Compare another pair of arms"):
        cells = st.columns(2)
        arm_a = cells[0].selectbox("Arm", arms, index=arms.index(primary), key=f"{key}_diff_a")
        others = [arm for arm in arms if arm != arm_a]
        arm_b = cells[1].selectbox("versus arm", others, key=f"{key}_diff_b")
        found = f1_difference(result.requests, arm_a, arm_b, n_boot=1000)
        cells = st.columns(2)
        interval = f"95% CI [{found.low:+.4f}, {found.high:+.4f}] over {found.sentences:,} sentences"
        pair = f"F1 {render.markdown_escape(arm_a)} - F1 {render.markdown_escape(arm_b)}"  # arm names are typed in
        cells[0].metric(pair, f"{found.difference:+.4f}", help=interval)
        cells[1].metric("Difference test p-value (bootstrap over sentences)", f"{found.p_value:.4f}")
        st.caption(f"{interval}; paired bootstrap: each resample draws sentences once for both arms.")


def visualize_breakers(
    result: simulator.SimulationResult, *, key: str, time_label: str = "simulated time (s)", empty: str = "No breaker timeline."
) -> None:
    """Each arm's breaker state over time as its requests saw it, and how long each state lasted."""
    steps = replay.breaker_steps(result)
    if steps.empty:
        st.info(empty)
        return
    labels = {"time_s": time_label, "level": "breaker state"}
    figure = px.line(steps, x="time_s", y="level", color="arm", line_shape="hv", markers=True, labels=labels)
    figure.update_yaxes(tickvals=list(replay.STATE_LEVELS.values()), ticktext=list(replay.STATE_LEVELS))
    st.plotly_chart(figure, width="stretch", key=f"{key}_breaker_chart")
    st.dataframe(ab_statistics.breaker_summary(result), hide_index=True, width="stretch")


def visualize_latency(result: simulator.SimulationResult, *, key: str, time_label: str = "simulated time (s)") -> None:
    """Latency percentiles per arm and over time (bucket and percentile chosen); error rates by kind."""
    st.dataframe(ab_statistics.latency_percentiles(result).reset_index(), hide_index=True, width="stretch")
    cells, default_bucket = st.columns(2), ab_statistics.default_time_bucket_s(result)
    bucket = cells[0].number_input(f"Time bucket ({time_label})", min_value=0.1, value=default_bucket, key=f"{key}_bucket")
    percentile = cells[1].radio("Percentile", ["p50", "p95", "p99"], index=1, horizontal=True, key=f"{key}_percentile")
    over_time = ab_statistics.latency_over_time(result, bucket)
    if not over_time.empty:
        labels = {"time_s": time_label, percentile: f"latency {percentile} (ms)"}
        figure = px.line(over_time, x="time_s", y=percentile, color="arm", markers=True, labels=labels)
        st.plotly_chart(figure, width="stretch", key=f"{key}_latency_chart")
    st.dataframe(ab_statistics.error_breakdown(result), hide_index=True, width="stretch", column_config={"error rate": PERCENT})
