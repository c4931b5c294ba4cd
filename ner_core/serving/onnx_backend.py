"""The predictor's fastest forward pass: a saved Keras model rebuilt as an ONNX graph for ONNX Runtime.

Why: on this 2-core CPU, ONNX Runtime's fused LSTM kernel runs ``model2`` about
2x faster than the XLA-compiled Keras graph on 256-sentence batches and 5-7x
faster on a single sentence (``bench/accuracy_speed.py`` measures both in the
same run), with no per-shape compilation at all.

Why by hand and not with a converter: tf2onnx does not follow Keras 3 and
TensorFlow 2.21, and the models it would have to convert are plain chains of a
few layer types. :func:`export` walks the chain and emits one ONNX node group
per layer (Embedding as Gather, LSTM/Bidirectional as the ONNX ``LSTM`` op with
``sequence_lens`` so padding is skipped exactly as Keras' mask does, Dense as
MatMul+Add+activation). Any other layer or option makes it return ``None`` and
the predictor keeps the TensorFlow path: that is how ``char_bilstm_crf`` (char
CNN, CRF) is served.

Weights are copied at export time: a model whose weights change afterwards
(the trainer's per-epoch validation) must not use this backend.
"""

from __future__ import annotations

import os

import numpy as np

ONNX_ENV = "NER_ONNX"  # "0" keeps every model on the TensorFlow path
OPSET = 17
_ACTIVATIONS = {"linear": None, "relu": "Relu", "softmax": "Softmax", "tanh": "Tanh", "sigmoid": "Sigmoid"}


