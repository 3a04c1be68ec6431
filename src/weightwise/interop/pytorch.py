"""PyTorch in and out: :func:`to_torch`, :func:`from_torch`, :func:`export_torch`, :func:`load_torch`.

A weightwise :class:`~weightwise.net.network.Network` is a chain of dense layers ``f(x @ W + b)``;
in PyTorch the same function is a :class:`torch.nn.Sequential` of ``nn.Linear`` modules, each
followed by one activation module. ``nn.Linear`` keeps ``weight`` of shape (n_out, n_in), so
``linear.weight == W.T``. The activations map one to one (:data:`TORCH_MODULES`); every one in
:data:`weightwise.ACTIVATIONS` has a module.

Arrays are always **copied**, both ways and on both backends. Sharing would be possible on the
torch backend (``W.T`` is a view), but the two sides update weights differently: PyTorch's
optimisers replace ``.grad`` and step ``nn.Parameter`` leaves that autograd refuses to see changed
in place, while weightwise's optimisers and layer-wise learners write into ``W`` in place. A copy
keeps each side free to train its own.

The module description (:func:`describe`) is plain JSON: ``[{"type": "Linear", "in_features":
64, "out_features": 32}, {"type": "Sigmoid"}, ...]``. :func:`export_torch` writes it with the
state dict in one safetensors file (no pickle, and no PyTorch needed to write it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .._util import atomic_write_bytes
from .._version import __version__
from ..errors import ConfigError, ModelFileError
from ..net.activations import LEAKY_SLOPE
from ..net.network import Dense, Network
from ._models import host_arrays, resolve

__all__ = ["TORCH_FORMAT", "TORCH_MODULES", "describe", "export_torch", "from_torch", "load_torch"]

TORCH_FORMAT = "weightwise-torch"
_FORMAT_VERSION = "1"

TORCH_MODULES: dict[str, dict[str, Any]] = {
    "sigmoid": {"type": "Sigmoid"},
    "tanh": {"type": "Tanh"},
    "relu": {"type": "ReLU"},
    "leaky_relu": {"type": "LeakyReLU", "negative_slope": LEAKY_SLOPE},
    "softplus": {"type": "Softplus"},
    "identity": {"type": "Identity"},
    # Rows are samples: normalise over the classes, dim 1.
    "softmax": {"type": "Softmax", "dim": 1},
}
"""weightwise activation name -> the PyTorch module that computes it, as a JSON description."""

_ACTIVATION_OF = {spec["type"]: name for name, spec in TORCH_MODULES.items()}
_OUTPUT_SQUASHES = ("softmax", "sigmoid")


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError("this needs PyTorch: pip install 'weightwise[torch]'") from None
    return torch


# weightwise -> description ------------------------------------------------------------------------
def describe(model: Any, logits: bool = False) -> list[dict[str, Any]]:
    """The :class:`torch.nn.Sequential` that computes ``model``, as a JSON-able list of modules.

    Parameters
    ----------
    model : Network, fitted estimator or path
        See :func:`to_torch`.
    logits : bool
        Leave out a final softmax or sigmoid.

    Raises
    ------
    ConfigError
        An activation without a PyTorch module, ``logits=True`` on another output activation, or
        a model (a pre-trained stack's file) whose inputs were scaled.
    """
    return _describe(_network(model), logits)


def _network(model: Any) -> Network:
    found = resolve(model)
    if found.scaling is not None:
        raise ConfigError(
            f"{found.name} was pre-trained on scaled inputs ((X - offset) / scale), which a "
            "Sequential of Linear layers does not hold; export it to ONNX (export_onnx keeps the "
            "scaling) or scale X yourself"
        )
    return found.network


def _describe(net: Network, logits: bool) -> list[dict[str, Any]]:
    modules: list[dict[str, Any]] = []
    last = len(net.layers) - 1
    for l, layer in enumerate(net.layers):
        modules.append({"type": "Linear", "in_features": layer.n_in, "out_features": layer.n_out})
        name = layer.activation.name
        if l == last and logits:
            if name not in _OUTPUT_SQUASHES:
                raise ConfigError(
                    f"logits=True drops a softmax or sigmoid output layer's activation, but the "
                    f"output layer is {name!r}; its outputs are already what the loss takes"
                )
            continue
        if name not in TORCH_MODULES:
            raise ConfigError(
                f"layer {l + 1}'s activation {name!r} has no PyTorch module; supported: "
                f"{', '.join(TORCH_MODULES)}"
            )
        modules.append(dict(TORCH_MODULES[name]))
    return modules


def _state_dict(net: Network, description: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """``{"0.weight": W.T, "0.bias": b, ...}`` keyed by each Linear's index in the Sequential."""
    linear_at = [i for i, m in enumerate(description) if m["type"] == "Linear"]
    state = {}
    for i, (W, b) in zip(linear_at, host_arrays(net), strict=True):
        state[f"{i}.weight"] = np.ascontiguousarray(W.T)
        state[f"{i}.bias"] = b
    return state


# description -> torch ---------------------------------------------------------------------------
def _build(description: list[dict[str, Any]], dtype: Any = None, device: Any = None) -> Any:
    """A :class:`torch.nn.Sequential` from a description (parameters freshly initialised)."""
    nn = _torch().nn
    modules = []
    for i, spec in enumerate(description):
        kind = spec.get("type")
        args = {k: v for k, v in spec.items() if k != "type"}
        if kind == "Linear":
            modules.append(nn.Linear(**args, bias=True, dtype=dtype, device=device))
        elif kind in _ACTIVATION_OF:
            modules.append(getattr(nn, str(kind))(**args))
        else:
            raise ConfigError(f"module {i} has unknown type {kind!r}")
    return nn.Sequential(*modules)


def _load_state(seq: Any, state: dict[str, np.ndarray]) -> None:
    torch = _torch()
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}
    seq.load_state_dict(tensors, strict=True)  # copies into the Parameters, converting dtype


