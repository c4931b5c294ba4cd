"""Statistics over a simulation's requests: the traffic split and its sample-ratio
mismatch, latency percentiles and timelines, error rates and kinds, breaker summaries,
bootstrap confidence intervals of entity F1 per arm and of the difference between arms.

The simulator replays N distinct test sentences many times each (84 sentences about 24
times each on the bundled sample), so requests are not independent evidence: the 24 replays
of one sentence by one model are the same answer. F1 intervals therefore come from a
cluster bootstrap: resample sentences with replacement, each carrying all its requests,
and every table says how many distinct sentences its interval rests on. Resampling the
requests instead would make an interval about sqrt(24) times too narrow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ner_core.errors import ConfigError
from ner_core.traffic.experiment import ERROR_BREAKER_REJECTED, ERROR_INJECTED_FAULT, ERROR_KINDS, _finite
from ner_core.traffic.simulator import SimulationResult

# Bootstrap resamples are drawn in chunks of about this many request picks to bound memory.
_BOOTSTRAP_CHUNK_PICKS = 2_000_000
# The error kinds error_breakdown counts, with their column labels.
ERROR_KIND_COLUMNS = {ERROR_INJECTED_FAULT: "injected faults", ERROR_BREAKER_REJECTED: "rejected (breaker open)"}
SPLIT_SHARES = ("planned share", "picked share", "served share")
# A sample-ratio-mismatch p-value below this says the split is not what was planned.
SRM_ALPHA = 0.001
# The default latency timeline has about this many time buckets.
TIMELINE_BUCKETS = 20


# --------------------------------------------------------------------------
# Analysis (pure functions of the request table)
# --------------------------------------------------------------------------


def _frame(requests: SimulationResult | pd.DataFrame) -> pd.DataFrame:
    return requests.requests if isinstance(requests, SimulationResult) else requests


def sample_ratio_mismatch(observed_counts: Mapping[str, int], planned_weights: Mapping[str, float]) -> float:
    """Chi-square goodness-of-fit p-value of observed counts against the planned split.

    Arms with zero planned weight are left out (and so is any traffic they
    got). A small p-value (say < 0.001) means the split is not what was
    planned. Test the router's picks (``chosen_arm``) to check randomisation;
    the served ``arm`` also moves with breaker fallbacks, by design.
    """
    names = [name for name, weight in planned_weights.items() if weight > 0]
    observed = np.array([observed_counts.get(name, 0) for name in names], dtype=float)
    if len(names) < 2 or observed.sum() <= 0:
        return 1.0
    weights = np.array([planned_weights[name] for name in names], dtype=float)
    expected = observed.sum() * weights / weights.sum()
    return float(stats.chisquare(observed, expected).pvalue)


def split_mismatch_p_value(result: SimulationResult) -> float | None:
    """:func:`sample_ratio_mismatch` of the router's picks against the planned split; None when the
    plan was not recorded (a simulation replayed from the log)."""
    if not result.planned_weights:
        return None
    return sample_ratio_mismatch(result.observed_counts("chosen_arm"), result.planned_weights)


def split_table(result: SimulationResult) -> pd.DataFrame:
    """Per arm: planned share (None when the plan was not recorded), the router's picks and
    the requests each arm served, as counts and shares of all requests.

    Arms are every arm of the plan, the picks or the serving, sorted by name; picks and
    served differ by breaker fallbacks.
    """
    requests = result.requests
    arms = sorted(set(result.planned_weights) | set(requests["arm"]) | set(requests["chosen_arm"]))
    chosen, served = requests["chosen_arm"].value_counts(), requests["arm"].value_counts()
    total = max(1, len(requests))
    return pd.DataFrame(
        {
            "arm": arms,
            "planned share": [result.planned_weights.get(arm) for arm in arms],
            "router picks": [int(chosen.get(arm, 0)) for arm in arms],
            "picked share": [chosen.get(arm, 0) / total for arm in arms],
            "served": [int(served.get(arm, 0)) for arm in arms],
            "served share": [served.get(arm, 0) / total for arm in arms],
        }
    )


def split_shares_long(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`split_table`'s three shares as a long table (``arm``, ``split``, ``share``) without unknown shares."""
    missing = [column for column in ("arm", *SPLIT_SHARES) if column not in table.columns]
    if missing:
        raise ConfigError(f"not a split table: it lacks {', '.join(missing)}.")
    return table.melt(id_vars="arm", value_vars=list(SPLIT_SHARES), var_name="split", value_name="share").dropna()