def enabled() -> bool:
    """ONNX Runtime is used unless ``NER_ONNX=0`` or it is not installed."""
    if os.environ.get(ONNX_ENV, "1") == "0":
        return False
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class OnnxForward:
    """Word ids ``[rows, time]`` (0 = padding) and lengths in, model outputs ``[rows, time, tags]`` out."""

    def __init__(self, model_bytes: bytes, threads: int | None = None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or (os.cpu_count() or 1)
        options.log_severity_level = 3  # warnings about unused initialisers and the like are not ours to fix
        self.session = onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
        self._takes_lengths = any(i.name == "lengths" for i in self.session.get_inputs())  # only recurrent graphs

    def __call__(self, word_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        feed = {"word_ids": np.ascontiguousarray(word_ids, dtype=np.int32)}  # the encoder's dtype: no copy
        if self._takes_lengths:
            # ONNX's LSTM needs a length of at least 1; an empty row's outputs are never read.
            feed["lengths"] = np.maximum(np.asarray(lengths, dtype=np.int32), 1)
        return self.session.run(["outputs"], feed)[0]


def export(model) -> bytes | None:
    """The model as a serialised ONNX graph, or None when it uses anything this exporter does not know."""
    try:
        return _Exporter(model).build()
    except _Unsupported:
        return None


class _Unsupported(Exception):
    pass


class _Exporter:
    def __init__(self, model):
        self.model = model
        self.nodes: list = []
        self.initializers: list = []
        self.uses_lengths = False
        self._count = 0

    def name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def constant(self, array: np.ndarray, stem: str) -> str:
        from onnx import numpy_helper

        name = self.name(stem)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], stem: str, *, output: str | None = None, **attributes) -> str:
        from onnx import helper

        output = output or self.name(stem)
        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    # ------------------------------------------------------------------ layers

    def build(self) -> bytes:
        from onnx import TensorProto, checker, helper

        layers = self._chain()
        x = None  # time-major [time, rows, features] from the embedding on
        for layer in layers:
            kind = layer.__class__.__name__
            if kind == "Embedding":
                if x is not None:
                    raise _Unsupported("an embedding after the first layer")
                ids = self.node("Transpose", ["word_ids"], "ids_time_major", perm=[1, 0])
                table = self.constant(np.asarray(layer.embeddings, dtype=np.float32), "embedding")
                x = self.node("Gather", [table, ids], "embedded")
            elif x is None:
                raise _Unsupported(f"{kind} before the embedding")
            elif kind in ("Dropout", "SpatialDropout1D", "GaussianNoise"):
                continue  # identity at inference
            elif kind == "Bidirectional":
                x = self._bidirectional(layer, x)
            elif kind == "LSTM":
                x = self._lstm([layer], x, direction="forward")
            elif kind == "Dense":
                x = self._dense(layer, x)
            else:
                raise _Unsupported(kind)
        self.node("Transpose", [x], "batch_major", output="outputs", perm=[1, 0, 2])
        inputs = [helper.make_tensor_value_info("word_ids", TensorProto.INT32, ["rows", "time"])]
        if self.uses_lengths:
            inputs.append(helper.make_tensor_value_info("lengths", TensorProto.INT32, ["rows"]))
        output_units = int(self.model.outputs[0].shape[-1])
        graph = helper.make_graph(
            self.nodes,
            self.model.name or "model",
            inputs,
            [helper.make_tensor_value_info("outputs", TensorProto.FLOAT, ["rows", "time", output_units])],
            initializer=self.initializers,
        )
        onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        checker.check_model(onnx_model)
        return onnx_model.SerializeToString()

    def _chain(self) -> list:
        """The model's layers when they form one straight chain from one word-id input to one output."""
        model = self.model
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise _Unsupported("several inputs or outputs")
        layers = [layer for layer in model.layers if layer.__class__.__name__ != "InputLayer"]
        previous = model.inputs[0]
        for layer in layers:
            try:
                inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
            except (AttributeError, ValueError):
                raise _Unsupported(f"{layer.name} has several inbound nodes") from None
            # A recurrent wrapper also receives the embedding's mask as a second input; sequence_lens replaces it.
            if inputs[0] is not previous or any(str(extra.dtype) != "bool" for extra in inputs[1:]):
                raise _Unsupported(f"{layer.name} is not fed by the layer before it")
            previous = layer.output
        if previous is not model.outputs[0]:
            raise _Unsupported("the last layer is not the output")
        return layers

    def _dense(self, layer, x: str) -> str:
        activation = _activation_name(layer.activation)
        if activation not in _ACTIVATIONS:
            raise _Unsupported(f"Dense activation {activation}")
        x = self.node("MatMul", [x, self.constant(np.asarray(layer.kernel, dtype=np.float32), "kernel")], "matmul")
        if layer.use_bias:
            x = self.node("Add", [x, self.constant(np.asarray(layer.bias, dtype=np.float32), "bias")], "dense")
        op = _ACTIVATIONS[activation]
        if op == "Softmax":
            return self.node(op, [x], "softmax", axis=-1)
        return self.node(op, [x], activation) if op else x

    def _bidirectional(self, layer, x: str) -> str:
        if layer.merge_mode != "concat":
            raise _Unsupported(f"Bidirectional merge_mode {layer.merge_mode}")
        forward, backward = layer.forward_layer, layer.backward_layer
        if forward.__class__.__name__ != "LSTM" or backward.__class__.__name__ != "LSTM":
            raise _Unsupported("a Bidirectional wrapper around something else than LSTM")
        if forward.go_backwards or not backward.go_backwards:
            raise _Unsupported("unusual Bidirectional directions")
        return self._lstm([forward, backward], x, direction="bidirectional")

    def _lstm(self, lstms: list, x: str, direction: str) -> str:
        """ONNX LSTM over time-major ``x``; returns ``[time, rows, directions * units]``."""
        units = lstms[0].units
        weights, recurrent, biases = [], [], []
        for lstm in lstms:
            cell = lstm.cell
            if lstm.go_backwards and direction == "forward":
                raise _Unsupported("a lone backwards LSTM")
            if not lstm.return_sequences or lstm.stateful:
                raise _Unsupported("an LSTM that does not return its whole sequence")
            if (_activation_name(cell.activation), _activation_name(cell.recurrent_activation)) != ("tanh", "sigmoid"):
                raise _Unsupported("LSTM activations other than tanh/sigmoid")
            if not cell.use_bias:
                raise _Unsupported("an LSTM without bias")
            # Keras orders the gates i, f, c(andidate), o; ONNX wants i, o, f, c.
            weights.append(_onnx_gate_order(np.asarray(cell.kernel, dtype=np.float32)).T)
            recurrent.append(_onnx_gate_order(np.asarray(cell.recurrent_kernel, dtype=np.float32)).T)
            biases.append(
                np.concatenate([_onnx_gate_order(np.asarray(cell.bias, dtype=np.float32)), np.zeros(4 * units, dtype=np.float32)])
            )
        self.uses_lengths = True
        y = self.node(
            "LSTM",
            [
                x,
                self.constant(np.stack(weights), "lstm_w"),
                self.constant(np.stack(recurrent), "lstm_r"),
                self.constant(np.stack(biases), "lstm_b"),
                "lengths",
            ],
            "lstm",
            direction=direction,
            hidden_size=units,
        )  # [time, directions, rows, units]
        y = self.node("Transpose", [y], "lstm_time_rows", perm=[0, 2, 1, 3])  # [time, rows, directions, units]
        shape = self.constant(np.array([0, 0, len(lstms) * units], dtype=np.int64), "concat_shape")
        return self.node("Reshape", [y, shape], "lstm_out")  # forward then backward, as Keras' concat


def _onnx_gate_order(array: np.ndarray) -> np.ndarray:
    i, f, c, o = np.split(array, 4, axis=-1)
    return np.concatenate([i, o, f, c], axis=-1)


def _activation_name(function) -> str:
    import keras

    name = keras.activations.serialize(function)
    return name if isinstance(name, str) else getattr(function, "__name__", repr(function))
