"""Central finite differences over every parameter of a network.

``gradcheck`` compares :func:`~weightwise.backpropagation.gradients.backprop` with

    dL/dw  ~=  (L(w + h) - L(w - h)) / (2 h)

for each weight and bias, reporting the largest relative error per layer,
``|analytic - numeric| / max(|analytic| + |numeric|, tiny)``. Use float64: in float32 the
truncation and rounding errors of differences are far above 1e-6.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..net.backend import Array, to_numpy
from ..net.losses import Loss, get_loss
from ..net.network import Network
from .gradients import backprop, loss_value


@dataclass
class GradCheckResult:
    """Per-layer maximum relative errors of the analytic gradient.

    Attributes
    ----------
    max_rel_error_W, max_rel_error_b : list of float
        Per layer, over all entries of ``W`` and of ``b``.
    """

    max_rel_error_W: list[float]
    max_rel_error_b: list[float]

    @property
    def max_rel_error(self) -> float:
        return max(self.max_rel_error_W + self.max_rel_error_b)


def numerical_gradients(
    net: Network,
    X: Array,
    Y: Array,
    loss: str | Loss = "squared_error",
    reduction: str = "mean",
    eps: float = 1e-6,
) -> list[np.ndarray]:
    """Central-difference gradients for every parameter, ``[dW1, db1, ...]`` as NumPy arrays."""
    loss_fn = get_loss(loss)
    grads = []
    for p in net.parameters():
        flat_len = int(np.prod(p.shape))
        g = np.zeros(flat_len)
        view = p.reshape(-1) if hasattr(p, "reshape") else p.ravel()
        for i in range(flat_len):
            old = float(view[i])
            view[i] = old + eps
            plus = loss_value(net, X, Y, loss_fn, reduction)
            view[i] = old - eps
            minus = loss_value(net, X, Y, loss_fn, reduction)
            view[i] = old
            g[i] = (plus - minus) / (2 * eps)
        grads.append(g.reshape(tuple(p.shape)))
    return grads


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = 1e-8) -> float:
    """Max over entries of ``|a - n| / (|a| + |n|)``.

    Entries where both gradients are below ``floor`` in size carry no information (a truly zero
    gradient measured against the rounding noise of a difference quotient, ~1e-11): their error is
    measured against ``floor`` instead, so they count only when they differ by more than it.
    """
    if not analytic.size:
        return 0.0
    denom = np.maximum(np.abs(analytic) + np.abs(numeric), floor)
    return float(np.max(np.abs(analytic - numeric) / denom))


def gradcheck(
    net: Network,
    X: Array,
    Y: Array,
    loss: str | Loss = "squared_error",
    reduction: str = "mean",
    eps: float = 1e-6,
) -> GradCheckResult:
    """Compare back-propagated gradients with central differences, layer by layer."""
    analytic = [to_numpy(g) for g in backprop(net, X, Y, loss, reduction).as_list()]
    numeric = numerical_gradients(net, X, Y, loss, reduction, eps)
    errs = [relative_error(a, n) for a, n in zip(analytic, numeric, strict=True)]
    return GradCheckResult(errs[0::2], errs[1::2])
