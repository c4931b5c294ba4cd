"""Keras-facing batch source for training (fixed padding or length buckets).

Separate from :mod:`ner_core.modeling.encoding` because it subclasses a Keras class,
and encoding must stay importable without TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from ner_core.modeling.encoding import FeatureEncoder, batch_plan


class BatchSequence(keras.utils.PyDataset):
    """Yields ``(inputs, targets, sample_weight)``.

    With ``bucketed=False`` every batch is padded to ``max_len`` (the original
    design); with ``bucketed=True`` a batch is padded only to its longest
    sentence (still capped at ``max_len``), so recurrent layers do not run 75
    steps for a 20-token sentence.
    """

    def __init__(
        self,
        sentences: Sequence,
        features: FeatureEncoder,
        *,
        batch_size: int,
        max_len: int,
        bucketed: bool,
        categorical: bool,
        shuffle: bool,
        seed: int,
        token_weights: bool = True,
    ):
        super().__init__()
        self.sentences = list(sentences)
        self.features = features
        self.batch_size = batch_size
        self.max_len = max_len
        self.bucketed = bucketed
        self.categorical = categorical
        self.shuffle = shuffle
        self.seed = seed
        # A CRF's loss is per sentence and masks padding itself; softmax models need token weights.
        self.token_weights = token_weights
        self.epoch = 0
        self.lengths = [min(len(s.words), max_len) for s in self.sentences]
        # Encode once; every epoch only pads and stacks.
        self.encoded = [features.encode(s.words) for s in self.sentences]
        self.encoded_tags = [features.tag_ids(s.tags) for s in self.sentences]
        self.batches = batch_plan(self.lengths, batch_size, bucketed=bucketed, shuffle=shuffle, seed=seed)
        self._vary_first_two_lengths()

    def _vary_first_two_lengths(self) -> None:
        """Make batches 0 and 1 differ in padded length whenever any two batches do.

        Keras builds the tf.data signature of a PyDataset from its first two
        batches only; a time length they share becomes fixed, and a later batch
        of another length fails the fit ("generator yielded an element of shape
        (16, 14) where an element of shape (None, 16) was expected"). Swapping
        one batch's place changes nothing else: the order is shuffled anyway.
        """
        if not self.bucketed or len(self.batches) < 2:
            return
        first = self.batch_length(0)
        for other in range(1, len(self.batches)):
            if self.batch_length(other) != first:
                self.batches[1], self.batches[other] = self.batches[other], self.batches[1]
                return

    def batch_length(self, index: int) -> int:
        """The time length batch ``index`` is padded to."""
        return max(self.lengths[i] for i in self.batches[index]) if self.bucketed else self.max_len

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int):
        members = self.batches[index]
        length = self.batch_length(index)
        inputs = self.features.stack([self.encoded[i] for i in members], length)
        targets, weights = self.features.stack_targets(
            [self.encoded_tags[i] for i in members], length, categorical=self.categorical
        )
        return (inputs, targets, weights) if self.token_weights else (inputs, targets)

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.epoch += 1
            self.batches = batch_plan(
                self.lengths, self.batch_size, bucketed=self.bucketed, shuffle=True, seed=self.seed, epoch=self.epoch
            )
            self._vary_first_two_lengths()

    def padded_positions(self) -> int:
        """Positions the network computes per epoch (real + padding), for the benchmark."""
        if not self.bucketed:
            return len(self.sentences) * self.max_len
        return int(sum(len(b) * max(self.lengths[i] for i in b) for b in self.batches))
