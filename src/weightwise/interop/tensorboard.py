"""Watch training live in TensorBoard: one callback for back-propagation and pre-training.

:class:`TensorBoard` is called after every epoch by :func:`weightwise.fit` (with an
:class:`~weightwise.backpropagation.history.EpochInfo`), by :func:`weightwise.pretrain` and the
layer-wise learners (with a :class:`~weightwise.layerwise.history.LayerEpochInfo`), and by the
estimators through their ``callbacks`` and ``pretrain_callbacks``. Because it has ``on_batch``,
``fit`` also hands it every batch's gradients, from which
:class:`~weightwise.evidence.diagnostics.GradientFlow` measures the per-layer statistics (the same
numbers ``weightwise compare`` reports).

What it writes (``l`` and ``k`` are 1-based layer numbers):

=====================================  ==================================================
tag                                    what
=====================================  ==================================================
``loss/train``, ``loss/validation``    :attr:`History.loss`, :attr:`History.val_loss`
``metric/train``, ``metric/validation``  accuracy, when the task has one
``learning_rate``                      after the schedule
``gradient_norm/layer_l``              :attr:`History.grad_norm` (RMS over sampled batches)
``update_ratio/layer_l``               ``||W(after) - W(before)|| / ||W(before)||`` per step
``saturation/layer_l``                 sigmoid/tanh outputs near their bounds
``dead_fraction/layer_l``              ReLU units silent on every sampled input
``weights/layer_l`` (histogram)        also ``biases``, ``gradients`` (dW of the epoch's
                                       first batch), ``activations`` (its outputs)
``filters/layer_1`` (image)            first-layer weights, when the input is a square image
``pretrain/layer_k/<log>``             every finite number the learner logs: RBM
                                       ``reconstruction_error``, ``free_energy_gap``,
                                       ``pseudo_likelihood``; auto-encoder reconstruction loss
                                       (``reconstruction_error``, ``val_reconstruction_error``);
                                       ``learning_rate``
``pretrain/layer_k/weights`` ...       histograms of W, hidden and visible biases and (with
                                       ``examples``) the hidden activations
``pretrain/layer_1/filters``,          images: filters; ``examples`` above their
``.../reconstructions``, ``.../samples``  reconstructions; a Bernoulli RBM's Gibbs samples
=====================================  ==================================================

Steps are epochs. A second ``fit`` on the same callback (``partial_fit``, ``warm_start``)
continues the step count, so the curves continue; for runs to compare side by side (plain BP
against pre-trained), give each its own ``log_dir`` under one parent and point TensorBoard at the
parent.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ..backpropagation.history import BatchInfo, EpochInfo
from ..checks import check_positive_int
from ..errors import ConfigError
from ..evidence.diagnostics import GradientFlow
from ..layerwise.history import LayerEpochInfo
from ..net.backend import to_numpy
from ..net.network import Network
from ._images import bernoulli_rbm_samples, square_side, tile

__all__ = ["TensorBoard"]

SAMPLE_GIBBS_STEPS = 100
"""Gibbs steps of the RBM sample pictures: enough to leave the random start on small images."""
_PER_LAYER = ("update_ratio", "saturation", "dead_fraction")


def _writer(log_dir: Path, flush_secs: int) -> Any:
    """tensorboardX's SummaryWriter, else PyTorch's (which needs the tensorboard package)."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ImportError(
                "TensorBoard logging needs tensorboardX: pip install 'weightwise[interop]'"
            ) from None
    return SummaryWriter(str(log_dir), flush_secs=flush_secs)


def _every(value: int | None, name: str) -> int | None:
    return None if value in (None, 0) else check_positive_int(value, name, "or 0/None for never")


class _Steps:
    """Global steps per stream (``"fit"``, ``"pretrain/layer_2"``): the epoch, plus the steps of
    earlier runs on the same callback, so a second ``fit`` continues the curves.

    A run is new when the loop's position (epoch, batch) does not move forward.
    """

    def __init__(self) -> None:
        self._last: dict[str, tuple[tuple[int, float], int, int]] = {}  # position, offset, step

    def step(self, stream: str, epoch: int, batch: float = math.inf) -> tuple[int, bool]:
        """The step of ``epoch`` in ``stream``, and whether a new run started with it."""
        position = (epoch, batch)
        if stream not in self._last:
            self._last[stream] = (position, 0, epoch)
            return epoch, True
        last, offset, step = self._last[stream]
        new = position <= last
        if new:
            offset = step
        self._last[stream] = (position, offset, offset + epoch)
        return offset + epoch, new


