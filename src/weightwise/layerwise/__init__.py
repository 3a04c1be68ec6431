"""Front to back: learners that fill a network's layers one at a time, first layer first.

Each learner (an RBM, an auto-encoder) holds references to its layer's ``W`` and ``b`` (the same
arrays the back-propagation engine adjusts) plus extras of its own (a visible or decoder bias).
"""

from __future__ import annotations

from .history import LayerCallback, LayerEpochInfo, LayerHistory
from .loop import LayerDivergenceError, run_epochs
from .rbm import BaseRBM, BernoulliRBM, GaussianRBM

__all__ = [
    "BaseRBM",
    "BernoulliRBM",
    "GaussianRBM",
    "LayerCallback",
    "LayerDivergenceError",
    "LayerEpochInfo",
    "LayerHistory",
    "run_epochs",
]
