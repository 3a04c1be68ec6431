"""The training loop: mini-batches, stop rules, callbacks, History, checkpoint and resume.

One epoch visits every sample once, in mini-batches (or the full batch), each batch giving one
forward pass, one backward pass and one optimiser step. The loop stops at the first of:

- the training loss of an epoch falls below ``threshold`` (the textbook's rule);
- ``epochs`` epochs have run;
- with ``validation_data`` and ``patience``: the monitored validation quantity has not improved by
  ``min_delta`` for ``patience`` epochs; the best weights are then restored. ``monitor`` picks it:
  the validation loss (``"val_loss"``, lower is better) or the validation metric (``"val_metric"``,
  e.g. accuracy, higher is better; as Keras' ``EarlyStopping(monitor="val_accuracy")`` and
  scikit-learn's MLP early stopping on the validation score). On deep nets the validation loss
  can turn up epochs before the validation error stops falling;
- a callback returns ``True``.

A non-finite loss raises :class:`~weightwise.errors.DivergenceError`, leaving the network with the
weights it had at the end of the last finite epoch. A run that ends dead (the loss far above where it
started, or every gradient zero, with the accuracy at chance: the rule of
:mod:`weightwise.backpropagation.health`) ends with a :class:`~weightwise.errors.TrainingFailedWarning`.

With ``checkpoint_dir``, the run's whole state (weights, optimiser slots, random stream, history,
early-stopping state) is saved every ``checkpoint_every`` epochs and on Ctrl-C; ``resume=True`` picks
it up so the resumed run ends with exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._util import callbacks_stop
from ..checkpoints import has_checkpoint
from ..checks import check_positive_int, is_integer
from ..errors import ConfigError, DivergenceError, TrainingFailedWarning
from ..net.backend import Array, Random, check_random, is_numpy, namespace
from ..net.inplace import sq_norm
from ..net.losses import Loss, check_reduction, get_loss
from ..net.network import Network
from ..net.validation import check_X_Y, to_network
from .gradients import backprop, loss_value
from .health import chance_accuracy, chance_loss, failure
from .history import BatchCallback, BatchInfo, Callback, EpochInfo, History, grad_norm_stride
from .optimizers import Optimizer, get_optimizer
from .pseudo_labels import PseudoLabels, check_pseudo_labels, pseudo_label_grads
from .resume import Snapshot, restore_run, save_run
from .stopping import MONITORS, EarlyStopping, check_monitor

__all__ = [
    "MONITORS",
    "BatchCallback",
    "BatchInfo",
    "Callback",
    "EpochInfo",
    "History",
    "accuracy",
    "correct_count",
    "fit",
    "grad_norm_stride",
]


def _wants_weight_grads(hook: Any) -> Callable[[int, int, int], bool]:
    """``wants_weight_grads(epoch, batch, batches_per_epoch)`` of a batch hook or its owner;
    always True if absent."""
    owner = getattr(hook, "__self__", hook)  # a bound ``on_batch``: ask its object
    wants = getattr(owner, "wants_weight_grads", None)
    return wants if callable(wants) else lambda epoch, batch, batches_per_epoch: True


def accuracy(output: Array, Y: Array) -> float:
    """Fraction of samples classified correctly.

    Softmax-style outputs (several units) compare arg-maxes; a single unit, or several independent
    sigmoid units (multi-label), compare each unit against 0.5 and count a sample right only when
    all its units are (subset accuracy).
    """
    return float(correct_count(output, Y, multilabel=False)) / output.shape[0]


def correct_count(output: Array, Y: Array, multilabel: bool) -> Array:
    xp = namespace(output)
    if output.shape[1] == 1 or multilabel:
        hit = xp.all((output > 0.5) == (Y > 0.5), axis=1)
    else:
        hit = xp.argmax(output, axis=1) == xp.argmax(Y, axis=1)
    return xp.sum(xp.astype(hit, output.dtype))


def fit(
    net: Network,
    X: Any,
    Y: Any,
    *,
    loss: str | Loss = "squared_error",
    optimizer: str | Optimizer = "sgd",
    learning_rate: float | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    shuffle: bool = True,
    reduction: str = "mean",
    threshold: float | None = None,
    validation_data: tuple[Any, Any] | None = None,
    patience: int | None = None,
    min_delta: float = 0.0,
    monitor: str = "val_loss",
    metric: str | None = "auto",
    callbacks: Sequence[Callback] = (),
    batch_callbacks: Sequence[BatchCallback] = (),
    seed: int | Random | np.random.Generator | None = None,
    checkpoint_dir: str | Path | None = None,
    checkpoint_every: int = 1,
    resume: bool = False,
    record_grad_norm: bool = True,
    pseudo_labels: PseudoLabels | None = None,
) -> History:
    """Train ``net`` in place by back-propagation.

    Parameters
    ----------
    net : Network
        Trained in place.
    X : array of shape (n_samples, n_in)
    Y : array of shape (n_samples, n_out) or (n_samples,)
        Targets; one-hot rows for softmax cross-entropy.
    loss : str or Loss
        Must fit the output activation (see :mod:`weightwise.net.losses`).
    optimizer : str or Optimizer
        ``"sgd"`` or ``"adam"`` (with ``learning_rate``), or a configured optimiser.
    learning_rate : float, optional
        Used when ``optimizer`` is a name. Default 0.01 (SGD) or 0.001 (Adam).
    epochs : int
        Maximum number of epochs (the epoch limit).
    batch_size : int or None
        Mini-batch size; ``None`` means the full batch.
    shuffle : bool
        Shuffle sample order each epoch (mini-batches only).
    reduction : {"mean", "sum"}
        Average or add the per-sample gradients of a batch. The textbook example adds.
    threshold : float, optional
        Stop once the epoch's training loss is below this value.
    validation_data : (X_val, Y_val), optional
    patience : int, optional
        Early stopping: epochs without improvement of ``monitor`` before stopping (needs
        ``validation_data``). The weights of the best epoch are restored
        (:attr:`History.best_epoch`).
    min_delta : float
        Improvement smaller than this does not count: a new best validation loss must be below
        the best so far minus ``min_delta``, a new best metric above the best so far plus it.
    monitor : {"val_loss", "val_metric", "val_accuracy"}
        What early stopping watches: the validation loss (lower is better) or the validation
        ``metric`` (accuracy: higher is better; needs ``validation_data`` and a metric, so not
        ``metric=None``). ``"val_accuracy"`` is Keras' name for the same. A checkpoint keeps the
        monitor it was made with; resuming with another raises :class:`~weightwise.errors.DataError`.
    metric : {"auto", "accuracy", None}
        ``"auto"`` reports accuracy for softmax and sigmoid outputs.
    callbacks : sequence of callables
        Each is called with an :class:`EpochInfo` after every epoch; returning ``True`` stops.
        A callback object that also has an ``on_batch`` method gets every batch, as below.
    batch_callbacks : sequence of callables
        Each is called with a :class:`BatchInfo` (1-based epoch, 0-based batch index) after every
        batch's optimiser step.
    seed : int, Random, Generator or None
        Source of the shuffling order.
    checkpoint_dir : path, optional
        Folder for checkpoints (written every ``checkpoint_every`` epochs and on Ctrl-C).
    resume : bool
        Continue from the checkpoint in ``checkpoint_dir`` when there is one.
    record_grad_norm : bool
        Record per-layer gradient norms in the history.
    pseudo_labels : PseudoLabels, optional
        Unlabelled rows that join every mini-batch with the network's own predictions as targets
        (Lee 2013; :mod:`.pseudo_labels`), for a classifier's output. The recorded ``loss``,
        ``metric`` and batch-callback gradients stay those of the labelled rows.

    Returns
    -------
    History

    Raises
    ------
    ConfigError
        For invalid settings, e.g. an unknown ``monitor`` or ``"val_metric"`` without a metric.
    DataError
        When resuming from a checkpoint of another network or another ``monitor``.
    DivergenceError
        When the loss becomes NaN or infinite.

    Warns
    -----
    TrainingFailedWarning
        When the run ends dead, also recorded in :attr:`History.failure`. At its last epoch (or
        the one early stopping restored) the training accuracy is at chance (not above the
        majority-class frequency ``c`` by more than ``0.1 (1 - c)``; without an accuracy: the
        squared error is at least 0.9 times that of predicting the targets' mean, or with another
        loss, not below where it started), and either the loss is more than 10 times the loss of the
        first batch before any update, or every layer's gradient norm is below 1e-5 of the first
        epoch's largest. Both come from a learning rate far too large: the warning names it and
        suggests one ten times smaller. A network at chance whose gradients are small but not zero
        (deep sigmoid nets, the vanishing gradient) and whose loss does not rise is not dead.
    """
    epochs = check_positive_int(epochs, "epochs")
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    patience = _check_stop_rules(patience, threshold, validation_data is not None)
    if resume and checkpoint_dir is None:
        raise ConfigError("resume=True needs a checkpoint_dir")
    run = _Run.create(
        net, X, Y, loss, optimizer, learning_rate, batch_size, shuffle, reduction, metric, seed,
        callbacks, batch_callbacks, record_grad_norm, pseudo_labels,
    )  # fmt: skip
    val = None
    if validation_data is not None:
        val = _on_network(net, *validation_data, names=("X_val", "y_val"))
    out_name = net.layers[-1].activation.name
    stopping = EarlyStopping(
        check_monitor(monitor, run.metric, val is not None, out_name), patience, min_delta
    )
    history = History()
    start_epoch = 0
    if resume and has_checkpoint(checkpoint_dir):
        assert checkpoint_dir is not None
        start_epoch = restore_run(
            checkpoint_dir, net, run.opt, run.rng, history, stopping, run.settings(seed)
        )

    def save(epoch_done: int, snapshot: Snapshot | None = None) -> None:
        assert checkpoint_dir is not None
        save_run(
            checkpoint_dir, epoch_done, net, run.opt, run.rng, history, stopping, snapshot,
            run.settings(seed),
        )  # fmt: skip

    stop_reason = "max_epochs"
    epoch = start_epoch
    try:
        for epoch in range(start_epoch, epochs):
            t0 = time.perf_counter()
            start = Snapshot.take(net, run.opt, run.rng, stopping, full=checkpoint_dir is not None)
            run.opt.set_epoch(epoch)
            epoch_loss = _train_epoch(run, epoch, history, start)
            logs = {"loss": epoch_loss, "metric": history.metric[-1]}
            stop = ""
            if val is not None:
                logs.update(_validate(run, *val, history))
                if stopping.update(epoch + 1, logs["val_loss"], logs["val_metric"], net):
                    stop = "early_stopping"
            history.seconds.append(time.perf_counter() - t0)
            logs["seconds"] = history.seconds[-1]
            if threshold is not None and epoch_loss < threshold and not stop:
                stop = "threshold"
            # Every callback is called every epoch, even when a stop rule has already fired.
            if callbacks_stop(callbacks, EpochInfo(epoch + 1, epochs, net, history, logs)) and not stop:
                stop = "callback"
            stop_reason = stop or stop_reason
            last = bool(stop) or epoch + 1 == epochs
            if checkpoint_dir is not None and ((epoch + 1) % checkpoint_every == 0 or last):
                history.stop_reason = stop_reason if last else ""
                save(epoch + 1)
            if stop:
                break
    except KeyboardInterrupt:
        # Save the state at the start of the interrupted epoch, so at most one epoch is lost.
        if checkpoint_dir is not None and epoch > start_epoch:
            save(epoch, start)
        raise
    best_epoch = stopping.restore_best(net)
    if best_epoch is not None:
        history.best_epoch = best_epoch
    history.stop_reason = stop_reason
    history.failure = failure(history, run.chance)
    if history.failure:
        warnings.warn(history.failure, TrainingFailedWarning, stacklevel=2)
    return history


def _check_stop_rules(patience: Any, threshold: Any, has_validation: bool) -> int | None:
    """``patience`` checked (it needs validation data), and ``threshold`` > 0."""
    if threshold is not None and not threshold > 0:
        raise ConfigError(f"threshold must be > 0, got {threshold!r}")
    if patience is None:
        return None
    patience = check_positive_int(patience, "patience")
    if not has_validation:
        raise ConfigError("early stopping (patience) needs validation_data")
    return patience


def _on_network(
    net: Network, X: Any, Y: Any, names: tuple[str, str] = ("X", "y")
) -> tuple[Array, Array]:
    """``X`` and ``Y`` checked against the network's sizes, in its array library, dtype and device."""
    X, Y = check_X_Y(X, Y, net.sizes[0], net.sizes[-1], names)
    xp, dtype, dev = net.xp, net.dtype, net.device
    return to_network(X, xp, dtype, dev), to_network(Y, xp, dtype, dev)


