"""Tests for ner_core.evaluation.latency: the one latency measurement (metrics and the A/B simulator)."""

from __future__ import annotations

import math

import pytest

from ner_core.corpus.annotated import Sentence
from ner_core.evaluation import latency
from ner_core.serving.predictor import Predictor


@pytest.fixture(scope="module")
def predictor(trained_run):
    return Predictor.load(trained_run.run_dir)


SENTENCES = [Sentence(["Anna", "Berg", "visited", "Oslo"], ["B-per", "I-per", "O", "B-geo"], None), Sentence([], [], None)]


def test_latency_samples_times_count_real_requests(predictor):
    samples = latency.latency_samples(predictor, SENTENCES, count=7)
    assert len(samples) == 7
    assert all(sample > 0 for sample in samples)


def test_measure_latency_is_the_percentiles_of_the_samples(predictor):
    p50, p95 = latency.measure_latency(predictor, SENTENCES, count=20)
    assert 0 < p50 <= p95


def test_no_sentences_measure_nothing(predictor):
    assert latency.latency_samples(predictor, [Sentence([], [], None)], count=5) == []
    assert all(math.isnan(v) for v in latency.measure_latency(predictor, [], count=5))
