"""Custom Keras layers of the model zoo (registered so saved runs load by name)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="ner_core")
class CharEncoder(keras.layers.Layer):
    """Character CNN per word: ``[batch, time, chars] -> [batch, time, filters]``.

    Embeds characters, runs a 1-D convolution over each word and max-pools it,
    which learns prefixes, suffixes and capitalisation patterns (``-stan``,
    ``Mc``, ``-berg``) that make unseen names recognisable. Written as one layer
    that folds time into the batch, because ``TimeDistributed`` cannot run on a
    variable-length input inside ``tf.function`` in Keras 3.
    """

    def __init__(self, char_vocab_size: int, char_dim: int = 25, filters: int = 50, kernel_size: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.char_vocab_size = char_vocab_size
        self.char_dim = char_dim
        self.filters = filters
        self.kernel_size = kernel_size
        self.embedding = keras.layers.Embedding(char_vocab_size, char_dim, name="char_embedding")
        self.convolution = keras.layers.Conv1D(filters, kernel_size, padding="same", activation="relu", name="char_conv")

    def build(self, input_shape):
        chars = input_shape[-1]
        self.embedding.build((None, chars))
        self.convolution.build((None, chars, self.char_dim))
        self.built = True

    def call(self, char_ids):
        shape = ops.shape(char_ids)
        flat = ops.reshape(char_ids, (-1, shape[-1]))
        embedded = self.embedding(flat)
        convolved = self.convolution(embedded)
        # Padding characters (id 0) must not win the max: push them far down first.
        present = ops.expand_dims(ops.cast(ops.not_equal(flat, 0), convolved.dtype), -1)
        pooled = ops.max(convolved * present - (1.0 - present) * 1e4, axis=1)
        pooled = ops.where(ops.any(ops.not_equal(flat, 0), axis=1, keepdims=True), pooled, ops.zeros_like(pooled))
        return ops.reshape(pooled, (shape[0], shape[1], self.filters))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            char_vocab_size=self.char_vocab_size, char_dim=self.char_dim, filters=self.filters, kernel_size=self.kernel_size
        )
        return config


@keras.saving.register_keras_serializable(package="ner_core")
class WordDropout(keras.layers.Layer):
    """While training, replace each real word id with UNK (id 1) with probability ``rate``.

    Test text is full of words the training split never had; a model that always
    sees a trained embedding learns to lean on it and ignores the character and
    casing features that are all it has for an unknown word. Hiding a share of
    the words during training makes it learn both. Padding (id 0) is never
    touched, so masks are unchanged; at inference the layer is the identity.
    """

    def __init__(self, rate: float, unknown_id: int = 1, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"rate must be in [0, 1), got {rate}")
        self.rate = rate
        self.unknown_id = unknown_id
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, word_ids, training=None):
        if not training or self.rate == 0.0:
            return word_ids
        draw = keras.random.uniform(ops.shape(word_ids), seed=self.seed_generator)
        hide = ops.logical_and(draw < self.rate, ops.greater(word_ids, self.unknown_id))
        return ops.where(hide, ops.cast(self.unknown_id, word_ids.dtype), word_ids)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, unknown_id=self.unknown_id, seed=self.seed)
        return config
