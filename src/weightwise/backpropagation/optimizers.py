"""Optimisers that adjust a network's arrays in place, and learning-rate schedules.

The update rules follow PyTorch's ``torch.optim.SGD`` and ``torch.optim.Adam`` exactly (same order
of operations), which the tests check to 1e-8 after ten steps:

- SGD with momentum ``mu``, L2 weight decay ``lambda`` and learning rate ``eta``::

      g = dW + lambda * W
      v = mu * v + g
      W = W - eta * (g + mu * v)     if nesterov     else     W - eta * v

- Adam (Kingma and Ba 2015), L2 weight decay added to the gradient as PyTorch does::

      m = b1 * m + (1 - b1) * g;   v = b2 * v + (1 - b2) * g**2
      W = W - eta / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)

Weight decay applies to every array (PyTorch's default) or, with ``decay_bias=False``, to the weight
matrices only (scikit-learn's penalty); every step path (:meth:`Optimizer.step`, the fused
:meth:`SGD.step_factored`) honours both alike. :mod:`weightwise.backpropagation.reference` writes
the same rules plainly, and the tests hold these fast paths to it.

Updates are in place, so learners that share the network's arrays (pre-training) see them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError, unknown_name
from ..net.backend import Array, asarray, namespace, to_numpy
from ..net.inplace import axpy, can_outer_update, outer_update, scal
from .gradients import Gradients

# --------------------------------------------------------------------------------------------------
# learning-rate schedules: epoch (0-based) -> multiplier of the initial learning rate


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule ``eta_epoch = eta_0 * factor(epoch)``.

    Parameters
    ----------
    name : {"constant", "step", "inverse_scaling", "exponential"}
    step_size : int
        ``step``: epochs between decays.
    gamma : float
        ``step``: factor per step; ``exponential``: factor per epoch.
    power_t : float
        ``inverse_scaling``: ``factor = 1 / (epoch + 1) ** power_t``.
    """

    name: str = "constant"
    step_size: int = 10
    gamma: float = 0.5
    power_t: float = 0.5

    def __post_init__(self) -> None:
        if self.name not in SCHEDULES:
            raise unknown_name("schedule", self.name, SCHEDULES)
        if self.step_size < 1:
            raise ConfigError(f"schedule step_size must be >= 1, got {self.step_size}")
        if not 0 < self.gamma <= 1:
            raise ConfigError(f"schedule gamma must be in (0, 1], got {self.gamma}")
        if self.power_t < 0:
            raise ConfigError(f"schedule power_t must be >= 0, got {self.power_t}")

    def factor(self, epoch: int) -> float:
        return SCHEDULES[self.name](self, epoch)


