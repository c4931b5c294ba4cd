"""Tag text with a saved run: the one predictor used by the CLI, the app, evaluation and the simulator.

Speed: a saved run whose layers ONNX Runtime can express (baseline, advanced,
model2) is served by ONNX Runtime (``onnx_backend``); any other model goes
through a ``tf.function`` (XLA-compiled unless ``NER_XLA=0``), so a single
sentence costs one graph call instead of ``model.predict``'s per-call setup
(data adapter, callbacks, step function). Batches are sorted by length so each
is padded only to its own longest sentence. Sentences longer than the run's
``max_len`` are tagged in overlapping windows and stitched, never cut.

Output is always valid IOB2: ``argmax`` decoding repairs a stray ``I-X`` to
``B-X`` (the metrics score exactly what users see), and ``constrained``
decoding runs Viterbi with IOB2-forbidden transitions.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ner_core.corpus import documents
from ner_core.corpus import tags as tagging
from ner_core.corpus.tokenizer import Token, tokenize_sentences
from ner_core.errors import InputTextError
from ner_core.modeling import decoding as decoding_module
from ner_core.modeling import encoding
from ner_core.serving import onnx_backend
from ner_core.serving.model_file import load_run_model
from ner_core.training import run_folder

logger = logging.getLogger(__name__)
MAX_TEXT_CHARS = documents.MAX_DOCUMENT_CHARS  # one text, one document of a bulk set
# XLA-compiled forward pass (on unless NER_XLA=0): one compile per input shape, so shapes are
# rounded up to a few buckets; padding rows and positions are masked and cut off again. Full
# batches round lengths more finely: their sentences are sorted by length, so coarse rounding
# would compute up to 30% padding there, while a single request would pay more compiles.
XLA_ENV = "NER_XLA"
BATCH_BUCKETS = (1, 8, 32, 256)
LENGTH_BUCKETS = {1: 16, 8: 16, 32: 16, 256: 8}
OUTPUT_FORMATS = ("json", "iob", "entities_only")
DECODING_METHODS = decoding_module.DECODING_METHODS
BATCH_SIZE = BATCH_BUCKETS[-1]
LOW_CONFIDENCE = 0.6


@dataclass
class TokenTag:
    text: str
    start: int
    end: int
    tag: str
    confidence: float


@dataclass
class Entity:
    type: str
    text: str
    start: int
    end: int
    confidence: float
    token_start: int
    token_end: int


@dataclass
class Prediction:
    """Result of tagging one text; offsets index the original text."""

    text: str
    tokens: list[TokenTag]
    entities: list[Entity]
    sentences: list[tuple[int, int]] = field(default_factory=list)  # token index ranges
    run_id: str = ""
    model: str = ""
    decoding: str = "argmax"
    latency_ms: float = 0.0

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "model": self.model,
            "decoding": self.decoding,
            "text": self.text,
            "tokens": [asdict(t) for t in self.tokens],
            "entities": [asdict(e) for e in self.entities],
        }

    def render(self, fmt: str = "json") -> str:
        """One of :data:`OUTPUT_FORMATS` as text."""
        if fmt == "json":
            return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)
        if fmt == "entities_only":
            return json.dumps([asdict(e) for e in self.entities], ensure_ascii=False, indent=2)
        if fmt == "iob":
            blocks = []
            for first, last in self.sentences:
                blocks.append("\n".join(f"{t.text}\t{t.tag}" for t in self.tokens[first:last]))
            return "\n\n".join(blocks)
        raise InputTextError(f"unknown output format {fmt!r}; choose one of {', '.join(OUTPUT_FORMATS)}.")


def _window_starts(length: int, window: int) -> list[int]:
    """Starts of overlapping windows (stride = half a window) that cover ``length`` tokens."""
    if length <= window:
        return [0]
    stride = max(1, window // 2)
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] + window < length:
        starts.append(length - window)
    return starts


class Predictor:
    """Loads a run once and serves many calls, from several threads."""

    def __init__(
        self,
        model,
        features: encoding.FeatureEncoder,
        *,
        max_len: int,
        run_id: str = "",
        model_name: str = "",
        output: str = "softmax",
        default_decoding: str = "argmax",
        compiled: bool | None = None,
        onnx: bool = False,
    ):
        """``onnx``: serve through ONNX Runtime when the model can be exported; weights are copied
        at that moment, so only a model that no longer changes (a saved run) may ask for it."""
        import tensorflow as tf

        self.model = model
        self.features = features
        self.max_len = max_len
        self.run_id = run_id
        self.model_name = model_name
        self.output = output
        self.default_decoding = default_decoding
        self.tag_names = list(features.tag_vocab.tokens)
        self._allowed = decoding_module.iob2_transition_mask(self.tag_names)
        self._start_allowed = decoding_module.iob2_start_mask(self.tag_names)
        if features.uses_chars:
            signature = [
                {
                    "word_ids": tf.TensorSpec([None, None], tf.int32),
                    "char_ids": tf.TensorSpec([None, None, encoding.MAX_WORD_LENGTH], tf.int32),
                    "casing_ids": tf.TensorSpec([None, None], tf.int32),
                }
            ]
        else:
            signature = [tf.TensorSpec([None, None], tf.int32)]
        self._forward = tf.function(self._scores, input_signature=signature, reduce_retracing=True)
        # XLA fuses the LSTM loop: 1.2-1.8 ms instead of 5.9 ms per sentence for model2 here, and a
        # 256x32 batch in 57 ms instead of 212 ms. Any XLA failure falls back to the plain graph.
        self.compiled = os.environ.get(XLA_ENV, "1") != "0" if compiled is None else compiled
        self._forward_compiled = tf.function(self._scores, jit_compile=True)
        self._crf = self._crf_weights() if output == "crf" else None
        self._not_pad = np.arange(len(self.tag_names)) != 0
        self._onnx = None
        if onnx and not features.uses_chars and onnx_backend.enabled():
            try:
                exported = onnx_backend.export(model)
                self._onnx = onnx_backend.OnnxForward(exported) if exported is not None else None
            except Exception as exc:  # noqa: BLE001 - the TensorFlow path serves the same model
                logger.warning("ONNX Runtime cannot serve run %s (%s: %s); using TensorFlow", run_id, exc.__class__.__name__, exc)
        # Trace once now so the first user request does not pay for it.
        self.tag_sentences([["warm", "up"]])

    def _scores(self, inputs):
        # Softmax models return probabilities; a CRF model returns potentials, decoded below.
        return self.model(inputs, training=False)

    def sync_weights(self) -> None:
        """Re-read the CRF transitions after the model's weights changed (the trainer scores every epoch)."""
        if self.output == "crf":
            self._crf = self._crf_weights()

    def _crf_weights(self):
        crf_layer = self.model.get_layer("crf")
        return (np.asarray(crf_layer.transitions), np.asarray(crf_layer.start_transitions), np.asarray(crf_layer.end_transitions))

    # ------------------------------------------------------------------ loading

    @property
    def backend(self) -> str:
        """What runs the forward pass: ``onnxruntime``, ``xla`` or ``tensorflow`` (the plain graph)."""
        return "onnxruntime" if self._onnx is not None else "xla" if self.compiled else "tensorflow"

    @classmethod
    def load(
        cls, run_dir: str | Path, *, decoding: str | None = None, compiled: bool | None = None, onnx: bool | None = None
    ) -> Predictor:
        folder = run_folder.RunFolder(Path(run_dir))
        folder.check_complete()
        config = folder.read_json(run_folder.CONFIG_FILE)
        model, features = load_run_model(folder, config)
        train_config = config.get("train_config", {})
        return cls(
            model,
            features,
            max_len=int(config.get("max_len", 128)),
            run_id=folder.run_id,
            model_name=config.get("model", ""),
            output=config.get("output", "softmax"),
            default_decoding=decoding or train_config.get("decoding", "argmax"),
            compiled=compiled,
            onnx=onnx_backend.enabled() if onnx is None else onnx,
        )

    # ------------------------------------------------------------------ tagging

    def probabilities(self, batch: Sequence[Sequence[str]]) -> list[np.ndarray]:
        """Per sentence ``[len, num_tags]`` model outputs (probabilities; CRF potentials for a CRF
        model), windows stitched for long sentences."""
        windows: list[tuple[int, int, int]] = []  # (sentence, start, end)
        for index, words in enumerate(batch):
            for start in _window_starts(len(words), self.max_len):
                windows.append((index, start, min(len(words), start + self.max_len)))
        order = sorted(range(len(windows)), key=lambda w: windows[w][2] - windows[w][1])
        window_probs: list[np.ndarray | None] = [None] * len(windows)
        for offset in range(0, len(order), BATCH_SIZE):
            chunk = order[offset : offset + BATCH_SIZE]
            token_lists = [batch[windows[w][0]][windows[w][1] : windows[w][2]] for w in chunk]
            scores = self._run(token_lists)
            for row, w in enumerate(chunk):
                window_probs[w] = scores[row, : len(token_lists[row])]
        stitched = [np.zeros((len(words), len(self.tag_names)), dtype="float32") for words in batch]
        best_margin = [np.full(len(words), -1) for words in batch]
        for (sentence, start, end), probs in zip(windows, window_probs):
            positions = np.arange(start, end)
            # Prefer the window in which a token has the most context on both sides;
            # a window touching the sentence edge has all the context there is on that side.
            unbounded = len(batch[sentence]) + 1
            left = positions - start if start > 0 else np.full(len(positions), unbounded)
            right = end - 1 - positions if end < len(batch[sentence]) else np.full(len(positions), unbounded)
            margin = np.minimum(left, right)
            better = margin > best_margin[sentence][start:end]
            stitched[sentence][start:end][better] = probs[better]
            best_margin[sentence][start:end][better] = margin[better]
        return stitched

    def _run(self, token_lists: list[Sequence[str]]) -> np.ndarray:
        """Model outputs ``[rows, length, K]`` for token lists of at most ``max_len`` tokens."""
        length = max(1, max(len(t) for t in token_lists))
        if self._onnx is not None:  # no compilation per shape: exact length, no padding rows
            try:
                return self._onnx(self.features.inputs(token_lists, length), [len(t) for t in token_lists])
            except Exception as exc:  # noqa: BLE001 - an ONNX Runtime problem must not take tagging down
                logger.warning("ONNX Runtime forward pass failed (%s); using TensorFlow", exc.__class__.__name__)
                self._onnx = None
        if self.compiled:
            rows = next((b for b in BATCH_BUCKETS if b >= len(token_lists)), len(token_lists))
            step = LENGTH_BUCKETS.get(rows, 16)
            padded_length = -(-length // step) * step
            padded = list(token_lists) + [[]] * (rows - len(token_lists))
            try:
                outputs = self._forward_compiled(self.features.inputs(padded, padded_length)).numpy()
                return outputs[: len(token_lists), :length]
            except Exception as exc:  # noqa: BLE001 - an XLA problem must not take tagging down
                logger.warning("XLA forward pass failed (%s); using the plain graph", exc.__class__.__name__)
                self.compiled = False
        return self._forward(self.features.inputs(token_lists, length)).numpy()

    def tag_sentences(
        self, batch: Sequence[Sequence[str]], decoding: str | None = None, *, runner_up: bool = False
    ) -> list[tuple[list[str], list[float]]]:
        """Tags and per-token confidences for pre-tokenised sentences.

        Confidence is the probability of the chosen tag: the softmax output, or
        for a CRF model the forward-backward marginal. ``runner_up`` adds a third
        list, the best other tag's probability per token (the annotation queue's
        margin; only computed when asked). Sentences are sorted by
        length and tagged in chunks; while numpy decodes one chunk, TensorFlow
        (which releases the GIL) already runs the network on the next, so the
        two cores overlap instead of taking turns. Sentences longer than
        ``max_len`` go through the windowed path of :meth:`probabilities`.
        """
        method = decoding or self.default_decoding
        if method not in DECODING_METHODS:
            raise InputTextError(f"unknown decoding {method!r}; choose one of {', '.join(DECODING_METHODS)}.")
        results: list[tuple] = [([], [], []) if runner_up else ([], []) for _ in batch]
        fitting = sorted((i for i, words in enumerate(batch) if 0 < len(words) <= self.max_len), key=lambda i: len(batch[i]))
        chunks = [fitting[o : o + BATCH_SIZE] for o in range(0, len(fitting), BATCH_SIZE)]
        if len(chunks) == 1:
            chunk = chunks[0]
            lengths = [len(batch[i]) for i in chunk]
            self._store_decoded(results, chunk, self._run([batch[i] for i in chunk]), lengths, method, runner_up)
        elif chunks:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ner-forward") as pool:
                pending = pool.submit(self._run, [batch[i] for i in chunks[0]])
                for position, chunk in enumerate(chunks):
                    scores = pending.result()
                    if position + 1 < len(chunks):
                        pending = pool.submit(self._run, [batch[i] for i in chunks[position + 1]])
                    self._store_decoded(results, chunk, scores, [len(batch[i]) for i in chunk], method, runner_up)
        windowed = [i for i, words in enumerate(batch) if len(words) > self.max_len]
        if windowed:
            outputs = self.probabilities([batch[i] for i in windowed])
            for offset in range(0, len(windowed), BATCH_SIZE):
                chunk = list(range(offset, min(offset + BATCH_SIZE, len(windowed))))
                lengths = [len(outputs[k]) for k in chunk]
                padded = np.zeros((len(chunk), max(lengths), len(self.tag_names)), dtype="float32")
                for row, k in enumerate(chunk):
                    padded[row, : lengths[row]] = outputs[k]
                self._store_decoded(results, [windowed[k] for k in chunk], padded, lengths, method, runner_up)
        return results

    def _store_decoded(
        self, results: list, indices: Sequence[int], scores: np.ndarray, lengths: list[int], method: str, runner_up: bool = False
    ) -> None:
        for index, decoded in zip(indices, self._decode_chunk(scores, lengths, method, runner_up)):
            results[index] = decoded

    def _decode_chunk(self, padded: np.ndarray, lengths: list[int], method: str, runner_up: bool = False) -> list[tuple]:
        """Decode ``[rows, >= max(lengths), K]`` model outputs; positions past a row's length are ignored."""
        if self._crf is not None:
            transitions, start, end = self._crf
            if method == "constrained":
                allowed, start_allowed = self._allowed, self._start_allowed
            else:  # the CRF's own Viterbi; only the padding tag is excluded
                allowed, start_allowed = self._not_pad[None, :].repeat(len(self.tag_names), 0), self._not_pad
            paths = decoding_module.crf_viterbi_batch(padded, lengths, transitions, start, end, allowed, start_allowed)
            confidences = decoding_module.crf_marginals_batch(padded, lengths, transitions, start, end)
        else:
            log_probs = decoding_module.to_log_probs(padded)
            if method == "constrained":
                paths = decoding_module.constrained_viterbi_batch(log_probs, lengths, self._allowed, self._start_allowed)
            else:
                paths = decoding_module.argmax_decode(log_probs, lengths, pad_index=0)
            confidences = [padded[row, : lengths[row]] for row in range(len(lengths))]
        names = self.tag_names
        # Constrained Viterbi only walks IOB2-valid transitions; the other paths can leave a stray I-X,
        # which users and metrics both get repaired to valid IOB2.
        repair = method != "constrained"
        decoded = []
        for path, scores in zip(paths, confidences):
            tag_list = [names[i] for i in path]
            if repair:
                repaired = tagging.repair_iob2(tag_list)
                if repaired != tag_list:
                    tag_list = repaired
                    path = np.asarray([self.features.tag_vocab.index(t) for t in tag_list])
            chosen = scores[np.arange(len(path)), path].tolist()
            other = decoding_module.best_other(scores, path).tolist() if runner_up else None
            decoded.append((tag_list, chosen) if other is None else (tag_list, chosen, other))
        return decoded

    def predict(self, text: str, *, decoding: str | None = None) -> Prediction:
        """Tokenise free text, tag every sentence, and assemble entities with character offsets."""
        if not isinstance(text, str):
            raise InputTextError("text to tag must be a string.")
        if len(text) > MAX_TEXT_CHARS:
            raise InputTextError(
                f"text is {len(text):,} characters; the limit is {MAX_TEXT_CHARS:,}. Split it into smaller parts."
            )
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InputTextError(
                f"text is not valid Unicode (a lone surrogate at character {exc.start:,}); "
                "decode the bytes as UTF-8 (or their real encoding) before tagging."
            ) from None
        started = time.perf_counter()
        method = decoding or self.default_decoding
        sentences = tokenize_sentences(text)
        tagged = self.tag_sentences([[t.text for t in s] for s in sentences], method) if sentences else []
        tokens: list[TokenTag] = []
        entities: list[Entity] = []
        ranges: list[tuple[int, int]] = []
        for sentence_tokens, (tag_list, confidences) in zip(sentences, tagged):
            first = len(tokens)
            tokens.extend(
                TokenTag(t.text, t.start, t.end, tag, conf) for t, tag, conf in zip(sentence_tokens, tag_list, confidences)
            )
            ranges.append((first, len(tokens)))
            entities.extend(spans_to_entities(text, sentence_tokens, tag_list, confidences, offset=first))
        return Prediction(
            text, tokens, entities, ranges, self.run_id, self.model_name, method, (time.perf_counter() - started) * 1000
        )

    def count_params(self) -> int:
        return int(self.model.count_params())


def spans_to_entities(
    text: str, tokens: Sequence[Token], tag_list: Sequence[str], confidences: Sequence[float], *, offset: int = 0
) -> list[Entity]:
    """Entities with character offsets; confidence is the mean of the entity's token confidences."""
    entities = []
    for span in tagging.extract_spans(tag_list):
        start, end = tokens[span.start].start, tokens[span.end - 1].end
        confidence = float(np.mean(confidences[span.start : span.end]))
        entities.append(Entity(span.type, text[start:end], start, end, confidence, offset + span.start, offset + span.end))
    return entities


def entities_of_words(words: Sequence[str], tag_list: Sequence[str], confidences: Sequence[float]) -> list[Entity]:
    """Entities of pre-tokenised words, with offsets into the words joined by single spaces.

    This is the text a request for ``words`` carries (the A/B simulator logs it), so the
    same :func:`spans_to_entities` assembles entities for typed text and for token lists.
    """
    tokens, start = [], 0
    for word in words:
        tokens.append(Token(word, start, start + len(word)))
        start += len(word) + 1
    return spans_to_entities(" ".join(words), tokens, tag_list, confidences)


_CACHE: dict[tuple[str, str | None], Predictor] = {}
_CACHE_LOCK = threading.Lock()


def cached_predictor(run_dir: str | Path, decoding: str | None = None) -> Predictor:
    """One predictor per run folder per process (the CLI, evaluation and the simulator share it)."""
    key = (str(Path(run_dir).resolve()), decoding)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = Predictor.load(run_dir, decoding=decoding)
        return _CACHE[key]
