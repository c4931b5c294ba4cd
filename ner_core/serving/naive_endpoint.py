"""The benchmark's in-run baseline endpoint (``serve --naive-endpoint``): what a first REST wrapper
around a Keras model does, so bench/serve_load.py can say how much the real path gains."""

from __future__ import annotations

import time

import numpy as np

from ner_core.corpus import tags as tagging
from ner_core.corpus.tokenizer import tokenize_sentences
from ner_core.serving import answers
from ner_core.serving.gateway import Gateway, Served
from ner_core.serving.request_log import LOG_SOURCE
from ner_core.traffic.experiment import ERROR_NONE


def naive_predict(gateway: Gateway, text: str, key_name: str | None) -> Served:
    """The benchmark's in-run baseline: the primary's Keras model through ``model.predict``, one call per
    sentence, argmax decoding, no batching (what a first REST wrapper would do). Logged like any request."""
    started = time.perf_counter()
    snapshot = gateway.snapshot
    arm = snapshot.arms.get("primary") or next(a for a in snapshot.arms.values() if a.loaded)
    predictor = arm.predictor
    sentences = tokenize_sentences(text)
    tagged = []
    for sentence in sentences:
        words = [token.text for token in sentence][: predictor.max_len]
        probabilities = predictor.model.predict(predictor.features.inputs([words], len(words)), verbose=0)[0]
        best = probabilities[:, 1:].argmax(-1) + 1  # never the padding tag
        tag_list = tagging.repair_iob2([predictor.tag_names[i] for i in best])
        tagged.append((tag_list, probabilities[np.arange(len(best)), best].tolist()))
    sentences = [sentence[: predictor.max_len] for sentence in sentences]
    result = answers.assemble(text, sentences, tagged)
    total_ms = (time.perf_counter() - started) * 1000
    request_id = gateway.new_request_id()
    gateway.log.add(
        {
            "source": LOG_SOURCE,
            "arm": "naive",
            "run_id": arm.info.run_id,
            "model_version": arm.info.version,
            "text": text,
            "entities": [answers.entity_row(entity) for entity in result.entities],
            "latency_ms": total_ms,
            "error_kind": ERROR_NONE,
            "routing_reason": "naive endpoint: model.predict per request",
            "api_key_name": key_name,
            "request_id": request_id,
        }
    )
    return Served(request_id, "naive", arm.info, [result], "naive", "closed", timings_ms={"total_ms": total_ms})
