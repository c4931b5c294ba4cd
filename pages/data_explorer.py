"""Data explorer: pick or upload a corpus, read its validation report, look at its distributions and sentences."""

from __future__ import annotations

from pathlib import Path

import pandas
import plotly.express as px
import streamlit as st

from ner_core.corpus import annotated, reading, splitting, statistics, uploads
from ner_core.corpus import tags as tagging
from ner_core.errors import NerError
from ner_core.workbench import explore, render
from ui import util

KEY = "data_explorer"
# TrainConfig's default seed, so the OOV rates describe the splits a default run trains on
SPLIT_SEED = splitting.DEFAULT_SEED
UPLOAD_TYPES = ["csv", "zip", "conll", "conllu", "iob", "iob2", "bio", "txt", "tsv"]
BROWSE_PAGE = 10


# --------------------------------------------------------------------------- cached work


@st.cache_data(show_spinner=False, max_entries=32)
def _checksum(path: str, size: int, modified_ns: int) -> str:
    return uploads.file_sha256(path)


def checksum(path: str) -> str:
    stat = Path(path).stat()
    return _checksum(path, stat.st_size, stat.st_mtime_ns)


def findings_frame(report: annotated.ValidationReport) -> pandas.DataFrame:
    return pandas.DataFrame(report.to_records(), columns=["severity", "code", "sentence", "line", "message"])


# cache_resource, not cache_data: the GMB corpus is a million tokens and cache_data
# would unpickle a copy on every rerun. Pages only read it.
@st.cache_resource(show_spinner=False, max_entries=3)
def load_dataset(path: str, sha256: str, repair_iob: bool) -> annotated.Corpus:
    return reading.inspect_corpus(path, repair_iob=repair_iob)


@st.cache_data(show_spinner=False, max_entries=8)
def summarise(path: str, sha256: str, repair_iob: bool) -> dict:
    corpus = load_dataset(path, sha256, repair_iob)
    sentences = corpus.sentences
    return {
        "report": findings_frame(corpus.report),
        "statistics": statistics.corpus_statistics(sentences).to_dict(),
        "tags": explore.tag_distribution(sentences),
        "types": explore.entity_type_distribution(sentences),
        "lengths": explore.length_histogram(sentences),
        "top_entities": explore.top_entities(sentences, per_type=10),
        "pos_counts": explore.pos_by_tag(sentences),
        "pos_shares": explore.pos_by_tag(sentences, normalize=True),
        "oov": explore.oov_by_split(splitting.split_corpus(sentences, seed=SPLIT_SEED)),
        "agreement": explore.duplicate_agreement(sentences),
    }


# --------------------------------------------------------------------------- upload


def _store_upload(key: str) -> None:
    """on_change of the uploader: runs once per new file, before the script, so it may select the upload."""
    uploaded = st.session_state.get(f"{key}_upload")
    st.session_state.pop(f"{key}_upload_result", None)
    if uploaded is None:
        return
    try:
        dataset = uploads.save_upload(
            uploaded.name,
            uploaded.getvalue(),
            util.settings().uploads_dir,
            util.get_store(),
            repair_iob=st.session_state.get(f"{key}_repair", False),
        )
    except Exception as exc:  # noqa: BLE001 - kept and shown by visualize_upload_result
        st.session_state[f"{key}_upload_result"] = {"error": exc, "report": getattr(exc, "report", None)}
        return
    label = next((label for label, path in util.dataset_choices().items() if path == dataset.path), None)
    if label is not None:
        st.session_state[f"{key}_dataset"] = label
    st.session_state[f"{key}_upload_result"] = {"stored": dataset.name, "sentences": dataset.sentences}


def visualize_upload(*, key: str) -> None:
    with st.expander("Upload a corpus (GMB CSV or CoNLL)", expanded=f"{key}_upload_result" in st.session_state):
        st.file_uploader(
            "Corpus file",
            type=UPLOAD_TYPES,
            key=f"{key}_upload",
            on_change=_store_upload,
            args=(key,),
            help=f"At most {reading.MAX_CORPUS_BYTES // 2**20} MB. It is validated first and kept only "
            "when it has no errors; it stays selectable under its checksum.",
        )
        result = st.session_state.get(f"{key}_upload_result")
        if result is None:
            return
        if "stored" in result:
            st.success(f"Stored {result['stored']} ({result['sentences']:,} sentences); it is now selected above.")
            return
        util.show_error(result["error"])
        if result["report"] is not None:
            st.caption("Validation report of the rejected file:")
            visualize_findings(findings_frame(result["report"]), key=f"{key}_rejected")


