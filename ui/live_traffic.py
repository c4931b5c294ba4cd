"""The A/B page's live mode: the test sentences sent as real HTTP requests to a running API.

:func:`visualize_live_mode` draws the switch between the simulated and the live mode; in live mode
it draws the connection to the API (address, key, what it serves), fault injection on the running
server, the traffic settings, the progress of the run in the background (a fragment polls it every
second; Cancel stops it) and the results of a chosen live run: the split, latency, entity-F1 and
breaker tables computed as for a simulation, from the rows the API logged, plus what only real
traffic has (HTTP outcomes, round trips per served version).

Live runs are kept per database in a ``st.cache_resource`` dictionary, so a rerun, another tab or
another session sees the run in progress; one runs at a time.
"""

from __future__ import annotations

import datetime as dt
import functools

import pandas as pd
import streamlit as st

from ner_core.errors import NerError
from ner_core.evaluation import held_out
from ner_core.store.tables import SERVING_ROLES
from ner_core.traffic import api_client, experiment, live_results, live_traffic
from ner_core.traffic.api_client import ApiClient, ApiTarget
from ner_core.workbench import registry_view
from ner_core.workbench.render import markdown_escape
from ui import ab_quality, util

SIMULATED, LIVE = "Simulated", "Live API"
MODE_HELP = {
    SIMULATED: "Replay labelled test sentences as requests through a router over your registered runs, with fault "
    "injection and circuit breakers on a simulated clock; every request is logged.",
    LIVE: "Send labelled test sentences as real HTTP requests to a running API (start one with `make serve`); its "
    "latencies, errors, fallbacks and breakers are real, and it logs every request it serves in the same prediction log.",
}
POLL_S = 1.0
LATENCY_LABELS = {"server": "in the API (from its log)", "round_trip": "end to end (measured here)"}
LATENCY_HELP = (
    "In the API: the time the server measured for each request, as it logged it. End to end: from sending to the whole "
    "answer, measured by the sender in this app's process, so it also counts this app's own delays when it is busy "
    "(page reruns share the interpreter with the sender)."
)
PERCENT = st.column_config.NumberColumn(format="percent")


@st.cache_resource(show_spinner=False)
def _runs_in_progress(database_url: str) -> dict[str, live_traffic.LiveTraffic]:
    return {}


@st.cache_data(show_spinner="Reading the test split...", max_entries=4)
def _test_requests(run_dir: str) -> list[live_traffic.SentenceRequest]:
    return [live_traffic.sentence_request(s.words, s.tags) for s in held_out.test_split_for_run(run_dir)]


def _active(store) -> live_traffic.LiveTraffic | None:
    return next(iter(_runs_in_progress(store.url).values()), None)


def visualize_live_mode(runs, store, *, result_views: dict, key: str) -> bool:
    """The mode switch; in live mode, the whole live panel. True when live mode drew the page.

    ``result_views``: tab name -> the page's view of a simulation result (``view(result, key=...)``),
    shown for the live run too, before the live run's own tabs."""
    mode = st.radio("Traffic", [SIMULATED, LIVE], horizontal=True, key=f"{key}_mode")
    st.caption(MODE_HELP[mode])
    if mode != LIVE:
        return False
    key = f"{key}_live"
    target = visualize_connection(key=key)
    if target is not None:
        with st.expander("Fault injection on the running API (tests and demos)"):
            visualize_faults(target, key=key)
        visualize_start(runs, store, target, key=key)
    if _active(store) is not None:
        visualize_progress(store, key=key)
    visualize_results(store, result_views=result_views, key=key)
    return True


def visualize_connection(*, key: str) -> ApiTarget | None:
    """Address and key of the API; Check shows what it serves. None (with the reason shown) when unusable."""
    cells = st.columns([3, 3, 1])
    url = cells[0].text_input("API address", value=api_client.DEFAULT_API_URL, key=f"{key}_url")
    secret = cells[1].text_input("API key (empty: the server runs with --open-access)", type="password", key=f"{key}_key")
    try:
        target = ApiTarget(url, api_key=secret)
    except NerError as exc:
        util.show_error(exc)
        return None
    if cells[2].button("Check", key=f"{key}_check", help="Ask the API's /api/v1/health what it serves"):
        _refresh_health(target, key=key)
    health = st.session_state.get(f"{key}_health")
    if health is not None and health[0] == target.url:
        st.dataframe(_served_table(health[1]), hide_index=True, width="stretch", column_config={"weight": PERCENT})
        st.caption(f"As the API reported at {health[2]:%H:%M:%S}; Check again to refresh. Weight: its share of `auto` requests.")
    return target


def _refresh_health(target: ApiTarget, *, key: str) -> None:
    try:
        with ApiClient(target) as client:
            st.session_state[f"{key}_health"] = (target.url, client.health(), dt.datetime.now())
    except NerError as exc:
        st.session_state.pop(f"{key}_health", None)
        util.show_error(exc)


