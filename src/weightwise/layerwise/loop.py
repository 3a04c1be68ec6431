"""The one epoch loop of every layer-wise learner: callbacks, stopping, divergence.

A learner (an RBM, an auto-encoder) keeps its own maths and hands :func:`run_epochs` two functions
per ``fit`` call:

- ``train()``: one pass over the shuffled mini-batches; returns the epoch's mean reconstruction
  error (a float);
- ``record(error, seconds)``: the epoch's monitoring (pseudo-likelihood, validation loss), its
  history row, and the logs the callbacks see.

Between the two the loop checks that the epoch stayed finite, and after ``record`` it calls the
callbacks, with the rules of :func:`weightwise.backpropagation.training.fit` (see
:func:`weightwise._util.callbacks_stop`): every callback is called after every epoch, and the run
stops when one returns ``True`` itself.

A diverging epoch (a non-finite reconstruction error, or a non-finite value in any parameter or
extra array) raises :class:`LayerDivergenceError`, with the learner's arrays put back to what they
held when that epoch started, so the learner keeps its last finite weights.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .._util import callbacks_stop
from ..errors import DivergenceError
from ..net.backend import Array, namespace
from ..net.inplace import sq_norm
from .history import LayerCallback, LayerEpochInfo, LayerHistory

__all__ = ["LayerDivergenceError", "LayerLearner", "run_epochs"]


class LayerLearner(Protocol):
    """What :func:`run_epochs` needs of a learner besides its two per-epoch functions.

    Attributes
    ----------
    n_epochs_ : int
        Epochs completed over all ``fit`` calls; the loop adds one after each finite epoch.
    layer_label : str or None
        Where the learner sits, e.g. ``"layer 2 of 3"`` (set by
        :func:`weightwise.layerwise.greedy.pretrain`); None for a learner trained on its own.
    display_name : str
        The learner as the error message names it (``"BernoulliRBM"``, ``"denoising AutoEncoder"``).
    learning_rate : float
        The base learning rate the user chose (before any schedule), the value to make smaller.
    """

    n_epochs_: int
    layer_label: str | None

    @property
    def display_name(self) -> str: ...

    @property
    def learning_rate(self) -> float: ...

    def state_arrays(self) -> dict[str, Array]:
        """Parameters and extras by name (the live arrays, not copies): what must stay finite."""
        ...

    def reset_momentum(self) -> None:
        """Zero the momentum increments (or optimiser slots) after a diverged epoch."""
        ...


class LayerDivergenceError(DivergenceError):
    """A layer-wise learner diverged; the message names it, its layer, the epoch and the fix.

    Attributes
    ----------
    epoch : int
        1-based epoch (counted over all ``fit`` calls) in which training stopped being finite.
    learner : str
        The learner's :attr:`LayerLearner.display_name`.
    layer : str or None
        ``"layer 2 of 3"`` inside greedy pre-training, else None.
    learning_rate : float
        The learner's base learning rate.
    reason : str
        What stopped being finite, e.g. ``"the reconstruction error became NaN"``.
    setting : str or None
        The setting a caller exposes for that learning rate (``"pretrain_learning_rate"``,
        ``"--lr"``), named in the advice; see :meth:`with_setting`.
    """

    def __init__(
        self,
        learner: str,
        layer: str | None,
        epoch: int,
        learning_rate: float,
        reason: str,
        setting: str | None = None,
    ) -> None:
        self.learner, self.layer, self.learning_rate = learner, layer, float(learning_rate)
        self.reason, self.setting = reason, setting
        super().__init__(self._message(epoch), epoch)

    def _message(self, epoch: int) -> str:
        where = "" if self.layer is None else f" on {self.layer}"
        kept = "its initial weights" if epoch <= 1 else f"its weights from the end of epoch {epoch - 1}"
        lr, smaller = self.learning_rate, self.learning_rate / 10
        how = ""
        if self.setting is not None:
            how = (
                f": pass {self.setting} {smaller:g}"
                if self.setting.startswith("--")
                else f": set {self.setting}={smaller:g}"
            )
        return (
            f"{self.learner}{where} diverged in epoch {epoch}: {self.reason}. The learner keeps "
            f"{kept}. Use a smaller learning rate for this learner (now {lr:g}; try {smaller:g}){how}."
        )

    def with_setting(self, setting: str) -> LayerDivergenceError:
        """The same error, its advice naming ``setting``: an estimator parameter
        (``"pretrain_learning_rate"``: "set pretrain_learning_rate=...") or a command-line option
        (``"--lr"``: "pass --lr ...")."""
        return LayerDivergenceError(
            self.learner, self.layer, self.epoch, self.learning_rate, self.reason, setting
        )

    def __reduce__(self) -> Any:  # picklable (sweeps send errors between processes)
        args = (self.learner, self.layer, self.epoch, self.learning_rate, self.reason, self.setting)
        return (LayerDivergenceError, args)


def _finite(a: Array) -> bool:
    """Whether every value of ``a`` is finite: one pass (a sum of squares) in the common case."""
    if math.isfinite(float(sq_norm(a))):
        return True
    # The sum of squares also overflows for huge finite values; only then look value by value.
    xp = namespace(a)
    return bool(xp.all(xp.isfinite(a)))


def _divergence_reason(error: float, arrays: dict[str, Array]) -> str | None:
    """What stopped being finite in the epoch just trained, or None when all is finite."""
    if not math.isfinite(error):
        return f"the reconstruction error became {'NaN' if math.isnan(error) else 'infinite'}"
    bad = [name for name, a in arrays.items() if not _finite(a)]
    if not bad:
        return None
    names = " and ".join(bad) if len(bad) < 3 else ", ".join(bad[:-1]) + " and " + bad[-1]
    return f"the reconstruction error stayed finite but {names} overflowed to inf/NaN"


def run_epochs(
    learner: LayerLearner,
    epochs: int,
    train: Callable[[], float],
    record: Callable[[float, float], dict[str, float]],
    history: LayerHistory,
    callbacks: Sequence[LayerCallback] = (),
) -> LayerHistory:
    """Run up to ``epochs`` epochs of ``learner``: train, check, record, call back.

    Per epoch: copy the learner's :meth:`~LayerLearner.state_arrays` (into buffers made once per
    call, so one copy of the parameters per epoch and nothing per batch), time ``train()``, check
    that the epoch stayed finite, add one to ``learner.n_epochs_``, call ``record(error,
    seconds)`` for the logs, then call every callback with a :class:`LayerEpochInfo`.

    Parameters
    ----------
    learner : LayerLearner
    epochs : int
        Epochs to run in this call (``>= 0``).
    train : callable
        ``train() -> float``: one epoch of updates; the epoch's mean reconstruction error.
    record : callable
        ``record(error, seconds) -> logs``: the epoch's monitoring and history row (called after
        ``n_epochs_`` counts the epoch); returns the dict the callbacks get as ``logs``.
    history : LayerHistory
        This call's history (``record`` appends to it); its ``stop_reason`` is set here.
    callbacks : sequence of callables
        Each is called after every epoch, even when an earlier one asked to stop; the run stops
        after the epoch in which one returned ``True`` (exactly ``True``: other truthy values
        do not stop), as in :func:`weightwise.backpropagation.training.fit`.

    Returns
    -------
    LayerHistory
        ``history``, ``stop_reason`` ``"max_epochs"`` or ``"callback"``.

    Raises
    ------
    LayerDivergenceError
        When an epoch's reconstruction error, or any value of a parameter or extra array, is NaN
        or infinite. The arrays are first put back to their values at the start of that epoch
        (the end of the last finite epoch), the momentum increments (or optimiser slots) are reset
        to zero, and ``n_epochs_`` does not count the diverged epoch; the callbacks never see it.
    """
    arrays = learner.state_arrays()
    saved = {name: namespace(a).asarray(a, copy=True) for name, a in arrays.items()}
    history.stop_reason = "max_epochs"
    for _ in range(epochs):
        for name, a in arrays.items():
            saved[name][...] = a
        t0 = time.perf_counter()
        error = float(train())
        seconds = time.perf_counter() - t0
        reason = _divergence_reason(error, arrays)
        if reason is not None:
            for name, a in arrays.items():
                a[...] = saved[name]
            learner.reset_momentum()
            raise LayerDivergenceError(
                learner.display_name,
                learner.layer_label,
                learner.n_epochs_ + 1,
                learner.learning_rate,
                reason,
            )
        learner.n_epochs_ += 1
        logs = record(error, seconds)
        info = LayerEpochInfo(learner.n_epochs_, epochs, learner, history, logs)
        if callbacks_stop(callbacks, info):
            history.stop_reason = "callback"
            break
    return history