SCHEDULES: dict[str, Callable[[Schedule, int], float]] = {
    "constant": lambda s, e: 1.0,
    "step": lambda s, e: s.gamma ** (e // s.step_size),
    "inverse_scaling": lambda s, e: 1.0 / (e + 1) ** s.power_t,
    "exponential": lambda s, e: s.gamma**e,
}


def get_schedule(schedule: str | Schedule | None, **params: Any) -> Schedule:
    """A :class:`Schedule` from its name and parameters."""
    if schedule is None:
        return Schedule()
    if isinstance(schedule, Schedule):
        return schedule
    if schedule not in SCHEDULES:
        raise unknown_name("schedule", schedule, SCHEDULES)
    return Schedule(schedule, **params)


# --------------------------------------------------------------------------------------------------
# optimisers


class Optimizer:
    """Base class: holds the learning rate and schedule; subclasses implement :meth:`update`.

    Parameters
    ----------
    learning_rate : float
        Initial learning rate ``eta_0 > 0``.
    weight_decay : float
        L2 penalty ``lambda >= 0`` added to the gradient as ``lambda * W``.
    schedule : str or Schedule
        Learning-rate schedule, applied per epoch by :meth:`set_epoch`.
    decay_bias : bool
        Decay every array (PyTorch's default), or with ``False`` only those with ``ndim >= 2``
        (the weight matrices, not the bias vectors: scikit-learn's penalty).
    """

    name = "optimizer"

    def __init__(
        self,
        learning_rate: float = 0.01,
        weight_decay: float = 0.0,
        schedule: str | Schedule | None = None,
        decay_bias: bool = True,
    ) -> None:
        if not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
            raise ConfigError(f"learning_rate must be > 0, got {learning_rate!r}")
        if not weight_decay >= 0:
            raise ConfigError(f"weight_decay must be >= 0, got {weight_decay!r}")
        self.learning_rate0 = float(learning_rate)
        self.learning_rate = float(learning_rate)
        self.weight_decay = float(weight_decay)
        self.decay_bias = bool(decay_bias)
        self.schedule = get_schedule(schedule)
        self.t = 0  # number of updates made
        self._slots: dict[str, list[Array]] = {}

    def set_epoch(self, epoch: int) -> None:
        """Apply the schedule for ``epoch`` (0-based)."""
        self.learning_rate = self.learning_rate0 * self.schedule.factor(epoch)

    def decays(self, p: Array) -> bool:
        """Whether weight decay applies to parameter ``p`` (see ``decay_bias``)."""
        return self.decay_bias or p.ndim >= 2

    def step(self, params: list[Array], grads: list[Array]) -> None:
        """Update ``params`` in place from ``grads`` (same order and shapes)."""
        self.t += 1
        self.update(params, self._with_decay(params, grads))

    def _with_decay(self, params: list[Array], grads: list[Array]) -> list[Array]:
        """``g + lambda * p`` for the decayed parameters, as new arrays: the caller's gradients
        stay untouched."""
        lam = self.weight_decay
        if not lam:
            return grads
        return [g + lam * p if self.decays(p) else g for p, g in zip(params, grads, strict=True)]

    def step_factored(self, params: list[Array], grads: Gradients) -> None:
        """Update from a :class:`Gradients` whose ``dW`` may be ``None`` (left factored).

        The base class forms the missing ``dW = a.T @ delta`` and calls :meth:`step`; SGD overrides
        this to fold the product into its update.
        """
        dW = [
            g if g is not None else a.T @ d
            for g, a, d in zip(grads.dW, grads.forward.activations, grads.deltas, strict=False)
        ]
        self.step(params, [g for pair in zip(dW, grads.db, strict=True) for g in pair])

    def update(self, params: list[Array], grads: list[Array]) -> None:  # pragma: no cover
        raise NotImplementedError

    def _slot(self, key: str, params: list[Array]) -> list[Array]:
        if key not in self._slots:
            xp = namespace(params[0])
            self._slots[key] = [xp.zeros_like(p) for p in params]
        return self._slots[key]

    # checkpointing ----------------------------------------------------------------------------
    def state_dict(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able scalars, NumPy arrays) describing the optimiser's state."""
        arrays = {
            f"{key}.{i}": np.array(to_numpy(a), copy=True)
            for key, slot in self._slots.items()
            for i, a in enumerate(slot)
        }
        return {"t": self.t, "learning_rate": self.learning_rate, "name": self.name}, arrays

    def load_state_dict(
        self, scalars: dict[str, Any], arrays: dict[str, np.ndarray], like: list[Array]
    ) -> None:
        """Restore from :meth:`state_dict`; ``like`` are the parameters (namespace and device)."""
        self.t = int(scalars["t"])
        self.learning_rate = float(scalars["learning_rate"])
        self._slots = {}
        keys = sorted({k.rsplit(".", 1)[0] for k in arrays})
        for key in keys:
            self._slots[key] = [
                asarray(arrays[f"{key}.{i}"], namespace(p), p.dtype, getattr(p, "device", None))
                for i, p in enumerate(like)
            ]


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay.

    Parameters
    ----------
    learning_rate : float
    momentum : float
        ``mu`` in [0, 1).
    nesterov : bool
        Nesterov's accelerated gradient (Sutskever et al. 2013 form); needs ``momentum > 0``.
    weight_decay : float
    schedule : str or Schedule
    decay_bias : bool
        See :class:`Optimizer`.
    """

    name = "sgd"

    def __init__(
        self,
        learning_rate: float = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        schedule: str | Schedule | None = None,
        decay_bias: bool = True,
    ) -> None:
        super().__init__(learning_rate, weight_decay, schedule, decay_bias)
        if not 0 <= momentum < 1:
            raise ConfigError(f"momentum must be in [0, 1), got {momentum!r}")
        if nesterov and momentum == 0:
            raise ConfigError("nesterov=True needs momentum > 0")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def step_factored(self, params: list[Array], grads: Gradients) -> None:
        """As :meth:`step`, folding each ``dW = a.T @ delta`` into one BLAS ``gemm``.

        Plain momentum: ``v = a.T @ delta + mu * v`` is one gemm, then ``W -= eta * v`` one axpy,
        instead of forming ``dW`` and making three more passes over memory. Same arithmetic as
        :meth:`step`; falls back to it for Nesterov momentum, PyTorch tensors and small layers.
        """
        eta, mu, lam = self.learning_rate, self.momentum, self.weight_decay
        if self.nesterov or any(g is not None for g in grads.dW):
            return super().step_factored(params, grads)
        velocity = self._slot("velocity", params) if mu else None
        pending: list[int] = []  # layers the fused path cannot take
        for l, (a, d) in enumerate(zip(grads.forward.activations, grads.deltas, strict=False)):
            W = params[2 * l]
            done = can_outer_update(a, d, W)
            # W has ndim 2, so it is decayed whatever decay_bias says.
            if done and velocity is None:
                if lam:
                    scal(1.0 - eta * lam, W)  # W - eta * (dW + lam * W)
                outer_update(-eta, a, d, 1.0, W)
            elif done:
                assert velocity is not None
                v = velocity[2 * l]
                outer_update(1.0, a, d, mu, v)  # v = dW + mu * v
                if lam:
                    axpy(lam, W, v)
                axpy(-eta, v, W)
            if not done:
                pending.append(l)
        self.t += 1
        # Biases, and any layer the fused path cannot take, take the ordinary update.
        idx = [2 * l + 1 for l in range(len(grads.deltas))] + [2 * l for l in pending]
        acts, deltas = grads.forward.activations, grads.deltas
        sub = [params[i] for i in idx]
        full = [grads.db[i // 2] if i % 2 else acts[i // 2].T @ deltas[i // 2] for i in idx]
        v_sub = None if velocity is None else [velocity[i] for i in idx]
        self._apply(sub, self._with_decay(sub, full), v_sub)

    def update(self, params: list[Array], grads: list[Array]) -> None:
        self._apply(params, grads, self._slot("velocity", params) if self.momentum else None)

    def _apply(self, params: list[Array], grads: list[Array], velocity: list[Array] | None) -> None:
        eta, mu = self.learning_rate, self.momentum
        if velocity is None:
            for p, g in zip(params, grads, strict=True):
                axpy(-eta, g, p)
            return
        for p, g, v in zip(params, grads, velocity, strict=True):
            scal(mu, v)
            axpy(1.0, g, v)
            if self.nesterov:
                axpy(-eta, g, p)
                axpy(-eta * mu, v, p)
            else:
                axpy(-eta, v, p)


class Adam(Optimizer):
    """Adam (Kingma and Ba 2015) with PyTorch's bias correction and L2 weight decay.

    Parameters
    ----------
    learning_rate : float
    beta1, beta2 : float
        Decay rates of the first and second moment estimates, in [0, 1).
    epsilon : float
        Added to the denominator, > 0.
    weight_decay : float
    schedule : str or Schedule
    decay_bias : bool
        See :class:`Optimizer`.
    """

    name = "adam"

    def __init__(
        self,
        learning_rate: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        weight_decay: float = 0.0,
        schedule: str | Schedule | None = None,
        decay_bias: bool = True,
    ) -> None:
        super().__init__(learning_rate, weight_decay, schedule, decay_bias)
        for label, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ConfigError(f"{label} must be in [0, 1), got {beta!r}")
        if not epsilon > 0:
            raise ConfigError(f"epsilon must be > 0, got {epsilon!r}")
        self.beta1, self.beta2, self.epsilon = float(beta1), float(beta2), float(epsilon)

    def update(self, params: list[Array], grads: list[Array]) -> None:
        xp = namespace(params[0])
        b1, b2, t = self.beta1, self.beta2, self.t
        step = self.learning_rate / (1.0 - b1**t)
        root_bc2 = math.sqrt(1.0 - b2**t)
        m_slot = self._slot("m", params)
        v_slot = self._slot("v", params)
        for p, g, m, v in zip(params, grads, m_slot, v_slot, strict=True):
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            p -= step * (m / (xp.sqrt(v) / root_bc2 + self.epsilon))


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam}


def get_optimizer(name: str | Optimizer, **params: Any) -> Optimizer:
    """An optimiser from its name (``"sgd"``, ``"adam"``) and parameters, or pass one through."""
    if isinstance(name, Optimizer):
        return name
    if name not in OPTIMIZERS:
        raise unknown_name("optimizer", name, OPTIMIZERS)
    return OPTIMIZERS[name](**params)
