"""Uploaded corpora: validated before anything is written, stored once per checksum."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from ner_core.corpus import reading
from ner_core.corpus.uploads import (
    UploadRejected,
    file_sha256,
    file_stamp,
    inspect_upload,
    needs_repair,
    registered_upload,
    safe_file_name,
    save_upload,
)
from ner_core.errors import DataFormatError, NerError, StoreError
from ner_core.store.database import Store

STRAY_I_CSV = (
    "Sentence #,Word,POS,Tag\n"
    "Sentence: 1,Anna,NNP,B-per\n,slept,VBD,O\n"
    "Sentence: 2,New,NNP,I-geo\n,York,NNP,I-geo\n,sleeps,VBZ,O\n"
)


@pytest.fixture
def db(tmp_path):
    return Store(f"sqlite:///{tmp_path / 'db' / 'workbench.db'}")


@pytest.fixture
def uploads(tmp_path):
    return tmp_path / "uploads"


def assert_nothing_stored(db, uploads):
    assert db.list_datasets() == []
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_save_upload_stores_file_under_checksum_and_registers_it(db, uploads, tiny_csv):
    raw = tiny_csv.read_bytes()
    dataset = save_upload("tiny.csv", raw, uploads, db)
    sha = hashlib.sha256(raw).hexdigest()
    assert dataset.sha256 == sha
    assert dataset.path == str(uploads / f"{sha[:16]}-tiny.csv")
    assert (uploads / f"{sha[:16]}-tiny.csv").read_bytes() == raw
    assert (dataset.name, dataset.format, dataset.sentences, dataset.tokens) == ("tiny.csv", "gmb_csv", 40, 320)
    assert [d.sha256 for d in db.list_datasets()] == [sha]
    assert reading.load_corpus(dataset.path).sha256 == sha


def test_save_upload_is_idempotent_by_checksum(db, uploads, tiny_csv):
    raw = tiny_csv.read_bytes()
    first = save_upload("tiny.csv", raw, uploads, db)
    second = save_upload("renamed.csv", raw, uploads, db)
    assert second.id == first.id and second.path == first.path
    assert len(db.list_datasets()) == 1
    assert len(list(uploads.iterdir())) == 1


def test_save_upload_restores_a_deleted_file_of_a_known_dataset(db, uploads, tiny_csv):
    raw = tiny_csv.read_bytes()
    first = save_upload("tiny.csv", raw, uploads, db)
    uploads.joinpath(first.path.rsplit("/", 1)[-1]).unlink()
    again = save_upload("tiny.csv", raw, uploads, db)
    assert again.id == first.id
    assert open(again.path, "rb").read() == raw


def test_csv_without_tag_column_is_rejected_without_report_and_nothing_stored(db, uploads):
    raw = b"Sentence #,Word,POS\nSentence: 1,Hello,UH\n"
    with pytest.raises(UploadRejected, match="missing column.*Tag") as caught:
        save_upload("words.csv", raw, uploads, db)
    assert caught.value.report is None
    assert isinstance(caught.value, NerError)
    assert_nothing_stored(db, uploads)


def test_binary_file_is_rejected_and_nothing_stored(db, uploads):
    raw = bytes(range(256)) * 40
    with pytest.raises(UploadRejected, match="binary"):
        save_upload("image.csv", raw, uploads, db)
    assert_nothing_stored(db, uploads)


def test_validation_errors_reject_with_the_report_naming_the_sentence(db, uploads):
    with pytest.raises(UploadRejected, match="sentence 2") as caught:
        save_upload("stray.csv", STRAY_I_CSV.encode(), uploads, db)
    report = caught.value.report
    assert report is not None
    assert [(f.code, f.sentence) for f in report.errors] == [("iob2_violation", 2)]
    assert_nothing_stored(db, uploads)


def test_repair_accepts_stray_i_tags_and_keeps_the_repairs_in_the_report(db, uploads):
    corpus = inspect_upload("stray.csv", STRAY_I_CSV.encode(), repair_iob=True)
    assert [(f.code, f.sentence) for f in corpus.report.repairs] == [("iob2_repaired", 2)]
    dataset = save_upload("stray.csv", STRAY_I_CSV.encode(), uploads, db, repair_iob=True)
    assert dataset.sentences == 2
    assert open(dataset.path, "rb").read() == STRAY_I_CSV.encode()  # stored as uploaded, not rewritten


def test_the_repair_choice_is_recorded_with_the_dataset(db, uploads, tiny_csv):
    repaired = save_upload("stray.csv", STRAY_I_CSV.encode(), uploads, db, repair_iob=True)
    assert repaired.repair_iob is True
    # Repair asked for but nothing to repair: valid as uploaded, training needs no repair.
    clean = save_upload("tiny.csv", tiny_csv.read_bytes(), uploads, db, repair_iob=True)
    assert clean.repair_iob is False
    assert needs_repair(db, repaired.path) is True
    assert needs_repair(db, clean.path) is False
    assert needs_repair(db, "/not/an/upload.csv") is False
    assert registered_upload(db, repaired.path).id == repaired.id and registered_upload(db, "/elsewhere") is None


def test_upload_over_the_size_limit_is_rejected_before_parsing(db, uploads, monkeypatch, tiny_csv):
    monkeypatch.setattr(reading, "MAX_CORPUS_BYTES", 100)
    with pytest.raises(UploadRejected, match="larger than"):
        save_upload("tiny.csv", tiny_csv.read_bytes(), uploads, db)
    assert_nothing_stored(db, uploads)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd.csv", "passwd.csv"),
        ("..\\..\\windows\\evil.csv", "evil.csv"),
        ("/abs/path/data set (1).csv", "data_set_1_.csv"),
        (".hidden.csv", "hidden.csv"),
        ("..", "upload.csv"),
        ("", "upload.csv"),
        ("x" * 300 + ".csv", "x" * 76 + ".csv"),
        ("корпус.zip", "upload.zip"),  # a name in another script keeps its extension
        ("données 2024.train", "donn_es_2024.train"),
    ],
)
def test_safe_file_name_never_leaves_the_folder(name, expected):
    assert safe_file_name(name) == expected


def test_traversal_name_is_stored_inside_the_uploads_folder(db, uploads, tiny_csv):
    dataset = save_upload("../../outside.csv", tiny_csv.read_bytes(), uploads, db)
    assert dataset.path.startswith(str(uploads) + "/")
    assert dataset.name == "outside.csv"
    assert not (uploads.parent / "outside.csv").exists()


def test_zipped_upload_is_read_and_keyed_by_its_content(db, uploads, tiny_csv):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("tiny.csv", tiny_csv.read_bytes())
    dataset = save_upload("tiny.csv.zip", buffer.getvalue(), uploads, db)
    assert dataset.sha256 == hashlib.sha256(tiny_csv.read_bytes()).hexdigest()
    assert reading.load_corpus(dataset.path).sentences[0].words[:2] == ["Anna", "Berg"]


def test_a_failed_database_write_leaves_no_file(db, uploads, tiny_csv, monkeypatch):
    def refuse(**_):
        raise StoreError("database write failed: disk full")

    monkeypatch.setattr(db, "register_dataset", refuse)
    with pytest.raises(StoreError):
        save_upload("tiny.csv", tiny_csv.read_bytes(), uploads, db)
    assert list(uploads.iterdir()) == []


def test_file_sha256_matches_hashlib(tiny_csv):
    assert file_sha256(tiny_csv) == hashlib.sha256(tiny_csv.read_bytes()).hexdigest()


def test_an_upload_that_unpacks_over_the_limit_is_rejected_and_nothing_is_stored(db, uploads, tmp_path):
    from tests.corpus.test_reading import zip_of_zeros

    raw = zip_of_zeros(tmp_path / "bomb.zip", reading.MAX_CORPUS_BYTES + (1 << 20)).read_bytes()
    with pytest.raises(UploadRejected, match="was not stored: .*over the 100 MB limit"):
        save_upload("bomb.zip", raw, uploads, db)
    assert_nothing_stored(db, uploads)


def test_file_sha256_and_stamp_of_a_missing_file_are_data_format_errors(tiny_csv, tmp_path):
    size, modified_ns = file_stamp(tiny_csv)
    assert size == tiny_csv.stat().st_size and modified_ns == tiny_csv.stat().st_mtime_ns
    tiny_csv.write_text(tiny_csv.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert file_stamp(tiny_csv)[0] == size + 1
    missing = tmp_path / "gone.csv"
    for read in (file_sha256, file_stamp):
        with pytest.raises(DataFormatError, match="gone.csv cannot be read"):
            read(missing)


def test_an_uploads_folder_that_cannot_be_written_rejects_the_upload_and_stores_nothing(db, tmp_path, tiny_csv):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the uploads folder should be")
    with pytest.raises(UploadRejected, match="tiny.csv was not stored: the uploads folder .* cannot be written"):
        save_upload("tiny.csv", tiny_csv.read_bytes(), blocked / "uploads", db)
    assert db.list_datasets() == []


CONLL_STRAY_I = "EU NNP B-ORG\nrejects VBZ O\n\nPeter NNP I-PER\nBlackburn NNP I-PER\nspoke VBD O\n"


@pytest.mark.parametrize("name", ["eng.train", "x.testa", "x.dev", "x.annotated", "train"])
def test_a_conll_upload_is_accepted_under_any_name(db, uploads, name):
    dataset = save_upload(name, CONLL_STRAY_I.replace("I-PER\nBlack", "B-PER\nBlack").encode(), uploads, db)
    assert (dataset.name, dataset.format, dataset.sentences) == (name, "conll", 2)
    assert dataset.path.endswith(f"-{name}")


def test_an_upload_is_refused_by_its_content_with_the_reason(db, uploads):
    with pytest.raises(UploadRejected, match=r"photo.train was not stored: .*binary file"):
        save_upload("photo.train", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, uploads, db)
    with pytest.raises(UploadRejected, match=r"notes.dev was not stored: .*no annotated sentences .*tag 'line' is not O"):
        save_upload("notes.dev", b"just one word per line\nhere\n", uploads, db)
    assert_nothing_stored(db, uploads)
