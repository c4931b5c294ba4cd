"""The tool users would pick instead: spaCy's NER trained from scratch on the same split.

Used by ``bench/accuracy_speed.py --peer spacy`` (install with
``pip install -r bench/requirements-peer.txt``). spaCy is configured with
``spacy init config --pipeline ner --optimize efficiency`` (no vectors), trained
on our train split with our validation split as dev, and scored with our
metrics on our test split, on our tokens (``Doc(words=...)``), timed like our
predictor: single sentences after warm-up, then the whole split batched.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ner_core.corpus import tags as tagging
from ner_core.evaluation import scoring


def _docbin(nlp, sentences, path: Path) -> None:
    from spacy.tokens import Doc, DocBin, Span

    bin_ = DocBin()
    for sentence in sentences:
        doc = Doc(nlp.vocab, words=list(sentence.words))
        doc.ents = [Span(doc, s.start, s.end, label=s.type) for s in tagging.extract_spans(sentence.tags)]
        bin_.add(doc)
    bin_.to_disk(path)


def _doc_tags(doc) -> list[str]:
    return ["O" if t.ent_iob_ in ("O", "") else f"{t.ent_iob_}-{t.ent_type_}" for t in doc]


def run(splits, *, steps: int, workdir: Path, latency_sentences: int, reuse: bool = False) -> dict:
    import spacy
    from spacy.tokens import Doc

    workdir.mkdir(parents=True, exist_ok=True)
    blank = spacy.blank("en")
    _docbin(blank, splits.train, workdir / "train.spacy")  # cheap; rebuilt so the split always matches
    _docbin(blank, splits.validation, workdir / "dev.spacy")
    config = workdir / "config.cfg"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "spacy",
            "init",
            "config",
            str(config),
            "--lang",
            "en",
            "--pipeline",
            "ner",
            "--optimize",
            "efficiency",
            "--force",
        ],
        check=True,
    )
    timing_file = workdir / f"training_time_{steps}_steps.txt"
    if reuse and timing_file.exists() and (workdir / "out" / "model-best").exists():
        training_time = float(timing_file.read_text())
    else:
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "spacy",
                "train",
                str(config),
                "--output",
                str(workdir / "out"),
                "--paths.train",
                str(workdir / "train.spacy"),
                "--paths.dev",
                str(workdir / "dev.spacy"),
                "--training.max_steps",
                str(steps),
                "--training.eval_frequency",
                str(max(100, min(1000, steps // 5))),
            ],
            check=True,
        )
        training_time = time.perf_counter() - started
        timing_file.write_text(str(training_time))
    nlp = spacy.load(workdir / "out" / "model-best")

    def tag(words):
        # The whole pipeline (tok2vec feeds ner) on our tokens: spaCy accepts a Doc as input.
        return nlp(Doc(nlp.vocab, words=list(words)))

    test = splits.test
    for sentence in test[:10]:
        tag(sentence.words)
    timings = []
    for sentence in test[:latency_sentences]:
        begin = time.perf_counter()
        tag(sentence.words)
        timings.append((time.perf_counter() - begin) * 1000)
    begin = time.perf_counter()
    docs = list(nlp.pipe(Doc(nlp.vocab, words=list(s.words)) for s in test))
    batch_seconds = time.perf_counter() - begin
    predicted = [tagging.repair_iob2(_doc_tags(doc)) for doc in docs]
    evaluation = scoring.evaluate_tags([s.tags for s in test], predicted)
    real_tokens = sum(len(s.words) for s in test)
    return {
        "tool": f"spaCy {spacy.__version__} ner, efficiency config, no vectors, {steps} steps",
        "entity_f1": evaluation.values["entity_f1"],
        "token_accuracy": evaluation.values["token_accuracy"],
        "training_time_s": training_time,
        "latency_p50_ms": float(np.percentile(timings, 50)),
        "latency_p95_ms": float(np.percentile(timings, 95)),
        "throughput_tokens_per_s": real_tokens / batch_seconds,
        "metrics": evaluation.values,
    }
