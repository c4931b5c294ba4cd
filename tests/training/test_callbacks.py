"""Tests for ner_core.training.callbacks: the ETA counts the epochs early stopping is likely to need."""

from __future__ import annotations

import pytest

from ner_core.training import callbacks


@pytest.mark.parametrize(
    "scores, expected",
    [
        ([], 4),  # nothing measured yet: at least the first epoch plus patience
        ([0.5], 4),  # improving at epoch 1: stops 3 epochs later at the earliest
        ([0.5, 0.6, 0.7], 6),  # still improving: 3 after the latest best
        ([0.5, 0.7, 0.6, 0.6], 5),  # best at epoch 2: stops at 5
        ([0.5, 0.7, 0.7, 0.7, 0.7], 5),  # equal scores are no improvement: the first best counts
    ],
)
def test_expected_epochs_follow_early_stopping(scores, expected):
    assert callbacks.expected_epochs(20, scores, patience=3) == expected


def test_never_more_than_the_configured_epochs():
    assert callbacks.expected_epochs(12, [0.1 * i for i in range(1, 12)], patience=3) == 12


def test_lower_is_better_monitors_and_no_early_stopping():
    assert callbacks.expected_epochs(20, [0.9, 0.5, 0.6], patience=2, higher_is_better=False) == 4
    assert callbacks.expected_epochs(20, [0.9, 0.5, 0.6], patience=None) == 20


def test_the_eta_says_what_it_assumes():
    assert callbacks.eta_basis(20, 5, [0.5, 0.7, 0.6], patience=3) == (
        "assumes early stopping ends about epoch 5 of at most 20, 3 after the best (best so far: epoch 2)"
    )
    assert callbacks.eta_basis(20, 20, [], patience=None) == "assumes all 20 epochs run"
