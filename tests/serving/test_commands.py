"""The serving command groups through ``ner_core.cli.main``: registry, api-key and log, on a fresh store
(the serve command runs a real server in test_server.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from ner_core import cli
from ner_core.serving import api_keys, registry
from ner_core.store.database import Store
from ner_core.store.tables import ApiKey, PredictionLog, utcnow


@pytest.fixture
def cli_store(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("NER_DATABASE_URL", url)
    monkeypatch.setenv("NER_MODELS_DIR", str(tmp_path / "models"))
    return Store(url)


def run(capsys, *argv) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_registry_commands_register_promote_roll_back_and_list(cli_store, add_run, capsys):
    add_run(cli_store, "model2-old")
    add_run(cli_store, "model2-new", f1=0.7)
    status, out, _ = run(capsys, "registry", "register", "model2-old", "--by", "ana", "--notes", "first")
    assert (status, out.strip()) == (0, "registered run model2-old as model2 v1")
    # A model name registers its latest completed run, and --role promotes it at once.
    status, out, _ = run(capsys, "registry", "register", "model2", "--role", "staging")
    assert status == 0 and out.splitlines() == ["registered run model2-new as model2 v2", "model2 v2 -> staging"]
    assert run(capsys, "registry", "promote", "model2", "1", "primary")[1].strip() == "model2 v1 -> primary"
    status, out, _ = run(capsys, "registry", "promote", "model2", "2", "primary", "--note", "better")
    assert out.strip() == "model2 v2 -> primary (was model2 v1)"
    status, out, _ = run(capsys, "registry", "rollback", "primary", "--by", "ben")
    assert out.strip() == "primary rolled back to model2 v1 (was model2 v2)"
    assert registry.role_holders(cli_store)["primary"].version == 1
    status, out, _ = run(capsys, "registry", "list")
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["model", "version", "role", "entity"]
    assert lines[1].split()[:5] == ["model2", "v2", "-", "0.7000", "model2-new"]
    assert lines[2].split()[:5] == ["model2", "v1", "primary", "0.5000", "model2-old"]
    listed = json.loads(run(capsys, "registry", "list", "--json")[1])
    assert [(row["version"], row["role"]) for row in listed] == [(2, None), (1, "primary")]
    assert (listed[1]["registered_by"], listed[1]["notes"], listed[1]["entity_f1"]) == ("ana", "first", 0.5)
    status, out, _ = run(capsys, "registry", "list", "--history")
    assert out.splitlines()[0].endswith("primary rolled back to model2 v1 (was model2 v2) by ben")
    assert len(out.splitlines()) == 6  # 2 registrations, to staging, 2 promotions to primary, the rollback
    status, out, _ = run(capsys, "registry", "demote", "model2", "1")
    assert out.strip() == "model2 v1 no longer holds primary"


def test_registry_refusals_are_one_line_errors(cli_store, add_run, capsys):
    status, out, err = run(capsys, "registry", "promote", "model2", "3", "primary")
    assert status == cli.EXIT_USER_ERROR and out == ""
    assert (
        err.strip()
        == "error: [E040] no version 3 of 'model2'; it has no registered version (`python -m ner_core registry list`)."
    )
    add_run(cli_store, "model2-a")
    run(capsys, "registry", "register", "model2-a")
    status, _, err = run(capsys, "registry", "register", "model2-a")
    assert status == cli.EXIT_USER_ERROR and err.strip() == "error: [E040] run model2-a is already registered as model2 v1."
    status, _, err = run(capsys, "registry", "rollback", "primary")
    assert status == cli.EXIT_USER_ERROR and "nothing to roll back" in err and len(err.splitlines()) == 1


def test_an_empty_registry_lists_what_is_served_instead(cli_store, add_run, capsys):
    add_run(cli_store, "model2-only")
    status, out, _ = run(capsys, "registry", "list")
    assert status == 0
    assert "serving defaults: primary = model2 (run model2-only)" in out


def test_api_key_create_shows_the_key_once_and_stores_only_a_hash(cli_store, capsys):
    status, out, err = run(capsys, "api-key", "create", "analytics-team")
    key = out.strip()
    assert status == 0 and key.startswith("nerk_") and len(out.splitlines()) == 1
    assert "shown this once" in err
    with cli_store.session() as session:
        row = session.scalar(sa.select(ApiKey))
    assert row.name == "analytics-team" and key not in row.key_hash and row.key_hash.startswith("scrypt$")
    assert api_keys.key_matches(key, row.key_hash) and not api_keys.key_matches(key + "x", row.key_hash)
    status, out, _ = run(capsys, "api-key", "list")
    assert key not in out and key.split("_", 2)[2] not in out  # the secret may itself hold "_"
    assert out.split()[:2] == ["analytics-team", f"nerk_{row.prefix}_..."] and out.strip().endswith("active")
    listed = json.loads(run(capsys, "api-key", "list", "--json")[1])
    assert listed[0]["name"] == "analytics-team" and listed[0]["revoked_at"] is None and "key" not in listed[0]


def test_api_key_revoke_and_its_refusals(cli_store, capsys):
    run(capsys, "api-key", "create", "ci")
    status, out, _ = run(capsys, "api-key", "revoke", "ci")
    assert status == 0 and out.startswith("revoked 'ci'")
    assert api_keys.list_keys(cli_store)[0].revoked_at is not None
    for argv, message in (
        (("api-key", "revoke", "ci"), "[E049] the key 'ci' was already revoked"),
        (("api-key", "revoke", "nobody"), "[E049] no key named 'nobody'"),
        (("api-key", "create", "ci"), "[E049] a key named 'ci' already exists (a revoked key keeps its name)"),
        (("api-key", "create", "bad name"), "[E049] key name 'bad name' must be"),
    ):
        status, out, err = run(capsys, *argv)
        assert status == cli.EXIT_USER_ERROR and out == "" and message in err, argv
    assert len(api_keys.list_keys(cli_store)) == 1  # nothing written by the refusals


def add_log_rows(store, rows):
    store.write(lambda s: s.execute(sa.insert(PredictionLog), [{"source": "api", "entities_json": "[]", **r} for r in rows]))


def test_log_purge_deletes_only_rows_older_than_the_age(cli_store, capsys):
    now = utcnow()
    add_log_rows(
        cli_store,
        [
            {"text": "old", "created_at": now - dt.timedelta(days=40)},
            {"text": "older", "created_at": now - dt.timedelta(days=31)},
            {"text": "recent", "created_at": now - dt.timedelta(days=29)},
        ],
    )
    status, out, _ = run(capsys, "log", "purge", "--older-than", "30d", "--dry-run")
    assert (status, out.strip()) == (0, "would delete 2 prediction-log rows older than 30d")
    assert cli_store.count_predictions() == 3
    status, out, _ = run(capsys, "log", "purge", "--older-than", "30d")
    assert out.strip() == "deleted 2 prediction-log rows older than 30d"
    assert [row["text"] for row in cli_store.prediction_rows()] == ["recent"]
    status, _, err = run(capsys, "log", "purge", "--older-than", "0d")
    assert status == cli.EXIT_USER_ERROR and "[E050] age '0d' is not like 30d" in err


def test_log_forget_deletes_every_row_holding_the_text(cli_store, capsys):
    add_log_rows(
        cli_store,
        [
            {"text": "Anna Berg visited Oslo ."},
            {"text": "Reporters met ANNA BERG in Lima ."},
            {"text": "Berg is a word ."},
            {"text": "100% of Anna_Bergs"},
        ],
    )
    cli_store.add_annotation(
        analyst="a", text="Anna Berg spoke", tokens=["Anna", "Berg", "spoke"], tags=["B-per", "I-per", "O"],
        original_tags=["O", "O", "O"], model_run_id=None,
    )  # fmt: skip
    status, out, _ = run(capsys, "log", "forget", "Anna Berg")
    assert status == 0 and out.splitlines()[0] == "deleted 2 prediction-log rows holding the text"
    assert "1 saved annotations" in out  # reported, not deleted
    assert [row["text"] for row in cli_store.prediction_rows()] == ["Berg is a word .", "100% of Anna_Bergs"]
    status, out, _ = run(capsys, "log", "forget", "Anna%Berg")  # % and _ match themselves only
    assert out.startswith("deleted 0 ")
    status, out, _ = run(capsys, "log", "forget", "Berg is a word", "--exact")
    assert out.startswith("deleted 0 ")
    status, out, _ = run(capsys, "log", "forget", "Berg is a word .", "--exact")
    assert out.startswith("deleted 1 ")
    status, _, err = run(capsys, "log", "forget", "  ")
    assert status == cli.EXIT_USER_ERROR and "[E050] the text to forget is empty" in err


def test_registry_bootstrap_registers_the_latest_default_runs_once(cli_store, add_run, capsys):
    add_run(cli_store, "model2-a")
    add_run(cli_store, "baseline-a", model="baseline")
    add_run(cli_store, "advanced-a", model="advanced")
    status, out, _ = run(capsys, "registry", "bootstrap", "--by", "make")
    assert status == 0
    assert out.splitlines() == [
        "model2 v1 (run model2-a) -> primary",
        "baseline v1 (run baseline-a) -> speed",
        "advanced v1 (run advanced-a) -> backup",
    ]
    status, out, _ = run(capsys, "registry", "bootstrap")
    assert out.strip() == "the registry already serves primary = model2 v1, speed = baseline v1, backup = advanced v1"
    assert [c.changed_by for c in registry.history(cli_store)][:1] == ["make"]
