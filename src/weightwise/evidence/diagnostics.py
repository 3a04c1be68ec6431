"""Gradient flow per layer and epoch: where the error signal of back-propagation fades or blows up.

Everything here is read from what one training step computes anyway (the :class:`Gradients` of
:func:`~weightwise.backpropagation.gradients.backprop`: ``dW``, ``deltas``,
``forward.activations``), so no second backward pass is run. Per layer ``l`` (1-based, the last
one is the output layer) and epoch:

``grad_norm``
    Root mean square over the epoch's sampled batches of ``||dLoss/dW_l||_2`` (Frobenius), as
    :attr:`History.grad_norm`. RMS, not the mean, so one huge batch gradient shows.
``delta_norm``
    Root mean square over the sampled batches of ``||delta_l||_2 = ||dLoss/dz_l||_2`` (with the
    loss's reduction applied, so ``"mean"`` divides by the batch size).
``update_ratio``
    Mean over the measured steps of ``||W_l(after) - W_l(before)|| / ||W_l(before)||``: the step the
    optimiser actually took, whatever its rule (SGD, momentum, Adam, weight decay). The weights are
    copied after a sampled batch's step and compared after the next step. A healthy value is often
    quoted near 1e-3; far below, the layer barely moves.
``saturation``
    Fraction of a sigmoid/tanh layer's outputs within ``margin`` (0.01) of the activation's bounds,
    where the derivative is nearly 0 (NaN for activations without bounds, and for softmax).
``dead_fraction``
    Fraction of a ReLU layer's units whose output is 0 for every sample of the epoch's sampled
    batches (NaN for other activations). A dead unit passes back no gradient at all.
``activation_mean``, ``activation_std``
    Mean and standard deviation over all samples and units of the layer's outputs in the sampled
    batches (Glorot and Bengio 2010, figure 3).
``weight_norm``
    ``||W_l||_2`` at the end of the epoch.

Every statistic is taken on the sampled batches ``0, k, 2k, ...`` of each epoch, and the update
ratio on the step after each of them. By default ``k`` is the stride of :attr:`History.grad_norm`
(about 8 batches an epoch), whose ``dW`` the training loop forms anyway; on the other batches plain
SGD keeps its fused update, which leaves ``dW`` factored (see
:meth:`GradientFlow.wants_weight_grads`). The cost stays a few per cent of an epoch (measured in
``benchmarks/diagnostics_overhead.py``), and ``grad_norm`` equals :attr:`History.grad_norm`.

References
----------
Glorot, X., Bengio, Y. (2010). Understanding the difficulty of training deep feedforward neural
networks. AISTATS.
Hochreiter, S. (1991). Untersuchungen zu dynamischen neuronalen Netzen. Diploma thesis, TU Munich.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backpropagation.gradients import Gradients, backprop
from ..backpropagation.training import BatchInfo, EpochInfo, grad_norm_stride
from ..checks import check_positive_int
from ..errors import ConfigError
from ..net.backend import Array, namespace
from ..net.losses import Loss, get_loss
from ..net.network import Network
from ..net.validation import check_X_Y, to_network

SATURATION_MARGIN = 0.01
"""An output within this distance of an activation's bound counts as saturated."""


@dataclass(frozen=True)
class Thresholds:
    """When :meth:`GradientFlow.summary` warns; each default and why.

    Attributes
    ----------
    vanishing : float
        First-to-last hidden layer gradient-norm ratio below which the gradient "vanishes": the
        first layer learns more than 100 times slower than the last (default 1/100).
    weakening : float
        Ratio below which the gradient "weakens" on its way down (default 1/10).
    exploding : float
        Ratio above which the gradient "explodes" on its way down (default 100).
    saturation : float
        Warn when at least this fraction of a layer's outputs is saturated (default 0.2; Glorot and
        Bengio saw the top sigmoid layer near 100% early in training).
    dead : float
        Warn when at least this fraction of a ReLU layer's units is dead (default 0.1).
    update_low, update_high : float
        Warn when a layer's update-to-weight ratio per step is below ``update_low`` (it barely
        learns; default 1e-5) or above ``update_high`` (steps tear the weights; default 0.1).
    """

    vanishing: float = 1e-2
    weakening: float = 1e-1
    exploding: float = 1e2
    saturation: float = 0.2
    dead: float = 0.1
    update_low: float = 1e-5
    update_high: float = 1e-1


# ------------------------------------------------------------------------------------------------
# the maths, over arrays of any namespace


