"""Linear-chain CRF for Keras 3 on the TensorFlow backend.

Keras 3 ships no CRF and tensorflow-addons is unmaintained, so this module
holds the four CRF computations as plain TensorFlow functions, a ``CRF`` layer
that owns the transition weights, and ``CRFTagger``, a functional ``keras.Model``
whose loss is the CRF negative log-likelihood.

Conventions shared by every function here:

- ``potentials`` are unary scores ``[batch, time, num_tags]`` (float32).
- ``lengths`` ``[batch]`` count real tokens; sequences are left-aligned, so
  step ``t`` is real exactly when ``t < length``. Lengths are clipped to
  ``[0, time]``.
- ``transitions[i, j]`` scores tag ``i`` followed by tag ``j``;
  ``start_transitions[j]`` scores a sentence starting with ``j`` and
  ``end_transitions[i]`` one ending with ``i``.
- Tag index 0 is the padding tag. Padded steps contribute nothing: an empty
  sentence has score 0 and log-normaliser 0, so its likelihood term is 0.

Every function is free of Python control flow over tensor values, so it works
inside ``tf.function`` (including ``jit_compile=True``) with unknown batch and
time dimensions.
"""

from __future__ import annotations

import keras
import tensorflow as tf

PAD_INDEX = 0


def _prepare(potentials, lengths):
    """Cast inputs and return (potentials, lengths clipped to [0, time], mask)."""
    potentials = tf.convert_to_tensor(potentials, dtype=tf.float32)
    steps = tf.shape(potentials)[1]
    lengths = tf.clip_by_value(tf.cast(lengths, tf.int32), 0, steps)
    mask = tf.sequence_mask(lengths, steps)
    return potentials, lengths, mask


def _as_float(weights):
    return tf.convert_to_tensor(weights, dtype=tf.float32)


def _time_major_with_extra_step(potentials, mask):
    """Transpose to time-major and append one padded step.

    The extra step guarantees a first step exists even when ``time == 0``;
    since it is masked it never changes a result.
    """
    potentials_by_step = tf.pad(tf.transpose(potentials, [1, 0, 2]), [[0, 1], [0, 0], [0, 0]])
    mask_by_step = tf.pad(tf.transpose(mask), [[0, 1], [0, 0]], constant_values=False)
    return potentials_by_step, mask_by_step


def crf_sequence_score(potentials, tags, lengths, transitions, start_transitions, end_transitions):
    """Unnormalised score ``[batch]`` of the tag path ``tags`` ``[batch, time]``."""
    potentials, lengths, mask = _prepare(potentials, lengths)
    tags = tf.cast(tags, tf.int32)
    transitions = _as_float(transitions)
    start_transitions = _as_float(start_transitions)
    end_transitions = _as_float(end_transitions)
    num_tags = tf.shape(transitions)[0]
    zeros = tf.zeros_like(mask, dtype=tf.float32)

    # tf.where rather than multiplying by the mask: padded potentials may be
    # huge or even infinite, and 0 * inf is nan.
    unary = tf.gather(potentials, tags, batch_dims=2)
    unary_score = tf.reduce_sum(tf.where(mask, unary, zeros), axis=1)

    # Left-aligned sequences: step t real implies step t-1 real.
    pair_index = tags[:, :-1] * num_tags + tags[:, 1:]
    pair_scores = tf.gather(tf.reshape(transitions, [-1]), pair_index)
    transition_score = tf.reduce_sum(tf.where(mask[:, 1:], pair_scores, zeros[:, 1:]), axis=1)

    positions = tf.range(tf.shape(tags)[1])[tf.newaxis, :]
    is_first = mask & tf.equal(positions, 0)
    is_last = mask & tf.equal(positions, lengths[:, tf.newaxis] - 1)
    start_scores = tf.gather(start_transitions, tags)
    end_scores = tf.gather(end_transitions, tags)
    start_score = tf.reduce_sum(tf.where(is_first, start_scores, zeros), axis=1)
    end_score = tf.reduce_sum(tf.where(is_last, end_scores, zeros), axis=1)
    return unary_score + transition_score + start_score + end_score