def _percentiles(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    grouped = frame.groupby(keys)["latency_ms"]
    table = grouped.quantile([0.50, 0.95, 0.99]).unstack()
    table.columns = ["p50", "p95", "p99"]
    table.insert(0, "requests", grouped.size())
    return table


def latency_percentiles(requests: SimulationResult | pd.DataFrame) -> pd.DataFrame:
    """Per arm: successful requests and their latency p50/p95/p99 in ms (errors excluded)."""
    frame = _frame(requests)
    served = frame[~frame["error"].astype(bool)]
    if served.empty:
        return pd.DataFrame(columns=["requests", "p50", "p95", "p99"], index=pd.Index([], name="arm"))
    return _percentiles(served, ["arm"])


def default_time_bucket_s(requests: SimulationResult | pd.DataFrame) -> float:
    """A latency-timeline bucket of about 1/:data:`TIMELINE_BUCKETS` of the simulated time, at
    least 1 s, rounded to 0.1 s (1 s when there are no requests)."""
    times = _frame(requests)["time_s"]
    duration = float(times.max()) if len(times) else 0.0
    if not _finite(duration) or duration <= 0:
        return 1.0
    return max(1.0, round(duration / TIMELINE_BUCKETS, 1))


def latency_over_time(requests: SimulationResult | pd.DataFrame, bucket_s: float) -> pd.DataFrame:
    """Long table (``time_s`` bucket start, ``arm``, ``requests``, ``p50``, ``p95``, ``p99``) of successful requests."""
    if not _finite(bucket_s) or bucket_s <= 0:
        raise ConfigError(f"time bucket must be a positive number of seconds, got {bucket_s!r}.")
    frame = _frame(requests)
    served = frame[~frame["error"].astype(bool)].copy()
    if served.empty:
        return pd.DataFrame(columns=["time_s", "arm", "requests", "p50", "p95", "p99"])
    served["time_s"] = np.floor(served["time_s"].to_numpy() / bucket_s) * bucket_s
    return _percentiles(served, ["time_s", "arm"]).reset_index()


def error_rates(requests: SimulationResult | pd.DataFrame) -> dict[str, float]:
    """Share of each serving arm's requests that failed (injected faults and rejections)."""
    frame = _frame(requests)
    return {str(arm): float(rate) for arm, rate in frame.groupby("arm")["error"].mean().items()}


def error_breakdown(requests: SimulationResult | pd.DataFrame) -> pd.DataFrame:
    """Per serving arm: its error rate and how many of its requests failed of each kind in
    :data:`ERROR_KIND_COLUMNS`, counted from the ``error_kind`` column (other kinds count in
    the rate only)."""
    frame = _frame(requests)
    if "error_kind" not in frame.columns:
        raise ConfigError("the request table has no error_kind column; rebuild it with the simulator or replay.result_from_log.")
    unknown = sorted(set(frame["error_kind"]) - set(ERROR_KINDS))
    if unknown:
        raise ConfigError(f"unknown error kinds {', '.join(map(repr, unknown))}; known: {', '.join(ERROR_KINDS)}.")
    rates = error_rates(frame)
    counts = frame.groupby(["arm", "error_kind"]).size()
    return pd.DataFrame(
        {
            "arm": list(rates),
            "error rate": list(rates.values()),
            **{label: [int(counts.get((arm, kind), 0)) for arm in rates] for kind, label in ERROR_KIND_COLUMNS.items()},
        }
    )


def breaker_summary(result: SimulationResult) -> pd.DataFrame:
    """Per arm with a breaker timeline, sorted by name: how many times its breaker opened and its last state."""
    timelines = {arm: timeline for arm, timeline in result.breaker_timelines.items() if timeline}
    arms = sorted(timelines)
    return pd.DataFrame(
        {
            "arm": arms,
            "times opened": [sum(state == "open" for _, state in timelines[arm]) for arm in arms],
            "final state": [timelines[arm][-1][1] for arm in arms],
        }
    )


COUNT_COLUMNS = ["correct_entities", "predicted_entities", "gold_entities"]


def per_request_counts(requests: SimulationResult | pd.DataFrame, arm: str | None = None) -> np.ndarray:
    """``[n, 3]`` array of (correct, predicted, gold) entities per request, optionally for one serving arm."""
    frame = _frame(requests)
    if arm is not None:
        frame = frame[frame["arm"] == arm]
    return frame[COUNT_COLUMNS].to_numpy(dtype=float)


def _with_sentences(requests: SimulationResult | pd.DataFrame) -> pd.DataFrame:
    frame = _frame(requests)
    if "sentence_index" not in frame.columns:
        raise ConfigError(
            "the request table has no sentence_index column; rebuild it with the simulator or replay.result_from_log."
        )
    if len(frame) and int(frame["sentence_index"].min()) < 0:
        raise ConfigError("some requests do not say which sentence they replayed; rebuild the table with replay.result_from_log.")
    return frame


def per_sentence_counts(requests: SimulationResult | pd.DataFrame, arms: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Sentence ids and a ``[arms, sentences, 3]`` array of (correct, predicted, gold) summed over each arm's
    requests of each sentence (zeros where an arm never served a sentence): the clusters of the bootstrap."""
    frame = _with_sentences(requests)
    frame = frame[frame["arm"].isin(arms)]
    sentences = np.sort(frame["sentence_index"].unique())
    sums = frame.groupby(["arm", "sentence_index"])[COUNT_COLUMNS].sum()
    counts = np.zeros((len(arms), len(sentences), 3))
    for position, arm in enumerate(arms):
        if arm in sums.index.get_level_values("arm"):
            counts[position] = sums.loc[arm].reindex(sentences, fill_value=0).to_numpy(dtype=float)
    return sentences, counts


def _f1(totals: np.ndarray) -> np.ndarray:
    """Micro F1 = 2 tp / (predicted + gold) from summed counts; 0 when nothing was predicted or expected."""
    denominator = totals[..., 1] + totals[..., 2]
    return np.divide(2 * totals[..., 0], denominator, out=np.zeros_like(denominator, dtype=float), where=denominator > 0)


def _bootstrap_f1(counts: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """F1 of ``n_boot`` resamples of the rows of ``counts`` (``[rows, 3]``, or ``[arms, rows, 3]`` resampled
    together: one draw of rows for every arm), drawn in memory-bounded chunks; ``[n_boot]`` or ``[arms, n_boot]``."""
    paired = counts.ndim == 3
    groups = counts if paired else counts[None]
    n = groups.shape[1]
    totals = np.empty((len(groups), n_boot, 3))
    step = max(1, _BOOTSTRAP_CHUNK_PICKS // n)
    for first in range(0, n_boot, step):
        size = min(step, n_boot - first)
        picks = rng.integers(0, n, size=(size, n))
        for group, group_counts in enumerate(groups):
            for column in range(3):
                totals[group, first : first + size, column] = group_counts[:, column][picks].sum(axis=1)
    scores = _f1(totals)
    return scores if paired else scores[0]


def _check_bootstrap(n_boot: int, alpha: float) -> None:
    if n_boot < 1:
        raise ConfigError(f"bootstrap needs at least 1 resample, got {n_boot!r}.")
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be between 0 and 1, got {alpha!r}.")


def bootstrap_f1_ci(
    cluster_counts: np.ndarray, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> tuple[float, float, float]:
    """(micro entity F1, low, high): percentile bootstrap over the rows of (tp, n_pred, n_gold).

    Each row is one unit of evidence. Pass one row per distinct sentence (a sentence's requests
    summed, :func:`per_sentence_counts`) when sentences repeat; per-request rows only when every
    request is a different sentence.
    """
    _check_bootstrap(n_boot, alpha)
    counts = np.asarray(cluster_counts, dtype=float).reshape(-1, 3)
    if len(counts) == 0:
        return float("nan"), float("nan"), float("nan")
    point = float(_f1(counts.sum(axis=0)))
    resampled = _bootstrap_f1(counts, n_boot, np.random.default_rng(seed))
    low, high = np.quantile(resampled, [alpha / 2, 1 - alpha / 2])
    return point, float(low), float(high)


def f1_difference_test(
    counts_a: np.ndarray, counts_b: np.ndarray, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> tuple[float, float, float, float]:
    """(F1_a - F1_b, ci_low, ci_high, two-sided p) from a paired cluster bootstrap.

    Row ``i`` of both arrays is the same sentence (zeros where an arm never served it): each
    resample draws sentences once and takes both arms' requests of them, so a hard sentence
    weighs on both arms at once, as it did in the traffic. p = 2 * min(share of differences
    <= 0, share >= 0).
    """
    _check_bootstrap(n_boot, alpha)
    a = np.asarray(counts_a, dtype=float).reshape(-1, 3)
    b = np.asarray(counts_b, dtype=float).reshape(-1, 3)
    if len(a) != len(b):
        raise ValueError(f"paired counts need one row per sentence in both arms, got {len(a)} and {len(b)} rows")
    if len(a) == 0:
        return float("nan"), float("nan"), float("nan"), float("nan")
    difference = float(_f1(a.sum(axis=0)) - _f1(b.sum(axis=0)))
    scores = _bootstrap_f1(np.stack([a, b]), n_boot, np.random.default_rng(seed))
    resampled = scores[0] - scores[1]
    low, high = np.quantile(resampled, [alpha / 2, 1 - alpha / 2])
    p_value = min(1.0, 2 * min(float(np.mean(resampled <= 0)), float(np.mean(resampled >= 0))))
    return difference, float(low), float(high), p_value


@dataclass(frozen=True)
class F1Difference:
    """F1 of arm a minus arm b with its interval and p-value, and the distinct sentences they rest on."""

    arm_a: str
    arm_b: str
    difference: float
    low: float
    high: float
    p_value: float
    sentences: int


def f1_difference_between(
    requests: SimulationResult | pd.DataFrame, arm_a: str, arm_b: str, *, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> F1Difference:
    """:func:`f1_difference_test` of two serving arms of one request table, by sentence; an unknown arm is a ConfigError."""
    frame = _frame(requests)
    missing = [arm for arm in (arm_a, arm_b) if arm not in set(frame["arm"])]
    if missing:
        raise ConfigError(f"no requests were served by {', '.join(map(repr, missing))}.")
    sentences, counts = per_sentence_counts(frame, [arm_a, arm_b])
    result = f1_difference_test(counts[0], counts[1], n_boot=n_boot, seed=seed, alpha=alpha)
    return F1Difference(arm_a, arm_b, *result, sentences=len(sentences))


def primary_arm(result: SimulationResult) -> str:
    """The arm the experiment is about: the highest planned weight (the first such arm), or, for a
    simulation replayed from the log (no plan), the arm the router picked most."""
    if result.planned_weights:
        return max(result.planned_weights, key=lambda arm: result.planned_weights[arm])
    picks = result.requests["chosen_arm"].value_counts()
    if picks.empty:
        raise ConfigError("the simulation has no requests, so it has no primary arm.")
    return str(max(sorted(picks.index), key=lambda arm: picks[arm]))


DIFFERENCE_COLUMNS = ["versus", "F1 difference", "ci_low", "ci_high", "p-value", "sentences"]


def differences_from_primary(
    requests: SimulationResult | pd.DataFrame, primary: str, *, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> pd.DataFrame:
    """One row per other serving arm: F1(primary) - F1(arm), its interval, p-value and distinct sentences."""
    frame = _frame(requests)
    others = [arm for arm in sorted(frame["arm"].unique()) if arm != primary]
    rows = []
    for arm in others:
        found = f1_difference_between(frame, primary, arm, n_boot=n_boot, seed=seed, alpha=alpha)
        rows.append([arm, found.difference, found.low, found.high, found.p_value, found.sentences])
    return pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)


def entity_f1_by_arm(
    requests: SimulationResult | pd.DataFrame, *, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> pd.DataFrame:
    """Per serving arm: micro entity precision/recall/F1 against gold with a cluster-bootstrap CI for F1,
    the requests it served and the distinct sentences among them (what the interval rests on).

    Counts come from strict IOB2 spans (:func:`ner_core.corpus.tags.extract_spans`);
    an errored request predicts nothing, so its gold entities count as missed.
    """
    frame = _with_sentences(requests)
    rows = []
    for arm in sorted(frame["arm"].unique()):
        served = frame[frame["arm"] == arm]
        sentences, counts = per_sentence_counts(served, [arm])
        f1, low, high = bootstrap_f1_ci(counts[0], n_boot=n_boot, seed=seed, alpha=alpha)
        correct, predicted, gold = counts[0].sum(axis=0)
        rows.append(
            {
                "arm": arm,
                "requests": len(served),
                "sentences": len(sentences),
                "correct": int(correct),
                "predicted": int(predicted),
                "gold": int(gold),
                "precision": correct / predicted if predicted else 0.0,
                "recall": correct / gold if gold else 0.0,
                "f1": f1,
                "ci_low": low,
                "ci_high": high,
            }
        )
    columns = ["arm", "requests", "sentences", "correct", "predicted", "gold", "precision", "recall", "f1", "ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=columns).set_index("arm")