# --------------------------------------------------------------------------- views


def visualize_findings(findings: pandas.DataFrame, *, key: str) -> None:
    if findings.empty:
        st.success("No findings: every sentence reads as valid IOB2 and no sentence repeats another.")
        return
    counts = findings.groupby(["severity", "code"]).size().rename("findings").reset_index()
    errors = int((findings["severity"] == "error").sum())
    summary = ", ".join(f"{row.findings:,} {row.severity} ({row.code})" for row in counts.itertuples())
    (st.error if errors else st.warning)(
        f"{summary}." + (" Fix the errors (or repair stray I- tags) before training on this file." if errors else "")
    )
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
    conflicting = agreement.pairs - agreement.identical
    if not conflicting:
        return
    score = (
        ""
        if agreement.entity_f1 is None
        else (f" Scored against the first copies, the later copies reach entity F1 {agreement.entity_f1:.3f}.")
    )
    st.warning(
        f"{conflicting:,} of {agreement.pairs:,} repeated sentences are tagged differently from their first "
        f"copy.{score} Models trained and scored on this corpus inherit that disagreement."
    )
    with st.expander("Most common disagreements between copies"):
        st.dataframe(agreement.disagreements, hide_index=True, width="stretch", key=f"{key}_disagreements")


def visualize_overview(summary: dict) -> None:
    stats = summary["statistics"]
    columns = st.columns(5)
    columns[0].metric("Sentences", f"{stats['sentences']:,}")
    columns[1].metric("Tokens", f"{stats['tokens']:,}")
    columns[2].metric("Vocabulary", f"{stats['vocabulary_size']:,}")
    columns[3].metric("Entities", f"{sum(stats['entities'].values()):,}")
    columns[4].metric("Median length (tokens)", f"{stats['length_percentiles']['p50']:.0f}")


def visualize_distributions(summary: dict, *, key: str) -> None:
    log_scale = st.toggle(
        "Log scale", value=True, key=f"{key}_log", help="O dwarfs every entity tag; a log axis keeps the rare types visible."
    )
    left, right = st.columns(2)
    with left:
        figure = px.bar(summary["tags"], x="tag", y="tokens", log_y=log_scale, hover_data=["share"], title="Tokens per tag")
        st.plotly_chart(figure, key=f"{key}_tags_chart")
    with right:
        figure = px.bar(
            summary["types"],
            x="type",
            y="entities",
            log_y=log_scale,
            hover_data=["tokens", "share"],
            color="type",
            color_discrete_map={t: render.entity_colour(t) for t in summary["types"]["type"]},
            title="Entities per type",
        )
        st.plotly_chart(figure, key=f"{key}_types_chart")


def visualize_lengths(summary: dict, *, key: str) -> None:
    stats = summary["statistics"]
    percentiles = stats["length_percentiles"]
    st.caption(
        f"min {stats['length_min']}, mean {stats['length_mean']:.1f}, p90 {percentiles['p90']:.0f}, "
        f"p99 {percentiles['p99']:.0f}, max {stats['length_max']} tokens; a model's max_len cuts longer sentences."
    )
    figure = px.bar(summary["lengths"], x="length", y="sentences", title="Sentence length (tokens)")
    st.plotly_chart(figure, key=f"{key}_lengths_chart")


def visualize_top_entities(summary: dict, *, key: str) -> None:
    table = summary["top_entities"]
    if table.empty:
        st.info("This dataset has no entities.")
        return
    kind = st.selectbox("Entity type", list(dict.fromkeys(table["type"])), key=f"{key}_top_type")
    rows = table[table["type"] == kind]
    figure = px.bar(
        rows,
        x="count",
        y="entity",
        orientation="h",
        title=f"Most frequent {kind} entities",
        color_discrete_sequence=[render.entity_colour(kind)],
    )
    figure.update_yaxes(autorange="reversed")
    st.plotly_chart(figure, key=f"{key}_top_chart")


