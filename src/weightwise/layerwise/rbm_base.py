"""The part of an RBM that does not depend on its visible units: CD-k and PCD, training, sampling.

An epoch's CD steps, monitoring and saving live here too (the epoch loop, with its callbacks and
divergence check, is :mod:`weightwise.layerwise.loop`'s, shared with the auto-encoder); the maths
of each kind of visible unit (Bernoulli, Gaussian) lives in :mod:`weightwise.layerwise.rbm`.

The fast CD-k/PCD step itself (positive phase, Gibbs chain, negative phase, increments, in
preallocated buffers) is :mod:`weightwise.layerwise.cd`, beside its plain reference
:func:`weightwise.layerwise.reference.cd_update`; :class:`BaseRBM` keeps the parameters and the
training state and calls it once per mini-batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeVar

import numpy as np

from ..backpropagation.optimizers import Schedule, get_schedule
from ..checks import check_cd_k, check_fraction, check_positive, check_positive_int
from ..errors import ConfigError, DataError
from ..net.activations import sigmoid_
from ..net.backend import (
    Array,
    Random,
    asarray,
    check_random,
    is_numpy,
    namespace,
    resolve_backend,
    resolve_dtype,
    to_numpy,
)
from ..net.backend import device as array_device
from ..net.network import Dense
from ._rbm_kernels import (
    bernoulli,
    softplus,
    take_rows_into,
)
from .cd import CDBuffers, cd_step
from .history import LayerCallback, LayerHistory
from .learner import check_visible_data, copy_arrays_into, shuffled_order
from .loop import run_epochs

__all__ = ["BaseRBM"]

_RBM = TypeVar("_RBM", bound="BaseRBM")


class BaseRBM:
    """What Bernoulli and Gaussian RBMs share: CD-k/PCD training, monitoring, sampling.

    Parameters
    ----------
    W : array of shape (n_visible, n_hidden)
        Weights, used as given (no copy): updates are made in place, so a ``Dense`` layer holding
        the same array sees them.
    b_hidden : array of shape (n_hidden,)
        Hidden biases, used as given.
    b_visible : array of shape (n_visible,), optional
        Visible biases, the RBM's own extra; zeros by default (see :meth:`init_visible_bias`).
    learning_rate : float
        Step size per mini-batch for the batch-averaged gradient.
    cd_k : int
        Gibbs steps per update (CD-k), ``>= 1``.
    persistent : bool
        Persistent CD: the negative chains continue from the previous update instead of the data.
    momentum, final_momentum : float
        Momentum before and from ``momentum_switch_epoch`` on (Hinton's 0.5 then 0.9).
    momentum_switch_epoch : int
        Completed epochs after which ``final_momentum`` applies.
    weight_cost : float
        L2 penalty on ``W`` (not the biases), Hinton's 2e-4.
    sparsity_target : float in (0, 1), optional
        Desired mean activation of each hidden unit.
    sparsity_cost : float
        Strength of the sparsity penalty (Hinton's guide, section 11).
    schedule : str or Schedule, optional
        Learning-rate schedule over epochs (see :mod:`weightwise.backpropagation.optimizers`).
    batch_size : int
        Mini-batch size of :meth:`fit`.
    seed : int, Random, numpy Generator or None
        Source of all randomness (Bernoulli draws, shuffling, chain starts).
    monitor_size : int
        Training rows (a random subset, fixed per ``fit`` call) used by the per-epoch
        pseudo-likelihood and free-energy gap; 0 switches those two diagnostics off. For wide
        layers the pseudo-likelihood scores a fixed random subset of visible units so that it
        stays under a second per epoch (an unbiased estimate of the mean per unit).

    Notes
    -----
    The momentum and learning-rate schedules follow ``n_epochs_``, the epochs completed by
    :meth:`fit`; :meth:`partial_fit` alone does not advance it.
    """

    visible_kind = ""

    def __init__(
        self,
        W: Array,
        b_hidden: Array,
        b_visible: Array | None = None,
        *,
        learning_rate: float = 0.1,
        cd_k: int = 1,
        persistent: bool = False,
        momentum: float = 0.5,
        final_momentum: float = 0.9,
        momentum_switch_epoch: int = 5,
        weight_cost: float = 2e-4,
        sparsity_target: float | None = None,
        sparsity_cost: float = 0.0,
        schedule: str | Schedule | None = None,
        batch_size: int = 100,
        seed: int | Random | np.random.Generator | None = None,
        monitor_size: int = 256,
    ) -> None:
        b_visible = _visible_bias(W, b_hidden, b_visible)
        _check_settings(momentum_switch_epoch, weight_cost, sparsity_target, sparsity_cost, monitor_size)
        self.W = W
        self.b_hidden = b_hidden
        self.b_visible = b_visible
        self.learning_rate = check_positive(learning_rate, "learning_rate")
        self.cd_k = check_cd_k(cd_k)
        self.persistent = bool(persistent)
        self.momentum = check_fraction(momentum, "momentum")
        self.final_momentum = check_fraction(final_momentum, "final_momentum")
        self.momentum_switch_epoch = int(momentum_switch_epoch)
        self.weight_cost = float(weight_cost)
        self.sparsity_target = sparsity_target
        self.sparsity_cost = float(sparsity_cost)
        self.schedule = get_schedule(schedule)
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.monitor_size = int(monitor_size)
        self.rng = check_random(seed)
        # The monitoring subset has its own stream, seeded once by the first fit, so that a fit
        # resumed from a checkpoint draws the same shuffling orders as an uninterrupted one.
        self._monitor_seed: int | None = None
        # learned state
        self.n_epochs_ = 0  # completed epochs, drives the momentum and learning-rate schedules
        self.history_ = LayerHistory()
        # momentum increments of W, b_hidden and b_visible (Hinton's guide, section 9)
        xp, dev = namespace(W, b_hidden), array_device(W)
        self._inc_W = xp.zeros(tuple(W.shape), dtype=W.dtype, device=dev)
        self._inc_b_hidden = xp.zeros((self.n_hidden,), dtype=W.dtype, device=dev)
        self._inc_b_visible = xp.zeros((self.n_visible,), dtype=W.dtype, device=dev)
        # running mean hidden activity ``q`` of the sparsity penalty (Hinton's guide, section 11)
        self._hidden_activity: Array | None = None
        self._chain: Array | None = None  # PCD fantasy particles (batch_size, n_visible)
        self._buffers: dict[int, CDBuffers] = {}
        self._monitor_units: np.ndarray | None = None  # visible units scored by the monitor
        # Where the RBM sits in a stack ("layer 2 of 3"), for error messages; set by pretrain.
        self.layer_label: str | None = None

    # construction -----------------------------------------------------------------------------
    @classmethod
    def create(
        cls: type[_RBM],
        n_visible: int,
        n_hidden: int,
        *,
        dtype: Any = "float32",
        backend: str = "numpy",
        device: Any = None,
        seed: int | Random | np.random.Generator | None = None,
        **params: Any,
    ) -> _RBM:
        """A fresh RBM with Hinton's initialisation: ``W ~ N(0, 0.01**2)``, zero biases.

        ``params`` are the constructor's keyword arguments; ``seed`` draws the weights and then
        drives training.
        """
        if n_visible < 1 or n_hidden < 1:
            raise ConfigError(f"n_visible and n_hidden must be >= 1, got {n_visible} and {n_hidden}")
        xp = resolve_backend(backend)
        dt = resolve_dtype(dtype, xp)
        rng = check_random(seed)
        W = asarray(rng.normal(0.01, (n_visible, n_hidden)), xp, dt, device)
        b_hidden = xp.zeros((n_hidden,), dtype=dt, device=device)
        return cls(W, b_hidden, seed=rng, **params)

    @classmethod
    def from_layer(cls: type[_RBM], layer: Dense, **params: Any) -> _RBM:
        """An RBM that trains ``layer.W`` and ``layer.b`` in place (the same arrays, no copy).

        Raises
        ------
        ConfigError
            If the layer's activation is not the sigmoid.
        """
        name = layer.activation.name
        if name != "sigmoid":
            raise ConfigError(
                f"an RBM cannot pre-train a {name!r} layer: its hidden units are binary with mean "
                "sigmoid(x W + b), so RBM learners ('rbm', BernoulliRBM, GaussianRBM) fit only "
                "sigmoid layers, while auto-encoders ('autoencoder', 'denoising') fit any "
                "activation; build the layer with activation='sigmoid' or choose an auto-encoder"
            )
        return cls(layer.W, layer.b, **params)

    # sizes ------------------------------------------------------------------------------------
    @property
    def n_visible(self) -> int:
        return int(self.W.shape[0])

    @property
    def n_hidden(self) -> int:
        return int(self.W.shape[1])

    @property
    def xp(self) -> Any:
        return namespace(self.W)

    # conditionals (subclasses define the visible side) ----------------------------------------
    def _visible_input(self, v: Array) -> Array:
        """What the hidden units see of ``v``: ``v`` itself, or ``v / sigma`` for Gaussians."""
        return v

    def propup(self, v: Array) -> Array:
        """Mean hidden activations ``p(h = 1 | v)``, shape (n, n_hidden), for v (n, n_visible)."""
        return sigmoid_(self._visible_input(v) @ self.W + self.b_hidden)

    def propdown(self, h: Array) -> Array:
        """Mean visible values ``E[v | h]``, shape (n, n_visible), for h (n, n_hidden)."""
        raise NotImplementedError

    def _sample_visible(self, mean: Array) -> Array:
        """A visible sample given its conditional mean (in place where possible)."""
        raise NotImplementedError

    def sample_h_given_v(self, v: Array) -> tuple[Array, Array]:
        """``(p(h = 1 | v), a Bernoulli sample of h)``, each (n, n_hidden)."""
        mean = self.propup(v)
        return mean, bernoulli(mean, self.rng)

    def sample_v_given_h(self, h: Array) -> tuple[Array, Array]:
        """``(E[v | h], a sample of v)``, each (n, n_visible)."""
        mean = self.propdown(h)
        return mean, self._sample_visible(self.xp.asarray(mean, copy=True))

    def gibbs_vhv(self, v: Array) -> tuple[Array, Array, Array, Array]:
        """One Gibbs step from the visible side: ``(h_mean, h_sample, v_mean, v_sample)``."""
        h_mean, h_sample = self.sample_h_given_v(v)
        v_mean, v_sample = self.sample_v_given_h(h_sample)
        return h_mean, h_sample, v_mean, v_sample

    def gibbs_hvh(self, h: Array) -> tuple[Array, Array, Array, Array]:
        """One Gibbs step from the hidden side: ``(v_mean, v_sample, h_mean, h_sample)``."""
        v_mean, v_sample = self.sample_v_given_h(h)
        h_mean, h_sample = self.sample_h_given_v(v_sample)
        return v_mean, v_sample, h_mean, h_sample

    def free_energy(self, v: Array) -> Array:
        """``F(v)`` of shape (n,), so that ``p(v) = exp(-F(v)) / Z``.

        ``F(v) = E_v(v) - sum_j softplus(c_j + x W[:, j])`` with the visible energy ``E_v`` and
        input ``x`` of the unit kind: ``-v.b`` and ``v`` (Bernoulli), ``sum_i (v_i - b_i)**2 /
        (2 sigma_i**2)`` and ``v / sigma`` (Gaussian).
        """
        xp = self.xp
        return self._visible_energy(v) - xp.sum(
            softplus(self._visible_input(v) @ self.W + self.b_hidden), axis=1
        )

    def _visible_energy(self, v: Array) -> Array:
        raise NotImplementedError

    def _initial_visible(self, n: int) -> Array:
        """Chain starts for :meth:`sample` and PCD, shape (n, n_visible)."""
        raise NotImplementedError

    # data -------------------------------------------------------------------------------------
    def _check_data(self, V: Any, name: str = "V") -> Array:
        """Validate ``V`` and move it to the RBM's namespace, dtype and device."""
        return check_visible_data(V, name, self.W, "the RBM")

    def transform(self, V: Any) -> Array:
        """Hidden representation ``propup(V)``, shape (n_samples, n_hidden)."""
        return self.propup(self._check_data(V))

    # training ---------------------------------------------------------------------------------
    def current_momentum(self) -> float:
        return self.momentum if self.n_epochs_ < self.momentum_switch_epoch else self.final_momentum

    def current_learning_rate(self) -> float:
        return self.learning_rate * self.schedule.factor(self.n_epochs_)

    def partial_fit(self, V: Any) -> float:
        """One CD-k (or PCD) update on one mini-batch; returns its reconstruction error.

        Parameters
        ----------
        V : array of shape (n, n_visible)

        Returns
        -------
        float
            Mean squared difference between ``V`` and its one-step reconstruction.
        """
        V = self._check_data(V)
        n = int(V.shape[0])
        buf = self._buffer(n)
        buf.v[:n] = V
        return float(cd_step(self, buf, n))

    def _buffer(self, n: int) -> CDBuffers:
        """The CD step's work arrays for batches of ``n`` rows (made on first use)."""
        if n not in self._buffers:
            self._buffers[n] = CDBuffers(n, self.n_visible, self.n_hidden, self.W)
        return self._buffers[n]

    def fit(
        self,
        V: Any,
        epochs: int = 10,
        callbacks: Iterable[LayerCallback] = (),
        validation: Any = None,
    ) -> LayerHistory:
        """Train on shuffled mini-batches of ``V`` for ``epochs`` epochs.

        Parameters
        ----------
        V : array of shape (n_samples, n_visible)
        epochs : int
        callbacks : iterable of callables
            Each gets a :class:`~.history.LayerEpochInfo` after every epoch, even after one
            asked to stop; returning ``True`` (exactly, not any truthy value) stops after that
            epoch (the rule of :func:`weightwise.layerwise.loop.run_epochs`).
        validation : array of shape (m, n_visible), optional
            Held-out data for the free-energy gap.

        Returns
        -------
        LayerHistory
            This call's epochs (also appended to ``self.history_``).

        Raises
        ------
        LayerDivergenceError
            A :class:`~weightwise.errors.DivergenceError` when an epoch's reconstruction error, or
            any value of ``W``, ``b_hidden`` or an extra (``b_visible``, a Gaussian RBM's
            ``log_variance``), is NaN or infinite. Those arrays keep their values from the start of
            that epoch; the momentum increments are reset to zero and the PCD chains and the
            sparsity target's running mean are dropped (they came from the diverging weights).
        """
        if epochs < 0:
            raise ConfigError(f"epochs must be >= 0, got {epochs}")
        V = self._check_data(V)
        if validation is not None:
            validation = self._check_data(validation, "validation")
        monitor = self._monitor_rows(V)
        history = LayerHistory()
        lr = math.nan  # the epoch's learning rate (after the schedule), set by train()

        def train() -> float:
            nonlocal lr
            lr = self.current_learning_rate()
            return self._train_epoch(V)

        def record(error: float, seconds: float) -> dict[str, float]:
            pl, gap = self._monitor(monitor, validation)
            row = dict(
                reconstruction_error=error,
                seconds=seconds,
                learning_rate=lr,
                pseudo_likelihood=pl,
                free_energy_gap=gap,
            )
            for h in (history, self.history_):
                h.append(self.n_epochs_, **row)
            return history.last()

        run_epochs(self, epochs, train, record, history, list(callbacks))
        self.history_.stop_reason = history.stop_reason
        return history

    def _train_epoch(self, V: Array) -> float:
        """One CD step per shuffled mini-batch of ``V``; the mean reconstruction error per row."""
        n = int(V.shape[0])
        order = shuffled_order(self.rng, n, V)
        total: Any = 0.0  # stays on the device until the epoch ends (no sync per batch)
        for lo in range(0, n, self.batch_size):
            idx = order[lo : lo + self.batch_size]
            m = int(idx.shape[0])
            buf = self._buffer(m)
            take_rows_into(V, idx, buf.v[:m])
            total = total + cd_step(self, buf, m) * m
        return float(total) / n

    def _monitor_rows(self, V: Array) -> Array | None:
        """The fixed random subset of training rows that the per-epoch diagnostics score."""
        if self.monitor_size <= 0:
            return None
        if self._monitor_seed is None:
            self._monitor_seed = int(self.rng.numpy.integers(0, 2**31 - 1))
        n = int(V.shape[0])
        rows = np.sort(np.random.default_rng(self._monitor_seed).permutation(n)[: self.monitor_size])
        xp = self.xp
        return V[asarray(rows, xp, None, array_device(V)) if not is_numpy(xp) else rows]

    def _monitor(self, monitor: Array | None, validation: Array | None) -> tuple[float, float]:
        """The epoch's pseudo-likelihood per unit and free-energy gap (NaN where not measured)."""
        pl, gap = math.nan, math.nan
        if monitor is not None:
            pl = self._monitor_pseudo_likelihood(monitor)
            if validation is not None:
                k = min(int(validation.shape[0]), int(monitor.shape[0]))
                xp = self.xp
                gap = float(xp.mean(self.free_energy(validation[:k]))) - float(
                    xp.mean(self.free_energy(monitor[:k]))
                )
        return pl, gap

    def _monitor_pseudo_likelihood(self, V: Array) -> float:
        return float(np.mean(to_numpy(self.score_samples(V)))) / self.n_visible

    # evaluation -------------------------------------------------------------------------------
    def score_samples(self, V: Any) -> Array:
        """Log pseudo-likelihood of each sample, shape (n,): ``sum_i log p(v_i | v_-i)``."""
        raise NotImplementedError

    def log_partition(self) -> float:
        """Exact ``log Z`` by enumeration (tiny models only)."""
        raise NotImplementedError

    def exact_log_likelihood(self, V: Any) -> Array:
        """Exact ``log p(v) = -F(v) - log Z`` per sample, shape (n,) (tiny models only)."""
        V = self._check_data(V)
        return -self.free_energy(V) - self.log_partition()

    def sample(self, n: int, gibbs_steps: int = 1000) -> Array:
        """``n`` visible samples from ``gibbs_steps`` steps of independent Gibbs chains.

        The chains start from the visible biases' own distribution (independent units).
        """
        if n < 1 or gibbs_steps < 1:
            raise ConfigError(f"n and gibbs_steps must be >= 1, got {n} and {gibbs_steps}")
        v = self._initial_visible(n)
        for _ in range(gibbs_steps):
            v = self.gibbs_vhv(v)[3]
        return v

    # the epoch loop's view (weightwise.layerwise.loop.LayerLearner) ---------------------------
    @property
    def display_name(self) -> str:
        return type(self).__name__

    def state_arrays(self) -> dict[str, Array]:
        """``W``, ``b_hidden`` and the extras (:meth:`_extra_targets`), the live arrays."""
        return {"W": self.W, "b_hidden": self.b_hidden, **self._extra_targets()}

    def reset_momentum(self) -> None:
        """Zero the momentum increments; drop the PCD chains and the sparsity running mean."""
        for inc in self._velocities().values():
            inc[...] = 0
        self._chain = self._hidden_activity = None

    # saving -----------------------------------------------------------------------------------
    def extra_arrays(self) -> dict[str, np.ndarray]:
        """The RBM's own parameters (not W or b_hidden, which the layer saves), as NumPy copies."""
        return {"b_visible": np.array(to_numpy(self.b_visible), copy=True)}

    def load_extra_arrays(self, arrays: dict[str, Any]) -> None:
        """Copy arrays from :meth:`extra_arrays` back in place."""
        copy_arrays_into(self._extra_targets(), arrays, "RBM")

    def _extra_targets(self) -> dict[str, Array]:
        return {"b_visible": self.b_visible}

    # checkpointing ----------------------------------------------------------------------------
    def training_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What training needs, beyond the parameters, to go on exactly where it stopped.

        Returns
        -------
        scalars : dict
            JSON-able: completed epochs (which drive the momentum and learning-rate schedules), the
            random stream, the monitoring subset's seed and ``history_``.
        arrays : dict of str to ndarray
            NumPy copies of the momentum increments (``inc_W`` (n_visible, n_hidden), ``inc_b_hidden``,
            ``inc_b_visible``, and those of a subclass's extras), the persistent chains of PCD
            (``chain``, (batch_size, n_visible)) and the sparsity target's running mean (``q``).
        """
        arrays = {name: np.array(to_numpy(a), copy=True) for name, a in self._velocities().items()}
        if self._chain is not None:
            arrays["chain"] = np.array(to_numpy(self._chain), copy=True)
        if self._hidden_activity is not None:
            arrays["q"] = np.array(to_numpy(self._hidden_activity), copy=True)
        scalars = {
            "n_epochs": self.n_epochs_,
            "rng": self.rng.get_state(),
            "monitor_seed": self._monitor_seed,
            "history": self.history_.to_dict(),
        }
        return scalars, arrays

    def load_training_state(self, scalars: dict[str, Any], arrays: dict[str, Any]) -> None:
        """Restore what :meth:`training_state` returned (the parameters are restored apart)."""
        copy_arrays_into(self._velocities(), arrays, "training-state")
        self._chain = self._hidden_activity = None
        xp, dtype, dev = self.xp, self.W.dtype, array_device(self.W)
        if "chain" in arrays:
            self._chain = asarray(np.asarray(arrays["chain"]), xp, dtype, dev)
        if "q" in arrays:
            self._hidden_activity = asarray(np.asarray(arrays["q"]), xp, dtype, dev)
        self.n_epochs_ = int(scalars["n_epochs"])
        self.rng.set_state(scalars["rng"])
        self._monitor_seed = scalars["monitor_seed"]
        self.history_ = LayerHistory.from_dict(scalars["history"])

    def _velocities(self) -> dict[str, Array]:
        """The momentum increments, by name (subclasses add their extras')."""
        return {
            "inc_W": self._inc_W,
            "inc_b_hidden": self._inc_b_hidden,
            "inc_b_visible": self._inc_b_visible,
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_visible={self.n_visible}, n_hidden={self.n_hidden}, "
            f"cd_k={self.cd_k}, persistent={self.persistent})"
        )


def _visible_bias(W: Array, b_hidden: Array, b_visible: Array | None) -> Array:
    """Check the shapes of ``W`` and the biases; zeros for a missing visible bias."""
    if len(W.shape) != 2:
        raise DataError(f"W must be 2-D (n_visible, n_hidden), got shape {tuple(W.shape)}")
    n_visible, n_hidden = (int(s) for s in W.shape)
    if tuple(b_hidden.shape) != (n_hidden,):
        raise DataError(
            f"b_hidden must have shape ({n_hidden},) to match W {tuple(W.shape)}, "
            f"got {tuple(b_hidden.shape)}"
        )
    if b_visible is None:
        xp = namespace(W, b_hidden)
        return xp.zeros((n_visible,), dtype=W.dtype, device=array_device(W))
    if tuple(b_visible.shape) != (n_visible,):
        raise DataError(
            f"b_visible must have shape ({n_visible},) to match W {tuple(W.shape)}, "
            f"got {tuple(b_visible.shape)}"
        )
    return b_visible


def _check_settings(
    momentum_switch_epoch: int,
    weight_cost: float,
    sparsity_target: float | None,
    sparsity_cost: float,
    monitor_size: int,
) -> None:
    """Refuse the RBM settings that :mod:`weightwise.checks` has no rule for."""
    if momentum_switch_epoch < 0:
        raise ConfigError(f"momentum_switch_epoch must be >= 0, got {momentum_switch_epoch}")
    if weight_cost < 0 or sparsity_cost < 0:
        raise ConfigError(
            f"weight_cost and sparsity_cost must be >= 0, got {weight_cost} and {sparsity_cost}"
        )
    if sparsity_target is not None and not 0.0 < sparsity_target < 1.0:
        raise ConfigError(f"sparsity_target must be in (0, 1) or None, got {sparsity_target}")
    if monitor_size < 0:
        raise ConfigError(f"monitor_size must be >= 0, got {monitor_size}")