def _sq_norm(x: Array) -> Any:
    """``sum(x ** 2)``: one BLAS dot for NumPy (a float), a 0-d tensor on the device for PyTorch.

    ``np.vdot`` is a single C call whatever the size; the diagnostics take a few dozen norms per
    sampled batch, mostly of small arrays, where Python overhead would otherwise dominate.
    """
    if type(x) is np.ndarray:
        return np.vdot(x, x)
    return namespace(x).sum(x * x)


def saturated_fraction(
    a: Array, bounds: tuple[float, float], margin: float = SATURATION_MARGIN
) -> Array:
    """Fraction of the entries of ``a`` within ``margin`` of either bound.

    Parameters
    ----------
    a : array of shape (n_samples, n_units)
        Outputs of a saturating activation (sigmoid: bounds (0, 1); tanh: (-1, 1)).
    bounds : (float, float)
    margin : float

    Returns
    -------
    0-d array
    """
    return saturated_count(a, bounds, margin) / (a.shape[0] * a.shape[1])


def saturated_count(a: Array, bounds: tuple[float, float], margin: float = SATURATION_MARGIN) -> Array:
    """Number of entries of ``a`` within ``margin`` of either bound, a 0-d integer array."""
    lo, hi = bounds
    # count_nonzero of the mask: about 9x faster than summing it as floats (NumPy, 128 x 500).
    return namespace(a).count_nonzero((a <= lo + margin) | (a >= hi - margin))


def alive_units(a: Array) -> Array:
    """Boolean array of shape (n_units,): True where a unit's output is positive for some sample.

    Parameters
    ----------
    a : array of shape (n_samples, n_units)
        ReLU outputs. A unit that is never positive is dead for this batch: ``f'(z) = 0`` for every
        sample, so no gradient reaches its incoming weights.
    """
    return namespace(a).any(a > 0, axis=0)


def gradient_norms(grads: Gradients) -> tuple[np.ndarray, np.ndarray]:
    """Per-layer ``||dW_l||_2`` and ``||delta_l||_2`` of one backward pass.

    Parameters
    ----------
    grads : Gradients
        From :func:`~weightwise.backpropagation.gradients.backprop`; a ``dW`` left factored (``None``)
        is formed here.

    Returns
    -------
    weight_grad, delta : arrays of shape (n_layers,), float64
    """
    a_in = grads.forward.activations
    weight = np.array(
        [
            math.sqrt(float(_sq_norm(dW if dW is not None else a_in[l].T @ grads.deltas[l])))
            for l, dW in enumerate(grads.dW)
        ]
    )
    delta = np.array([math.sqrt(float(_sq_norm(d))) for d in grads.deltas])
    return weight, delta


def gradient_norms_at(
    net: Network, X: Any, Y: Any, loss: str | Loss = "squared_error", reduction: str = "mean"
) -> np.ndarray:
    """Per-layer gradient norms ``||dLoss/dW_l||_2`` of one full-batch backward pass.

    For "gradient norm per layer at initialisation and after training". ``net`` is not changed.

    Parameters
    ----------
    net : Network
    X : array of shape (n_samples, n_in)
    Y : array of shape (n_samples, n_out)
    loss : str or Loss
    reduction : {"mean", "sum"}

    Returns
    -------
    ndarray of shape (n_layers,), float64
    """
    X, Y = check_X_Y(X, Y, net.sizes[0], net.sizes[-1])
    X = to_network(X, net.xp, net.dtype, net.device)
    Y = to_network(Y, net.xp, net.dtype, net.device)
    return gradient_norms(backprop(net, X, Y, get_loss(loss), reduction))[0]


def flow_ratio(norms: Any) -> tuple[int, int, float]:
    """Ratio of the first layer's gradient norm to the last hidden layer's.

    Parameters
    ----------
    norms : sequence of float, length n_layers
        Per-layer gradient norms, the output layer last.

    Returns
    -------
    first, last : int
        1-based layer numbers compared: 1 and the last hidden layer (the output layer when the
        network has a single hidden layer or none).
    ratio : float
        ``norms[0] / norms[last - 1]``; NaN when that last norm is 0 or not finite.
    """
    norms = np.asarray(norms, dtype=float)
    n = len(norms)
    last = n - 1 if n > 2 else n
    top = norms[last - 1]
    ratio = float(norms[0] / top) if top > 0 and np.isfinite(top) else math.nan
    return 1, last, ratio


# ------------------------------------------------------------------------------------------------
# the training callback

_FIELDS = (
    "grad_norm",
    "delta_norm",
    "update_ratio",
    "saturation",
    "dead_fraction",
    "activation_mean",
    "activation_std",
    "weight_norm",
)


