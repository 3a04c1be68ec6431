"""Early stopping: patience on a validation quantity, keeping the best epoch's weights.

The monitored quantity is the validation loss (``"val_loss"``, lower is better) or the validation
metric (``"val_metric"``, e.g. accuracy, higher is better; Keras' ``EarlyStopping(
monitor="val_accuracy")`` and scikit-learn's MLP early stopping on the validation score). On deep
nets the validation loss can turn up epochs before the validation error stops falling, so the
choice matters.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError
from ..net.network import Network

MONITORS = {"val_loss": "val_loss", "val_metric": "val_metric", "val_accuracy": "val_metric"}
"""Early-stopping monitors by the user's name; ``"val_accuracy"`` is Keras' name of the metric."""


def check_monitor(monitor: Any, metric: str | None, has_validation: bool, out_name: str) -> str:
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


@dataclass
class EarlyStopping:
    """The early-stopping state of one run.

    Parameters
    ----------
    monitor : {"val_loss", "val_metric"}
        Canonical name (see :func:`check_monitor`).
    patience : int or None
        Epochs without improvement before stopping; ``None`` never stops (the state is still
        kept, so a checkpoint records it).
    min_delta : float
        An improvement smaller than this does not count.

    Attributes
    ----------
    value : float
        Best monitored value so far (``+inf`` for a loss, ``-inf`` for a metric before any).
    weights : list of arrays or None
        The network's weights at the best epoch.
    epoch : int or None
        The best epoch (1-based).
    wait : int
        Epochs since the best one.
    """

    monitor: str
    patience: int | None = None
    min_delta: float = 0.0
    value: float = field(init=False)
    weights: list[Any] | None = None
    epoch: int | None = None
    wait: int = 0

    def __post_init__(self) -> None:
        self.value = self.sign * math.inf

    @property
    def sign(self) -> float:
        """+1 when lower is better (a loss), -1 when higher is (a metric): compare ``sign * x``."""
        return 1.0 if self.monitor == "val_loss" else -1.0

    def update(self, epoch: int, val_loss: float, val_metric: float, net: Network) -> bool:
        """Take epoch ``epoch``'s validation figures; True when patience has run out."""
        if self.patience is None:
            return False
        value = val_loss if self.monitor == "val_loss" else val_metric
        if self.sign * value < self.sign * self.value - self.min_delta:
            self.value, self.weights, self.epoch, self.wait = value, net.get_weights(), epoch, 0
            return False
        self.wait += 1
        return self.wait >= self.patience

    def restore_best(self, net: Network) -> int | None:
        """Put the best epoch's weights back into ``net``; return that epoch (None if none)."""
        if self.patience is None or self.weights is None:
            return None
        net.set_weights(self.weights)
        return self.epoch

    def copy(self) -> EarlyStopping:
        """A copy to fall back to (the weights list is replaced on update, never mutated)."""
        return copy.copy(self)

    # -- checkpoints -----------------------------------------------------------------------------

    def state_dict(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """``(meta, arrays)``: JSON-able scalars and the best weights as ``best.<i>``."""
        meta = {
            "monitor": self.monitor,
            # The starting +-inf means nothing seen yet (strict JSON has no inf).
            "value": self.value if math.isfinite(self.value) else None,
            "epoch": self.epoch,
            "wait": self.wait,
        }
        arrays = {} if self.weights is None else {f"best.{i}": w for i, w in enumerate(self.weights)}
        return meta, arrays

    def load_state_dict(
        self, meta: dict[str, Any], arrays: dict[str, np.ndarray], n_params: int, folder: Any
    ) -> None:
        """Inverse of :meth:`state_dict`; refuses a checkpoint that monitored another quantity."""
        saved = meta["monitor"]
        if saved != self.monitor:
            raise DataError(
                f"the checkpoint in {folder} was made with monitor={saved!r}, not "
                f"{self.monitor!r}: its early-stopping state means another quantity; resume with "
                f"monitor={saved!r} or use another checkpoint_dir"
            )
        if meta["value"] is not None:  # None: nothing seen yet, the starting +-inf
            self.value = meta["value"]
        self.epoch, self.wait = meta["epoch"], meta["wait"]
        self.weights = [arrays[f"best.{i}"] for i in range(n_params)] if "best.0" in arrays else None
