"""The Annotate page under AppTest: the analyst asked once, pools, orders, the test split's opt-in warning,
the queue's deep link, the analysts-per-sentence setting, bad uploads, and decisions sent by the span editor
(as the browser sends them: a trigger of the component) or saved from the token table."""

from __future__ import annotations

import json
import uuid

import pytest
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1.element_tree import UnknownElement

from ner_core.corpus import tokenizer
from ner_core.workbench import annotation_pools, annotation_queue, review_requests
from tests.helpers import page_app
from ui.annotation_queue import ANALYST_STATE, TEST_SPLIT_WARNING

EDITOR_KEY = "annotate_span_editor"


def unique(text: str) -> str:
    """A sentence no other test uses (tests share one database)."""
    return f"{text} {uuid.uuid4().hex[:6]} ."


@pytest.fixture(autouse=True)
def pinned_run(trained_run, monkeypatch):
    """Every page opens on the session's model2 run by its link: the default (the newest run) is whatever
    another test file on this worker trained last."""
    monkeypatch.setitem(PINNED, "run", trained_run.run_id)


PINNED: dict[str, str] = {}


def annotate_app(analyst: str | None = None, **params):
    app = page_app("annotate.py")
    for name, value in {**PINNED, **params}.items():
        app.query_params[name] = value
    if analyst is not None:
        app.session_state[ANALYST_STATE] = analyst
    return app.run()


def editor(app):
    """The span editor component as AppTest sees it (an element it does not know): its proto and its data."""
    found = []

    def walk(node):
        for child in getattr(node, "children", {}).values():
            if isinstance(child, UnknownElement) and child.type == "bidi_component":
                found.append(child)
            walk(child)

    walk(app._tree)
    assert len(found) == 1, f"{len(found)} span editors on the page"
    return found[0].proto, json.loads(found[0].proto.json)


def send(app, message: dict):
    """Run the page with a trigger of the span editor, exactly as the browser sends one."""
    proto, _ = editor(app)
    states = app._tree.get_widget_states()
    payload = [{"event": "message", "value": message}]
    states.widgets.append(WidgetState(id=f"$$STREAMLIT_INTERNAL_KEY_{proto.id}__events", json_trigger_value=json.dumps(payload)))
    return app._run(states)


def accept(item: dict, spans: list[dict], client_id: str | None = None) -> dict:
    return {"clientId": client_id or uuid.uuid4().hex, "itemId": item["id"], "action": "accept", "spans": spans}


def test_on_an_empty_store_the_page_says_to_train_first(empty_workspace):
    app = page_app("annotate.py").run()
    assert not app.exception
    assert any("Training runs page" in info.value for info in app.info)


def test_the_analyst_is_asked_once_per_session(trained_run):
    app = page_app("annotate.py").run()
    assert any("Enter your name" in info.value for info in app.info)
    app.button(key="annotate_analyst_start").click().run()
    assert "enter your name" in app.error[0].value  # an empty name is refused
    app.text_input(key="annotate_analyst_input").input("  Ada   Lovelace ").run()
    app.button(key="annotate_analyst_start").click().run()
    assert not app.exception and app.session_state[ANALYST_STATE] == "Ada Lovelace"
    assert any("Annotating as **Ada Lovelace**" in caption.value for caption in app.caption)
    app.run()
    assert "annotate_analyst_input" not in [widget.key for widget in app.text_input]  # not asked again


def test_the_validation_split_is_the_default_pool_least_confident_first(trained_run):
    app = annotate_app("Val Analyst")
    assert not app.exception
    assert app.selectbox(key="annotate_pool").value == "validation"
    assert "test" not in app.selectbox(key="annotate_pool").options  # not offered until opted in
    _, data = editor(app)
    validation = annotation_pools.split_items(trained_run, "validation")
    assert data["remaining"] == len(validation)
    scores = [item["score"] for item in data["items"]]
    assert scores == sorted(scores) and len(data["items"]) == 6
    assert {item["text"] for item in data["items"]} <= {item.text for item in validation}
    assert [label["key"] for label in data["labels"]][:2] == ["1", "2"]
    assert app.query_params["pool"] == "validation" and app.query_params["item"] == data["items"][0]["id"]


