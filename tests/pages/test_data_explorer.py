"""The data explorer: report first, uploads validated before storing, sentence search."""

from __future__ import annotations

from pathlib import Path

import pytest

from ner_core.corpus import reading
from ner_core.settings import Settings
from ner_core.store.database import Store
from ner_core.workbench import explore
from tests.helpers import page_app

DATASET = "data_explorer_dataset"
STRAY_I_CSV = "Sentence #,Word,POS,Tag\nSentence: 1,Anna,NNP,B-per\n,slept,VBD,O\nSentence: 2,New,NNP,I-geo\n,York,NNP,I-geo\n"


def metric(app, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def table_with(app, column: str):
    """The first table with this column (AppTest exposes no key for a display-only dataframe)."""
    return next(d.value for d in app.dataframe if column in d.value.columns)


def open_tab(app, label: str):
    """Open a tab as a click would: only the open tab is built (its key is also the ?data_explorer_tab= parameter)."""
    app.session_state["data_explorer_tab"] = label
    return app.run()


def upload(app, name: str, raw: bytes):
    app.file_uploader(key="data_explorer_upload").set_value((name, raw, "text/csv"))
    return app.run()


def stored_nothing() -> bool:
    settings = Settings.from_env()
    uploads = settings.uploads_dir
    return Store(settings.database_url).list_datasets() == [] and (not uploads.exists() or not any(uploads.iterdir()))


def test_sample_report_comes_first_then_statistics_on_an_empty_store(empty_workspace, sample_path):
    app = page_app("data_explorer.py").run()
    assert not app.exception
    assert app.selectbox(key=DATASET).options == ["Bundled sample"]
    assert app.subheader[0].value == "Validation report"
    assert "No findings" in app.success[0].value
    corpus = reading.load_corpus(sample_path)
    assert metric(app, "Sentences") == f"{len(corpus.sentences):,}"
    assert metric(app, "Tokens") == f"{sum(len(s) for s in corpus.sentences):,}"
    oov = table_with(open_tab(app, "OOV per split"), "oov_rate")
    assert oov["split"].tolist() == ["train", "validation", "test"]
    assert oov["oov_rate"].iloc[0] == 0 and oov["oov_rate"].iloc[1] > 0


def test_renders_with_runs_in_the_store(trained_run):
    app = page_app("data_explorer.py").run()
    assert not app.exception
    assert "Bundled sample" in app.selectbox(key=DATASET).options
    assert not app.error


@pytest.mark.parametrize(
    "name, raw, message",
    [
        ("no_tag.csv", b"Sentence #,Word,POS\nSentence: 1,Hello,UH\n", "missing column(s) Tag"),
        ("binary.csv", bytes(range(256)) * 40, "binary file"),
    ],
)
def test_invalid_upload_shows_an_error_and_stores_nothing(empty_workspace, name, raw, message):
    app = upload(page_app("data_explorer.py").run(), name, raw)
    assert not app.exception
    assert any(message in e.value and "was not stored" in e.value for e in app.error)
    assert app.selectbox(key=DATASET).options == ["Bundled sample"]
    assert stored_nothing()


def test_rejected_upload_shows_its_validation_report(empty_workspace):
    app = upload(page_app("data_explorer.py").run(), "stray.csv", STRAY_I_CSV.encode())
    assert not app.exception
    assert any("sentence 2" in e.value for e in app.error)
    report = table_with(app, "severity")
    assert report[["severity", "code", "sentence"]].values.tolist() == [["error", "iob2_violation", 2]]
    assert stored_nothing()


def test_stray_i_tag_upload_with_repair_is_stored_and_its_report_shown(empty_workspace):
    app = page_app("data_explorer.py").run()
    app.toggle(key="data_explorer_repair").set_value(True).run()
    app = upload(app, "stray.csv", STRAY_I_CSV.encode())
    assert not app.exception
    assert app.selectbox(key=DATASET).value.startswith("Upload: stray.csv")
    report = table_with(app, "severity")
    assert report[["severity", "code", "sentence"]].values.tolist() == [["repaired", "iob2_repaired", 2]]


CONLL_TRAIN = "EU NNP B-ORG\nrejects VBZ O\n\nPeter NNP B-PER\nBlackburn NNP I-PER\nspoke VBD O\n"


@pytest.mark.parametrize("name", ["x.train", "eng.testa", "corpus"])
def test_a_conll_file_of_any_name_is_accepted_by_its_content(empty_workspace, name):
    app = page_app("data_explorer.py").run()
    assert app.file_uploader(key="data_explorer_upload").allowed_type == []  # no extension list in the browser either
    app = upload(app, name, CONLL_TRAIN.encode())
    assert not app.exception
    assert any(f"Stored {name} (2 sentences)" in s.value for s in app.success)
    assert app.selectbox(key=DATASET).value.startswith(f"Upload: {name}")
    assert any(": conll," in c.value for c in app.caption)


def test_a_file_refused_by_its_content_says_why_in_the_page(empty_workspace):
    app = upload(page_app("data_explorer.py").run(), "scan.train", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    assert not app.exception
    [error] = [e.value for e in app.error if "was not stored" in e.value]
    assert error.startswith("[E001] scan.train was not stored") and "binary file" in error
    assert stored_nothing()


def test_turning_repair_on_rechecks_the_file_already_chosen(empty_workspace):
    app = upload(page_app("data_explorer.py").run(), "stray.train", STRAY_I_CSV.encode())
    [refusal] = [e.value for e in app.error if "was not stored" in e.value]
    assert 'turn on the "Repair IOB2" toggle' in refusal and "--repair-iob" not in refusal
    app.toggle(key="data_explorer_repair").set_value(True).run()  # no second upload
    assert not app.exception
    assert any("Stored stray.train (2 sentences)" in s.value for s in app.success)
    assert app.selectbox(key=DATASET).value.startswith("Upload: stray.train")
    [row] = Store(Settings.from_env().database_url).list_datasets()
    assert row.repair_iob is True


def test_an_upload_accepted_with_repair_is_read_with_repair_later(empty_workspace):
    app = page_app("data_explorer.py").run()
    app.toggle(key="data_explorer_repair").set_value(True).run()
    chosen = upload(app, "stray.csv", STRAY_I_CSV.encode()).selectbox(key=DATASET).value
    later = page_app("data_explorer.py").run()  # a new session: the toggle is off
    later.selectbox(key=DATASET).set_value(chosen).run()
    assert not later.exception
    assert later.toggle(key="data_explorer_repair").value is False
    assert any("Read with IOB2 repair" in c.value for c in later.caption)
    assert table_with(later, "severity")["severity"].tolist() == ["repaired"]  # not an error


def test_valid_upload_is_stored_selected_and_selectable_later(empty_workspace, tiny_csv):
    raw = tiny_csv.read_bytes()
    app = upload(page_app("data_explorer.py").run(), "tiny.csv", raw)
    assert not app.exception
    assert any("Stored tiny.csv (40 sentences)" in s.value for s in app.success)
    chosen = app.selectbox(key=DATASET).value
    assert chosen.startswith("Upload: tiny.csv")
    assert metric(app, "Sentences") == "40"
    settings = Settings.from_env()
    [row] = Store(settings.database_url).list_datasets()
    assert Path(row.path).parent == settings.uploads_dir and Path(row.path).read_bytes() == raw

    later = page_app("data_explorer.py").run()  # a new session
    assert chosen in later.selectbox(key=DATASET).options
    later.selectbox(key=DATASET).set_value(chosen).run()
    assert metric(later, "Sentences") == "40"


def test_sentence_search_finds_a_word_and_highlights_the_sentence(empty_workspace, sample_path):
    app = open_tab(page_app("data_explorer.py").run(), "Sentences")
    app.text_input(key="data_explorer_search_word").set_value("Cuban").run()
    assert not app.exception
    expected = explore.search_sentences(reading.load_corpus(sample_path).sentences, query_word="Cuban")
    assert expected
    assert any(c.value.startswith(f"{len(expected)} matching sentence(s)") for c in app.caption)
    html = next(m.value for m in app.html if "ner-highlight" in m.value)
    assert f"sentence {expected[0].sentence.number}" in html
    assert 'data-type="gpe"' in html and "Cuban" in html


def test_sentence_search_by_tag_only(empty_workspace):
    app = open_tab(page_app("data_explorer.py").run(), "Sentences")
    app.selectbox(key="data_explorer_search_tag").set_value("art").run()
    assert not app.exception
    html = next(m.value for m in app.html if "ner-highlight" in m.value)
    assert 'data-type="art"' in html
    app.text_input(key="data_explorer_search_word").set_value("zzznotaword").run()
    assert any("No sentence matches" in i.value for i in app.info)


def test_repeated_sentences_tagged_differently_are_reported(empty_workspace):
    raw = (
        b"Sentence #,Word,POS,Tag\n"
        b"Sentence: 1,Iran,NNP,B-geo\n,said,VBD,O\n"
        b"Sentence: 2,Iran,NNP,B-org\n,said,VBD,O\n"
        b"Sentence: 3,Anna,NNP,B-per\n,slept,VBD,O\n"
    )
    app = upload(page_app("data_explorer.py").run(), "noisy.csv", raw)
    assert not app.exception
    [warning] = [w.value for w in app.warning if "tagged differently" in w.value]
    assert warning.startswith("1 of 1 repeated sentences are tagged differently") and "entity F1 0.000" in warning
    assert table_with(app, "other_tag").to_dict("records") == [
        {"word": "Iran", "first_tag": "B-geo", "other_tag": "B-org", "count": 1}
    ]
    # A corpus without such copies (the sample) shows no such warning.
    app.selectbox(key=DATASET).set_value("Bundled sample").run()
    assert not any("tagged differently" in w.value for w in app.warning)


def test_distribution_charts_start_linear_from_zero_and_offer_a_readable_log_axis(empty_workspace):
    import json

    app = page_app("data_explorer.py").run()
    assert not app.exception
    assert app.toggle(key="data_explorer_log").value is False

    def count_axes():
        specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
        titles = {"Tokens per tag", "Entities per type"}
        return [spec["layout"]["yaxis"] for spec in specs if spec["layout"].get("title", {}).get("text") in titles]

    assert [(axis["type"], axis["rangemode"]) for axis in count_axes()] == [("linear", "tozero")] * 2
    app.toggle(key="data_explorer_log").set_value(True).run()
    assert [(axis["type"], axis["dtick"], axis["tickformat"]) for axis in count_axes()] == [("log", 1, "~s")] * 2


def test_only_the_open_tab_is_built_and_it_can_be_opened_by_the_url(empty_workspace):
    app = page_app("data_explorer.py").run()
    assert [tab.label for tab in app.tabs] == [
        "Tags and types",
        "Sentence lengths",
        "Top entities",
        "POS by tag",
        "OOV per split",
        "Sentences",
    ]
    assert len(app.get("plotly_chart")) == 2  # tags and types; not the charts of the four hidden tabs
    assert not any("ner-highlight" in h.value for h in app.html)  # nor the sentence browser
    linked = page_app("data_explorer.py")
    linked.query_params["data_explorer_tab"] = "Sentences"
    linked.run()
    assert not linked.exception
    assert not linked.get("plotly_chart") and any("ner-highlight" in h.value for h in linked.html)