class TensorBoard:
    """Log training to TensorBoard: scalars every epoch, histograms and images every few.

    Use it with :func:`weightwise.fit` (``callbacks=[tb]``), :func:`weightwise.pretrain`
    (``callbacks=[tb]``) and the estimators (``BPClassifier(callbacks=[tb],
    pretrain_callbacks=[tb])``, ``DBN(callbacks=[tb])``); then ``tensorboard --logdir LOG_DIR``.
    The tags are listed in the module docstring. It never stops training and never touches a
    learner's random stream, so a run with it trains exactly as one without.

    Parameters
    ----------
    log_dir : str or path-like
        Folder for the event files; created if needed.
    histogram_every : int or None, default=5
        Histograms (weights, biases, gradients, activations) at epoch 1 and every this many
        epochs; 0 or None for never.
    image_every : int or None, default=10
        Images (filters, reconstructions, samples) at epoch 1 and every this many epochs; 0 or
        None for never.
    examples : array of shape (n_examples, n_features), optional
        A few input rows (16 or so) for pre-training's pictures: their reconstructions, and the
        hidden activations of every layer.
    flush_secs : int, default=10
        How often the writer flushes on its own (every epoch flushes too).

    Raises
    ------
    ConfigError
        A ``log_dir`` that cannot be created or written.
    ImportError
        Without tensorboardX (or PyTorch with tensorboard).
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str],
        *,
        histogram_every: int | None = 5,
        image_every: int | None = 10,
        examples: Any = None,
        flush_secs: int = 10,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.histogram_every = _every(histogram_every, "histogram_every")
        self.image_every = _every(image_every, "image_every")
        self.examples = None if examples is None else np.asarray(to_numpy(examples))
        if self.examples is not None and self.examples.ndim != 2:
            raise ConfigError(
                f"examples must be a 2-D array of input rows, got shape {self.examples.shape}"
            )
        try:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=self.log_dir):
                pass
        except OSError as exc:
            raise ConfigError(
                f"cannot write TensorBoard logs to {self.log_dir}: {exc.strerror or exc}"
            ) from None
        self.writer = _writer(self.log_dir, check_positive_int(flush_secs, "flush_secs"))
        self._steps = _Steps()
        self._flow = GradientFlow()
        self._batch: dict[str, list[np.ndarray]] | None = None  # histogram material of one batch
        self._learners: dict[int, Any] = {}  # pre-training: layer -> learner, for the examples

    # the training loops' hooks -------------------------------------------------------------------
    def __call__(self, info: Any) -> None:
        """Log one epoch of ``fit`` (EpochInfo) or of a layer's pre-training (LayerEpochInfo)."""
        if isinstance(info, EpochInfo):
            self._fit_epoch(info)
        elif isinstance(info, LayerEpochInfo):
            self._layer_epoch(info)
        elif isinstance(info, BatchInfo):  # given as a batch callback
            self.on_batch(info)
        else:
            raise ConfigError(f"TensorBoard cannot log a {type(info).__name__}")

    def wants_weight_grads(self, epoch: int, batch: int, batches_per_epoch: int) -> bool:
        """Whether ``fit`` must form ``dW`` for this batch (the sampled ones only)."""
        return self._flow.wants_weight_grads(epoch, batch, batches_per_epoch)

    def on_batch(self, info: BatchInfo) -> None:
        """Feed the gradient-flow statistics; keep the epoch's first batch for the histograms."""
        step, new = self._steps.step("fit", info.epoch, info.batch)
        if new:
            self._flow = GradientFlow()  # a fresh run: nothing carried from the last one
        self._flow.on_batch(info)
        if info.batch == 0 and _due(step, self.histogram_every):
            g = info.gradients
            dW = [
                to_numpy(dW if dW is not None else g.forward.activations[l].T @ g.deltas[l]).copy()
                for l, dW in enumerate(g.dW)
            ]
            self._batch = {
                "gradients": dW,
                "activations": [to_numpy(a).copy() for a in g.forward.activations[1:]],
            }

    def _fit_epoch(self, info: EpochInfo) -> None:
        step, _ = self._steps.step("fit", info.epoch)
        w, logs, h = self.writer, info.logs, info.history
        for key, tag in (
            ("loss", "loss/train"),
            ("val_loss", "loss/validation"),
            ("metric", "metric/train"),
            ("val_metric", "metric/validation"),
            ("seconds", "time/epoch_seconds"),
        ):
            _scalar(w, tag, logs.get(key), step)
        if h.learning_rate:
            _scalar(w, "learning_rate", h.learning_rate[-1], step)
        self._flow(info)
        norms = h.grad_norm[-1] if h.grad_norm else self._flow.grad_norm[-1]
        for l, value in enumerate(norms, 1):
            _scalar(w, f"gradient_norm/layer_{l}", value, step)
        for name in _PER_LAYER:
            for l, value in enumerate(getattr(self._flow, name)[-1], 1):
                _scalar(w, f"{name}/layer_{l}", value, step)
        if _due(step, self.histogram_every):
            self._network_histograms(info.network, step)
        if _due(step, self.image_every):
            side = square_side(info.network.sizes[0])
            if side is not None:
                W = to_numpy(info.network.layers[0].W)
                w.add_image("filters/layer_1", tile(W.T[:64], side), step, dataformats="HW")
        w.flush()

    def _network_histograms(self, net: Network, step: int) -> None:
        for l, layer in enumerate(net.layers, 1):
            self.writer.add_histogram(f"weights/layer_{l}", to_numpy(layer.W), step)
            self.writer.add_histogram(f"biases/layer_{l}", to_numpy(layer.b), step)
        batch, self._batch = self._batch, None
        for kind, arrays in (batch or {}).items():
            for l, values in enumerate(arrays, 1):
                self.writer.add_histogram(f"{kind}/layer_{l}", values, step)

    def _layer_epoch(self, info: LayerEpochInfo) -> None:
        layer = int(getattr(info, "layer", 1))
        step, _ = self._steps.step(f"pretrain/layer_{layer}", info.epoch)
        self._learners[layer] = info.learner
        prefix = f"pretrain/layer_{layer}"
        for key, value in info.logs.items():
            if key != "epoch":
                _scalar(self.writer, f"{prefix}/{key}", value, step)
        learner = info.learner
        if _due(step, self.histogram_every):
            for tag, name in (
                ("weights", "W"),
                ("hidden_bias", "b_hidden"),
                ("visible_bias", "b_visible"),
            ):
                if getattr(learner, name, None) is not None:
                    self.writer.add_histogram(f"{prefix}/{tag}", to_numpy(getattr(learner, name)), step)
            V = self._examples_at(layer)
            if V is not None:
                self.writer.add_histogram(f"{prefix}/activations", to_numpy(learner.transform(V)), step)
        if layer == 1 and _due(step, self.image_every):
            self._layer_images(learner, prefix, step)
        self.writer.flush()

    def _examples_at(self, layer: int) -> Any:
        """The examples as the learner of ``layer`` sees them (through the learners below)."""
        if self.examples is None:
            return None
        from ..net.backend import device, namespace
        from ..net.validation import to_network

        W = self._learners[layer].W
        V = to_network(self.examples, namespace(W), W.dtype, device(W))
        for below in range(1, layer):
            if below not in self._learners:
                return None  # the callback joined mid-way
            V = self._learners[below].transform(V)
        return V

    def _layer_images(self, learner: Any, prefix: str, step: int) -> None:
        side = square_side(int(learner.W.shape[0]))
        if side is None:
            return
        W = to_numpy(learner.W)
        self.writer.add_image(f"{prefix}/filters", tile(W.T[:64], side), step, dataformats="HW")
        V = self._examples_at(1)
        if V is not None:
            rec = learner.reconstruct(V) if hasattr(learner, "reconstruct") else None
            if rec is None and hasattr(learner, "propdown"):
                rec = learner.propdown(learner.propup(V))
            if rec is not None:
                pairs = np.concatenate([to_numpy(V)[:16], to_numpy(rec)[:16]])
                image = tile(pairs, side, columns=min(16, len(V)))
                self.writer.add_image(f"{prefix}/reconstructions", image, step, dataformats="HW")
        from ..layerwise.rbm import BernoulliRBM

        if isinstance(learner, BernoulliRBM):
            v = bernoulli_rbm_samples(
                W, to_numpy(learner.b_hidden), to_numpy(learner.b_visible), 16, SAMPLE_GIBBS_STEPS
            )
            self.writer.add_image(f"{prefix}/samples", tile(v, side), step, dataformats="HW")

    # the writer --------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write everything pending to disk."""
        self.writer.flush()

    def close(self) -> None:
        """Flush and close the event file; later epochs are not logged."""
        self.writer.close()

    def __enter__(self) -> TensorBoard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __deepcopy__(self, memo: dict[int, Any]) -> TensorBoard:
        # scikit-learn's clone() deep-copies an estimator's callbacks; a log writer is a handle on
        # an open file (as a file object is), so clones share it rather than fail to copy a lock.
        return self

    def __repr__(self) -> str:
        return f"TensorBoard({str(self.log_dir)!r})"


def _due(step: int, every: int | None) -> bool:
    """Histograms and images at the first step and every ``every`` steps."""
    return every is not None and (step == 1 or step % every == 0)


def _scalar(writer: Any, tag: str, value: Any, step: int) -> None:
    """Log a finite number; NaN (a quantity the run does not have) and None are left out."""
    if value is None:
        return
    value = float(value)
    if math.isfinite(value):
        writer.add_scalar(tag, value, step)