def test_the_test_split_needs_an_opt_in_and_warns_that_annotated_sentences_leave_the_scored_test_set(trained_run):
    app = annotate_app("Test Analyst")
    app.checkbox(key="annotate_test_opt_in").check().run()
    app.selectbox(key="annotate_pool").set_value("test").run()
    assert not app.exception
    assert any(TEST_SPLIT_WARNING in warning.value for warning in app.warning)
    _, data = editor(app)
    test_texts = {item.text for item in annotation_pools.split_items(trained_run, "test")}
    assert data["items"] and all(item["text"] in test_texts for item in data["items"])
    # A link to a test-split queue opens it with the warning (the sender opted in).
    linked = annotate_app("Test Analyst", pool="test")
    assert linked.checkbox(key="annotate_test_opt_in").value is True
    assert any(TEST_SPLIT_WARNING in warning.value for warning in linked.warning)


def test_a_reload_returns_to_the_same_queue_and_sentence(trained_run):
    first = annotate_app("Link Analyst", order="margin")
    _, data = editor(first)
    third = data["items"][2]
    params = dict(first.query_params)
    assert params["order"] == "margin" and params["run"] == trained_run.run_id
    params["item"] = third["id"]
    reloaded = annotate_app("Link Analyst", **params)
    assert reloaded.selectbox(key="annotate_order").value == "margin"
    _, again = editor(reloaded)
    assert again["items"][0]["id"] == third["id"] and again["items"][0]["rank"] == third["rank"]
    bogus = annotate_app("Link Analyst", pool="nonsense", order="random", item="0" * 16)
    assert not bogus.exception and bogus.selectbox(key="annotate_pool").value == "validation"


def test_an_accept_from_the_span_editor_is_saved_and_acknowledged(trained_run, store):
    app = annotate_app("Editor Analyst")
    _, data = editor(app)
    first = data["items"][0]
    message = {"decisions": [accept(first, [{"start": 0, "end": 1, "type": "per"}], "client-1")], "table": None}
    send(app, message)
    assert not app.exception and not app.error
    [saved] = [a for a in store.list_annotations() if a.analyst == "Editor Analyst"]
    assert saved.text == first["text"] and saved.tokens == first["tokens"]
    assert saved.tags == ["B-per"] + ["O"] * (len(first["tokens"]) - 1)
    assert saved.original_tags == first["tags"] and saved.source == "validation split"
    _, after = editor(app)
    assert after["acknowledged"] == ["client-1"] and after["remaining"] == data["remaining"] - 1
    assert first["id"] not in [item["id"] for item in after["items"]]
    send(app, message)  # the browser resends until acknowledged: stored once
    assert len([a for a in store.list_annotations() if a.analyst == "Editor Analyst"]) == 1
    assert editor(app)[1]["acknowledged"] == ["client-1"]


def test_a_refused_or_malformed_message_says_why_and_saves_nothing(trained_run, store):
    app = annotate_app("Careful Analyst")
    _, data = editor(app)
    first = data["items"][0]
    overlapping = [{"start": 0, "end": 2, "type": "per"}, {"start": 1, "end": 2, "type": "geo"}]
    send(app, {"decisions": [accept(first, overlapping)], "table": None})
    assert "overlap" in app.error[0].value and app.error[0].value.startswith("[E021]")
    send(app, {"decisions": [accept(first, [{"start": 0, "end": 1, "type": "xyz"}], "c-bad")], "table": None})
    _, after = editor(app)
    assert [entry["clientId"] for entry in after["rejected"]] == ["c-bad"]
    assert "not in the model's tag set" in after["rejected"][0]["message"]
    assert [a for a in store.list_annotations() if a.analyst == "Careful Analyst"] == []


