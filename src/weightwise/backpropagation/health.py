"""Did a back-propagation run die? The one rule that :func:`~weightwise.backpropagation.training.fit`,
the estimators and the command line share.

A run is *dead* when, at its last epoch (or the epoch whose weights early stopping restored),

1. it has learnt nothing: the training accuracy is at chance, i.e. not above the majority-class
   frequency ``c`` by more than a tenth of what is left to learn (``accuracy <= c + 0.1 (1 - c)``,
   and below 1). The majority-class frequency, not ``1 / n_classes``: a network that answers one
   class for every sample scores exactly that much, and it is never below ``1 / n_classes``.
   Without an accuracy (regression), it has learnt nothing when its squared error explains at
   most a tenth of the targets' variance (the loss is at least 0.9 times the loss of predicting
   the targets' mean for every sample); with another loss, when the loss is not below the loss of
   the first batch before any update;
2. and either the loss rose far above where it started: more than :data:`LOSS_RISE` times the
   loss of the first batch before any update, or the gradients vanished to zero: every layer's
   gradient norm is below :data:`VANISHED` times the largest layer norm of the first epoch
   (saturated or dead units pass no gradient back, and nothing moves again).

Both cases come from a learning rate that is far too large, so the warning names it and suggests
one ten times smaller.

Calibration (scikit-learn's digits, 64-100-10, 20 epochs), dead runs: SGD with learning rate 100
(loss 2.3 before the first update, 158 at the end, accuracy 0.09, every gradient exactly 0 from
epoch 3); Adam with learning rate 1e6 (loss 2.3 to 800,000, accuracy 0.09, gradients 0 from
epoch 3); a tanh network trained with ``SGD(10.0)`` on squared error (loss 1.5 to 5.3, gradients 0
from epoch 2). Healthy runs stay far from the thresholds: the deep (5 x 100) sigmoid network of
``weightwise compare`` sits at chance (accuracy 0.08-0.10, majority class 0.10) with a loss that
does not rise (2.37 to 2.31), and its largest layer gradient ends at 0.07-0.5 of its first
epoch's (its first layer's at 1e-5 absolute: small, not zero).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..net.backend import Array, to_numpy
from ..net.losses import Loss

if TYPE_CHECKING:  # pragma: no cover
    from .history import History

LOSS_RISE = 10.0
"""A dead run's loss ends above this multiple of the loss before the first update."""

VANISHED = 1e-5
"""Gradients have vanished when every layer's norm is below this fraction of the first epoch's."""

CHANCE_MARGIN = 0.1
"""Accuracy up to the majority-class frequency plus this fraction of the rest is chance."""


def chance_accuracy(Y: Array, multilabel: bool) -> float:
    """The training accuracy of always answering the most common target: the level of chance.

    Parameters
    ----------
    Y : array of shape (n_samples, n_outputs)
        One-hot rows (softmax), 0/1 columns (one sigmoid unit, or several for multi-label).
    multilabel : bool
        Several independent sigmoid units: the most common row of labels.
    """
    Yh = np.asarray(to_numpy(Y))
    if Yh.shape[1] == 1:
        p = float(np.mean(Yh > 0.5))
        return max(p, 1.0 - p)
    if multilabel:
        _, counts = np.unique(Yh > 0.5, axis=0, return_counts=True)
    else:
        counts = np.bincount(np.argmax(Yh, axis=1))
    return float(counts.max()) / Yh.shape[0]


def chance_loss(Y: Array, loss: Loss, reduction: str, mean_batch_size: float) -> float | None:
    """The epoch loss of predicting the targets' mean for every sample (squared error), else None.

    With the ``"sum"`` reduction a batch's loss adds its samples, so the epoch's loss (a mean over
    batches) is the per-sample loss times the mean batch size.
    """
    if loss.name != "squared_error":
        return None
    per_sample = 0.5 * float(np.sum(np.var(np.asarray(to_numpy(Y), dtype=np.float64), axis=0)))
    return per_sample * (mean_batch_size if reduction == "sum" else 1.0)


def failure(history: History, chance: Callable[[], float | None]) -> str:
    """The warning that a finished run is dead (see the module's rule), or ``""`` when it is not.

    Parameters
    ----------
    history : History
        With ``initial_loss`` set; ``grad_norm`` may be empty (then only the loss is judged).
    chance : callable
        Returns the chance accuracy (:func:`chance_accuracy`) when the history has an accuracy,
        else the chance loss (:func:`chance_loss`, or None); called only when the run looks dead.
    """
    if not history.epoch or history.initial_loss is None:
        return ""
    i = history.epoch.index(history.best_epoch) if history.best_epoch in history.epoch else -1
    start, loss, acc = history.initial_loss, history.loss[i], history.metric[i]
    rose = start > 0 and loss > LOSS_RISE * start
    norms = history.grad_norm
    # Vanished: gradients that were there in the first epoch are gone. Gradients that were zero
    # from the start (dead units at initialisation, constant inputs) are not the learning rate's
    # doing, so they are not reported as its failure.
    first = max(norms[0]) if norms else 0.0
    vanished = len(norms) > 1 and first > 0 and max(norms[i]) <= VANISHED * first
    if not (rose or vanished):
        return ""
    if math.isnan(acc):
        level = chance()
        if level is None:
            if not loss >= start:
                return ""
            learnt = f"the loss {loss:.4g} is not below {start:.4g} before the first update"
        else:
            if not loss >= (1.0 - CHANCE_MARGIN) * level:
                return ""
            learnt = f"the loss {loss:.4g} is no better than predicting the targets' mean ({level:.4g})"
    else:
        c = chance()
        assert c is not None
        if not (acc < 1.0 and acc <= c + CHANCE_MARGIN * (1.0 - c)):
            return ""
        learnt = (
            f"the training accuracy {acc:.3f} is at chance (always answering the most common class "
            f"scores {c:.3f})"
        )
    epoch = history.epoch[i]
    lr = history.learning_rate[0] if history.learning_rate else math.nan
    if rose:
        what = f"the loss rose from {start:.4g} before the first update to {loss:.4g} in epoch {epoch}"
        cause = f"the learning rate {lr:g} is too large"
    else:
        what = (
            f"the gradients vanished to zero in every layer in epoch {epoch} (largest "
            f"{max(norms[i]):.2g}, from {max(norms[0]):.2g} in epoch {history.epoch[0]})"
        )
        cause = f"the units saturated or died, most likely because the learning rate {lr:g} is too large"
    return f"training failed: {what} and {learnt}: {cause}; try {lr / 10:g}"
