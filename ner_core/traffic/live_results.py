"""A live run read back: the client's records (``live_traffic_requests``) joined with the rows the
API wrote to the prediction log under the same request ids, as the same request table a simulation
has (:class:`~ner_core.traffic.simulator.SimulationResult`), so the A/B page's split, latency,
entity-F1 and breaker views work on real traffic unchanged.

What each column means for a live request: ``time_s`` is when the client sent it (seconds after
the run started); ``chosen_arm`` the role the server's router picked (read from its routing
reason when a fallback served it) and ``arm`` the role whose model answered or failed;
``latency_ms`` the time the server logged for it, or with ``latency="round_trip"`` the end-to-end
round trip the client measured; errors, their kinds and breaker states are the logged ones; entity counts
compare the logged entities with the sentence's gold entities by character span. Requests that
never reached a model (no HTTP answer, a refused key, the rate limit) have no log row: they are
left out of that table and counted in :attr:`LiveResult.not_logged`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from ner_core.errors import LiveTrafficError
from ner_core.store.database import Store
from ner_core.store.tables import LiveTrafficRequest, LiveTrafficRun, PredictionLog
from ner_core.traffic.experiment import ERROR_KINDS, ERROR_NONE
from ner_core.traffic.simulator import REQUEST_COLUMNS, SimulationResult

FALLBACK_ROLE = "speed"  # where the API sends a request whose chosen role failed or is open (the design's rule)
LATENCY_SOURCES = ("server", "round_trip")
# Log rows are looked up by request id from a day before the run started: the API may run on
# another machine whose clock is off, and created_at's index keeps the lookup quick.
CLOCK_MARGIN = dt.timedelta(days=1)
# The routing reasons the API writes when a request did not go to the role its router chose.
_CHOSEN_FROM_REASON = (
    re.compile(r"^fallback: breaker \S+ for (\S+)$"),  # the chosen role's breaker was open
    re.compile(r"^fallback: (\S+) failed"),  # the chosen role's model failed; the fallback served
    re.compile(r"^rejected: breaker \S+ for (\S+) "),  # nobody could serve
)
# The joined per-request table the page's request log shows, in order.
REQUEST_LOG_COLUMNS = (
    "position", "sent_at_s", "status_code", "round_trip_ms", "client_error", "chosen_arm", "arm", "model_version", "run_id",
    "server_latency_ms", "error_kind", "breaker_state", "routing_reason", "text", "predicted_entities", "gold_entities",
    "correct_entities", "request_id",
)  # fmt: skip


@dataclass(frozen=True)
class LiveRunSummary:
    """A live run as recorded: where it sent, its settings and split, how it ended, requests recorded."""

    id: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    api_url: str
    status: str
    settings: Mapping
    planned_weights: Mapping[str, float]
    message: str
    requests: int

    @property
    def label(self) -> str:
        return f"{self.id} ({self.created_at:%Y-%m-%d %H:%M}, {self.requests:,} requests, {self.status})"


@dataclass(frozen=True)
class LiveResult:
    """A live run as a simulation-shaped result plus what only live traffic has."""

    summary: LiveRunSummary
    result: SimulationResult  # the requests that reached a model (their log rows exist)
    requests: pd.DataFrame  # every request, client and log joined (REQUEST_LOG_COLUMNS)
    not_logged: int  # requests without a log row (never reached a model, or the API has not written it yet)


def chosen_role(arm: str | None, reason: str | None) -> str:
    """The role the router chose for a logged request: from a fallback's reason, else the logged arm."""
    for pattern in _CHOSEN_FROM_REASON:
        found = pattern.match(reason or "")
        if found:
            return found.group(1)
    return arm or ""


def _summary(run: LiveTrafficRun, count: int) -> LiveRunSummary:
    return LiveRunSummary(
        run.id, run.created_at, run.finished_at, run.api_url, run.status, json.loads(run.settings_json or "{}"),
        json.loads(run.planned_weights_json or "{}"), run.message or "", int(count),
    )  # fmt: skip


