"""Reading, validating, splitting and describing corpora."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ner_core.corpus import annotated, reading, splitting, statistics, writing
from ner_core.errors import DataFormatError, TagSchemeError

GMB_TEXT = (
    "Sentence #,Word,POS,Tag\n"
    "Sentence: 1,Thousands,NNS,O\n"
    ",marched,VBD,O\n"
    ",through,IN,O\n"
    ",London,NNP,B-geo\n"
    ",.,.,O\n"
    "Sentence: 2,NA,NNP,B-org\n"
    ",nan,NN,O\n"
    ",null,NN,O\n"
    ',"8,500",CD,O\n'
    ",Caf\xe9,NNP,B-geo\n"
)


def write(tmp_path, name, content, encoding="utf-8"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding=encoding)
    return path


def test_gmb_csv_keeps_na_words_and_quoted_numbers(tmp_path):
    corpus = reading.load_corpus(write(tmp_path, "c.csv", GMB_TEXT))
    assert [s.words for s in corpus.sentences] == [
        ["Thousands", "marched", "through", "London", "."],
        ["NA", "nan", "null", "8,500", "Café"],
    ]
    assert corpus.sentences[1].tags == ["B-org", "O", "O", "O", "B-geo"]
    assert corpus.sentences[0].pos == ["NNS", "VBD", "IN", "NNP", "."]
    assert corpus.format == "gmb_csv" and corpus.report.ok


def test_latin1_is_detected_and_utf8_preferred(tmp_path):
    latin = reading.load_corpus(write(tmp_path, "l.csv", GMB_TEXT, encoding="latin-1"))
    utf8 = reading.load_corpus(write(tmp_path, "u.csv", GMB_TEXT, encoding="utf-8"))
    assert latin.encoding == "latin-1" and utf8.encoding == "utf-8"
    assert latin.sentences[1].words[-1] == utf8.sentences[1].words[-1] == "Café"


def test_latin1_next_line_character_stays_a_word(tmp_path):
    # GMB has the byte 0x85 as a word; str.strip()/splitlines() would treat it as whitespace.
    text = "Sentence #,Word,POS,Tag\nSentence: 1,wait,VB,O\n,\x85,:,O\n,now,RB,O\n"
    corpus = reading.load_corpus(write(tmp_path, "n.csv", text, encoding="latin-1"))
    assert corpus.sentences[0].words == ["wait", "\x85", "now"]


def test_zip_archive_is_read(tmp_path):
    path = tmp_path / "c.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ner_dataset.csv", GMB_TEXT.encode("latin-1"))
    corpus = reading.load_corpus(path)
    assert len(corpus.sentences) == 2 and corpus.encoding == "latin-1"


def test_conll_with_docstart_tabs_and_spaces(tmp_path):
    text = "-DOCSTART- -X- O O\n\nJohn NNP B-PER\nlives VBZ O\nin IN O\nNew NNP B-LOC\nYork NNP I-LOC\n\nHi\tO\nMary\tB-PER\n"
    corpus = reading.load_corpus(write(tmp_path, "c.conll", text))
    assert corpus.format == "conll"
    assert [s.words for s in corpus.sentences] == [["John", "lives", "in", "New", "York"], ["Hi", "Mary"]]
    assert corpus.sentences[0].tags == ["B-PER", "O", "O", "B-LOC", "I-LOC"]
    assert corpus.sentences[0].pos == ["NNP", "VBZ", "IN", "NNP", "NNP"]
    assert corpus.tag_names == ["B-LOC", "B-PER", "I-LOC", "O"]


def test_missing_tag_column_is_a_clear_error(tmp_path):
    path = write(tmp_path, "c.csv", "Sentence #,Word,POS\nSentence: 1,Hi,UH\n")
    with pytest.raises(DataFormatError, match=r"missing column\(s\) Tag \(found: Sentence #, Word, POS\)"):
        reading.load_corpus(path)


def test_stray_inside_tag_is_reported_with_sentence_and_line(tmp_path):
    text = "John\tB-PER\nSmith\tI-PER\n\nin\tO\nYork\tI-LOC\n"
    path = write(tmp_path, "c.conll", text)
    with pytest.raises(TagSchemeError) as info:
        reading.load_corpus(path)
    assert "sentence 2, line 5" in str(info.value) and "I-LOC after O" in str(info.value)
    report = reading.inspect_corpus(path).report
    assert [(f.code, f.sentence, f.line) for f in report.errors] == [("iob2_violation", 2, 5)]


def test_iob1_is_repaired_only_when_asked_and_the_report_says_what_changed(tmp_path):
    path = write(tmp_path, "c.conll", "Paris\tI-LOC\nis\tO\nbig\tO\n")
    corpus = reading.load_corpus(path, repair_iob=True)
    assert corpus.sentences[0].tags == ["B-LOC", "O", "O"]
    assert [f.message for f in corpus.report.repairs] == ["token 1 'Paris': I-LOC -> B-LOC"]
    assert path.read_text() == "Paris\tI-LOC\nis\tO\nbig\tO\n"  # the file on disk is untouched


def test_binary_empty_and_unparsable_inputs(tmp_path):
    with pytest.raises(DataFormatError, match="binary"):
        reading.load_corpus(write(tmp_path, "b.csv", bytes(range(256)) * 10))
    with pytest.raises(DataFormatError, match="empty"):
        reading.load_corpus(write(tmp_path, "e.csv", ""))
    with pytest.raises(DataFormatError, match="no such file"):
        reading.load_corpus(tmp_path / "missing.csv")
    with pytest.raises(DataFormatError, match="not a valid zip"):
        reading.load_corpus(write(tmp_path, "z.zip", b"PK\x03\x04 broken"))
    path = write(tmp_path, "c.conll", "John\tB-PER\nlonely\n\nOk\tO\n")
    report = reading.inspect_corpus(path).report
    assert [(f.code, f.line) for f in report.errors] == [("unparsable_line", 2)]
    with pytest.raises(DataFormatError, match="line 2"):
        reading.load_corpus(path)


def test_invalid_tag_and_empty_word_and_duplicates(tmp_path):
    text = (
        "Sentence #,Word,POS,Tag\nSentence: 1,Hi,UH,S-PER\nSentence: 2,Yo,UH,O\n,,NN,O\n"
        "Sentence: 3,Go,VB,O\nSentence: 4,Go,VB,O\n"
    )
    report = reading.inspect_corpus(write(tmp_path, "c.csv", text)).report
    codes = [(f.severity, f.code, f.sentence) for f in report.findings]
    assert ("error", "invalid_tag", 1) in codes
    assert ("error", "empty_token", 2) in codes
    assert ("warning", "duplicate_sentence", 4) in codes


def test_split_is_deterministic_complete_and_stratified(sample_path):
    corpus = reading.load_corpus(sample_path)
    first = splitting.split_corpus(corpus.sentences, seed=7)
    again = splitting.split_corpus(corpus.sentences, seed=7)
    other = splitting.split_corpus(corpus.sentences, seed=8)
    assert [s.number for s in first.test] == [s.number for s in again.test]
    assert [s.number for s in first.test] != [s.number for s in other.test]
    numbers = sorted(s.number for _, part in first.items() for s in part)
    assert numbers == [s.number for s in corpus.sentences]
    total = len(corpus.sentences)
    assert abs(len(first.train) - 0.6 * total) <= 10 and abs(len(first.test) - 0.2 * total) <= 10
    for kind in ("art", "eve", "nat"):  # the rare types reach every split
        for _, part in first.items():
            assert statistics.entity_counts(part).get(kind, 0) > 0, (kind, _)


def test_statistics_and_oov(tmp_path, tiny_sentences):
    splits = annotated.DatasetSplits(tiny_sentences[:5], tiny_sentences[5:10], tiny_sentences[10:15])
    stats = statistics.corpus_statistics(tiny_sentences[:15], splits)
    assert stats.sentences == 15
    assert stats.tokens == sum(len(s) for s in tiny_sentences[:15])
    assert stats.entities["geo"] == 3 * 4  # Oslo, Lima, Oslo+Lima per 5 sentences, three copies
    # validation sentences only differ from train by the filler word x1: 1 unknown token per sentence
    expected = 5 / sum(len(s) for s in tiny_sentences[5:10])
    assert stats.oov_rate["validation"] == pytest.approx(expected)


def test_bundled_sample_is_the_default_and_valid(sample_path):
    corpus = reading.load_corpus(sample_path)
    assert corpus.report.ok and len(corpus.sentences) >= 300
    assert set(statistics.entity_counts(corpus.sentences)) == {"geo", "gpe", "per", "org", "tim", "art", "eve", "nat"}


def test_real_gmb_corpus_matches_its_readme(gmb_corpus):
    assert len(gmb_corpus.sentences) == 47_959
    assert sum(len(s) for s in gmb_corpus.sentences) == 1_048_575
    counts = statistics.tag_counts(gmb_corpus.sentences)
    assert len(counts) == 17
    assert counts["O"] == 887_908 and counts["B-geo"] == 37_644 and counts["I-nat"] == 51
    assert gmb_corpus.encoding == "latin-1" and gmb_corpus.report.ok
    splits = splitting.split_corpus(gmb_corpus.sentences, seed=42)
    assert (len(splits.train), len(splits.validation), len(splits.test)) == (
        28_775,
        9_593,
        9_591,
    )  # pinned: the split must not drift


# --------------------------------------------------------------------------- hostile and odd archives

CSV_TEXT = "Sentence #,Word,POS,Tag\nSentence: 1,Anna,NNP,B-per\n,slept,VBD,O\n"


def zip_of_zeros(path, size, member="big.csv"):
    """A zip whose one member is ``size`` zero bytes, stream-written (deflate packs it ~1000:1)."""
    chunk = b"\0" * (1 << 20)
    info = zipfile.ZipInfo(member)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open(info, "w", force_zip64=True) as stream:
            for start in range(0, size, len(chunk)):
                stream.write(chunk[: min(len(chunk), size - start)])
    return path


def patched_zip(tmp_path, name, *, flags=0, method=None):
    """A valid one-member zip with its header fields overwritten (zipfile cannot write encrypted members)."""
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("corpus.csv", CSV_TEXT)
    data = bytearray(path.read_bytes())
    local, central = data.index(b"PK\x03\x04"), data.index(b"PK\x01\x02")
    data[local + 6 : local + 8] = flags.to_bytes(2, "little")
    data[central + 8 : central + 10] = flags.to_bytes(2, "little")
    if method is not None:
        data[local + 8 : local + 10] = method.to_bytes(2, "little")
        data[central + 10 : central + 12] = method.to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


def test_a_member_that_unpacks_over_the_limit_is_refused_before_reading(tmp_path):
    archive = zip_of_zeros(tmp_path / "bomb.zip", reading.MAX_CORPUS_BYTES + (1 << 20))
    assert archive.stat().st_size < reading.MAX_CORPUS_BYTES // 100  # small on disk
    with pytest.raises(DataFormatError, match=r"unpacks to 101 MB, over the 100 MB limit"):
        reading.load_corpus(archive)


def test_a_compression_ratio_no_corpus_has_is_refused(tmp_path):
    with pytest.raises(DataFormatError, match=r"claims to unpack [\d,]+ times larger"):
        reading.load_corpus(zip_of_zeros(tmp_path / "ratio.zip", 5 << 20))


def test_an_archive_with_several_corpus_files_is_refused(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("train.csv", CSV_TEXT)
        archive.writestr("test.csv", CSV_TEXT)
    with pytest.raises(DataFormatError, match=r"holds 2 files \(train.csv, test.csv\); a corpus archive holds one"):
        reading.load_corpus(path)


def test_encrypted_and_unsupported_archives_give_one_clear_error(tmp_path):
    with pytest.raises(DataFormatError, match="is encrypted; unzip it yourself"):
        reading.load_corpus(patched_zip(tmp_path, "locked.zip", flags=0x1))
    with pytest.raises(DataFormatError, match=r"not a valid zip archive we can read \(NotImplementedError"):
        reading.load_corpus(patched_zip(tmp_path, "method.zip", method=99))


def test_a_zip_is_recognised_by_its_content_not_its_name(tmp_path):
    path = tmp_path / "corpus.train"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("inner.csv", CSV_TEXT)
    assert reading.load_corpus(path).sentences[0].words == ["Anna", "slept"]


def test_the_uploader_limit_and_the_address_follow_the_reader(tmp_path):
    import tomllib

    config = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == reading.MAX_CORPUS_BYTES // 2**20
    assert config["server"]["address"] == "127.0.0.1"  # nobody else reaches an app without a login


def test_a_word_with_a_tab_or_line_break_is_warned_about_and_not_exported_as_conll(tmp_path):
    path = write(tmp_path, "tab.csv", 'Sentence #,Word,POS,Tag\nSentence: 1,"An\tna",NNP,B-per\n,slept,VBD,O\n')
    corpus = reading.load_corpus(path)
    assert [f.code for f in corpus.report.warnings] == ["layout_in_word"]
    with pytest.raises(DataFormatError, match="holds a tab or line break, which CoNLL cannot hold"):
        writing.corpus_to_conll(corpus.sentences)
    assert "An\tna" in writing.corpus_to_gmb_csv(corpus.sentences)  # CSV quotes it, so it round-trips


def test_a_file_that_cannot_be_read_is_a_data_format_error(tmp_path, monkeypatch):
    path = write(tmp_path, "locked.csv", GMB_TEXT)

    def refuse(self):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(type(path), "read_bytes", refuse)
    with pytest.raises(DataFormatError, match="locked.csv cannot be read \\(Permission denied\\)"):
        reading.load_corpus(path)


CONLL_TEXT = (
    "-DOCSTART- -X- O O\n\nEU NNP B-ORG\nrejects VBZ O\nGerman JJ B-MISC\ncall NN O\n\nPeter NNP B-PER\nBlackburn NNP I-PER\n"
)


@pytest.mark.parametrize("name", ["eng.train", "eng.testa", "x.dev", "wnut17.annotated", "train", "corpus.csv"])
def test_conll_content_is_read_as_conll_whatever_the_name(tmp_path, name):
    corpus = reading.load_corpus(write(tmp_path, name, CONLL_TEXT))
    assert corpus.format == "conll"
    assert [s.words for s in corpus.sentences] == [["EU", "rejects", "German", "call"], ["Peter", "Blackburn"]]


@pytest.mark.parametrize("name", ["gmb.txt", "gmb.train", "gmb"])
def test_gmb_csv_content_is_read_as_gmb_csv_whatever_the_name(tmp_path, name):
    corpus = reading.load_corpus(write(tmp_path, name, GMB_TEXT))
    assert corpus.format == "gmb_csv" and len(corpus.sentences) == 2


def test_a_headerless_csv_named_csv_is_read_as_gmb_csv_so_its_error_names_the_columns(tmp_path):
    with pytest.raises(DataFormatError, match=r"missing column\(s\) Sentence #, Word, Tag"):
        reading.load_corpus(write(tmp_path, "rows.csv", "1,Anna,NNP,B-per\n2,slept,VBD,O\n"))


def test_a_zip_is_recognised_by_its_bytes_whatever_its_name(tmp_path):
    path = tmp_path / "corpus.train"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("eng.train", CONLL_TEXT)
    assert reading.load_corpus(path).format == "conll"
