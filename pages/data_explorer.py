"""Data explorer: pick or upload a corpus, read its validation report, look at its distributions and sentences."""

from __future__ import annotations

from pathlib import Path

import pandas
import streamlit as st

from ner_core.corpus import annotated, reading, splitting, uploads
from ner_core.errors import NerError
from ner_core.workbench import app_wording, charts, explore, render
from ui import corpus_upload, util

KEY = "data_explorer"
TAB_KEY = f"{KEY}_tab"  # the open tab, and its query parameter (?data_explorer_tab=Sentences)
# TrainConfig's default seed, so the OOV rates describe the splits a default run trains on
SPLIT_SEED = splitting.DEFAULT_SEED


# --------------------------------------------------------------------------- cached work


@st.cache_data(show_spinner=False, max_entries=32)
def _checksum(path: str, size: int, modified_ns: int) -> str:
    return uploads.file_sha256(path)


def checksum(path: str) -> str:
    return _checksum(path, *uploads.file_stamp(path))


# cache_resource, not cache_data: the GMB corpus is a million tokens and cache_data
# would unpickle a copy on every rerun. Pages only read it.
@st.cache_resource(show_spinner=False, max_entries=3)
def load_dataset(path: str, sha256: str, repair_iob: bool) -> annotated.Corpus:
    return reading.inspect_corpus(path, repair_iob=repair_iob)


@st.cache_data(show_spinner=False, max_entries=8)
def summarise(path: str, sha256: str, repair_iob: bool) -> dict:
    return explore.corpus_summary(load_dataset(path, sha256, repair_iob), split_seed=SPLIT_SEED)


# --------------------------------------------------------------------------- views


def visualize_findings(findings: pandas.DataFrame, *, key: str) -> None:
    if findings.empty:
        st.success("No findings: every sentence reads as valid IOB2 and no sentence repeats another.")
        return
    summary, has_errors = explore.findings_summary(findings)
    (st.error if has_errors else st.warning)(summary)
    st.dataframe(
        findings,
        hide_index=True,
        width="stretch",
        key=f"{key}_findings",
        column_config={
            "sentence": st.column_config.NumberColumn(format="%d"),
            "line": st.column_config.NumberColumn(format="%d"),
        },
    )


def visualize_agreement(agreement: explore.DuplicateAgreement, *, key: str) -> None:
    """Repeated sentences whose copies carry different tags: label noise no model can learn away."""
    warning = explore.agreement_warning(agreement)
    if warning is None:
        return
    st.warning(render.markdown_escape(warning))
    with st.expander("Most common disagreements between copies"):
        st.dataframe(agreement.disagreements, hide_index=True, width="stretch", key=f"{key}_disagreements")


def visualize_overview(summary: dict, *, key: str) -> None:
    """The headline numbers (``key`` for a uniform signature: st.metric takes no widget key)."""
    headline = explore.headline_numbers(summary["statistics"])
    for column, (label, value) in zip(st.columns(len(headline)), headline.items()):
        column.metric(label, value)


def visualize_distributions(summary: dict, *, key: str) -> None:
    log_scale = st.toggle(
        "Log scale",
        value=False,
        key=f"{key}_log",
        help="Bars start at zero so their heights compare honestly. A log axis (ticks 1, 10, 100, 1k...) "
        "shows the rare tags next to O, but makes very different counts look alike.",
    )
    left, right = st.columns(2)
    left.plotly_chart(charts.tag_bars(summary["tags"], log_y=log_scale), key=f"{key}_tags_chart")
    right.plotly_chart(charts.type_bars(summary["types"], log_y=log_scale), key=f"{key}_types_chart")


def visualize_lengths(summary: dict, *, key: str) -> None:
    stats = summary["statistics"]
    percentiles = stats["length_percentiles"]
    st.caption(
        f"min {stats['length_min']}, mean {stats['length_mean']:.1f}, p90 {percentiles['p90']:.0f}, "
        f"p99 {percentiles['p99']:.0f}, max {stats['length_max']} tokens; a model's max_len cuts longer sentences."
    )
    st.plotly_chart(charts.length_bars(summary["lengths"]), key=f"{key}_lengths_chart")


def visualize_top_entities(summary: dict, *, key: str) -> None:
    table = summary["top_entities"]
    if table.empty:
        st.info("This dataset has no entities.")
        return
    kind = st.selectbox("Entity type", list(dict.fromkeys(table["type"])), key=f"{key}_top_type")
    st.plotly_chart(charts.top_entity_bars(table, kind), key=f"{key}_top_chart")


def visualize_pos(summary: dict, *, key: str) -> None:
    if summary["pos_counts"].empty:
        st.info("This dataset has no part-of-speech column, so there is no POS-by-tag view.")
        return
    shares = st.toggle(
        "Share of each tag's tokens", value=True, key=f"{key}_pos_shares", help="Off: raw token counts (dominated by O)."
    )
    matrix = summary["pos_shares"] if shares else summary["pos_counts"]
    st.plotly_chart(charts.pos_heatmap(matrix, shares=shares), key=f"{key}_pos_chart")