def live_runs(store: Store, *, limit: int = 100) -> list[LiveRunSummary]:
    """Recorded live runs, newest first, with how many requests each recorded."""
    counts = (
        sa.select(LiveTrafficRequest.live_run_id, sa.func.count().label("n")).group_by(LiveTrafficRequest.live_run_id).subquery()
    )
    query = (
        sa.select(LiveTrafficRun, sa.func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.live_run_id == LiveTrafficRun.id)
        .order_by(LiveTrafficRun.created_at.desc(), LiveTrafficRun.id.desc())
        .limit(limit)
    )
    with store.session() as session:
        return [_summary(run, count) for run, count in session.execute(query)]


def live_run(store: Store, live_run_id: str) -> LiveRunSummary:
    with store.session() as session:
        run = session.get(LiveTrafficRun, live_run_id)
        if run is None:
            raise LiveTrafficError(f"no live run {live_run_id!r} in this workbench's database.")
        count = session.scalar(sa.select(sa.func.count()).where(LiveTrafficRequest.live_run_id == live_run_id))
        return _summary(run, count or 0)


def client_requests(store: Store, live_run_id: str) -> pd.DataFrame:
    """The client's record of every request of a run, in sending order."""
    columns = [
        "position",
        "request_id",
        "sentence_index",
        "sent_at_s",
        "status_code",
        "round_trip_ms",
        "client_error",
        "gold_json",
    ]
    query = sa.select(*(getattr(LiveTrafficRequest, c) for c in columns)).where(LiveTrafficRequest.live_run_id == live_run_id)
    with store.session() as session:
        rows = session.execute(query.order_by(LiveTrafficRequest.position)).all()
    return pd.DataFrame.from_records([tuple(row) for row in rows], columns=columns)


def logged_rows(store: Store, summary: LiveRunSummary) -> dict[str, dict]:
    """Request id -> the prediction-log row the API wrote for it (``/predict`` logs one row per request)."""
    columns = ["request_id", "arm", "run_id", "model_version", "latency_ms", "error", "error_kind", "breaker_state",
               "routing_reason", "text", "entities_json", "id"]  # fmt: skip
    query = sa.select(*(getattr(PredictionLog, c) for c in columns)).where(
        PredictionLog.created_at >= summary.created_at - CLOCK_MARGIN,
        PredictionLog.request_id.startswith(f"{summary.id}-", autoescape=True),
    )
    with store.session() as session:
        return {row.request_id: dict(zip(columns, row)) for row in session.execute(query.order_by(PredictionLog.id))}


def _spans(text: str | None, live_run_id: str, what: str) -> set[tuple[str, int, int]]:
    try:
        items = json.loads(text or "[]")
        if isinstance(items, list) and items and isinstance(items[0], dict):  # the API's entities
            return {(str(e["type"]), int(e["start"]), int(e["end"])) for e in items}
        return {(str(kind), int(start), int(end)) for kind, start, end in items}  # the client's gold spans
    except (ValueError, TypeError, KeyError):
        raise LiveTrafficError(f"live run {live_run_id}: unreadable {what} ({str(text)[:60]!r}).") from None