def test_skip_and_flag_leave_my_queue_and_flags_are_listed_for_review(trained_run, store):
    app = annotate_app("Flag Analyst")
    _, data = editor(app)
    skipped, flagged = data["items"][0], data["items"][1]
    decisions = [
        {"clientId": uuid.uuid4().hex, "itemId": skipped["id"], "action": "skip", "spans": None},
        {
            "clientId": uuid.uuid4().hex,
            "itemId": flagged["id"],
            "action": "flag",
            "spans": [{"start": 0, "end": 1, "type": "art"}],
        },
    ]
    send(app, {"decisions": decisions, "table": None})
    _, after = editor(app)
    assert after["remaining"] == data["remaining"] - 2
    assert {item["id"] for item in after["items"]}.isdisjoint({skipped["id"], flagged["id"]})
    listing = next(frame.value for frame in app.dataframe if "flagged by" in frame.value.columns)
    assert flagged["text"] in list(listing["sentence"])
    review = annotate_app("Reviewer", pool="flagged")
    _, pool = editor(review)
    assert flagged["text"] in [item["text"] for item in pool["items"]]
    target = next(item for item in pool["items"] if item["text"] == flagged["text"])
    assert target["tags"] == ["B-art"] + ["O"] * (len(target["tokens"]) - 1)  # the review starts from the flagger's tags
    review.query_params["item"] = target["id"]
    review.run()
    send(review, {"decisions": [accept(editor(review)[1]["items"][0], [])], "table": None})
    assert flagged["text"] not in [flag.text for flag in annotation_queue.flagged_decisions(store)]


def test_the_token_table_edits_the_same_sentence_and_saves_it(trained_run, store):
    app = annotate_app("Table Analyst")
    _, data = editor(app)
    first = data["items"][0]
    send(app, {"decisions": [], "table": {"itemId": first["id"], "spans": [{"start": 0, "end": 1, "type": "geo"}]}})
    assert app.session_state["annotate_view"] == "Token table"
    [table] = [e for e in app.data_editor if e.key.startswith(f"annotate_table_{first['id']}_")]
    assert list(table.value["token"]) == first["tokens"]
    assert list(table.value["tag"]) == ["B-geo"] + ["O"] * (len(first["tokens"]) - 1)  # the span editor's edit came along
    app.session_state[table.key] = {"edited_rows": {0: {"tag": "B-per"}}, "added_rows": [], "deleted_rows": []}
    app.run()
    app.button(key="annotate_table_save").click().run()
    assert not app.exception and not app.error
    [saved] = [a for a in store.list_annotations() if a.analyst == "Table Analyst"]
    assert saved.text == first["text"] and saved.tags[0] == "B-per" and saved.tags[1:] == ["O"] * (len(first["tokens"]) - 1)
    assert any(f"Saved annotation #{saved.id}" in s.value for s in app.success)
    [table] = [e for e in app.data_editor if e.key.startswith("annotate_table_")]
    assert list(table.value["token"]) != first["tokens"]  # the next sentence
    app.button(key="annotate_table_back").click().run()
    assert editor(app)[1]["items"][0]["id"] != first["id"]


def test_the_analysts_per_sentence_setting_keeps_a_sentence_until_enough_analysts_annotated_it(trained_run, store):
    text = unique("Anna Berg visited Oslo on Monday")
    batch = annotation_pools.add_text_batch(store, [text], name="two analysts")
    app = annotate_app("Lead Analyst", pool="uploaded", batch=batch)
    app.number_input(key="annotate_analysts_1").set_value(2)
    app.button(key="FormSubmitter:annotate_settings-Save setting").click().run()
    try:
        assert annotation_queue.analysts_per_sentence(store) == 2
        assert any("2 analysts per sentence" in e.label for e in app.expander)
        send(app, {"decisions": [accept(editor(app)[1]["items"][0], [])], "table": None})
        assert any("Your queue of this pool is done" in s.value for s in app.success)
        assert any(
            "0 of 1 sentences of this pool are left in your queue" in c.value and "(1 you annotated)" in c.value
            for c in app.caption
        )
        second = annotate_app("Second Analyst", pool="uploaded", batch=batch)
        assert [item["text"] for item in editor(second)[1]["items"]] == [text]  # still wanted by a second analyst
        send(second, {"decisions": [accept(editor(second)[1]["items"][0], [])], "table": None})
        third = annotate_app("Third Analyst", pool="uploaded", batch=batch)
        assert any("Your queue of this pool is done" in s.value for s in third.success)
        assert any("(1 enough analysts annotated)" in c.value for c in third.caption)
    finally:
        annotation_queue.set_analysts_per_sentence(store, 1, analyst="test")