def to_torch(model: Any, *, logits: bool = False, dtype: Any = None, device: Any = None) -> Any:
    """The model as a :class:`torch.nn.Sequential` of ``Linear`` and activation modules.

    Parameters
    ----------
    model : Network, fitted estimator or path
        A :class:`Network`; a fitted :class:`BPClassifier` or :class:`BPRegressor` (its
        ``network_``); a fitted :class:`RBM`, :class:`DBN` or :class:`StackedAutoEncoder` (the
        module computes ``transform``); or the path of a weightwise model file.
    logits : bool, default=False
        By default the Sequential ends with the output layer's activation, so it returns what
        ``Network.predict`` returns: ``predict_proba`` of a softmax classifier (including
        ``nn.Softmax(dim=1)``), ``predict_proba[:, 1]`` of a binary classifier with one sigmoid
        unit, ``predict`` of a regressor, ``transform`` of a stack. ``logits=True`` drops a final
        softmax or sigmoid, for ``nn.CrossEntropyLoss`` or ``nn.BCEWithLogitsLoss``.
    dtype : torch.dtype, optional
        Default: the network's dtype (float32 or float64).
    device : str or torch.device, optional

    Returns
    -------
    torch.nn.Sequential
        ``2 L`` modules for ``L`` layers (``2 L - 1`` with ``logits``): ``Linear`` with
        ``weight = W.T`` (shape (n_out, n_in)) and ``bias = b``, then the activation. The
        parameters are **copies**: training either side leaves the other unchanged.

    Raises
    ------
    ConfigError
        An unfitted estimator; an activation PyTorch has no module for; ``logits=True`` with an
        output activation other than softmax or sigmoid.
    ImportError
        Without PyTorch.
    """
    torch = _torch()
    net = _network(model)
    description = _describe(net, logits)
    if dtype is None:
        dtype = getattr(torch, str(np.dtype(host_arrays(net)[0][0].dtype)))
    seq = _build(description, dtype, device)
    _load_state(seq, _state_dict(net, description))
    return seq


