"""Per-epoch record of one layer's pre-training, shared by every layer-wise learner.

An RBM fills ``reconstruction_error``, ``pseudo_likelihood`` and ``free_energy_gap``; an
auto-encoder fills ``reconstruction_error`` (its training loss) and leaves the RBM-only columns
as NaN, so one table and one plot serve both.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .._util import nan_to_none, none_to_nan


@dataclass
class LayerHistory:
    """What happened to one layer, epoch by epoch.

    Attributes
    ----------
    epoch : list of int
        1-based epoch numbers.
    reconstruction_error : list of float
        Mean over the epoch's mini-batches of the mean squared difference between the data and its
        one-step reconstruction (for an RBM: ``v`` versus ``propdown(sample_h(v))`` means; for an
        auto-encoder: its reconstruction loss).
    pseudo_likelihood : list of float
        Mean log pseudo-likelihood per sample *and* per visible unit (Besag 1975), so values are
        comparable across layer widths; NaN where the learner has none.
    free_energy_gap : list of float
        ``mean F(validation) - mean F(training subset)`` (Hinton 2010, section 6): a gap that keeps
        growing signals over-fitting. NaN without validation data.
    seconds : list of float
        Wall time of each epoch (training only, not the monitoring).
    learning_rate : list of float
        Learning rate used in each epoch (after the schedule).
    stop_reason : str
        ``"max_epochs"`` or ``"callback"``.
    """

    epoch: list[int] = field(default_factory=list)
    reconstruction_error: list[float] = field(default_factory=list)
    pseudo_likelihood: list[float] = field(default_factory=list)
    free_energy_gap: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    learning_rate: list[float] = field(default_factory=list)
    stop_reason: str = ""

    @property
    def n_epochs(self) -> int:
        return len(self.epoch)

    def append(
        self,
        epoch: int,
        reconstruction_error: float,
        seconds: float,
        learning_rate: float = math.nan,
        pseudo_likelihood: float = math.nan,
        free_energy_gap: float = math.nan,
    ) -> None:
        """Add one epoch's row (columns a learner does not compute stay NaN)."""
        self.epoch.append(int(epoch))
        self.reconstruction_error.append(float(reconstruction_error))
        self.pseudo_likelihood.append(float(pseudo_likelihood))
        self.free_energy_gap.append(float(free_energy_gap))
        self.seconds.append(float(seconds))
        self.learning_rate.append(float(learning_rate))

    def last(self) -> dict[str, float]:
        """The latest epoch's values as a dict (what callbacks receive as ``logs``)."""
        if not self.epoch:
            return {}
        return {
            "epoch": float(self.epoch[-1]),
            "reconstruction_error": self.reconstruction_error[-1],
            "pseudo_likelihood": self.pseudo_likelihood[-1],
            "free_energy_gap": self.free_energy_gap[-1],
            "seconds": self.seconds[-1],
            "learning_rate": self.learning_rate[-1],
        }

    def extend(self, other: LayerHistory) -> None:
        """Append ``other``'s epochs (a later fit of the same learner); its stop reason wins."""
        for name in self.__dataclass_fields__:
            mine = getattr(self, name)
            if isinstance(mine, list):
                mine.extend(getattr(other, name, []))
        self.stop_reason = other.stop_reason

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (NaN becomes None)."""

        return {k: nan_to_none(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LayerHistory:
        """Inverse of :meth:`to_dict` (None becomes NaN; unknown keys are ignored)."""

        names = {f for f in cls.__dataclass_fields__}
        return cls(**{k: none_to_nan(v) for k, v in d.items() if k in names})


@dataclass
class LayerEpochInfo:
    """What a layer-wise callback sees after each epoch; return True from the callback to stop.

    Attributes
    ----------
    epoch : int
        1-based epoch just finished.
    epochs : int
        Epochs requested.
    learner : object
        The RBM or auto-encoder being trained.
    history : LayerHistory
    logs : dict
        The epoch's row, :meth:`LayerHistory.last`.
    """

    epoch: int
    epochs: int
    learner: Any
    history: LayerHistory
    logs: dict[str, float]


LayerCallback = Callable[[LayerEpochInfo], "bool | None"]


@dataclass(kw_only=True)
class PretrainEpochInfo(LayerEpochInfo):
    """A :class:`LayerEpochInfo` of greedy pre-training: which layer of the stack is training.

    Return True from the callback to stop training the current layer and move up to the next.
    ``epochs`` is the layer's whole count, also when a resumed run trains only the rest.

    Attributes
    ----------
    layer : int
        1-based index of the layer being trained.
    n_layers : int
        Number of layers being pre-trained.
    learner_name : str
        The learner's registry name (``"rbm"``, ``"denoising"``, ...).
    """

    layer: int
    n_layers: int
    learner_name: str
