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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._util import callbacks_stop, nan_to_none, none_to_nan
from ..checkpoints import has_checkpoint, load_checkpoint, save_checkpoint
from ..errors import ConfigError, DataError, DivergenceError, TrainingFailedWarning
from ..net.backend import Array, Random, check_random, is_numpy, namespace, to_numpy
from ..net.inplace import sq_norm
from ..net.losses import Loss, check_reduction, get_loss
from ..net.network import Network
from ..net.validation import check_X_Y, to_network
from .gradients import Gradients, backprop, loss_value
from .health import chance_accuracy, chance_loss, failure
from .optimizers import Optimizer, get_optimizer


@dataclass
class History:
    """Per-epoch record of a training run.

    Attributes
    ----------
    epoch : list of int
        1-based epoch numbers.
    loss : list of float
        Mean over the epoch's batches of the training loss (before each batch's update).
    metric : list of float
        Training accuracy (NaN when the task has none).
    val_loss, val_metric : list of float
        On ``validation_data`` after the epoch (empty without it).
    grad_norm : list of list of float
        ``grad_norm[e][l]``: root mean square of ``||dLoss/dW_l||_2`` over every k-th batch of the
        epoch (k chosen for about 8 batches an epoch; every batch when there are fewer).
    seconds : list of float
        Wall time of each epoch.
    learning_rate : list of float
    stop_reason : str
        Why the run stopped: ``"max_epochs"``, ``"threshold"``, ``"early_stopping"``,
        ``"callback"``.
    best_epoch : int or None
        Epoch whose weights were restored by early stopping (best on the monitored quantity).
    initial_loss : float or None
        Loss of the run's first batch before any update: where the run started.
    failure : str
        The :class:`~weightwise.errors.TrainingFailedWarning` text when the run ended dead (see
        :mod:`weightwise.backpropagation.health`), else ``""``.
    """

    epoch: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)
    grad_norm: list[list[float]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    stop_reason: str = ""
    best_epoch: int | None = None
    initial_loss: float | None = None
    failure: str = ""

    @property
    def n_epochs(self) -> int:
        return len(self.epoch)

    @property
    def failed(self) -> bool:
        """Whether the run ended dead (:attr:`failure` says how)."""
        return bool(self.failure)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (NaN becomes None)."""

        return {k: nan_to_none(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        fields = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        for k in ("loss", "metric", "val_loss", "val_metric", "grad_norm", "seconds"):
            if k in fields:
                fields[k] = none_to_nan(fields[k])
        return cls(**fields)


@dataclass
class EpochInfo:
    """What a callback sees after each epoch."""

    epoch: int
    epochs: int
    network: Network
    history: History
    logs: dict[str, float]


Callback = Callable[[EpochInfo], "bool | None"]


@dataclass
class BatchInfo:
    """What a batch callback sees after each mini-batch's optimiser step.

    ``gradients`` (and its ``forward``) come from the weights *before* the step; ``network`` holds
    the weights after it. Diagnostics read per-layer statistics from here without a second pass.
    ``gradients.dW`` is formed for every batch unless the callback (or the object whose
    ``on_batch`` it is) has a method ``wants_weight_grads(epoch, batch, batches_per_epoch) -> bool``
    that says it can do without; then SGD may leave ``dW`` factored (``None``) and fold it into its
    update.
    """

    epoch: int
    batch: int
    gradients: Gradients
    network: Network
    optimizer: Optimizer
    batches_per_epoch: int = 1


BatchCallback = Callable[[BatchInfo], None]


def grad_norm_stride(batches_per_epoch: int) -> int:
    """Every how many batches :attr:`History.grad_norm` is sampled: about 8 batches an epoch."""
    return max(1, batches_per_epoch // 8)


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


MONITORS = {"val_loss": "val_loss", "val_metric": "val_metric", "val_accuracy": "val_metric"}
"""Early-stopping monitors by the user's name; ``"val_accuracy"`` is Keras' name of the metric."""


def _check_monitor(monitor: Any, metric: str | None, has_validation: bool, out_name: str) -> str:
    """The canonical monitor (``"val_loss"`` or ``"val_metric"``) for ``monitor``, or ConfigError."""
    if not isinstance(monitor, str) or monitor not in MONITORS:
        valid = ", ".join(map(repr, MONITORS))
        raise ConfigError(f"unknown monitor {monitor!r}; valid monitors: {valid}")
    if MONITORS[monitor] == "val_loss":
        return "val_loss"
    if not has_validation:
        raise ConfigError(f"monitor={monitor!r} needs validation_data to compute the metric on")
    if metric is None:
        raise ConfigError(
            f"monitor={monitor!r} needs a validation metric, but none is computed here (metric=None, "
            f"or metric='auto' with a {out_name!r} output layer: 'auto' computes accuracy for "
            "softmax and sigmoid outputs only); pass metric='accuracy' or monitor='val_loss'"
        )
    return "val_metric"


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


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
    loss_fn = get_loss(loss)
    loss_fn.check_output(net.layers[-1].activation)
    check_reduction(reduction)
    epochs = _check_positive_int(epochs, "epochs")
    checkpoint_every = _check_positive_int(checkpoint_every, "checkpoint_every")
    if batch_size is not None and batch_size != "full":
        batch_size = _check_positive_int(batch_size, "batch_size")
    else:
        batch_size = None
    if patience is not None:
        patience = _check_positive_int(patience, "patience")
        if validation_data is None:
            raise ConfigError("early stopping (patience) needs validation_data")
    if threshold is not None and not threshold > 0:
        raise ConfigError(f"threshold must be > 0, got {threshold!r}")
    if resume and checkpoint_dir is None:
        raise ConfigError("resume=True needs a checkpoint_dir")
    if isinstance(optimizer, str):
        kwargs = {} if learning_rate is None else {"learning_rate": learning_rate}
        opt = get_optimizer(optimizer, **kwargs)
    else:
        opt = optimizer
    rng = check_random(seed)
    on_batch = list(batch_callbacks) + [
        cb.on_batch  # type: ignore[attr-defined]
        for cb in callbacks
        if callable(getattr(cb, "on_batch", None))
    ]
    hooks_want_dW = [_wants_weight_grads(hook) for hook in on_batch]

    xp, dtype, dev = net.xp, net.dtype, net.device
    X, Y = check_X_Y(X, Y, net.sizes[0], net.sizes[-1])
    X, Y = to_network(X, xp, dtype, dev), to_network(Y, xp, dtype, dev)
    if validation_data is not None:
        Xv, Yv = check_X_Y(*validation_data, net.sizes[0], net.sizes[-1], ("X_val", "y_val"))
        Xv, Yv = to_network(Xv, xp, dtype, dev), to_network(Yv, xp, dtype, dev)
    out_name = net.layers[-1].activation.name
    if metric == "auto":
        metric = "accuracy" if out_name in ("softmax", "sigmoid") else None
    if metric not in (None, "accuracy"):
        raise ConfigError(f"unknown metric {metric!r}; valid metrics: 'auto', 'accuracy', None")
    multilabel = out_name == "sigmoid" and net.sizes[-1] > 1
    monitor = _check_monitor(monitor, metric, validation_data is not None, out_name)
    # The best value so far in the monitor's own units; `sign` makes "lower is better" of either.
    sign = 1.0 if monitor == "val_loss" else -1.0

    n = X.shape[0]
    bs = n if batch_size is None else min(batch_size, n)
    batches_per_epoch = -(-n // bs)
    norm_stride = grad_norm_stride(batches_per_epoch)
    params = net.parameters()
    history = History()
    start_epoch = 0
    best: dict[str, Any] = {
        "monitor": monitor,
        "value": sign * math.inf,
        "weights": None,
        "epoch": None,
        "wait": 0,
    }

    if resume and has_checkpoint(checkpoint_dir):
        assert checkpoint_dir is not None
        start_epoch = _restore(checkpoint_dir, net, opt, rng, history, best)

    def snapshot() -> dict[str, Any]:
        # Weights to fall back to on divergence; with checkpoints, also what Ctrl-C saves.
        state: dict[str, Any] = {"weights": [xp.asarray(p, copy=True) for p in params]}
        if checkpoint_dir is not None:
            # best too: the interrupted epoch may already have moved the early-stopping state.
            state.update(rng=rng.get_state(), opt=opt.state_dict(), best=dict(best))
        return state

    def write_checkpoint(epoch_done: int, state: dict[str, Any] | None = None) -> None:
        assert checkpoint_dir is not None
        _save(checkpoint_dir, epoch_done, net, opt, rng, history, best, state)

    stop_reason = "max_epochs"
    epoch = start_epoch
    try:
        for epoch in range(start_epoch, epochs):
            t0 = time.perf_counter()
            start = snapshot()
            opt.set_epoch(epoch)
            order = rng.permutation(n) if shuffle and bs < n else None
            if order is not None:
                order = order if is_numpy(xp) else to_network(order, xp, None, dev)
            loss_sum = 0.0 * xp.sum(params[-1])  # a 0-d array on the right device
            hits = 0.0 * loss_sum
            sq_norms = [0.0 * loss_sum for _ in net.layers] if record_grad_norm else []
            n_batches = n_sampled = 0
            for lo in range(0, n, bs):
                if order is None:
                    xb, yb = (X, Y) if bs == n else (X[lo : lo + bs], Y[lo : lo + bs])
                else:
                    idx = order[lo : lo + bs]
                    xb, yb = xp.take(X, idx, axis=0), xp.take(Y, idx, axis=0)
                # Gradient norms are sampled on about 8 batches per epoch; the other batches
                # leave dW factored so SGD folds it into its update (one gemm per layer).
                sample = record_grad_norm and n_batches % norm_stride == 0
                need_dW = sample or any(
                    wants(epoch + 1, n_batches, batches_per_epoch) for wants in hooks_want_dW
                )
                g = backprop(net, xb, yb, loss_fn, reduction, weight_grads=need_dW)
                if history.initial_loss is None:  # where the run started (kept on resume)
                    history.initial_loss = float(g.loss)
                if g.dW[0] is None:
                    opt.step_factored(params, g)
                else:
                    opt.step(params, g.as_list())
                if on_batch:
                    batch_info = BatchInfo(epoch + 1, n_batches, g, net, opt, batches_per_epoch)
                    for bcb in on_batch:
                        bcb(batch_info)
                # The epoch's loss is the mean of the per-batch losses (before each update).
                loss_sum = loss_sum + g.loss
                if metric is not None:
                    hits = hits + correct_count(g.forward.output, yb, multilabel)
                if sample:
                    for l, dW in enumerate(g.dW):
                        sq_norms[l] = sq_norms[l] + sq_norm(dW)
                    n_sampled += 1
                n_batches += 1
            epoch_loss = float(loss_sum) / n_batches
            # A sum of squares is finite only when every weight is (one BLAS pass per array).
            weights_finite = math.isfinite(sum(float(sq_norm(p)) for p in params))
            if not math.isfinite(epoch_loss) or not weights_finite:
                net.set_weights(start["weights"])
                what = "NaN" if math.isnan(epoch_loss) else "infinite"
                if math.isfinite(epoch_loss):
                    what = "stayed finite but the weights overflowed to inf/NaN"
                became = "" if math.isfinite(epoch_loss) else "became "
                raise DivergenceError(
                    f"training diverged in epoch {epoch + 1}: the loss {became}{what}. The network "
                    f"keeps its weights from the end of epoch {epoch}. Use a smaller learning rate "
                    f"(now {opt.learning_rate:g}; try {opt.learning_rate / 10:g}), or the 'mean' "
                    "reduction, or standardise the inputs.",
                    epoch + 1,
                )
            history.epoch.append(epoch + 1)
            history.loss.append(epoch_loss)
            history.metric.append(float(hits) / n if metric is not None else math.nan)
            history.learning_rate.append(opt.learning_rate)
            if record_grad_norm:
                history.grad_norm.append([math.sqrt(float(s) / n_sampled) for s in sq_norms])
            logs = {"loss": epoch_loss, "metric": history.metric[-1]}
            stop = False
            if validation_data is not None:
                val_out = net.predict(Xv)
                v_loss = loss_value(net, Xv, Yv, loss_fn, reduction)
                v_metric = (
                    float(correct_count(val_out, Yv, multilabel)) / Xv.shape[0]
                    if metric is not None
                    else math.nan
                )
                history.val_loss.append(v_loss)
                history.val_metric.append(v_metric)
                logs.update(val_loss=v_loss, val_metric=v_metric)
                if patience is not None:
                    value = v_loss if monitor == "val_loss" else v_metric
                    if sign * value < sign * best["value"] - min_delta:
                        best.update(value=value, weights=net.get_weights(), epoch=epoch + 1, wait=0)
                    else:
                        best["wait"] += 1
                        if best["wait"] >= patience:
                            stop, stop_reason = True, "early_stopping"
            history.seconds.append(time.perf_counter() - t0)
            logs["seconds"] = history.seconds[-1]
            if threshold is not None and epoch_loss < threshold and not stop:
                stop, stop_reason = True, "threshold"
            info = EpochInfo(epoch + 1, epochs, net, history, logs)
            if callbacks_stop(callbacks, info) and not stop:
                stop, stop_reason = True, "callback"
            if checkpoint_dir is not None and (
                (epoch + 1) % checkpoint_every == 0 or stop or epoch + 1 == epochs
            ):
                history.stop_reason = stop_reason if (stop or epoch + 1 == epochs) else ""
                write_checkpoint(epoch + 1)
            if stop:
                break
    except KeyboardInterrupt:
        # Save the state at the start of the interrupted epoch, so at most one epoch is lost.
        if checkpoint_dir is not None and epoch > start_epoch:
            write_checkpoint(epoch, start)
        raise
    if stop_reason == "early_stopping" or (patience is not None and best["weights"] is not None):
        if best["weights"] is not None:
            net.set_weights(best["weights"])
            history.best_epoch = best["epoch"]
    history.stop_reason = stop_reason

    def chance() -> float | None:
        if metric is not None:
            return chance_accuracy(Y, multilabel)
        return chance_loss(Y, loss_fn, reduction, n / batches_per_epoch)

    history.failure = failure(history, chance)
    if history.failure:
        warnings.warn(history.failure, TrainingFailedWarning, stacklevel=2)
    return history


def _save(
    folder: str | Path,
    epoch_done: int,
    net: Network,
    opt: Optimizer,
    rng: Random,
    history: History,
    best: dict[str, Any],
    state: dict[str, Any] | None = None,
) -> None:
    """Write the whole run state; ``state`` (a start-of-epoch snapshot) overrides the live one."""
    if state is None:
        weights = net.get_weights()
        rng_state = rng.get_state()
        opt_scalars, opt_arrays = opt.state_dict()
        hist = history
    else:
        weights = [np.array(to_numpy(w)) for w in state["weights"]]
        rng_state = state["rng"]
        opt_scalars, opt_arrays = state["opt"]
        best = state["best"]
        hist = History.from_dict(
            {k: v[:epoch_done] if isinstance(v, list) else v for k, v in history.to_dict().items()}
        )
    arrays = {f"param.{i}": w for i, w in enumerate(weights)}
    arrays.update({f"opt.{k}": v for k, v in opt_arrays.items()})
    if best["weights"] is not None:
        arrays.update({f"best.{i}": w for i, w in enumerate(best["weights"])})
    best_meta = {k: best[k] for k in ("monitor", "value", "epoch", "wait")}
    if not math.isfinite(best_meta["value"]):
        best_meta["value"] = None  # the starting +-inf: nothing seen yet (strict JSON has no inf)
    meta: dict[str, Any] = {
        "epoch": epoch_done,
        "sizes": net.sizes,
        "activations": net.activation_names,
        "rng": rng_state,
        "optimizer": opt_scalars,
        "history": hist.to_dict(),
        "best": best_meta,
    }
    save_checkpoint(folder, arrays, meta)


def _restore(
    folder: str | Path,
    net: Network,
    opt: Optimizer,
    rng: Random,
    history: History,
    best: dict[str, Any],
) -> int:
    arrays, meta = load_checkpoint(folder)
    if meta.get("sizes") != net.sizes or meta.get("activations") != net.activation_names:
        raise DataError(
            f"the checkpoint in {folder} is for a {meta.get('sizes')} network with activations "
            f"{meta.get('activations')}, not this {net.sizes} one; use another checkpoint_dir"
        )
    # Checkpoints from before `monitor` existed hold the best validation loss as "loss".
    saved_monitor = meta["best"].get("monitor", "val_loss")
    if saved_monitor != best["monitor"]:
        raise DataError(
            f"the checkpoint in {folder} was made with monitor={saved_monitor!r}, not "
            f"{best['monitor']!r}: its early-stopping state means another quantity; resume with "
            f"monitor={saved_monitor!r} or use another checkpoint_dir"
        )
    n_params = len(net.parameters())
    net.set_weights([arrays[f"param.{i}"] for i in range(n_params)])
    opt.load_state_dict(
        meta["optimizer"],
        {k[4:]: v for k, v in arrays.items() if k.startswith("opt.")},
        net.parameters(),
    )
    rng.set_state(meta["rng"])
    restored = History.from_dict(meta["history"])
    for k in History.__dataclass_fields__:
        setattr(history, k, getattr(restored, k))
    history.stop_reason = history.failure = ""
    b = meta["best"]
    value = b.get("value", b.get("loss"))
    if value is not None:
        best["value"] = value
    best["epoch"], best["wait"] = b["epoch"], b["wait"]
    best["weights"] = [arrays[f"best.{i}"] for i in range(n_params)] if "best.0" in arrays else None
    return int(meta["epoch"])