# torch -> weightwise -----------------------------------------------------------------------------
def _flatten(module: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``(name, module)`` of a Sequential's leaves, nested Sequentials opened (``"2.0"``)."""
    nn = _torch().nn
    out = []
    for name, child in module.named_children():
        full = f"{prefix}{name}"
        if isinstance(child, nn.Sequential):
            out.extend(_flatten(child, full + "."))
        else:
            out.append((full, child))
    return out


def _activation_name(child: Any, where: str) -> str | None:
    """The weightwise activation a module computes; None for modules that are the identity at
    inference (Dropout); ConfigError for settings weightwise lacks."""
    nn = _torch().nn
    kind = type(child).__name__
    if isinstance(child, nn.Dropout):
        return None
    if kind not in _ACTIVATION_OF or type(child) is not getattr(nn, kind):
        return ""
    if isinstance(child, nn.LeakyReLU) and child.negative_slope != LEAKY_SLOPE:
        raise ConfigError(
            f"{where}: LeakyReLU(negative_slope={child.negative_slope}) differs from weightwise's "
            f"leaky_relu (slope {LEAKY_SLOPE})"
        )
    if isinstance(child, nn.Softmax) and child.dim not in (1, -1):
        raise ConfigError(f"{where}: Softmax(dim={child.dim}) must normalise over the features (dim=1)")
    # Softplus switches to x beyond `threshold`; from 20 on, the two differ by under 2e-9.
    if isinstance(child, nn.Softplus) and (child.beta != 1 or child.threshold < 20):
        raise ConfigError(f"{where}: weightwise's softplus has beta=1 and no threshold below 20")
    return _ACTIVATION_OF[kind]


def from_torch(module: Any, *, dtype: Any = None, backend: str = "numpy", device: Any = None) -> Network:
    """A :class:`Network` from a :class:`torch.nn.Sequential` of ``Linear`` and activation modules.

    Each ``nn.Linear`` becomes a :class:`Dense` layer with ``W = weight.T``, activated by the
    module after it (:data:`TORCH_MODULES`: Sigmoid, Tanh, ReLU, LeakyReLU(0.01), Softplus,
    Identity, Softmax(dim=1)); a final ``Linear`` without one is an identity (logits) layer.
    ``nn.Dropout`` is skipped (the identity at inference); nested Sequentials are opened. A
    ``Linear`` without bias gets a zero bias.

    Parameters
    ----------
    module : torch.nn.Sequential
    dtype : {"float32", "float64"}, optional
        Default: the dtype of the first Linear's weight.
    backend : {"numpy", "torch"}
        Array library of the network.
    device : str, optional
        PyTorch device (torch backend).

    Returns
    -------
    Network
        With **copies** of the parameters (see the module docstring).

    Raises
    ------
    ConfigError
        Anything else, named with its position: a module of another kind (a Conv2d, a
        BatchNorm), two Linears in a row, an activation that follows no Linear, settings that
        weightwise's activations lack, widths that do not chain.
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Sequential):
        raise ConfigError(
            f"from_torch needs a torch.nn.Sequential of Linear and activation modules, got "
            f"{type(module).__name__}"
        )
    layers: list[tuple[np.ndarray, np.ndarray, str]] = []
    pending: tuple[np.ndarray, np.ndarray] | None = None
    for name, child in _flatten(module):
        where = f"module {name} ({type(child).__name__})"
        if isinstance(child, torch.nn.Linear):
            if pending is not None:
                raise ConfigError(
                    f"{where} follows another Linear; weightwise layers each have an activation: "
                    "put nn.Identity() between them for a linear layer"
                )
            W = child.weight.detach().cpu().numpy().T.copy()
            b = np.zeros(W.shape[1], W.dtype)
            if child.bias is not None:
                b = child.bias.detach().cpu().numpy().copy()
            pending = (W, b)
            continue
        act = _activation_name(child, where)
        if act is None:
            continue
        if not act:
            raise ConfigError(
                f"from_torch cannot convert {where}: weightwise networks are Linear layers each "
                f"followed by one of {', '.join(m['type'] for m in TORCH_MODULES.values())}"
            )
        if pending is None:
            raise ConfigError(f"{where} follows no Linear layer; each activation needs one")
        layers.append((*pending, act))
        pending = None
    if pending is not None:
        layers.append((*pending, "identity"))
    if not layers:
        raise ConfigError("from_torch needs at least one Linear layer; the Sequential has none")
    return _network_from(layers, dtype, backend, device)


def _network_from(
    layers: list[tuple[np.ndarray, np.ndarray, str]], dtype: Any, backend: str, device: Any
) -> Network:
    from ..net.backend import dtype_name

    try:
        name = dtype_name(np.dtype(dtype) if dtype is not None else layers[0][0].dtype)
    except (TypeError, ValueError):
        raise ConfigError(
            f"the Sequential's weights are {layers[0][0].dtype}; pass dtype='float32' or 'float64'"
        ) from None
    host = Network([Dense(W.astype(name), b.astype(name), act) for W, b, act in layers])
    return host if backend == "numpy" else host.to(backend, name, device)


# files ------------------------------------------------------------------------------------------
def export_torch(model: Any, path: str | os.PathLike[str], *, logits: bool = False) -> Path:
    """Write the model as a PyTorch state dict plus its module description, in one safetensors file.

    The tensors are the ``state_dict()`` of :func:`to_torch`'s Sequential (``"0.weight"`` of
    shape (n_out, n_in), ``"0.bias"``, ``"2.weight"``, ...); the header's metadata holds
    ``format = "weightwise-torch"`` and ``modules``, the JSON description (:func:`describe`).
    Nothing is pickled, and writing needs no PyTorch. Read it with :func:`load_torch`, or in
    plain PyTorch with ``safetensors.torch.load_file`` and the description.

    Parameters
    ----------
    model : Network, fitted estimator or path
        As for :func:`to_torch`.
    path : str or path-like
        File to write (``.safetensors``); written to a temporary name and moved into place, so a
        failure leaves no half-written file.
    logits : bool
        As for :func:`to_torch`.

    Returns
    -------
    Path
        The file written.
    """
    from safetensors.numpy import save

    net = _network(model)
    description = _describe(net, logits)
    meta = {
        "format": TORCH_FORMAT,
        "format_version": _FORMAT_VERSION,
        "weightwise": __version__,
        "modules": json.dumps(description),
    }
    data = save(_state_dict(net, description), metadata=meta)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    return path


def load_torch(path: str | os.PathLike[str], *, device: Any = None) -> Any:
    """The :class:`torch.nn.Sequential` written by :func:`export_torch`.

    Raises
    ------
    ModelFileError
        A file that is not a weightwise PyTorch export, or whose tensors do not match its
        description.
    """
    from safetensors import safe_open
    from safetensors.numpy import load

    path = Path(path)
    try:
        data = path.read_bytes()
        with safe_open(str(path), "np") as f:
            meta = f.metadata() or {}
        state = load(data)
    except FileNotFoundError:
        raise
    except Exception as exc:  # safetensors raises its own error types
        raise ModelFileError(f"{path} is not a safetensors file ({exc})") from None
    if meta.get("format") != TORCH_FORMAT:
        raise ModelFileError(f"{path} is not a weightwise PyTorch export (written by export_torch)")
    try:
        description = json.loads(meta["modules"])
        seq = _build(description, device=device)
        dtype = next(iter(state.values())).dtype
        seq.to(getattr(_torch(), str(dtype)))
        _load_state(seq, state)
    except (KeyError, TypeError, ValueError, RuntimeError, StopIteration) as exc:
        raise ModelFileError(
            f"{path}: its tensors do not match its module description ({exc})"
        ) from None
    return seq
