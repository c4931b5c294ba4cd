"""Turn per-token tag probabilities into tag sequences, optionally IOB2-constrained.

Numpy only, so inference and metrics can import it without TensorFlow.

``argmax`` picks each token's most likely tag independently and can produce a
stray ``I-X`` that strict IOB2 extraction then drops. ``constrained`` runs
Viterbi over the model's log-probabilities with IOB2-forbidden transitions set
to ``-inf``, returning the most likely sequence that is valid IOB2. The padding
tag is never predicted for a real token by either method.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ner_core.corpus import tags

DECODING_METHODS = ("argmax", "constrained")

# Softmax outputs can be exactly 0; the floor keeps their log finite.
PROBABILITY_FLOOR = 1e-12


def _pad_index(tag_names: Sequence[str]) -> int | None:
    return list(tag_names).index(tags.PAD_TAG) if tags.PAD_TAG in tag_names else None


def iob2_transition_mask(tag_names: Sequence[str]) -> np.ndarray:
    """Boolean ``[K, K]``; ``allowed[prev, next]`` is False where IOB2 forbids it.

    ``I-X`` may only follow ``B-X`` or ``I-X``; the padding tag may never be
    the next tag. Everything else is allowed.
    """
    split = [tags.split_tag(name) for name in tag_names]
    allowed = np.ones((len(tag_names), len(tag_names)), dtype=bool)
    for next_index, (next_prefix, next_type) in enumerate(split):
        if next_prefix != "I":
            continue
        for previous_index, (previous_prefix, previous_type) in enumerate(split):
            continues_entity = previous_prefix in ("B", "I") and previous_type == next_type
            allowed[previous_index, next_index] = continues_entity
    pad_index = _pad_index(tag_names)
    if pad_index is not None:
        allowed[:, pad_index] = False
    return allowed


def iob2_start_mask(tag_names: Sequence[str]) -> np.ndarray:
    """Boolean ``[K]``; False for tags a sentence may not start with (``I-X``, padding)."""
    start_allowed = np.array([tags.split_tag(name)[0] != "I" for name in tag_names], dtype=bool)
    pad_index = _pad_index(tag_names)
    if pad_index is not None:
        start_allowed[pad_index] = False
    return start_allowed


def _check_lengths(lengths, batch_size: int, steps: int) -> np.ndarray:
    lengths = np.asarray(lengths, dtype=np.int64).reshape(-1)
    if lengths.shape[0] != batch_size:
        raise ValueError(f"Got {lengths.shape[0]} lengths for {batch_size} sentences.")
    if lengths.size and (lengths.min() < 0 or lengths.max() > steps):
        raise ValueError(f"Lengths must lie between 0 and the padded length {steps}.")
    return lengths


def _viterbi(
    log_probs: np.ndarray,
    lengths: np.ndarray,
    allowed: np.ndarray,
    start_allowed: np.ndarray,
) -> list[np.ndarray]:
    """Constrained Viterbi over softmax outputs: a CRF Viterbi whose learned scores are all zero."""
    num_tags = log_probs.shape[-1]
    zeros = np.zeros(num_tags)
    return crf_viterbi_batch(log_probs, lengths, np.zeros((num_tags, num_tags)), zeros, zeros, allowed, start_allowed)


def constrained_viterbi(log_probs: np.ndarray, allowed: np.ndarray, start_allowed: np.ndarray) -> np.ndarray:
    """Tag indices ``[T]`` of the best path whose transitions are all allowed."""
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if log_probs.ndim != 2:
        raise ValueError(f"log_probs must be [time, num_tags], got shape {log_probs.shape}.")
    lengths = np.array([log_probs.shape[0]])
    return _viterbi(
        log_probs[np.newaxis],
        lengths,
        np.asarray(allowed, dtype=bool),
        np.asarray(start_allowed, dtype=bool),
    )[0]


def constrained_viterbi_batch(
    log_probs: np.ndarray,
    lengths: Sequence[int],
    allowed: np.ndarray,
    start_allowed: np.ndarray,
) -> list[np.ndarray]:
    """Per-sentence best valid paths, each cut to its real length.

    Viterbi runs only for the sentences whose per-token argmax path breaks IOB2:
    a valid argmax path is the best of all paths, so it is also the best valid
    one. On GMB that is most sentences, and it makes constrained decoding
    nearly as cheap as argmax.
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if log_probs.ndim != 3:
        raise ValueError(f"log_probs must be [batch, time, num_tags], got shape {log_probs.shape}.")
    batch, steps, _ = log_probs.shape
    lengths = _check_lengths(lengths, batch, steps)
    allowed, start_allowed = np.asarray(allowed, dtype=bool), np.asarray(start_allowed, dtype=bool)
    if steps == 0:
        return [np.zeros(0, dtype=np.int64) for _ in range(batch)]
    best = log_probs.argmax(axis=-1)
    valid = start_allowed[best[:, 0]] | (lengths == 0)
    if steps > 1:
        inside = np.arange(1, steps)[None, :] < lengths[:, None]
        valid &= (allowed[best[:, :-1], best[:, 1:]] | ~inside).all(axis=1)
    paths = [best[row, :length] for row, length in enumerate(lengths)]
    broken = np.flatnonzero(~valid)
    if broken.size:
        for row, path in zip(broken, _viterbi(log_probs[broken], lengths[broken], allowed, start_allowed)):
            paths[row] = path
    return paths


