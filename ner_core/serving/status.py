"""What /health, /readyz and /models/comparison report, built from the gateway's live state and the
runs' stored metrics (every number measured or read, none typed in)."""

from __future__ import annotations

import datetime as dt
import math
import resource
import time
from pathlib import Path

from ner_core.evaluation import metric_registry
from ner_core.serving.gateway import Gateway
from ner_core.store.tables import SERVING_ROLES

SYSTEM_VERSION = "ner-workbench-api/1"


def process_memory_mb() -> float:
    """Resident set size now (Linux /proc), else the peak from getrusage."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _clean(value):
    return None if isinstance(value, float) and not math.isfinite(value) else value


def health(gateway: Gateway, *, open_access: bool) -> dict:
    snapshot = gateway.snapshot
    models, total = {}, 0
    for role, arm in snapshot.arms.items():
        stats = gateway.live(arm)
        total += stats.requests
        breaker = gateway.breaker(arm) if arm.loaded else None
        models[role] = {
            "model": arm.info.model_name,
            "label": arm.info.label,
            "status": "loaded" if arm.loaded else "failed",
            "load_error": arm.load_error,
            "version": arm.info.version,
            "run_id": arm.info.run_id,
            "f1_score": _clean(arm.arm.entity_f1),
            "avg_latency_ms": stats.mean(),
            "p95_latency_ms": stats.percentile(95),
            "requests_served": stats.requests,
            "error_rate": stats.error_rate,
            "breaker_state": breaker.state if breaker is not None else None,
            "weight": arm.arm.weight if role in SERVING_ROLES else 0.0,
            "backend": arm.predictor.backend if arm.loaded else None,
            "weights_mb": round(arm.predictor.count_params() * 4 / 2**20, 3) if arm.loaded else None,
            "fault": vars(gateway.faults[role]) if role in gateway.faults else None,
        }
    loaded = [m for m in models.values() if m["status"] == "loaded"]
    degraded = len(loaded) < len(models) or bool(snapshot.plan.skipped) or any(m["breaker_state"] != "closed" for m in loaded)
    status = "unhealthy" if not loaded else "degraded" if degraded else "healthy"
    served_counts = {role: gateway.live(arm).requests for role, arm in snapshot.arms.items()}
    return {
        "status": status,
        "system_version": SYSTEM_VERSION,
        "models": models,
        "traffic_distribution": {role: round(100 * n / total, 2) if total else 0.0 for role, n in served_counts.items()},
        "uptime_s": round(time.time() - gateway.started_at, 3),
        "total_requests_processed": gateway.requests_served,
        "last_health_check": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "memory_usage_mb": round(process_memory_mb(), 1),
        "open_access": open_access,
        "registry": {
            "generation": snapshot.plan.generation,
            "defaults": snapshot.plan.defaults,
            "note": snapshot.plan.note,
            "skipped": dict(snapshot.plan.skipped),
            "swaps": gateway.models.swaps,
        },
        "dynamic_batching": {"enabled": gateway.config.batching, "max_wait_ms": gateway.config.batch_wait_ms},
        "log": {"pending_rows": gateway.log.pending, "rows_written": gateway.log.rows_written},
    }


def ready(gateway: Gateway) -> tuple[bool, dict]:
    """Ready when every role the plan serves has its model loaded (and there is at least one)."""
    arms = gateway.snapshot.arms
    loaded = {role: arm.loaded for role, arm in arms.items()}
    ok = bool(loaded) and all(loaded.values())
    return ok, {"ready": ok, "models": loaded}


def comparison(gateway: Gateway) -> dict:
    snapshot = gateway.snapshot
    models = {}
    for role, arm in snapshot.arms.items():
        metrics = arm.info.metrics
        models[role] = {
            "model": arm.info.model_name,
            "label": arm.info.label,
            "version": arm.info.version,
            "run_id": arm.info.run_id,
            "role": role,
            "architecture": arm.info.model_name,
            "parameter_count": arm.predictor.count_params() if arm.loaded else _clean(metrics.get("parameter_count")),
            "training_time_s": _clean(metrics.get("training_time_s")),
            "epochs": _clean(metrics.get("epochs_trained")),
            "metrics": [
                {
                    "key": spec.key,
                    "name": spec.name,
                    "group": spec.group,
                    "unit": spec.unit,
                    "higher_is_better": spec.higher_is_better,
                    "value": _clean(metrics.get(spec.key)),
                    "formatted": metric_registry.format_metric(spec.key, metrics.get(spec.key)),
                }
                for spec in metric_registry.METRICS
            ],
        }
    ranked = sorted(
        (role for role, entry in models.items() if _f1(entry) is not None), key=lambda role: _f1(models[role]), reverse=True
    )
    ranking = [
        {
            "rank": position + 1,
            "role": role,
            "model": models[role]["label"],
            "entity_f1": _f1(models[role]),
            "reason": f"stored test entity F1 {_f1(models[role]):.4f}",
        }
        for position, role in enumerate(ranked)
    ]
    recommended = None
    if ranked:
        best = ranked[0]
        runner_up = f", ahead of {models[ranked[1]]['label']} ({_f1(models[ranked[1]]):.4f})" if len(ranked) > 1 else ""
        recommended = {
            "role": best,
            "model": models[best]["label"],
            "reason": f"highest stored test entity F1 ({_f1(models[best]):.4f}){runner_up}",
        }
    return {
        "comparison_timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "models": models,
        "recommended_model": recommended,
        "performance_ranking": ranking,
    }


def _f1(entry: dict) -> float | None:
    return next((m["value"] for m in entry["metrics"] if m["key"] == "entity_f1"), None)