def _served_table(health: dict) -> pd.DataFrame:
    weights = api_client.planned_weights(health)
    rows = [
        (
            role,
            entry.get("label"),
            entry.get("status"),
            entry.get("breaker_state"),
            weights.get(role, 0.0),
            entry.get("requests_served"),
            _fault_text(entry.get("fault")),
        )  # fmt: skip
        for role, entry in api_client.served_roles(health).items()
    ]
    return pd.DataFrame.from_records(rows, columns=["role", "serves", "status", "breaker", "weight", "requests", "fault"])


def _fault_text(fault: dict | None) -> str:
    if not fault:
        return "off"
    return f"error p={fault.get('error_probability', 0):g}, +{fault.get('added_latency_ms', 0):g} ms"


def visualize_faults(target: ApiTarget, *, key: str) -> None:
    """Switch one role's injected faults on the running server (it must run with --fault-api)."""
    cells = st.columns(3)
    role = cells[0].selectbox("Role", SERVING_ROLES, key=f"{key}_fault_role")
    probability = cells[1].number_input("Error probability", 0.0, 1.0, 1.0, 0.05, key=f"{key}_fault_error")
    added = cells[2].number_input("Added latency (ms)", 0.0, 60_000.0, 0.0, 10.0, key=f"{key}_fault_latency")
    buttons = st.columns(2)
    change = None
    if buttons[0].button("Apply to the running API", key=f"{key}_fault_apply"):
        change = {"error_probability": probability, "added_latency_ms": added}
    if buttons[1].button(f"Turn {role}'s faults off", key=f"{key}_fault_off"):
        change = {}
    if change is not None:
        try:
            with ApiClient(target) as client:
                answer = client.set_fault(role, **change)
        except NerError as exc:
            util.show_error(exc)
        else:
            active = answer.get("error_probability") or answer.get("added_latency_ms")
            st.session_state[f"{key}_fault_notice"] = (
                f"{role} on the running API: faults {_fault_text(answer if active else None)}."
            )
            _refresh_health(target, key=key)
            st.rerun()  # the served table above shows the change
    notice = st.session_state.pop(f"{key}_fault_notice", None)
    if notice:
        st.success(markdown_escape(notice))
    st.caption("Off by default; the server accepts changes only when started with --fault-api (for tests and demos only).")


def visualize_start(runs, store, target: ApiTarget, *, key: str) -> None:
    """Traffic settings and Start: the test split of a run, sent at a rate with a concurrency limit."""
    holders = registry_view.serving_role_runs(store)
    run_ids = [run.id for run in runs]
    index = run_ids.index(holders["primary"]) if holders.get("primary") in run_ids else 0
    source = st.selectbox("Test sentences of", runs, index=index, format_func=util.run_label, key=f"{key}_source")
    cells = st.columns(5)
    requests = cells[0].number_input("Requests", 1, live_traffic.MAX_REQUESTS, 200, 50, key=f"{key}_requests")
    rate = cells[1].number_input("Rate (requests/s)", 0.1, live_traffic.MAX_RATE_PER_S, 20.0, key=f"{key}_rate")
    concurrency = cells[2].number_input("Concurrency", 1, live_traffic.MAX_CONCURRENCY, 8, key=f"{key}_concurrency")
    model = cells[3].selectbox("model field", ["auto", *SERVING_ROLES], key=f"{key}_model", help="auto: the API's router decides")
    seed = cells[4].number_input("Seed", 0, value=0, key=f"{key}_seed")
    active = _active(store)
    if st.button("Send live traffic", type="primary", key=f"{key}_start", disabled=active is not None):
        try:
            config = live_traffic.LiveTrafficConfig(int(requests), float(rate), int(concurrency), model, int(seed))
            texts = _test_requests(source.run_dir)
            started = live_traffic.LiveTraffic(store, target, config, texts, source_run_id=source.id).start()
        except NerError as exc:
            util.show_error(exc)
            return
        _runs_in_progress(store.url)[started.live_run_id] = started
        st.session_state[f"{key}_chosen"] = started.live_run_id


@st.fragment(run_every=POLL_S)
def visualize_progress(store, *, key: str) -> None:
    """The run in progress, polled every second without rerunning the page; a full rerun once it ends."""
    traffic = _active(store)
    if traffic is None:
        return
    progress = traffic.progress()
    done = f"{progress.answered:,} / {progress.planned:,} answered"
    st.progress(min(1.0, progress.answered / progress.planned), text=f"{progress.live_run_id}: {done}")
    cells = st.columns(5)
    cells[0].metric("HTTP 200", f"{progress.ok:,}")
    cells[1].metric("Failed", f"{progress.failed:,}")
    cells[2].metric("Fallbacks", f"{progress.fallbacks:,}")
    cells[3].metric("In flight", f"{progress.in_flight:,}")
    cells[4].metric("Rate sent (/s)", f"{progress.achieved_rate_per_s:.1f}")
    breakers = ", ".join(f"{role} {state}" for role, state in sorted(progress.breakers.items()))
    statuses = ", ".join(f"{status}: {count:,}" for status, count in sorted(progress.status_counts.items()))
    st.caption(markdown_escape(f"Breakers: {breakers or 'unknown'}. HTTP statuses: {statuses or 'none yet'}."))
    if not progress.done:
        if st.button("Cancel", key=f"{key}_cancel"):
            traffic.cancel()
        return
    _runs_in_progress(store.url).pop(progress.live_run_id, None)
    st.session_state[f"{key}_chosen"] = progress.live_run_id
    st.rerun(scope="app")


