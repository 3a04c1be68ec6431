"""What a back-propagation run records, and what its callbacks see.

:class:`History` is the per-epoch record that :func:`~weightwise.backpropagation.training.fit`
returns (and a checkpoint keeps); :class:`EpochInfo` is passed to epoch callbacks and
:class:`BatchInfo` to batch callbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .._util import nan_to_none, none_to_nan
from ..net.network import Network
from .gradients import Gradients
from .optimizers import Optimizer


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