def crf_log_norm(potentials, lengths, transitions, start_transitions, end_transitions):
    """Log partition function ``[batch]``: log-sum-exp of all paths' scores."""
    potentials, lengths, mask = _prepare(potentials, lengths)
    transitions = _as_float(transitions)
    start_transitions = _as_float(start_transitions)
    end_transitions = _as_float(end_transitions)
    potentials_by_step, mask_by_step = _time_major_with_extra_step(potentials, mask)

    def step(alpha, inputs):
        step_potentials, step_mask = inputs
        next_alpha = tf.reduce_logsumexp(alpha[:, :, tf.newaxis] + transitions[tf.newaxis], axis=1) + step_potentials
        # Padded steps carry alpha over unchanged.
        return tf.where(step_mask[:, tf.newaxis], next_alpha, alpha)

    first_alpha = start_transitions[tf.newaxis, :] + potentials_by_step[0]
    alpha = tf.foldl(step, (potentials_by_step[1:], mask_by_step[1:]), initializer=first_alpha)
    log_norm = tf.reduce_logsumexp(alpha + end_transitions[tf.newaxis, :], axis=1)
    return tf.where(lengths > 0, log_norm, tf.zeros_like(log_norm))


def crf_log_likelihood(potentials, tags, lengths, transitions, start_transitions, end_transitions):
    """Log-probability ``[batch]`` of ``tags`` under the CRF (always <= 0)."""
    score = crf_sequence_score(potentials, tags, lengths, transitions, start_transitions, end_transitions)
    log_norm = crf_log_norm(potentials, lengths, transitions, start_transitions, end_transitions)
    return score - log_norm


def viterbi_decode(potentials, lengths, transitions, start_transitions, end_transitions):
    """Best path per sentence: ``(tags [batch, time] int32, best_scores [batch])``.

    Steps at or beyond a sentence's length get tag 0; an empty sentence scores 0.
    """
    potentials, lengths, mask = _prepare(potentials, lengths)
    transitions = _as_float(transitions)
    start_transitions = _as_float(start_transitions)
    end_transitions = _as_float(end_transitions)
    potentials_by_step, mask_by_step = _time_major_with_extra_step(potentials, mask)
    num_tags = tf.shape(transitions)[0]
    batch_size = tf.shape(potentials)[0]
    # On padded steps each tag points back to itself, so backtracking from the
    # extra final step walks unchanged through the padding to the last real tag.
    identity_pointers = tf.tile(tf.range(num_tags)[tf.newaxis, :], [batch_size, 1])

    def step(carry, inputs):
        delta, _ = carry
        step_potentials, step_mask = inputs
        candidates = delta[:, :, tf.newaxis] + transitions[tf.newaxis]
        next_delta = tf.reduce_max(candidates, axis=1) + step_potentials
        pointers = tf.argmax(candidates, axis=1, output_type=tf.int32)
        keep = step_mask[:, tf.newaxis]
        return tf.where(keep, next_delta, delta), tf.where(keep, pointers, identity_pointers)

    first_delta = start_transitions[tf.newaxis, :] + potentials_by_step[0]
    deltas, pointers = tf.scan(
        step,
        (potentials_by_step[1:], mask_by_step[1:]),
        initializer=(first_delta, identity_pointers),
    )
    final_delta = tf.concat([first_delta[tf.newaxis], deltas], axis=0)[-1]
    final_scores = final_delta + end_transitions[tf.newaxis, :]
    best_scores = tf.reduce_max(final_scores, axis=1)
    last_tags = tf.argmax(final_scores, axis=1, output_type=tf.int32)

    def backtrack(next_tags, step_pointers):
        return tf.gather(step_pointers, next_tags, batch_dims=1)

    earlier_tags = tf.scan(backtrack, pointers, initializer=last_tags, reverse=True)
    tags_by_step = tf.concat([earlier_tags, last_tags[tf.newaxis]], axis=0)
    tags = tf.transpose(tags_by_step)[:, : tf.shape(potentials)[1]]
    tags = tf.where(mask, tags, tf.fill(tf.shape(tags), PAD_INDEX))
    best_scores = tf.where(lengths > 0, best_scores, tf.zeros_like(best_scores))
    return tags, best_scores


# Eager Viterbi would dispatch a few ops per time step; one graph is much faster.
_viterbi_decode_graph = tf.function(viterbi_decode, reduce_retracing=True)


