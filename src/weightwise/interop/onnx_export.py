"""ONNX out: :func:`export_onnx` writes a model any ONNX runtime can run.

The graph is built with ``onnx.helper`` from the network's arrays: per layer one ``Gemm``
(``x @ W + b``, W of shape (n_in, n_out) as stored) and one activation node (:data:`ONNX_OPS`).
The input is named ``"input"``, of shape (``batch``, n_features) with the batch dimension left
symbolic, in the network's dtype. What comes out depends on the model, so that an ONNX runtime
gives exactly what weightwise gives:

=====================  ===================================================================
model                  outputs
=====================  ===================================================================
Network                ``"output"``: ``Network.predict``
BPClassifier           ``"label"``: ``predict`` (class labels; the 0/1 indicator matrix of a
                       multi-label classifier); ``"probabilities"``: ``predict_proba``
BPRegressor            ``"predictions"``: ``predict`` (shape (batch,) for one target)
RBM, DBN, SAE          ``"features"``: ``transform``
=====================  ===================================================================

A pre-trained stack's model file that records an input scaling gets it as the graph's first nodes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .._util import atomic_write_bytes
from .._version import __version__
from ..errors import ConfigError
from ..net.activations import LEAKY_SLOPE
from ._models import Exportable, host_arrays, resolve

__all__ = ["ONNX_OPSET", "ONNX_OPS", "export_onnx", "to_onnx"]

ONNX_OPSET = 17
"""Opset of the default ONNX domain: every op used here is unchanged since 13 (Softmax's axis
semantics), and 17 runs on onnxruntime >= 1.12 and every current converter."""
_IR_VERSION = 8  # the IR of ONNX 1.12, where opset 17 came from: readable by older runtimes

ONNX_OPS: dict[str, tuple[str, dict[str, Any]]] = {
    "sigmoid": ("Sigmoid", {}),
    "tanh": ("Tanh", {}),
    "relu": ("Relu", {}),
    "leaky_relu": ("LeakyRelu", {"alpha": LEAKY_SLOPE}),
    "softplus": ("Softplus", {}),
    "identity": ("Identity", {}),
    "softmax": ("Softmax", {"axis": 1}),
}
"""weightwise activation name -> ONNX operator and attributes."""

_OUTPUT_NAMES = {"network": "output", "regressor": "predictions", "transformer": "features"}


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs onnx: pip install 'weightwise[interop]'") from None
    return onnx


class _Graph:
    """Nodes and constants of one graph, each result named ``t0, t1, ...``."""

    def __init__(self, dtype: np.dtype) -> None:
        self.onnx = _onnx()
        self.dtype = dtype
        self.nodes: list[Any] = []
        self.constants: list[Any] = []
        self._n = 0

    def _name(self) -> str:
        self._n += 1
        return f"t{self._n}"

    def const(self, value: Any, name: str, dtype: Any = None) -> str:
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        if any(c.name == name for c in self.constants):
            name = f"{name}_{self._name()}"
        self.constants.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def op(self, kind: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        out = out or self._name()
        self.nodes.append(self.onnx.helper.make_node(kind, inputs, [out], **attrs))
        return out


def to_onnx(model: Any) -> Any:
    """The model as an in-memory ``onnx.ModelProto``, checked with ``onnx.checker``.

    Parameters
    ----------
    model : Network, fitted estimator or path
        As for :func:`export_onnx`.

    Raises
    ------
    ConfigError
        An unfitted estimator; an activation ONNX has no operator for.
    ImportError
        Without the ``onnx`` package.
    """
    onnx = _onnx()
    found = resolve(model)
    weights = host_arrays(found.network)
    dtype = weights[0][0].dtype
    g = _Graph(dtype)
    x = "input"
    if found.scaling is not None:
        x = _scale(g, x, found)
    last = len(weights) - 1
    out = x
    for l, ((W, b), layer) in enumerate(zip(weights, found.network.layers, strict=True)):
        name = layer.activation.name
        if name not in ONNX_OPS:
            raise ConfigError(
                f"layer {l + 1}'s activation {name!r} has no ONNX operator; supported: "
                f"{', '.join(ONNX_OPS)}"
            )
        z = g.op("Gemm", [out, g.const(W, f"W{l + 1}"), g.const(b, f"b{l + 1}")])
        final = l == last and found.kind in _OUTPUT_NAMES and found.kind != "regressor"
        out = _activation(g, name, z, _OUTPUT_NAMES[found.kind] if final else None)
    outputs = _heads(g, out, found)
    elem = onnx.helper.np_dtype_to_tensor_dtype(dtype)
    graph = onnx.helper.make_graph(
        g.nodes,
        f"weightwise_{found.kind}",
        [onnx.helper.make_tensor_value_info("input", elem, ["batch", found.network.sizes[0]])],
        outputs,
        g.constants,
    )
    proto = onnx.helper.make_model(
        graph,
        opset_imports=[onnx.helper.make_opsetid("", ONNX_OPSET)],
        producer_name="weightwise",
        producer_version=__version__,
        doc_string=f"{found.name} {'-'.join(map(str, found.network.sizes))} "
        f"({', '.join(found.network.activation_names)})",
    )
    proto.ir_version = _IR_VERSION
    onnx.checker.check_model(proto, full_check=True)
    return proto


def _activation(g: _Graph, name: str, z: str, out: str | None) -> str:
    """The activation node(s) of ``name`` on ``z``."""
    if name == "softplus" and g.dtype == np.float64:
        # onnxruntime has no float64 Softplus kernel: max(z, 0) + log(1 + exp(-|z|)), the form
        # weightwise computes, from ops every runtime has in float64.
        tail = g.op(
            "Log",
            [g.op("Add", [g.const(1.0, "one_sp"), g.op("Exp", [g.op("Neg", [g.op("Abs", [z])])])])],
        )
        return g.op("Add", [g.op("Relu", [z]), tail], out)
    if name == "leaky_relu" and g.dtype == np.float64:
        # LeakyRelu's alpha is a float32 attribute (off by 2e-10); max(z, 0.01 z) is exact.
        return g.op("Max", [z, g.op("Mul", [z, g.const(LEAKY_SLOPE, "slope")])], out)
    kind, attrs = ONNX_OPS[name]
    return g.op(kind, [z], out, **attrs)


def _scale(g: _Graph, x: str, found: Exportable) -> str:
    """``(x - offset) / scale``, clipped to [0, 1] after min-max scaling."""
    assert found.scaling is not None
    s = found.scaling
    x = g.op(
        "Div", [g.op("Sub", [x, g.const(s.offset, "input_offset")]), g.const(s.scale, "input_scale")]
    )
    if s.clip:
        x = g.op("Clip", [x, g.const(0.0, "clip_low"), g.const(1.0, "clip_high")])
    return x


def _heads(g: _Graph, out: str, found: Exportable) -> list[Any]:
    """The graph's outputs: predict (and predict_proba) of an estimator, else ``out`` itself."""
    helper = g.onnx.helper
    elem = helper.np_dtype_to_tensor_dtype(g.dtype)
    n_out = found.network.sizes[-1]
    if found.kind == "regressor":
        if n_out == 1:  # predict returns shape (n_samples,) for one target
            g.op("Squeeze", [out, g.const([1], "squeeze_axis", np.int64)], "predictions")
            return [helper.make_tensor_value_info("predictions", elem, ["batch"])]
        g.op("Identity", [out], "predictions")
        return [helper.make_tensor_value_info("predictions", elem, ["batch", n_out])]
    if found.kind != "classifier":
        return [helper.make_tensor_value_info(out, elem, ["batch", n_out])]
    assert found.classes is not None
    if found.multilabel:
        g.op("Identity", [out], "probabilities")
        hit = g.op("Greater", [out, g.const(0.5, "half")])
        g.op("Cast", [hit], "label", to=g.onnx.TensorProto.INT64)
        label = helper.make_tensor_value_info("label", g.onnx.TensorProto.INT64, ["batch", n_out])
    else:
        if found.head == "binary":  # one sigmoid unit p: [1 - p, p], as predict_proba
            g.op("Concat", [g.op("Sub", [g.const(1.0, "one"), out]), out], "probabilities", axis=1)
        elif found.head == "normalize":  # independent sigmoid units, divided by their row sum
            total = g.op("ReduceSum", [out, g.const([1], "class_axis", np.int64)], keepdims=1)
            g.op("Div", [out, total], "probabilities")
        else:
            g.op("Identity", [out], "probabilities")
        index = g.op("ArgMax", ["probabilities"], axis=1, keepdims=0)
        classes, elem_label = _classes(g, found.classes)
        g.op("Gather", [classes, index], "label", axis=0)
        label = helper.make_tensor_value_info("label", elem_label, ["batch"])
    n_proba = 2 if found.head == "binary" else n_out
    return [label, helper.make_tensor_value_info("probabilities", elem, ["batch", n_proba])]


