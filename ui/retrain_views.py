"""The views of a retrained run: its comparison with its parent on test sentences neither trained on, and its
lineage (parent, dataset, the exact annotations it used and whether they changed since)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.errors import StreamlitAPIException

from ner_core.corpus import tags as tagging
from ner_core.errors import NerError
from ner_core.evaluation import bootstrap
from ner_core.training import lineage, run_folder
from ner_core.workbench import render, retrain_comparison, retraining
from ui import util

CORRECTED_SHOWN = 30


@st.cache_data(show_spinner="Scoring parent and child on the test sentences neither trained on...", max_entries=8)
def cached_comparison(parent_id: str, child_id: str, run_dirs: tuple[str, str], annotations_key: str):
    """The comparison of two runs; the folders and the stored annotations' checksum are part of the cache key."""
    store = util.get_store()
    parent, child = store.get_run(parent_id), store.get_run(child_id)
    return retrain_comparison.compare_retrain(
        parent,
        child,
        parent_predictor=util.get_predictor(parent.run_dir),
        child_predictor=util.get_predictor(child.run_dir),
        stored_now=store.list_annotations(),
        resamples=bootstrap.DEFAULT_RESAMPLES,
        seed=0,
    )


def annotations_key(store) -> str:
    """One checksum over every stored annotation's content: changes when any is added, edited or deleted."""
    return lineage.combined_checksum((a.id, lineage.content_checksum(a.tokens, a.tags)) for a in store.list_annotations())


def gain_text(gain: bootstrap.PairedF1Difference) -> str:
    return (
        f"Entity F1 gain **{gain.gain:+.4f}**, {gain.confidence:.0%} interval "
        f"**[{gain.low:+.4f}, {gain.high:+.4f}]**: paired bootstrap over {gain.sentences:,} test sentences, "
        f"{gain.resamples:,} resamples (seed {gain.seed}); the child is not better in {gain.share_not_better:.1%} of them."
    )


def visualize_retrain_comparison(*, parent, child, store, key: str) -> None:
    """Both runs on the leak-free test set: the gain with its interval, all 23 metrics, per type, corrected sentences."""
    try:
        result = cached_comparison(parent.id, child.id, (parent.run_dir, child.run_dir), annotations_key(store))
    except NerError as exc:
        util.show_error(exc)
        return
    st.info(render.markdown_escape(result.left_out_note()))
    left, middle, right = st.columns(3)
    left.metric("Parent entity F1", f"{result.gain.baseline_f1:.4f}")
    middle.metric("Child entity F1", f"{result.gain.candidate_f1:.4f}", delta=f"{result.gain.gain:+.4f}")
    right.metric(
        "Test sentences scored",
        f"{len(result.test_set.kept):,}",
        help=f"{result.test_set.left_out_count:,} of the {result.test_set.total:,} match an annotation and are left out.",
    )
    st.markdown(gain_text(result.gain))
    (st.success if result.gain.low > 0 else st.warning if result.gain.high < 0 else st.info)(result.gain.verdict())
    metrics_tab, per_type_tab, corrected_tab = st.tabs(["All 23 metrics", "Per type", "Corrected sentences"])
    with metrics_tab:
        st.dataframe(
            retrain_comparison.metric_frame(result),
            hide_index=True,
            width="stretch",
            height="content",  # all 23 rows at once
            key=f"{key}_metrics",
            column_config={"metric": st.column_config.TextColumn("metric", pinned=True)},
        )
        st.caption(
            "Quality metrics on the leak-free test set, each run with its own decoding. Latency and throughput "
            f"measured just now for both runs side by side ({retrain_comparison.SPEED_ROUNDS} alternating rounds, "
            "medians), so the same machine load weighs on both; training time and epochs as recorded when each run "
            "was trained. ★ marks the better run of each metric."
        )
    with per_type_tab:
        number = st.column_config.NumberColumn(format="%.4f")
        frame = retrain_comparison.per_type_table(result)
        st.dataframe(
            frame,
            hide_index=True,
            width="stretch",
            key=f"{key}_per_type",
            column_config={
                column: st.column_config.NumberColumn(format="%+.4f") if column == "F1 change" else number
                for column in frame.columns
                if column not in ("type", "support")
            },
        )
    with corrected_tab:
        visualize_corrected(result.corrected)


def visualize_corrected(corrected: list) -> None:
    if not corrected:
        st.info("The child recorded no annotations, so there are no corrected sentences to show.")
        return
    child_right = sum(item.child_agrees for item in corrected)
    parent_right = sum(item.parent_agrees for item in corrected)
    st.markdown(
        f"The child tags **{child_right} of {len(corrected)}** corrected sentences exactly as annotated "
        f"(the parent: {parent_right}). Tokens a model tags differently from the analyst are underlined or outlined."
    )
    shown = corrected[:CORRECTED_SHOWN]
    if len(corrected) > len(shown):
        st.caption(f"The first {len(shown)} of {len(corrected)} are shown.")
    st.html(render.legend(tagging.entity_types(tag for item in shown for tag in (*item.annotated, *item.parent, *item.child))))
    for item in shown:
        st.html(retrain_comparison.corrected_sentence_html(item))


def link_to_page(path: str, *, label: str, icon: str | None = None) -> None:
    """``st.page_link``, or the page's name as text where that page is not registered (a page run on its own)."""
    try:
        st.page_link(path, label=label, icon=icon)
    except StreamlitAPIException:
        st.caption(f"Open the {label} page from the navigation.")


def visualize_lineage(*, run, store, key: str) -> None:
    """Where ``run`` came from, and whether the annotations it used are still stored as they were."""
    try:
        record = retraining.run_lineage(store, run)
    except NerError as exc:
        util.show_error(exc)
        return
    facts = record.facts()
    st.dataframe(
        {"fact": list(facts), "value": list(facts.values())}, hide_index=True, width="stretch", key=f"{key}_lineage_facts"
    )
    if record.check is None:
        st.caption("This run trained without annotations (or before the annotations a run used were recorded).")
        return
    (st.success if record.check.matches else st.warning)(record.check.summary())
    if record.same_as_now:
        st.caption("A retrain started now would use exactly these annotations.")
    else:
        st.caption("A retrain started now would use other annotations (added, edited or adjudicated since).")
    st.dataframe(retraining.lineage_frame(record), hide_index=True, width="stretch", key=f"{key}_lineage_table")
    path = run_folder.RunFolder(Path(run.run_dir)).file(lineage.ANNOTATIONS_FILE) if run.run_dir else None
    if path is not None and path.exists():
        st.download_button(
            f"Download {lineage.ANNOTATIONS_FILE}",
            path.read_bytes(),
            file_name=f"{run.id}-{lineage.ANNOTATIONS_FILE}",
            mime="application/json",
            key=f"{key}_lineage_download",
            on_click="ignore",
        )
