"""Upload a corpus in the browser: validated before anything is stored (:mod:`ner_core.corpus.uploads`),
then kept under its checksum and selected as the dataset; a rejected file shows why and its report."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from ner_core.corpus import reading, uploads
from ner_core.errors import NerError
from ner_core.workbench import explore
from ui import util


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
    except NerError as exc:  # kept and shown by visualize_upload
        st.session_state[f"{key}_upload_result"] = {"error": exc, "report": getattr(exc, "report", None)}
        return
    label = util.dataset_label(dataset.path)
    if label is not None:
        st.session_state[f"{key}_dataset"] = label
    st.session_state[f"{key}_upload_result"] = {"stored": dataset.name, "sentences": dataset.sentences}


def recheck_upload(key: str) -> None:
    """on_change of the page's repair toggle: the file already chosen in the uploader is checked again with the
    new setting, so a file refused for stray I- tags is accepted without choosing it a second time."""
    if st.session_state.get(f"{key}_upload") is not None:
        _store_upload(key)


def visualize_upload(*, key: str, show_report: Callable[..., None]) -> None:
    """The uploader and the outcome of the last upload.

    Widget keys start with ``key``: the uploader is ``<key>_upload``, a stored file becomes the choice of the
    page's ``<key>_dataset`` selectbox, and the page's ``<key>_repair`` toggle repairs stray I- tags of the
    upload. ``show_report(findings, key=...)`` draws the validation report of a rejected file.
    """
    with st.expander("Upload a corpus (GMB CSV or CoNLL)", expanded=f"{key}_upload_result" in st.session_state):
        # type=None: CoNLL corpora are named eng.train, x.testa, *.dev, *.annotated or have no extension; an
        # extension list refused them in the browser with only a tooltip. The content decides (GMB CSV, CoNLL,
        # either zipped), and a refusal says why in the page.
        st.file_uploader(
            "Corpus file (any name: GMB CSV or CoNLL, plain or zipped, recognised from its content)",
            type=None,
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
            show_report(explore.findings_frame(result["report"]), key=f"{key}_rejected")
