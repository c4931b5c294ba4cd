"""The home page's model table, active jobs and first-start jobs."""

from __future__ import annotations

from types import SimpleNamespace

from ner_core.modeling import architectures
from ner_core.settings import SAMPLE_DATA_PATH
from ner_core.workbench import overview


def run(run_id, model, **metrics):
    return SimpleNamespace(id=run_id, model_name=model, metrics=metrics)


def test_each_registered_model_gets_its_latest_run_and_formatted_headline_metrics():
    runs = [  # newest first, as the store lists them
        run("model2-new", "model2", entity_f1=0.81234, token_accuracy=0.9, latency_p50_ms=3.14159),
        run("model2-old", "model2", entity_f1=0.5),
        run("baseline-1", "baseline", entity_f1=0.4),
    ]
    rows = {row["model"]: row for row in overview.model_rows(runs)}
    assert list(rows) == list(architectures.REGISTRY)
    assert rows["model2"] == {
        "model": "model2",
        "description": architectures.REGISTRY["model2"].description,
        "latest run": "model2-new",
        "entity F1": "0.8123",
        "token accuracy": "0.9000",
        "latency p50": "3.14 ms",
    }
    # A metric the run lacks is n/a; a model without any run shows "-" throughout.
    assert rows["baseline"]["latest run"] == "baseline-1" and rows["baseline"]["latency p50"] == "n/a"
    assert {rows["advanced"][column] for column in ("latest run", "entity F1", "token accuracy", "latency p50")} == {"-"}


def test_model_rows_without_runs_or_definitions():
    assert all(row["latest run"] == "-" for row in overview.model_rows([]))
    assert overview.model_rows([run("x", "model2")], definitions={}) == []


def test_active_jobs_are_those_not_finished():
    jobs = [SimpleNamespace(job_id=i, finished=done) for i, done in enumerate([True, False, False, True])]
    assert [job.job_id for job in overview.active_jobs(jobs)] == [1, 2]
    assert overview.active_jobs([]) == []


def test_first_start_trains_each_default_model_on_the_sample():
    jobs = overview.first_start_jobs()
    assert [config.model for config, _ in jobs] == list(architectures.DEFAULT_MODELS)
    assert [label for _, label in jobs] == [f"{name} on the sample" for name in architectures.DEFAULT_MODELS]
    assert {config.dataset for config, _ in jobs} == {str(SAMPLE_DATA_PATH)}
    assert overview.first_start_jobs(()) == []