class GradientFlow:
    """Per-layer, per-epoch gradient-flow diagnostics, collected during :func:`weightwise.fit`.

    Pass it as a callback: ``fit(net, X, Y, callbacks=[flow])``. The training loop gives its
    :meth:`on_batch` every batch (after the optimiser step) and calls it once per epoch. Use one
    object per training run.

    The update ratio compares the weights after a sampled batch's step with those after the next
    step, and counts in the epoch of that next step. With the full batch (one step per epoch) the
    first epoch's step is therefore not measured (NaN).

    Parameters
    ----------
    sample_every : int or None
        Statistics are taken on batches ``0, k, 2k, ...`` of each epoch (``k = sample_every``);
        1 takes every batch. ``None``: the batches :attr:`History.grad_norm` samples (about 8).
    margin : float
        Saturation margin (0.01).
    thresholds : Thresholds, optional
        When :meth:`summary` warns.

    Attributes
    ----------
    epochs : list of int
        1-based epoch numbers.
    grad_norm, delta_norm, update_ratio, saturation, dead_fraction, activation_mean,
    activation_std, weight_norm : list of list of float
        ``field[e][l]`` for epoch ``epochs[e]`` and layer ``l + 1``; see the module docstring. NaN
        where a statistic does not apply or was not measured.
    activations : list of str
        Activation name of each layer.
    """

    def __init__(
        self,
        sample_every: int | None = None,
        margin: float = SATURATION_MARGIN,
        thresholds: Thresholds | None = None,
    ) -> None:
        if sample_every is not None:
            sample_every = check_positive_int(sample_every, "sample_every", "or None")
        if not 0 <= margin < 0.5:
            raise ConfigError(f"margin must be in [0, 0.5), got {margin!r}")
        self.sample_every = sample_every
        self.margin = margin
        self.thresholds = thresholds if thresholds is not None else Thresholds()
        self.epochs: list[int] = []
        self.activations: list[str] = []
        self.grad_norm: list[list[float]] = []
        self.delta_norm: list[list[float]] = []
        self.update_ratio: list[list[float]] = []
        self.saturation: list[list[float]] = []
        self.dead_fraction: list[list[float]] = []
        self.activation_mean: list[list[float]] = []
        self.activation_std: list[list[float]] = []
        self.weight_norm: list[list[float]] = []
        self._acc: dict[str, Any] | None = None
        # Weights copied after a sampled step, with their squared norms; compared after the next step.
        self._before: list[Array] = []
        self._before_sq: list[Any] = []
        self._armed = False  # _before holds the weights after the previous (sampled) step

    # hooks called by the training loop -----------------------------------------------------------
    def wants_weight_grads(self, epoch: int, batch: int, batches_per_epoch: int) -> bool:
        """Asked by the training loop before each batch: is ``dW`` needed (a sampled batch)?

        On the other batches SGD may fold ``dW`` into its update, which saves more than these
        statistics cost (20-30% of a batch on 784-500-500-500-10, batch 128).
        """
        return batch % self._stride(batches_per_epoch) == 0

    def _stride(self, batches_per_epoch: int) -> int:
        if self.sample_every is not None:
            return self.sample_every
        return grad_norm_stride(batches_per_epoch)

    def on_batch(self, info: BatchInfo) -> None:
        """Accumulate one batch's statistics (called after the batch's optimiser step)."""
        g, net = info.gradients, info.network
        if self._acc is None:
            self._acc = self._new_accumulators(net)
            if not self.activations:
                self.activations = net.activation_names
        acc = self._acc
        if self._armed:
            self._measure_update(net, acc)
        if info.batch % self._stride(info.batches_per_epoch) == 0:
            acc["n_batches"] += 1
            for l, (dW, delta) in enumerate(zip(g.dW, g.deltas, strict=True)):
                if dW is None:  # left factored by a caller that did not ask us first
                    dW = g.forward.activations[l].T @ delta
                acc["grad_sq"][l] = acc["grad_sq"][l] + _sq_norm(dW)
                acc["delta_sq"][l] = acc["delta_sq"][l] + _sq_norm(delta)
            self._sample_outputs(net, g.forward.activations[1:], acc)
            xp = net.xp
            if not self._before:
                self._before = [xp.asarray(layer.W, copy=True) for layer in net.layers]
            else:  # reuse the buffers: no fresh megabytes (and page faults) per sampled batch
                for before, layer in zip(self._before, net.layers, strict=True):
                    before[...] = layer.W
            self._before_sq = [_sq_norm(W) for W in self._before]
            self._armed = True

    def __call__(self, info: EpochInfo) -> None:
        """Close the epoch: turn the accumulated sums into one row per statistic."""
        net = info.network
        acc = self._acc if self._acc is not None else self._new_accumulators(net)
        self._acc = None
        if not self.activations:
            self.activations = net.activation_names
        n_layers = len(net.layers)
        nb, ns = acc["n_batches"], acc["n_samples"]
        nan = [math.nan] * n_layers
        self.epochs.append(info.epoch)
        self.grad_norm.append([math.sqrt(float(s) / nb) for s in acc["grad_sq"]] if nb else nan)
        self.delta_norm.append([math.sqrt(float(s) / nb) for s in acc["delta_sq"]] if nb else nan)
        self.update_ratio.append(
            [float(r) / acc["n_updates"] for r in acc["update"]] if acc["n_updates"] else nan
        )
        sat: list[float] = []
        dead: list[float] = []
        mean: list[float] = []
        std: list[float] = []
        for l, layer in enumerate(net.layers):
            n_entries = ns * layer.n_out
            if n_entries == 0:  # no sampled batch this epoch
                for row in (sat, dead, mean, std):
                    row.append(math.nan)
                continue
            sat.append(float(acc["saturated"][l]) / n_entries if self._saturates(layer) else math.nan)
            alive = acc["alive"][l]
            if layer.activation.name == "relu" and alive is not None:
                dead.append(1.0 - float(namespace(alive).sum(alive)) / layer.n_out)
            else:
                dead.append(math.nan)
            m = float(acc["a_sum"][l]) / n_entries
            mean.append(m)
            std.append(math.sqrt(max(float(acc["a_sq"][l]) / n_entries - m * m, 0.0)))
        self.saturation.append(sat)
        self.dead_fraction.append(dead)
        self.activation_mean.append(mean)
        self.activation_std.append(std)
        self.weight_norm.append([math.sqrt(float(_sq_norm(layer.W))) for layer in net.layers])

    # helpers ----------------------------------------------------------------------------------------
    def _saturates(self, layer: Any) -> bool:
        act = layer.activation
        return act.bounds is not None and act.derivative is not None  # softmax has no f'

    def _new_accumulators(self, net: Network) -> dict[str, Any]:
        n = len(net.layers)
        return {
            "n_batches": 0,
            "n_samples": 0,
            "n_updates": 0,
            "grad_sq": [0.0] * n,
            "delta_sq": [0.0] * n,
            "update": [0.0] * n,
            "saturated": [0.0] * n,
            "alive": [None] * n,
            "a_sum": [0.0] * n,
            "a_sq": [0.0] * n,
        }

    def _measure_update(self, net: Network, acc: dict[str, Any]) -> None:
        # ||W_after - W_before|| / ||W_before||, subtracting into our own copy (no new array).
        for l, (layer, before) in enumerate(zip(net.layers, self._before, strict=True)):
            w_sq = float(self._before_sq[l])
            before -= layer.W
            step = math.sqrt(float(_sq_norm(before)))
            acc["update"][l] += step / math.sqrt(w_sq) if w_sq > 0 else math.nan
        acc["n_updates"] += 1
        self._armed = False

    def _sample_outputs(self, net: Network, outputs: list[Array], acc: dict[str, Any]) -> None:
        acc["n_samples"] += outputs[0].shape[0]
        for l, (layer, a) in enumerate(zip(net.layers, outputs, strict=True)):
            xp = namespace(a)
            if self._saturates(layer):
                assert layer.activation.bounds is not None
                acc["saturated"][l] = acc["saturated"][l] + saturated_count(
                    a, layer.activation.bounds, self.margin
                )
            if layer.activation.name == "relu":
                alive = alive_units(a)
                acc["alive"][l] = alive if acc["alive"][l] is None else acc["alive"][l] | alive
            acc["a_sum"][l] = acc["a_sum"][l] + xp.sum(a)
            acc["a_sq"][l] = acc["a_sq"][l] + _sq_norm(a)

    # results --------------------------------------------------------------------------------------
    def as_arrays(self) -> dict[str, np.ndarray]:
        """Every statistic as a float64 array of shape (n_epochs, n_layers)."""
        return {name: np.array(getattr(self, name), dtype=float) for name in _FIELDS}

    def flow_ratios(self) -> list[float]:
        """Per epoch, layer 1's ``grad_norm`` over the last hidden layer's (see :func:`flow_ratio`)."""
        return [flow_ratio(row)[2] for row in self.grad_norm]

    def summary(self) -> list[str]:
        """Plain-language sentences: where gradients vanish or explode, saturation, dead ReLUs.

        The gradient flow compares ``grad_norm`` of layer 1 with the last hidden layer (see
        :func:`flow_ratio`) in the first and the last epoch; the warnings read the last epoch. The
        thresholds are those of :class:`Thresholds`.
        """
        if not self.epochs:
            return ["no epoch recorded yet"]
        th = self.thresholds
        lines: list[str] = []
        rows = [0] if len(self.epochs) == 1 else [0, len(self.epochs) - 1]
        for e in rows:
            norms = self.grad_norm[e]
            if not all(math.isfinite(v) for v in norms):
                lines.append(f"In epoch {self.epochs[e]} some gradient norms are NaN or infinite.")
                continue
            first, last, r = flow_ratio(norms)
            lines.append(f"In epoch {self.epochs[e]}, {_flow_sentence(first, last, r, norms, th)}")
        last_row = len(self.epochs) - 1
        warnings = [
            w for l, name in enumerate(self.activations) for w in self._warnings(last_row, l, name)
        ]
        if not warnings:
            warnings.append(
                f"No layer is saturated (>= {th.saturation:.0%}), has dead units (>= {th.dead:.0%}) "
                f"or an update ratio outside [{th.update_low:g}, {th.update_high:g}] in the last epoch."
            )
        return lines + warnings

    def _warnings(self, row: int, l: int, name: str) -> list[str]:
        """What is wrong with layer ``l`` (activation ``name``) in record ``row``, one sentence each:
        saturated outputs, dead units, weight steps too small or too large."""
        th, epoch = self.thresholds, self.epochs[row]
        sat, dead, upd = self.saturation[row][l], self.dead_fraction[row][l], self.update_ratio[row][l]
        out = []
        if math.isfinite(sat) and sat >= th.saturation:
            out.append(
                f"Layer {l + 1} ({name}): {sat:.0%} of its outputs are saturated (within "
                f"{self.margin:g} of a bound) in epoch {epoch}; saturated units "
                "pass almost no gradient back."
            )
        if math.isfinite(dead) and dead >= th.dead:
            out.append(
                f"Layer {l + 1} ({name}): {dead:.0%} of its units are dead (output 0 for every "
                f"sampled input) in epoch {epoch}; they no longer learn."
            )
        if math.isfinite(upd) and not th.update_low <= upd <= th.update_high:
            verdict = "it barely learns" if upd < th.update_low else "the steps are very large"
            out.append(
                f"Layer {l + 1} ({name}): one step changes its weights by {upd:.2g} of their norm "
                f"in epoch {epoch}; {verdict}."
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of every statistic (NaN becomes None), the thresholds and the summary."""
        out: dict[str, Any] = {
            "epochs": list(self.epochs),
            "activations": list(self.activations),
            "sample_every": self.sample_every,
            "margin": self.margin,
            "thresholds": self.thresholds.__dict__.copy(),
        }
        for name in _FIELDS:
            out[name] = [[v if math.isfinite(v) else None for v in row] for row in getattr(self, name)]
        out["flow_ratio"] = [v if math.isfinite(v) else None for v in self.flow_ratios()]
        out["summary"] = self.summary()
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GradientFlow:
        """Rebuild from :meth:`to_dict` (for reports made from stored runs)."""
        flow = cls(d["sample_every"], d["margin"], Thresholds(**d["thresholds"]))
        flow.epochs = list(d["epochs"])
        flow.activations = list(d["activations"])
        for name in _FIELDS:
            rows = [[math.nan if v is None else float(v) for v in row] for row in d[name]]
            setattr(flow, name, rows)
        return flow


def _amount(r: float) -> str:
    """``1/850 of the`` below 0.1, ``0.42 of the`` up to 1, ``3.2 times the`` above 1."""
    if r < 0.1:
        return f"1/{1 / r:,.0f} of the"
    if r < 1:
        return f"{r:.2g} of the"
    return f"{r:.3g} times the"


def _flow_sentence(first: int, last: int, r: float, norms: list[float], th: Thresholds) -> str:
    a, b = norms[first - 1], norms[last - 1]
    if not math.isfinite(r):
        return f"layer {last} receives no gradient (norm {b:.2g}), so no comparison is possible."
    if r == 0:
        return f"layer {first} receives no gradient at all (layer {last}: {b:.2g})."
    text = f"layer {first} receives {_amount(r)} gradient of layer {last} (||dW|| {a:.2g} vs {b:.2g}): "
    if r < th.vanishing:
        return text + "the gradient vanishes on its way down."
    if r < th.weakening:
        return text + "the gradient weakens on its way down."
    if r > th.exploding:
        return text + "the gradient explodes on its way down."
    if r > 1 / th.weakening:
        return text + "the gradient grows on its way down."
    return text + "the gradient reaches the first layer at a similar size."