def visualize_results(store, *, result_views: dict, key: str) -> None:
    """A recorded live run as the simulation's tables, plus HTTP outcomes, round trips and its request log."""
    try:
        summaries = live_results.live_runs(store)
    except NerError as exc:
        util.show_error(exc)
        return
    if not summaries:
        st.info("No live run yet: check the API, choose the traffic and press Send live traffic.")
        return
    labels = {summary.id: summary.label for summary in summaries}
    if st.session_state.get(f"{key}_chosen") not in labels:
        st.session_state[f"{key}_chosen"] = summaries[0].id
    cells = st.columns([3, 2])
    chosen = cells[0].selectbox("Live run", list(labels), format_func=labels.get, key=f"{key}_chosen")
    latency = cells[1].radio(
        "Latency", list(LATENCY_LABELS), format_func=LATENCY_LABELS.get, horizontal=True, key=f"{key}_latency", help=LATENCY_HELP
    )
    try:
        live = live_results.live_result(store, chosen, latency=latency)
    except NerError as exc:
        util.show_error(exc)
        return
    _describe(live, store)
    views = {
        **{name: (view, live.result) for name, view in result_views.items()},
        "Latency and errors": (
            functools.partial(ab_quality.visualize_latency, time_label="seconds since the run started"),
            live.result,
        ),
        "Circuit breakers": (
            functools.partial(
                ab_quality.visualize_breakers,
                time_label="seconds since the run started",
                empty="No breaker states: no request reached a model.",
            ),
            live.result,
        ),
        "HTTP and round trips": (visualize_http, live),
        "Request log": (visualize_request_log, live),
    }
    for tab, (view, shown) in zip(st.tabs(list(views)), views.values()):
        with tab:
            try:
                view(shown, key=key)
            except NerError as exc:
                util.show_error(exc)


def _describe(live: live_results.LiveResult, store) -> None:
    summary, settings = live.summary, live.summary.settings
    sent = f"{summary.requests:,} of {settings.get('requests', 0):,} requests to {summary.api_url}"
    how = f"at {settings.get('rate_per_s', 0):g}/s, concurrency {settings.get('concurrency')}, model {settings.get('model')}"
    logged = live.result.requests
    fallbacks = int((logged["chosen_arm"] != logged["arm"]).sum())
    in_log = f"{len(logged):,} are in the log, {fallbacks:,} served by a fallback, {int(logged['error'].sum()):,} failed there"
    st.caption(markdown_escape(f"{summary.status.capitalize()}: {sent} {how}; {in_log}."))
    if summary.message:
        st.warning(markdown_escape(summary.message))
    if summary.status == live_traffic.RUNNING and _active(store) is None:
        st.warning("This run never finished: the app stopped while it was sending. Its recorded requests are shown.")
    if live.not_logged:
        st.info(
            f"{live.not_logged:,} requests have no row in this workbench's prediction log: they never reached a model "
            "(no answer, a refused key, the rate limit; see HTTP and round trips), or the API writes to another "
            "database (NER_DATABASE_URL) or has not flushed its log yet."
        )
    served = {run_id for run_id in live.result.requests["run_id"] if run_id} | {settings.get("source_run_id")}
    runs = [run for run in util.completed_runs() if run.id in served]
    if len(runs) > 1 and not experiment.same_training_data(runs):
        st.warning(
            "The served versions were not trained on the same data and seed as the test sentences; some of these "
            "sentences may be training data for one of them, which flatters its F1."
        )


def visualize_http(live: live_results.LiveResult, *, key: str) -> None:
    """HTTP outcomes (with what the API said) and round trips per answering role and version."""
    st.dataframe(live_results.outcome_table(live.requests), hide_index=True, width="stretch")
    st.dataframe(live_results.round_trip_by_version(live.requests), hide_index=True, width="stretch")
    st.caption(LATENCY_HELP.replace("In the API", "Server").replace("End to end", "Round trip"))


def visualize_request_log(live: live_results.LiveResult, *, key: str) -> None:
    """Every request of the run, the client's facts beside the API's log row."""
    frame = live.requests
    errors_only = st.checkbox("Failed requests only", key=f"{key}_log_errors")
    if errors_only:
        frame = frame[(frame["status_code"] != 200) | frame["error_kind"].isin(["injected_fault", "breaker_rejected", "other"])]
    st.caption(f"{len(frame):,} of {len(live.requests):,} requests")
    st.dataframe(frame, hide_index=True, width="stretch", height=320)
    csv = frame.to_csv(index=False).encode("utf-8")
    st.download_button("Export as CSV", csv, file_name=f"{live.summary.id}.csv", mime="text/csv", key=f"{key}_log_export")