def argmax_decode(log_probs: np.ndarray, lengths: Sequence[int], pad_index: int | None = 0) -> list[np.ndarray]:
    """Per-token best tag, never the padding tag, each cut to its real length."""
    log_probs = np.array(log_probs, dtype=np.float64)
    if log_probs.ndim != 3:
        raise ValueError(f"log_probs must be [batch, time, num_tags], got shape {log_probs.shape}.")
    lengths = _check_lengths(lengths, log_probs.shape[0], log_probs.shape[1])
    if pad_index is not None:
        log_probs[:, :, pad_index] = -np.inf
    best = log_probs.argmax(axis=-1)
    return [best[row, :length] for row, length in enumerate(lengths)]


def to_log_probs(probabilities: np.ndarray) -> np.ndarray:
    """``log(p + floor)``: finite log-probabilities from softmax outputs."""
    return np.log(np.asarray(probabilities, dtype=np.float64) + PROBABILITY_FLOOR)


def decode(
    probabilities: np.ndarray,
    lengths: Sequence[int],
    tag_names: Sequence[str],
    method: str,
) -> list[list[str]]:
    """Tag names per sentence from softmax outputs ``[batch, time, K]``.

    ``method`` is one of :data:`DECODING_METHODS`.
    """
    if method not in DECODING_METHODS:
        raise ValueError(f"Unknown decoding method {method!r}; choose one of {', '.join(DECODING_METHODS)}.")
    log_probs = to_log_probs(probabilities)
    if log_probs.ndim != 3 or log_probs.shape[-1] != len(tag_names):
        raise ValueError(
            f"Probabilities of shape {log_probs.shape} do not match {len(tag_names)} tag names; expected [batch, time, num_tags]."
        )
    if method == "argmax":
        paths = argmax_decode(log_probs, lengths, pad_index=_pad_index(tag_names))
    else:
        paths = constrained_viterbi_batch(log_probs, lengths, iob2_transition_mask(tag_names), iob2_start_mask(tag_names))
    return [[tag_names[index] for index in path] for path in paths]


# --------------------------------------------------------------------------- CRF decoding in numpy


def _forbidden_to_scores(allowed: np.ndarray) -> np.ndarray:
    return np.where(allowed, 0.0, -np.inf)


def crf_viterbi(
    potentials: np.ndarray,
    transitions: np.ndarray,
    start_transitions: np.ndarray,
    end_transitions: np.ndarray,
    allowed: np.ndarray | None = None,
    start_allowed: np.ndarray | None = None,
) -> np.ndarray:
    """Best tag path ``[T]`` of one sentence under a trained CRF, optionally restricted to allowed transitions.

    Numpy: the predictor runs the network in TensorFlow and decodes here, where
    adding the IOB2 constraint is one mask.
    """
    potentials = np.asarray(potentials, dtype=np.float64)
    return crf_viterbi_batch(
        potentials[None], [len(potentials)], transitions, start_transitions, end_transitions, allowed, start_allowed
    )[0]