def visualize_pos(summary: dict, *, key: str) -> None:
    if summary["pos_counts"].empty:
        st.info("This dataset has no part-of-speech column, so there is no POS-by-tag view.")
        return
    shares = st.toggle(
        "Share of each tag's tokens", value=True, key=f"{key}_pos_shares", help="Off: raw token counts (dominated by O)."
    )
    matrix = summary["pos_shares"] if shares else summary["pos_counts"]
    figure = px.imshow(
        matrix,
        aspect="auto",
        color_continuous_scale="Blues",
        labels={"color": "share" if shares else "tokens"},
        title="Part of speech by NER tag",
    )
    figure.update_layout(height=max(400, 16 * len(matrix) + 150))  # one readable row per POS tag
    figure.update_yaxes(dtick=1)
    st.plotly_chart(figure, key=f"{key}_pos_chart")


def visualize_oov(summary: dict, *, key: str) -> None:
    table = summary["oov"]
    st.caption(
        f"Deterministic split with seed {SPLIT_SEED} (the training default); a word is out of vocabulary "
        "when its exact form never occurs in the train split."
    )
    figure = px.bar(table, x="split", y="oov_rate", hover_data=["tokens", "oov_tokens"], title="OOV rate per split")
    figure.update_yaxes(tickformat=".1%")
    st.plotly_chart(figure, key=f"{key}_oov_chart")
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
    tag_options = [""] + tagging.entity_types(corpus.tag_names) + corpus.tag_names
    tag = right.selectbox(
        "Tag or entity type", tag_options, key=f"{key}_search_tag", format_func=lambda option: option or "(any)"
    )
    if word.strip() or tag:
        hits = explore.search_sentences(corpus.sentences, query_word=word, tag=tag or None, limit=explore.SEARCH_LIMIT)
        more = " (the first ones)" if len(hits) == explore.SEARCH_LIMIT else ""
        st.caption(f"{len(hits)} matching sentence(s){more}; matched words are underlined, matched entities outlined.")
        shown = [(hit.sentence, hit.positions) for hit in hits]
    else:
        start = st.number_input("From sentence", min_value=1, max_value=len(corpus.sentences), value=1, key=f"{key}_browse_from")
        shown = [(s, ()) for s in corpus.sentences[start - 1 : start - 1 + BROWSE_PAGE]]
    if not shown:
        st.info("No sentence matches; words match whole tokens, ignoring case.")
        return
    types = {span.type for sentence, _ in shown for span in tagging.extract_spans(sentence.tags)}
    blocks = [render.legend(types)] + [
        f'<div style="font-size:0.8em;opacity:0.7">sentence {int(sentence.number)}</div>'
        + render.highlight_tokens(sentence.words, sentence.tags, marked_tokens=positions)
        for sentence, positions in shown
    ]
    st.markdown("\n".join(blocks), unsafe_allow_html=True)


# --------------------------------------------------------------------------- page


def visualize_dataset_picker(*, key: str) -> tuple[str, str, bool]:
    """The chosen dataset's label and path, and whether stray I- tags are repaired."""
    try:
        choices = util.dataset_choices()
    except NerError as exc:
        util.show_error(exc)
        st.stop()
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
        "Repair stray I- tags (IOB1 input)",
        key=f"{key}_repair",
        help="Reads a stray I-X as B-X, as training with repair_iob does. Applies to uploads too.",
    )
    visualize_upload(key=key)
    return label, choices[label], repair


st.title("Data explorer")
st.caption("Check a corpus before training on it: validation findings first, then distributions and sentences.")

label, path, repair = visualize_dataset_picker(key=KEY)
try:
    sha256 = checksum(path)
    with st.spinner(f"Reading and describing {label} (a large corpus takes a few seconds, once)..."):
        corpus = load_dataset(path, sha256, repair)
        summary = summarise(path, sha256, repair)
except (NerError, OSError) as exc:
    util.show_error(exc)
    st.stop()

st.caption(f"`{Path(path).name}`: {corpus.format}, {corpus.encoding}, sha256 `{sha256[:16]}`")
st.subheader("Validation report")
visualize_findings(summary["report"], key=KEY)
visualize_agreement(summary["agreement"], key=KEY)
visualize_overview(summary)

tabs = st.tabs(["Tags and types", "Sentence lengths", "Top entities", "POS by tag", "OOV per split", "Sentences"])
with tabs[0]:
    visualize_distributions(summary, key=KEY)
with tabs[1]:
    visualize_lengths(summary, key=KEY)
with tabs[2]:
    visualize_top_entities(summary, key=KEY)
with tabs[3]:
    visualize_pos(summary, key=KEY)
with tabs[4]:
    visualize_oov(summary, key=KEY)
with tabs[5]:
    visualize_sentence_browser(corpus, key=KEY)