@keras.saving.register_keras_serializable(package="ner_core")
class CRF(keras.layers.Layer):
    """Holds CRF transition weights; passes the potentials through unchanged.

    Placing it last in a model makes the model's output the potentials, while
    the layer supplies ``negative_log_likelihood`` for training and ``decode``
    for prediction. Transitions start at zero, so an untrained CRF decodes like
    a per-token argmax.
    """

    def __init__(self, num_tags, **kwargs):
        super().__init__(**kwargs)
        if int(num_tags) < 2:
            raise ValueError(f"CRF needs at least 2 tags (padding plus one real tag), got {num_tags}.")
        self.num_tags = int(num_tags)
        self.supports_masking = True

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.num_tags:
            raise ValueError(
                f"CRF was created for {self.num_tags} tags but receives potentials with "
                f"{input_shape[-1]} scores per token; make the last Dense layer output "
                f"{self.num_tags} units."
            )
        self.transitions = self.add_weight(name="transitions", shape=(self.num_tags, self.num_tags), initializer="zeros")
        self.start_transitions = self.add_weight(name="start_transitions", shape=(self.num_tags,), initializer="zeros")
        self.end_transitions = self.add_weight(name="end_transitions", shape=(self.num_tags,), initializer="zeros")

    def call(self, potentials, mask=None):
        return tf.identity(potentials)

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return input_shape

    def _weights(self):
        return (self.transitions, self.start_transitions, self.end_transitions)

    def negative_log_likelihood(self, potentials, tags, lengths):
        """Per-sentence NLL ``[batch]``; 0 for empty sentences. Not averaged."""
        return -crf_log_likelihood(potentials, tags, lengths, *self._weights())

    def decode(self, potentials, lengths):
        """Viterbi ``(tags [batch, time] int32, best_scores [batch])`` as tensors."""
        return _viterbi_decode_graph(
            tf.convert_to_tensor(potentials, dtype=tf.float32),
            tf.convert_to_tensor(lengths, dtype=tf.int32),
            *(tf.convert_to_tensor(weight) for weight in self._weights()),
        )

    def get_config(self):
        config = super().get_config()
        config["num_tags"] = self.num_tags
        return config


@keras.saving.register_keras_serializable(package="ner_core")
class CRFTagger(keras.Model):
    """A functional model ending in a ``CRF`` layer, trained on CRF NLL.

    Build it like any functional model, ``CRFTagger(inputs, potentials)`` where
    ``potentials`` is the output of a ``CRF`` layer, compile with just an
    optimizer and fit on sparse tag ids ``y`` ``[batch, time]`` with 0 on padding.
    The loss is the batch mean of the per-sentence NLL, with each sentence's
    length taken as its number of non-zero tags.
    """

    @property
    def crf_layer(self) -> CRF:
        crf_layers = [layer for layer in self._flatten_layers() if isinstance(layer, CRF)]
        if len(crf_layers) != 1:
            raise ValueError(
                f"CRFTagger needs exactly one CRF layer, found {len(crf_layers)}; "
                "end the model with ner_core.modeling.crf.CRF(num_tags)."
            )
        return crf_layers[0]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if y is None:
            raise ValueError("CRFTagger needs tag ids y to compute its loss.")
        tags = tf.cast(y, tf.int32)
        if tags.shape.rank == 3:
            tags = tf.squeeze(tags, axis=-1)
        lengths = tf.reduce_sum(tf.cast(tf.not_equal(tags, PAD_INDEX), tf.int32), axis=1)
        negative_log_likelihood = self.crf_layer.negative_log_likelihood(y_pred, tags, lengths)
        if sample_weight is not None:
            # One weight per sentence.
            sample_weight = tf.reshape(tf.cast(sample_weight, tf.float32), [-1])
            negative_log_likelihood = negative_log_likelihood * sample_weight
        loss = tf.reduce_mean(negative_log_likelihood)
        for extra_loss in self.losses:  # regularisers and add_loss()
            loss = loss + tf.cast(tf.reduce_sum(extra_loss), loss.dtype)
        return loss

    def decode(self, x, lengths, batch_size=32):
        """Predict and Viterbi-decode: ``(tags [batch, time] int32, best_scores)``.

        ``lengths`` is the number of real tokens per sentence (numpy arrays out).
        """
        potentials = self.predict(x, batch_size=batch_size, verbose=0)
        tags, best_scores = self.crf_layer.decode(potentials, lengths)
        return tags.numpy(), best_scores.numpy()