def live_result(store: Store, live_run_id: str, *, latency: str = "server") -> LiveResult:
    """A live run's requests joined with their log rows; see the module docstring for each column."""
    if latency not in LATENCY_SOURCES:
        raise LiveTrafficError(f"latency source must be one of {', '.join(LATENCY_SOURCES)}, got {latency!r}.")
    summary = live_run(store, live_run_id)
    client = client_requests(store, live_run_id)
    logged = logged_rows(store, summary)
    joined, records = [], []
    for row in client.itertuples(index=False):
        log = logged.get(row.request_id)
        gold = _spans(row.gold_json, live_run_id, f"gold entities of request {row.position}")
        predicted = _spans(log["entities_json"], live_run_id, f"log row {log['id']}") if log else set()
        correct = len(predicted & gold)
        chosen = chosen_role(log["arm"], log["routing_reason"]) if log else None
        joined.append((
            row.position, row.sent_at_s, _int_or_none(row.status_code), _float_or_none(row.round_trip_ms), row.client_error,
            chosen, log["arm"] if log else None, _int_or_none(log["model_version"]) if log else None,
            log["run_id"] if log else None, log["latency_ms"] if log else None, log["error_kind"] if log else None,
            log["breaker_state"] if log else None, log["routing_reason"] if log else None, log["text"] if log else None,
            len(predicted), len(gold), correct, row.request_id,
        ))  # fmt: skip
        if log is None:
            continue
        kind = log["error_kind"] or ERROR_NONE
        if kind not in ERROR_KINDS:
            raise LiveTrafficError(f"live run {live_run_id}: log row {log['id']} has an unknown error kind {kind!r}.")
        failed = bool(log["error"])
        took = _float_or_none(row.round_trip_ms) if latency == "round_trip" else _float_or_none(log["latency_ms"])
        records.append((
            int(row.position), float(row.sent_at_s), chosen, log["arm"] or "", log["run_id"] or "",
            np.nan if took is None else took, failed, log["error"] or "", kind, log["breaker_state"] or "closed",
            log["routing_reason"] or "", int(row.sentence_index), correct if not failed else 0, len(gold),
            len(predicted) if not failed else 0,
        ))  # fmt: skip
    requests = pd.DataFrame.from_records(records, columns=list(REQUEST_COLUMNS))
    result = SimulationResult(
        summary.id, requests, dict(summary.planned_weights), _timelines(requests),
        FALLBACK_ROLE if FALLBACK_ROLE in set(requests["arm"]) | set(summary.planned_weights) else "",
        summary.status == "cancelled", _elapsed(summary), len(records),
    )  # fmt: skip
    frame = pd.DataFrame.from_records(joined, columns=list(REQUEST_LOG_COLUMNS))
    return LiveResult(summary, result, frame, len(client) - len(records))


def _timelines(requests: pd.DataFrame) -> dict[str, list[tuple[float, str]]]:
    """Per chosen role, the breaker states its requests saw in sending order (transitions only)."""
    timelines: dict[str, list[tuple[float, str]]] = {}
    for time_s, chosen, state in requests.sort_values("time_s", kind="stable")[
        ["time_s", "chosen_arm", "breaker_state"]
    ].itertuples(index=False):
        timeline = timelines.setdefault(chosen, [(0.0, "closed")])
        if timeline[-1][1] != state:
            timeline.append((float(time_s), state))
    return timelines


def _elapsed(summary: LiveRunSummary) -> float:
    return (summary.finished_at - summary.created_at).total_seconds() if summary.finished_at else 0.0


def _int_or_none(value) -> int | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else int(value)


def _float_or_none(value) -> float | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)


# --------------------------------------------------------------------------
# What only live traffic has: HTTP outcomes and round trips per served version
# --------------------------------------------------------------------------


def outcome_table(requests: pd.DataFrame) -> pd.DataFrame:
    """Requests per HTTP status (``no answer`` when none came), with the first message seen for each."""
    if requests.empty:
        return pd.DataFrame(columns=["status", "requests", "in the log", "message"])
    status = requests["status_code"].map(lambda code: "no answer" if code is None or pd.isna(code) else str(int(code)))
    frame = requests.assign(status=status, in_log=requests["arm"].notna())
    grouped = frame.groupby("status", sort=True)
    return pd.DataFrame(
        {
            "status": list(grouped.groups),
            "requests": grouped.size().to_list(),
            "in the log": grouped["in_log"].sum().astype(int).to_list(),
            "message": [next((m for m in group["client_error"] if isinstance(m, str) and m), "") for _, group in grouped],
        }
    )


def round_trip_by_version(requests: pd.DataFrame) -> pd.DataFrame:
    """Per answering role and version: answered requests and their end-to-end and in-server p50/p95/p99 (ms)."""
    answered = requests[(requests["status_code"] == 200) & requests["arm"].notna()]
    columns = ["arm", "model_version", "run_id", "requests", "round trip p50", "round trip p95", "round trip p99",
               "server p50", "server p95", "server p99"]  # fmt: skip
    if answered.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for (arm, run_id), group in answered.groupby(["arm", "run_id"], sort=True):
        trip = group["round_trip_ms"].astype(float).quantile([0.5, 0.95, 0.99]).to_list()
        server = group["server_latency_ms"].astype(float).quantile([0.5, 0.95, 0.99]).to_list()
        rows.append((arm, group["model_version"].iloc[0], run_id, len(group), *trip, *server))
    return pd.DataFrame.from_records(rows, columns=columns)