def _classes(g: _Graph, classes: np.ndarray) -> tuple[str, int]:
    """The classes as a constant tensor, and its ONNX element type."""
    tp = g.onnx.TensorProto
    kind = classes.dtype.kind
    if kind in "biu":
        return g.const(classes, "classes", np.int64), tp.INT64
    if kind == "f":
        return g.const(classes, "classes", np.float64), tp.DOUBLE
    if kind in "UO" and all(isinstance(c, str) for c in classes.tolist()):
        tensor = g.onnx.helper.make_tensor(
            "classes", tp.STRING, [len(classes)], [c.encode() for c in classes.tolist()]
        )
        g.constants.append(tensor)
        return "classes", tp.STRING
    raise ConfigError(f"class labels of dtype {classes.dtype} cannot go into ONNX; use ints or strings")


def export_onnx(model: Any, path: str | os.PathLike[str]) -> Path:
    """Write the model as an ONNX file (opset :data:`ONNX_OPSET`), checked by ``onnx.checker``.

    Run it with ``onnxruntime.InferenceSession(path).run(None, {"input": X})``; ``X`` in the
    model's dtype (float32 unless trained in float64). The outputs are listed in the module
    docstring and equal weightwise's to float rounding (1e-5 and better in float32).

    Parameters
    ----------
    model : Network, fitted estimator or path
        A :class:`Network`, a fitted :class:`BPClassifier`, :class:`BPRegressor`, :class:`RBM`,
        :class:`DBN` or :class:`StackedAutoEncoder`, or the path of a weightwise model file.
    path : str or path-like
        File to write (``.onnx``). The model is built and checked first, then written to a
        temporary name and moved into place: an error leaves nothing half-written.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ConfigError
        An unfitted estimator; an activation ONNX has no operator for.
    ImportError
        Without the ``onnx`` package (``pip install 'weightwise[interop]'``).
    """
    data = to_onnx(model).SerializeToString()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        atomic_write_bytes(path, data)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
