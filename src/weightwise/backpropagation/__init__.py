"""Back to front: error back-propagation (Rumelhart, Hinton and Williams 1986).

Read it in this order:

- :mod:`.gradients`: :func:`backprop`, one forward and one backward pass, the equations of BP;
- :mod:`.optimizers`: what a step does with the gradients (SGD with momentum, Adam), with
  :mod:`.reference` beside it, the same updates written plainly, that the tests hold them to;
- :mod:`.training`: :func:`fit`, the epoch loop, calling the named pieces :mod:`.stopping` (early
  stopping), :mod:`.resume` (checkpoints), :mod:`.health` (did the run die?) and recording a
  :class:`~.history.History`; :mod:`.pseudo_labels` adds unlabelled rows to its batches;
- :mod:`.gradcheck`: the gradients against central finite differences.
"""

from __future__ import annotations

from .gradients import Gradients, backprop, loss_value
from .history import BatchInfo, EpochInfo, History
from .optimizers import SGD, Adam, Optimizer, get_optimizer
from .pseudo_labels import PseudoLabels
from .training import fit

__all__ = [
    "SGD",
    "Adam",
    "BatchInfo",
    "EpochInfo",
    "Gradients",
    "History",
    "Optimizer",
    "PseudoLabels",
    "backprop",
    "fit",
    "get_optimizer",
    "loss_value",
]
