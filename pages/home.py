"""Home: the active dataset, the registered models with their headline metrics, first-start training."""

from __future__ import annotations

import streamlit as st

from ner_core.settings import SAMPLE_DATA_PATH
from ner_core.workbench import overview, render
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
    st.success(f"Active dataset: {render.markdown_escape(dataset)}")

runs = util.or_stop(util.completed_runs)
runner = util.or_stop(util.get_runner)

st.subheader("Registered models")
st.dataframe(overview.model_rows(runs), hide_index=True, width="stretch")

active_jobs = overview.active_jobs(runner.jobs())
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
            for config, label in overview.first_start_jobs():
                runner.submit(config, label=label)
            st.success("Queued three training jobs; see Training runs for progress.")
elif active_jobs:
    st.info(f"{len(active_jobs)} training job(s) queued or running.")