def test_pasted_text_becomes_a_pool_that_a_reload_finds_again(trained_run, store):
    text = unique("Peter Olsen flew to Lima on Friday")
    app = annotate_app("Paste Analyst", pool="uploaded")
    app.text_area(key="annotate_paste").input(f"{text}\n\n{text}")  # committed by the form's submit below
    app.button(key="FormSubmitter:annotate_add_text-Add to the queue").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    batch = app.query_params["batch"]
    assert [item["text"] for item in editor(app)[1]["items"]] == [text]
    reloaded = annotate_app("Paste Analyst", pool="uploaded", batch=batch)
    assert reloaded.selectbox(key="annotate_batch").value == batch
    assert [item["tokens"] for item in editor(reloaded)[1]["items"]] == [[t.text for t in tokenizer.tokenize(text)]]


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("blob.txt", b"\x00\x01\x02", "binary"),
        ("notes.jsonl", b'{"body": "no text field"}\n', "line 1: expected a JSON object with a string field 'text'"),
        ("broken.jsonl", b'{"text": "Anna"', "line 1: not valid JSON"),
    ],
)
def test_a_bad_upload_is_one_clear_error(trained_run, store, name, raw, message):
    app = annotate_app("Upload Analyst", pool="uploaded")
    before = len(annotation_pools.text_batches(store))
    app.file_uploader(key="annotate_upload").set_value((name, raw, "text/plain"))
    app.button(key="FormSubmitter:annotate_add_text-Add to the queue").click().run()
    assert not app.exception
    assert message in app.error[0].value and app.error[0].value.startswith("[E020]")
    assert len(annotation_pools.text_batches(store)) == before


def test_an_uploaded_jsonl_file_becomes_the_pool(trained_run, store):
    texts = [unique("Acme hired Bo Lind in Oslo"), unique("Rain fell in Nairobi on Friday")]
    raw = "\n".join(json.dumps({"text": text, "id": n}) for n, text in enumerate(texts)).encode()
    app = annotate_app("Jsonl Analyst", pool="uploaded")
    app.file_uploader(key="annotate_upload").set_value(("docs.jsonl", raw, "application/json"))
    app.button(key="FormSubmitter:annotate_add_text-Add to the queue").click().run()
    assert not app.error and any("Added 2 sentences" in s.value for s in app.success)
    assert sorted(item["text"] for item in editor(app)[1]["items"]) == sorted(texts)


def test_logged_texts_and_review_requests_are_pools(trained_run, store):
    logged, simulated, requested = unique("Officials in Kenya met Anna"), unique("Simulated Lima request"), unique("Bo met Ada")
    store.log_predictions([{"source": "highlighter", "text": logged}])
    store.log_predictions([{"source": "simulation", "simulation_id": "s", "text": simulated}])
    review_requests.add_review_requests(store, [requested], source="bulk:test")
    log_app = annotate_app("Pool Analyst", pool="log", item=annotation_pools.item_id(logged))
    assert editor(log_app)[1]["items"][0]["text"] == logged
    simulated_link = annotate_app("Pool Analyst", pool="log", item=annotation_pools.item_id(simulated))
    assert simulated not in [item["text"] for item in editor(simulated_link)[1]["items"]]
    request_app = annotate_app("Pool Analyst", pool="requests", item=annotation_pools.item_id(requested))
    first = editor(request_app)[1]["items"][0]
    assert first["text"] == requested
    send(request_app, {"decisions": [accept(first, [])], "table": None})
    assert requested not in [request.text for request in review_requests.pending_review_requests(store)]


def test_disagreement_asks_for_a_second_model(trained_run, store, empty_workspace):
    """In a database of its own: with one model the order says it needs a second; with two it offers the other."""
    from ner_core.settings import Settings
    from ner_core.store.database import Store

    own = Store(Settings.from_env().database_url)
    run = store.get_run(trained_run.run_id)

    def add_run(run_id: str) -> None:  # the session's model2 run recorded again (its folder is only read)
        own.create_run(run_id, "model2", config=run.config, dataset_path=run.dataset_path,
                         dataset_sha256=run.dataset_sha256, status="completed")  # fmt: skip
        own.update_run(run_id, metrics=run.metrics, run_dir=run.run_dir)

    add_run("model2-first")
    app = annotate_app("Order Analyst", run="model2-first", order="disagreement")
    assert not app.exception
    assert any("Disagreement needs a second trained model" in warning.value for warning in app.warning)
    add_run("model2-second")
    app = annotate_app("Order Analyst", run="model2-first", order="disagreement")
    assert not app.exception
    assert app.selectbox(key="annotate_other").value == "model2-second"