def crf_marginals(
    potentials: np.ndarray,
    transitions: np.ndarray,
    start_transitions: np.ndarray,
    end_transitions: np.ndarray,
) -> np.ndarray:
    """Per-token tag marginals ``[T, K]`` by forward-backward: the CRF's honest confidence."""
    potentials = np.asarray(potentials, dtype=np.float64)
    return crf_marginals_batch(potentials[None], [len(potentials)], transitions, start_transitions, end_transitions)[0]


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    peak = np.max(values, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    return np.squeeze(peak, axis=axis) + np.log(np.sum(np.exp(values - peak), axis=axis))


def crf_viterbi_batch(
    potentials: np.ndarray,
    lengths: Sequence[int],
    transitions: np.ndarray,
    start_transitions: np.ndarray,
    end_transitions: np.ndarray,
    allowed: np.ndarray | None = None,
    start_allowed: np.ndarray | None = None,
) -> list[np.ndarray]:
    """:func:`crf_viterbi` for a padded batch ``[B, T, K]``, vectorised over sentences.

    Padded steps carry the score unchanged and point to themselves, so each
    sentence's path ends exactly where its length says.
    """
    potentials = np.asarray(potentials, dtype=np.float64)
    batch, steps, num_tags = potentials.shape
    lengths = _check_lengths(lengths, batch, steps)
    for name, mask, shape in (("allowed", allowed, (num_tags, num_tags)), ("start_allowed", start_allowed, (num_tags,))):
        if mask is not None and np.shape(mask) != shape:
            raise ValueError(f"{name} has shape {np.shape(mask)}; expected {shape} for {num_tags} tags.")
    if steps == 0:
        return [np.zeros(0, dtype=np.int64) for _ in range(batch)]
    transition_scores = np.asarray(transitions, dtype=np.float64)
    start_scores = np.asarray(start_transitions, dtype=np.float64)
    if allowed is not None:
        transition_scores = transition_scores + _forbidden_to_scores(np.asarray(allowed, dtype=bool))
    if start_allowed is not None:
        start_scores = start_scores + _forbidden_to_scores(np.asarray(start_allowed, dtype=bool))
    identity = np.broadcast_to(np.arange(num_tags), (batch, num_tags))
    score = start_scores[None, :] + potentials[:, 0]
    pointers = np.empty((steps, batch, num_tags), dtype=np.int64)
    pointers[0] = identity
    # Laid out [batch, next, previous] so both reductions run over contiguous memory: the hot loop
    # of batch tagging (a gather at the argmax instead of the max is slower for single sentences).
    incoming = np.ascontiguousarray(transition_scores.T)[None]
    for step in range(1, steps):
        candidates = score[:, None, :] + incoming
        best_previous = candidates.argmax(axis=2)
        updated = candidates.max(axis=2) + potentials[:, step]
        real = (step < lengths)[:, None]
        score = np.where(real, updated, score)
        pointers[step] = np.where(real, best_previous, identity)
    score = score + np.asarray(end_transitions, dtype=np.float64)[None, :]
    impossible = (lengths > 0) & ~np.isfinite(score.max(axis=1))
    if impossible.any():
        raise ValueError(
            "No tag sequence satisfies the constraints for sentence(s) "
            f"{np.flatnonzero(impossible).tolist()}; the tag set needs O or B- tags."
        )
    path = np.empty((steps, batch), dtype=np.int64)
    path[-1] = score.argmax(axis=1)
    rows = np.arange(batch)
    for step in range(steps - 1, 0, -1):
        path[step - 1] = pointers[step, rows, path[step]]
    return [path[:length, row].copy() for row, length in enumerate(lengths)]


def crf_marginals_batch(
    potentials: np.ndarray,
    lengths: Sequence[int],
    transitions: np.ndarray,
    start_transitions: np.ndarray,
    end_transitions: np.ndarray,
) -> list[np.ndarray]:
    """:func:`crf_marginals` for a padded batch, vectorised over sentences."""
    potentials = np.asarray(potentials, dtype=np.float64)
    batch, steps, num_tags = potentials.shape
    lengths = _check_lengths(lengths, batch, steps)
    if steps == 0:
        return [np.zeros((0, num_tags)) for _ in range(batch)]
    transitions = np.asarray(transitions, dtype=np.float64)
    end = np.broadcast_to(np.asarray(end_transitions, dtype=np.float64), (batch, num_tags))
    alpha = np.empty((steps, batch, num_tags))
    alpha[0] = np.asarray(start_transitions, dtype=np.float64)[None, :] + potentials[:, 0]
    for step in range(1, steps):
        updated = _logsumexp(alpha[step - 1][:, :, None] + transitions[None], axis=1) + potentials[:, step]
        alpha[step] = np.where((step < lengths)[:, None], updated, alpha[step - 1])
    beta = np.empty((steps, batch, num_tags))
    beta[-1] = end
    for step in range(steps - 2, -1, -1):
        updated = _logsumexp(transitions[None] + (potentials[:, step + 1] + beta[step + 1])[:, None, :], axis=2)
        beta[step] = np.where((step + 1 < lengths)[:, None], updated, end)
    log_z = _logsumexp(alpha[-1] + end, axis=1)
    marginals = np.exp(alpha + beta - log_z[None, :, None])
    return [marginals[:length, row] for row, length in enumerate(lengths)]


def best_other(scores: np.ndarray, path: Sequence[int]) -> np.ndarray:
    """Per token the highest probability (softmax output or CRF marginal) of a tag other than the one
    ``path`` chose; padding (index 0) never counts. The chosen probability minus this is the margin
    between the best two tags, negative where IOB2-constrained decoding overruled the most probable tag."""
    others = np.array(scores, dtype="float64", copy=True)
    others[:, 0] = -np.inf
    others[np.arange(len(path)), np.asarray(path, dtype=int)] = -np.inf
    return others.max(axis=1) if others.shape[1] > 2 else np.zeros(len(path))
