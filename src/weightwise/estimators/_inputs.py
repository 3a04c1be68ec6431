"""Arrays in and out of every estimator here: validating ``X``, choosing the network's library, and
returning results in the caller's library.

A result follows its input: a PyTorch tensor in gives a tensor out on the input's device; NumPy
in gives NumPy out in ``X``'s floating dtype. ``like`` records which, as ``("torch", device)`` or
``("numpy", dtype)``.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np
from sklearn.utils.validation import validate_data

from ..net.backend import Array, to_numpy
from ..net.network import Network
from ..net.validation import check_matrix


def is_torch(x: Any) -> bool:
    """Whether ``x`` is a PyTorch tensor."""
    return bool(array_api_compat.is_torch_array(x))


def float_dtypes(dtype: str) -> list[type]:
    """The float dtypes ``validate_data`` may keep, the network's ``dtype`` first.

    Float input keeps its dtype; integer input (uint8 images) goes straight to the network's
    dtype, never through a float64 copy.
    """
    return [np.float32, np.float64] if dtype == "float32" else [np.float64, np.float32]


def validate_input(est: Any, X: Any, reset: bool) -> tuple[Array, Any]:
    """Checked ``X`` of shape (n_samples, n_features) and ``like``, how to return results.

    Tensors keep their library and device (only their shape, names and values are checked);
    everything else goes through scikit-learn's ``validate_data``, whose messages the estimator
    checks expect. ``reset`` records ``n_features_in_`` (fitting) instead of checking it.
    """
    if is_torch(X):
        # detach: the engine computes its own gradients; autograd history would only grow.
        X = check_matrix(X.detach(), "X")
        validate_data(est, X, skip_check_array=True, reset=reset)
        return X, ("torch", X.device)
    X = validate_data(est, X, reset=reset, dtype=float_dtypes(est.dtype))
    return X, ("numpy", X.dtype)


def placement(backend: str, device: Any, X: Array) -> tuple[str, Any]:
    """The library and device a new network trains on, for ``X`` and the ``backend``/``device``
    settings: ``"auto"`` follows ``X``, and a ``device`` means PyTorch."""
    if backend == "auto":
        backend = "torch" if is_torch(X) or device is not None else "numpy"
    if device is None and backend == "torch":
        device = X.device if is_torch(X) else "cpu"
    return backend, device


def returned(a: Array, like: Any) -> Any:
    """``a`` in the caller's library: a tensor on the input's device, or NumPy in X's dtype."""
    if like[0] == "torch":
        import torch

        return a.to(like[1]) if is_torch(a) else torch.as_tensor(a, device=like[1])
    out = to_numpy(a)
    return out.astype(like[1], copy=False) if out.dtype.kind == "f" else out


def like_network(net: Network) -> Any:
    """``like`` for results that have no input to follow (samples drawn from a model)."""
    return ("torch", net.device) if is_torch(net.layers[0].W) else ("numpy", None)