@dataclass
class _Run:
    """One run's checked settings: everything an epoch needs, besides the stop rules."""

    net: Network
    X: Array
    Y: Array
    loss: Loss
    reduction: str
    opt: Optimizer
    rng: Random
    batch_size: int
    shuffle: bool
    metric: str | None
    multilabel: bool
    record_grad_norm: bool
    on_batch: list[BatchCallback]
    hooks_want_dW: list[Callable[[int, int, int], bool]]
    pseudo: PseudoLabels | None = None

    @classmethod
    def create(
        cls,
        net: Network,
        X: Any,
        Y: Any,
        loss: str | Loss,
        optimizer: str | Optimizer,
        learning_rate: float | None,
        batch_size: int | None,
        shuffle: bool,
        reduction: str,
        metric: str | None,
        seed: Any,
        callbacks: Sequence[Callback],
        batch_callbacks: Sequence[BatchCallback],
        record_grad_norm: bool,
        pseudo_labels: PseudoLabels | None = None,
    ) -> _Run:
        loss_fn = get_loss(loss)
        loss_fn.check_output(net.layers[-1].activation)
        check_reduction(reduction)
        if batch_size is not None and batch_size != "full":
            batch_size = check_positive_int(batch_size, "batch_size")
        if isinstance(optimizer, str):
            kwargs = {} if learning_rate is None else {"learning_rate": learning_rate}
            optimizer = get_optimizer(optimizer, **kwargs)
        out_name = net.layers[-1].activation.name
        if metric == "auto":
            metric = "accuracy" if out_name in ("softmax", "sigmoid") else None
        if metric not in (None, "accuracy"):
            raise ConfigError(f"unknown metric {metric!r}; valid metrics: 'auto', 'accuracy', None")
        rng = check_random(seed)
        X, Y = _on_network(net, X, Y)
        n = X.shape[0]
        # A callback object with an ``on_batch`` method also gets every batch.
        on_batch = list(batch_callbacks) + [
            cb.on_batch  # type: ignore[attr-defined]
            for cb in callbacks
            if callable(getattr(cb, "on_batch", None))
        ]
        return cls(
            net, X, Y, loss_fn, reduction, optimizer, rng,
            n if batch_size in (None, "full") else min(batch_size, n), shuffle, metric,
            out_name == "sigmoid" and net.sizes[-1] > 1, record_grad_norm, on_batch,
            [_wants_weight_grads(hook) for hook in on_batch], check_pseudo_labels(pseudo_labels, net),
        )  # fmt: skip

    @property
    def batches_per_epoch(self) -> int:
        return -(-self.X.shape[0] // self.batch_size)

    def batches(self) -> Iterator[tuple[Array, Array]]:
        """One epoch's mini-batches ``(xb, yb)``, in a fresh random order when shuffling."""
        X, Y, n, bs, xp = self.X, self.Y, self.X.shape[0], self.batch_size, self.net.xp
        if bs == n:
            yield X, Y
            return
        if not self.shuffle:
            for lo in range(0, n, bs):
                yield X[lo : lo + bs], Y[lo : lo + bs]
            return
        order = self.rng.permutation(n)
        if not is_numpy(xp):
            order = to_network(order, xp, None, self.net.device)
        for lo in range(0, n, bs):
            idx = order[lo : lo + bs]
            yield xp.take(X, idx, axis=0), xp.take(Y, idx, axis=0)

    def settings(self, seed: Any) -> dict[str, Any]:
        """What a resumed run must share with its checkpoint besides the optimiser: the batch size,
        whether batches are shuffled, and the seed when it is a plain integer (a generator's
        state is in the checkpoint itself)."""
        return {
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "seed": int(seed) if is_integer(seed) else None,
            **(self.pseudo.settings() if self.pseudo is not None else {}),
        }

    def chance(self) -> float | None:
        """The level of chance the dead-run rule compares with (:mod:`.health`)."""
        if self.metric is not None:
            return chance_accuracy(self.Y, self.multilabel)
        mean_batch = self.X.shape[0] / self.batches_per_epoch
        return chance_loss(self.Y, self.loss, self.reduction, mean_batch)


def _train_epoch(run: _Run, epoch: int, history: History, start: Snapshot) -> float:
    """One pass over the data, one optimiser step per batch; records the epoch in ``history``.

    Returns the epoch's loss: the mean of the per-batch losses, each before its update.

    Raises
    ------
    DivergenceError
        When the loss or the weights became NaN or infinite; ``run.net`` is back at ``start``.
    """
    net, opt, xp = run.net, run.opt, run.net.xp
    params = net.parameters()
    per_epoch = run.batches_per_epoch
    # Gradient norms are sampled on about 8 batches per epoch; the other batches leave dW
    # factored so SGD folds it into its update (one gemm per layer).
    stride = grad_norm_stride(per_epoch)
    loss_sum = 0.0 * xp.sum(params[-1])  # a 0-d array on the right device
    hits = 0.0 * loss_sum
    sq_norms = [0.0 * loss_sum for _ in net.layers] if run.record_grad_norm else []
    n_sampled = 0
    alpha = run.pseudo.alpha(epoch + 1) if run.pseudo is not None else 0.0
    for b, (xb, yb) in enumerate(run.batches()):
        sample = run.record_grad_norm and b % stride == 0
        need_dW = sample or any(wants(epoch + 1, b, per_epoch) for wants in run.hooks_want_dW)
        g = backprop(net, xb, yb, run.loss, run.reduction, weight_grads=need_dW or alpha > 0)
        if history.initial_loss is None:  # where the run started (kept on resume)
            history.initial_loss = float(g.loss)
        if alpha > 0:
            assert run.pseudo is not None
            grads = pseudo_label_grads(net, run.pseudo, g, alpha, run.loss, run.reduction, run.rng)
            opt.step(params, grads)
        elif g.dW[0] is None:
            opt.step_factored(params, g)
        else:
            opt.step(params, g.as_list())
        if run.on_batch:
            info = BatchInfo(epoch + 1, b, g, net, opt, per_epoch)
            for hook in run.on_batch:
                hook(info)
        loss_sum = loss_sum + g.loss
        if run.metric is not None:
            hits = hits + correct_count(g.forward.output, yb, run.multilabel)
        if sample:
            for l, dW in enumerate(g.dW):
                sq_norms[l] = sq_norms[l] + sq_norm(dW)
            n_sampled += 1
    epoch_loss = float(loss_sum) / per_epoch
    _check_finite(net, epoch_loss, start, epoch, opt.learning_rate)
    history.epoch.append(epoch + 1)
    history.loss.append(epoch_loss)
    history.metric.append(float(hits) / run.X.shape[0] if run.metric is not None else math.nan)
    history.learning_rate.append(opt.learning_rate)
    if run.record_grad_norm:
        history.grad_norm.append([math.sqrt(float(s) / n_sampled) for s in sq_norms])
    return epoch_loss


def _check_finite(net: Network, epoch_loss: float, start: Snapshot, epoch: int, lr: float) -> None:
    """Raise DivergenceError, with ``net`` back at ``start``, when the loss or a weight is not finite."""
    # A sum of squares is finite only when every weight is (one BLAS pass per array).
    weights_finite = math.isfinite(sum(float(sq_norm(p)) for p in net.parameters()))
    if math.isfinite(epoch_loss) and weights_finite:
        return
    net.set_weights(start.weights)
    if math.isfinite(epoch_loss):
        what = "stayed finite but the weights overflowed to inf/NaN"
    else:
        what = "became " + ("NaN" if math.isnan(epoch_loss) else "infinite")
    raise DivergenceError(
        f"training diverged in epoch {epoch + 1}: the loss {what}. The network keeps its weights "
        f"from the end of epoch {epoch}. Use a smaller learning rate (now {lr:g}; try {lr / 10:g}), "
        "or the 'mean' reduction, or standardise the inputs.",
        epoch + 1,
    )


def _validate(run: _Run, Xv: Array, Yv: Array, history: History) -> dict[str, float]:
    """The validation loss and metric after an epoch, recorded in ``history``."""
    val_out = run.net.predict(Xv)
    v_loss = loss_value(run.net, Xv, Yv, run.loss, run.reduction)
    v_metric = math.nan
    if run.metric is not None:
        v_metric = float(correct_count(val_out, Yv, run.multilabel)) / Xv.shape[0]
    history.val_loss.append(v_loss)
    history.val_metric.append(v_metric)
    return {"val_loss": v_loss, "val_metric": v_metric}
