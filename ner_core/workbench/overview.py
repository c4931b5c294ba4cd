"""What the home page shows: one row per registered model with its latest run's headline metrics,
the training jobs still under way, and the first-start jobs (the default models on the bundled sample)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ner_core.evaluation import metric_registry
from ner_core.modeling import architectures
from ner_core.training.config import TrainConfig, sample_config

# (column, metric key) of the headline metrics, in display order.
HEADLINE_METRICS = (("entity F1", "entity_f1"), ("token accuracy", "token_accuracy"), ("latency p50", "latency_p50_ms"))
NO_RUN = "-"


def model_rows(
    runs: Sequence, definitions: Mapping[str, architectures.ModelDefinition] = architectures.REGISTRY
) -> list[dict[str, str]]:
    """One row per model definition: its latest run (``runs`` are newest first) and that run's headline metrics.

    A model without a run shows ``-`` in every run column; a metric the run lacks shows ``n/a``.
    """
    rows = []
    for definition in definitions.values():
        latest = next((run for run in runs if run.model_name == definition.name), None)
        values = latest.metrics if latest is not None else {}
        row = {"model": definition.name, "description": definition.description, "latest run": latest.id if latest else NO_RUN}
        for column, key in HEADLINE_METRICS:
            row[column] = metric_registry.format_metric(key, values.get(key)) if latest is not None else NO_RUN
        rows.append(row)
    return rows


def active_jobs(jobs: Iterable) -> list:
    """The jobs still queued or running."""
    return [job for job in jobs if not job.finished]


def first_start_jobs(models: Sequence[str] = architectures.DEFAULT_MODELS) -> list[tuple[TrainConfig, str]]:
    """(config, label) of each default model trained on the bundled sample, as the first start submits them."""
    return [(sample_config(name), f"{name} on the sample") for name in models]