def visualize_oov(summary: dict, *, key: str) -> None:
    table = summary["oov"]
    st.caption(
        f"Deterministic split with seed {SPLIT_SEED} (the training default); a word is out of vocabulary "
        "when its exact form never occurs in the train split."
    )
    st.plotly_chart(charts.oov_bars(table), key=f"{key}_oov_chart")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        key=f"{key}_oov_table",
        column_config={"oov_rate": st.column_config.NumberColumn(format="percent")},
    )


def visualize_sentence_browser(corpus: annotated.Corpus, *, key: str) -> None:
    left, right = st.columns([2, 1])
    word = left.text_input("Search for a word or phrase", key=f"{key}_search_word", placeholder="e.g. Paris")
    tag = right.selectbox(
        "Tag or entity type",
        explore.search_tag_options(corpus.tag_names),
        key=f"{key}_search_tag",
        format_func=lambda option: option or "(any)",
    )
    if word.strip() or tag:
        shown = explore.search_sentences(corpus.sentences, query_word=word, tag=tag or None, limit=explore.SEARCH_LIMIT)
        more = " (the first ones)" if len(shown) == explore.SEARCH_LIMIT else ""
        st.caption(f"{len(shown)} matching sentence(s){more}; matched words are underlined, matched entities outlined.")
    else:
        start = st.number_input("From sentence", min_value=1, max_value=len(corpus.sentences), value=1, key=f"{key}_browse_from")
        shown = explore.browse_page(corpus.sentences, int(start))
    if not shown:
        st.info("No sentence matches; words match whole tokens, ignoring case.")
        return
    st.html(render.sentence_list(shown))


# --------------------------------------------------------------------------- page


def visualize_dataset_picker(*, key: str) -> tuple[str, str, bool]:
    """The chosen dataset's label and path, and whether stray I- tags are repaired."""
    choices = util.or_stop(util.dataset_choices)
    if st.session_state.get(f"{key}_dataset") not in choices:
        st.session_state.pop(f"{key}_dataset", None)  # an upload whose file was removed
    paths = list(choices.values())
    default_path = str(util.settings().default_dataset)
    label = st.selectbox(
        "Dataset",
        list(choices),
        key=f"{key}_dataset",
        index=paths.index(default_path) if default_path in paths else 0,
        help="The bundled sample, the corpus set with NER_CORPUS_PATH, or a file uploaded below.",
    )
    repair = st.toggle(
        app_wording.REPAIR_TOGGLE,
        key=f"{key}_repair",
        on_change=corpus_upload.recheck_upload,
        args=(key,),
        help="Reads a stray I-X as B-X, as training with repair does. Applies to uploads too: a file already "
        "chosen below is checked again, and one accepted this way trains with repair by itself.",
    )
    corpus_upload.visualize_upload(key=key, show_report=visualize_findings)
    recorded = uploads.needs_repair(util.get_store(), choices[label])
    if recorded and not repair:
        st.caption("Read with IOB2 repair: this upload was accepted that way, and trains that way too.")
    return label, choices[label], repair or recorded


st.title("Data explorer")
st.caption("Check a corpus before training on it: validation findings first, then distributions and sentences.")

label, path, repair = visualize_dataset_picker(key=KEY)
try:
    sha256 = checksum(path)
    with st.spinner(f"Reading and describing {label} (a large corpus takes a few seconds, once)..."):
        corpus = load_dataset(path, sha256, repair)
        summary = summarise(path, sha256, repair)
except NerError as exc:
    util.show_error(exc)
    st.stop()

st.caption(f"{render.markdown_escape(Path(path).name)}: {corpus.format}, {corpus.encoding}, sha256 `{sha256[:16]}`")
st.subheader("Validation report")
visualize_findings(summary["report"], key=KEY)
visualize_agreement(summary["agreement"], key=KEY)
visualize_overview(summary, key=KEY)

VIEWS = {
    "Tags and types": lambda: visualize_distributions(summary, key=KEY),
    "Sentence lengths": lambda: visualize_lengths(summary, key=KEY),
    "Top entities": lambda: visualize_top_entities(summary, key=KEY),
    "POS by tag": lambda: visualize_pos(summary, key=KEY),
    "OOV per split": lambda: visualize_oov(summary, key=KEY),
    "Sentences": lambda: visualize_sentence_browser(corpus, key=KEY),
}
# Only the open tab is built and drawn: all six (five Plotly charts, a page of sentences) on every load made
# this one of the slowest pages to open while a job trained. The open tab is in the URL, so it can be shared.
for tab, view in zip(st.tabs(list(VIEWS), key=TAB_KEY, bind="query-params"), VIEWS.values()):
    if tab.open:
        with tab:
            view()
