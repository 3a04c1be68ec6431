"""The BP estimators' optimisers: the engine's SGD and Adam with a schedule clock that survives
``partial_fit``; scikit-learn's L2 penalty is their ``weight_decay``."""

from __future__ import annotations

from typing import Any

from ..backpropagation.optimizers import SGD, Adam, Optimizer, Schedule


class _EstimatorOptimizer(Optimizer):
    """Offsets the schedule's epoch: ``epochs_done`` counts the epochs of earlier ``partial_fit``
    calls, so a decaying learning rate keeps decaying across calls.

    scikit-learn's L2 penalty is the optimiser's own ``weight_decay`` with ``decay_bias=False``
    (set by ``_BaseBP._backprop``), so every step path, the fused SGD one included, applies it.
    """

    epochs_done: int = 0
    run_settings: dict[str, Any] | None = None  # see backpropagation.resume.run_settings

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(self.epochs_done + epoch)


class _EstimatorSGD(_EstimatorOptimizer, SGD):
    pass


class _EstimatorAdam(_EstimatorOptimizer, Adam):
    pass


def make_optimizer(est: Any) -> _EstimatorOptimizer:
    """A fresh optimiser from a BP estimator's ``solver`` and step settings (no penalty yet)."""
    schedule = Schedule(est.learning_rate_schedule, est.lr_step_size, est.lr_gamma, est.power_t)
    if est.solver == "sgd":
        return _EstimatorSGD(est.learning_rate, est.momentum, est.nesterov, 0.0, schedule)
    return _EstimatorAdam(est.learning_rate, est.beta_1, est.beta_2, est.epsilon, 0.0, schedule)
