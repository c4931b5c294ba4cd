"""Home: the active dataset, the registered models with their headline metrics, first-start training."""

from __future__ import annotations

import streamlit as st

from ner_core.evaluation import metric_registry
from ner_core.modeling import architectures
from ner_core.settings import SAMPLE_DATA_PATH
from ner_core.store import ACTIVE_STATUSES
from ner_core.training.config import sample_config
from ui import util

st.title("NER Workbench")
st.caption("Explore an annotated corpus, train named-entity models, compare them, correct their output and replay traffic.")

current = util.settings()
dataset = current.default_dataset
if dataset == SAMPLE_DATA_PATH:
    st.info(
        f"Active dataset: the bundled sample (`{dataset.name}`). Set `NER_CORPUS_PATH` or upload a corpus in the Data explorer."
    )
else:
    st.success(f"Active dataset: `{dataset}`")

try:
    store = util.get_store()
    runs = util.completed_runs()
    runner = util.get_runner()
except Exception as exc:  # noqa: BLE001 - shown to the user as an actionable error
    util.show_error(exc)
    st.stop()

st.subheader("Registered models")
rows = []
for definition in architectures.REGISTRY.values():
    latest = next((r for r in runs if r.model_name == definition.name), None)
    values = latest.metrics if latest else {}
    rows.append(
        {
            "model": definition.name,
            "description": definition.description,
            "latest run": latest.id if latest else "-",
            "entity F1": metric_registry.format_metric("entity_f1", values.get("entity_f1")) if latest else "-",
            "token accuracy": metric_registry.format_metric("token_accuracy", values.get("token_accuracy")) if latest else "-",
            "latency p50": metric_registry.format_metric("latency_p50_ms", values.get("latency_p50_ms")) if latest else "-",
        }
    )
st.dataframe(rows, hide_index=True, width="stretch")

active_jobs = [j for j in runner.jobs() if j.status in ACTIVE_STATUSES]
if not runs:
    st.subheader("First start")
    if active_jobs:
        st.info(
            f"{len(active_jobs)} training job(s) queued or running; follow them on the Training runs page. "
            "The rest of the app stays usable meanwhile."
        )
    else:
        st.write(
            "No trained models yet. Train the three default models on the bundled sample "
            "(about a minute each on two cores, small batches so 250 sentences teach something); "
            "training runs in the background."
        )
        if st.button("Train baseline, advanced and model2 on the sample", type="primary", key="home_train_defaults"):
            for name in architectures.DEFAULT_MODELS:
                runner.submit(sample_config(name), label=f"{name} on the sample")
            st.success("Queued three training jobs; see Training runs for progress.")
elif active_jobs:
    st.info(f"{len(active_jobs)} training job(s) queued or running.")
