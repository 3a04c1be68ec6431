"""The part of an RBM that does not depend on its visible units: CD-k and PCD, training, sampling.

An epoch's CD steps, monitoring and saving live here too (the epoch loop, with its callbacks and
divergence check, is :mod:`weightwise.layerwise.loop`'s, shared with the auto-encoder); the maths
of each kind of visible unit (Bernoulli, Gaussian) lives in :mod:`weightwise.layerwise.rbm`.

The CD step works in preallocated buffers (:class:`_Buffers`, one set per batch size) through the
in-place kernels of :mod:`weightwise.layerwise._rbm_kernels`; the weight gradient
``v0' h0 - vk' hk`` is *one* matrix product of the stacked positive and negative phases,
``[v0; vk]' [h0; -hk]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeVar

import numpy as np

from ..backpropagation.optimizers import Schedule, get_schedule
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
from ..net.inplace import axpy, can_outer_update, outer_update
from ..net.network import Dense
from ..net.validation import check_matrix, to_network
from ._rbm_kernels import (
    bernoulli,
    bernoulli_into,
    matmul_into,
    mean_squared,
    multiply_into,
    softplus,
    take_rows_into,
)
from .history import LayerCallback, LayerHistory
from .loop import run_epochs

__all__ = ["BaseRBM"]

_RBM = TypeVar("_RBM", bound="BaseRBM")


class _Buffers:
    """Work arrays of one batch size, reused by every CD step of that size."""

    def __init__(self, n: int, n_visible: int, n_hidden: int, like: Array) -> None:
        xp = namespace(like)

        def zeros(*shape: int) -> Array:
            return xp.zeros(shape, dtype=like.dtype, device=array_device(like))

        self.V = zeros(2 * n, n_visible)  # [v0; v_neg]  (2n, n_visible)
        self.H = zeros(2 * n, n_hidden)  # [h0; -h_neg] (2n, n_hidden)
        self.h_sample = zeros(n, n_hidden)
        self.u_hidden = zeros(n, n_hidden)
        self.u_visible = zeros(n, n_visible)
        self.diff = zeros(n, n_visible)
        self.grad_W: Array | None = None  # (n_visible, n_hidden), made by the general weight step


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
        if len(W.shape) != 2:
            raise DataError(f"W must be 2-D (n_visible, n_hidden), got shape {tuple(W.shape)}")
        n_visible, n_hidden = (int(s) for s in W.shape)
        if tuple(b_hidden.shape) != (n_hidden,):
            raise DataError(
                f"b_hidden must have shape ({n_hidden},) to match W {tuple(W.shape)}, "
                f"got {tuple(b_hidden.shape)}"
            )
        xp = namespace(W, b_hidden)
        if b_visible is None:
            b_visible = xp.zeros((n_visible,), dtype=W.dtype, device=array_device(W))
        elif tuple(b_visible.shape) != (n_visible,):
            raise DataError(
                f"b_visible must have shape ({n_visible},) to match W {tuple(W.shape)}, "
                f"got {tuple(b_visible.shape)}"
            )
        _check_positive("learning_rate", learning_rate)
        if isinstance(cd_k, bool) or not isinstance(cd_k, (int, np.integer)) or cd_k < 1:
            raise ConfigError(f"cd_k must be an integer >= 1 (Gibbs steps per update), got {cd_k!r}")
        for name, value in (("momentum", momentum), ("final_momentum", final_momentum)):
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"{name} must be in [0, 1), got {value}")
        if momentum_switch_epoch < 0:
            raise ConfigError(f"momentum_switch_epoch must be >= 0, got {momentum_switch_epoch}")
        if weight_cost < 0 or sparsity_cost < 0:
            raise ConfigError(
                f"weight_cost and sparsity_cost must be >= 0, got {weight_cost} and {sparsity_cost}"
            )
        if sparsity_target is not None and not 0.0 < sparsity_target < 1.0:
            raise ConfigError(f"sparsity_target must be in (0, 1) or None, got {sparsity_target}")
        if batch_size < 1 or monitor_size < 0:
            raise ConfigError(
                f"batch_size must be >= 1 and monitor_size >= 0, got {batch_size} and {monitor_size}"
            )
        self.W = W
        self.b_hidden = b_hidden
        self.b_visible = b_visible
        self.learning_rate = float(learning_rate)
        self.cd_k = int(cd_k)
        self.persistent = bool(persistent)
        self.momentum = float(momentum)
        self.final_momentum = float(final_momentum)
        self.momentum_switch_epoch = int(momentum_switch_epoch)
        self.weight_cost = float(weight_cost)
        self.sparsity_target = sparsity_target
        self.sparsity_cost = float(sparsity_cost)
        self.schedule = get_schedule(schedule)
        self.batch_size = int(batch_size)
        self.monitor_size = int(monitor_size)
        self.rng = check_random(seed)
        # The monitoring subset has its own stream, seeded once by the first fit, so that a fit
        # resumed from a checkpoint draws the same shuffling orders as an uninterrupted one.
        self._monitor_seed: int | None = None
        # learned state
        self.n_epochs_ = 0  # completed epochs, drives the momentum and learning-rate schedules
        self.history_ = LayerHistory()
        self._inc_W = xp.zeros(tuple(W.shape), dtype=W.dtype, device=array_device(W))
        self._inc_bh = xp.zeros((n_hidden,), dtype=W.dtype, device=array_device(W))
        self._inc_bv = xp.zeros((n_visible,), dtype=W.dtype, device=array_device(W))
        self._q = None  # running mean hidden activity for the sparsity penalty
        self._chain: Array | None = None  # PCD fantasy particles (batch_size, n_visible)
        self._buffers: dict[int, _Buffers] = {}
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
        V = check_matrix(V, name)
        if V.shape[1] != self.n_visible:
            raise DataError(
                f"{name} has {V.shape[1]} features but the RBM has {self.n_visible} visible units"
            )
        return to_network(V, self.xp, self.W.dtype, array_device(self.W))

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
        B = self._buffer(n)
        B.V[:n] = V
        return float(self._cd_step(B, n))

    def _buffer(self, n: int) -> _Buffers:
        if n not in self._buffers:
            self._buffers[n] = _Buffers(n, self.n_visible, self.n_hidden, self.W)
        return self._buffers[n]

    def _cd_step(self, B: _Buffers, n: int) -> Array:
        """The update on the batch already in ``B.V[:n]``; returns the reconstruction error."""
        v0, v_neg = B.V[:n], B.V[n:]
        h0, h_neg = B.H[:n], B.H[n:]
        sigmoid_(self._hidden_input_into(v0, h0))
        h = bernoulli_into(h0, B.u_hidden, B.h_sample, self.rng)
        error = None
        if self.persistent:
            # The reconstruction error is still measured from the data, one step down.
            error = mean_squared(v0, self.propdown(h), B.diff)
            if self._chain is None or self._chain.shape[0] < n:
                self._chain = self._initial_visible(max(n, self.batch_size))
            chain = self._chain[:n]
            h = bernoulli_into(self.propup(chain), B.u_hidden, B.h_sample, self.rng)
        # Hinton's recipe drives the last visible step by probabilities for Bernoulli CD; chains
        # that must stay valid Markov chains (PCD, Gaussian visibles) carry samples.
        use_samples = self.persistent or self.visible_kind == "gaussian"
        for step in range(self.cd_k):
            self._visible_mean_into(h, v_neg)
            if error is None:
                error = mean_squared(v0, v_neg, B.diff)
            if use_samples or step < self.cd_k - 1:
                self._sample_visible_into(v_neg, B.u_visible)
            sigmoid_(self._hidden_input_into(v_neg, h_neg))
            if step < self.cd_k - 1:
                h = bernoulli_into(h_neg, B.u_hidden, B.h_sample, self.rng)
        if self.persistent and self._chain is not None:
            self._chain[:n] = v_neg
        self._apply_update(B, n)
        return error

    def _hidden_input_into(self, v: Array, out: Array) -> Array:
        """``out = v W + c`` (Gaussians scale v by 1 / sigma first)."""
        matmul_into(self._visible_input(v), self.W, out)
        out += self.b_hidden
        return out

    def _visible_mean_into(self, h: Array, out: Array) -> Array:
        out[...] = self.propdown(h)
        return out

    def _sample_visible_into(self, mean: Array, u: Array) -> Array:
        mean[...] = self._sample_visible(mean)
        return mean

    def _apply_update(self, B: _Buffers, n: int) -> None:
        """Momentum update of W, c, b from the stacked statistics in ``B`` (in place)."""
        lr = self.current_learning_rate()
        mu = self.current_momentum()
        xp = self.xp
        v0, v_neg = B.V[:n], B.V[n:]
        h0, h_neg = B.H[:n], B.H[n:]
        grad_bv = self._visible_bias_gradient(v0, v_neg)
        extra = self._extra_gradients(v0, h0, v_neg, h_neg)
        if self.sparsity_target is not None and self.sparsity_cost > 0:
            batch_q = xp.mean(h0, axis=0)
            self._q = batch_q if self._q is None else 0.9 * self._q + 0.1 * batch_q
        h_neg *= -1.0
        grad_bh = xp.sum(B.H, axis=0)  # sum h0 - sum h_neg
        scale = lr / n
        # inc = mu inc + (lr / n) [v0; v_neg]' [h0; -h_neg] - lr weight_cost W;  W += inc.
        # Scaling the (2n, n_hidden) H instead of the product saves a pass over W-sized arrays.
        # (One BLAS library only: calling SciPy's OpenBLAS beside NumPy's made two thread pools
        # fight on a busy 2-core machine.)
        B.H *= scale
        V_in = self._visible_input(B.V)
        push = None
        if self._q is not None:
            # The gradient of the cross-entropy between target and running activity q, applied to
            # hidden biases and weights (Hinton's guide, section 11); times n for the 1/n.
            push = (self.sparsity_cost * n) * (self.sparsity_target - self._q)
            grad_bh = grad_bh + push
        if push is None and can_outer_update(V_in, B.H, self._inc_W):
            # NumPy on the CPU: inc = mu inc + V' H in one BLAS gemm (beta = mu), then two axpy
            # passes; four fewer passes over W-sized arrays than the general path below.
            outer_update(1.0, V_in, B.H, mu, self._inc_W)
            if self.weight_cost > 0:
                axpy(-lr * self.weight_cost, self.W, self._inc_W)
            axpy(1.0, self._inc_W, self.W)
        else:
            self._general_weight_update(B, n, V_in, lr, mu, scale, push)
        self._inc_bh *= mu
        self._inc_bh += (lr / n) * grad_bh
        self.b_hidden += self._inc_bh
        self._inc_bv *= mu
        self._inc_bv += (lr / n) * grad_bv
        self.b_visible += self._inc_bv
        self._apply_extra_update(extra, lr / n, mu)

    def _general_weight_update(
        self, B: _Buffers, n: int, V_in: Array, lr: float, mu: float, scale: float, push: Any
    ) -> None:
        """The weight step for any namespace, with the sparsity ``push`` when there is one.

        The gradient goes into a reused buffer ``G``, so no temporaries of W's size.
        """
        if B.grad_W is None:
            B.grad_W = self.xp.zeros_like(self.W)
        G = matmul_into(V_in.T, B.H, B.grad_W)
        if push is not None:
            G += scale * (self.xp.mean(V_in[:n], axis=0)[:, None] * push[None, :])
        self._inc_W *= mu
        self._inc_W += G
        if self.weight_cost > 0:
            multiply_into(self.W, lr * self.weight_cost, G)
            self._inc_W -= G
        self.W += self._inc_W

    def _visible_bias_gradient(self, v0: Array, v_neg: Array) -> Array:
        xp = self.xp
        return xp.sum(v0, axis=0) - xp.sum(v_neg, axis=0)

    def _extra_gradients(self, v0: Array, h0: Array, v_neg: Array, h_neg: Array) -> Any:
        return None

    def _apply_extra_update(self, extra: Any, scale: float, mu: float) -> None:
        return None

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
        callbacks = list(callbacks)
        n = int(V.shape[0])
        xp = self.xp
        monitor = None
        if self.monitor_size > 0:
            if self._monitor_seed is None:
                self._monitor_seed = int(self.rng.numpy.integers(0, 2**31 - 1))
            subset = np.random.default_rng(self._monitor_seed).permutation(n)[: self.monitor_size]
            rows = np.sort(subset)
            monitor = V[asarray(rows, xp, None, array_device(V)) if not is_numpy(xp) else rows]
        history = LayerHistory()
        lr = math.nan  # the epoch's learning rate (after the schedule), set by train()

        def train() -> float:
            nonlocal lr
            lr = self.current_learning_rate()
            order = self.rng.permutation(n)
            if not is_numpy(xp):
                order = asarray(order, xp, None, array_device(V))
            total: Any = 0.0  # stays on the device until the epoch ends (no sync per batch)
            for lo in range(0, n, self.batch_size):
                idx = order[lo : lo + self.batch_size]
                m = int(idx.shape[0])
                B = self._buffer(m)
                take_rows_into(V, idx, B.V[:m])
                total = total + self._cd_step(B, m) * m
            return float(total) / n

        def record(error: float, seconds: float) -> dict[str, float]:
            pl, gap = math.nan, math.nan
            if monitor is not None:
                pl = self._monitor_pseudo_likelihood(monitor)
                if validation is not None:
                    k = min(int(validation.shape[0]), int(monitor.shape[0]))
                    gap = float(xp.mean(self.free_energy(validation[:k]))) - float(
                        xp.mean(self.free_energy(monitor[:k]))
                    )
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

        run_epochs(self, epochs, train, record, history, callbacks)
        self.history_.stop_reason = history.stop_reason
        return history

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
        self._chain = self._q = None

    # saving -----------------------------------------------------------------------------------
    def extra_arrays(self) -> dict[str, np.ndarray]:
        """The RBM's own parameters (not W or b_hidden, which the layer saves), as NumPy copies."""
        return {"b_visible": np.array(to_numpy(self.b_visible), copy=True)}

    def load_extra_arrays(self, arrays: dict[str, Any]) -> None:
        """Copy arrays from :meth:`extra_arrays` back in place."""
        for name, current in self._extra_targets().items():
            if name not in arrays:
                raise DataError(f"missing RBM array {name!r}; saved arrays: {sorted(arrays)}")
            value = np.asarray(to_numpy(arrays[name]))
            if tuple(value.shape) != tuple(current.shape):
                raise DataError(
                    f"RBM array {name!r} has shape {value.shape}, expected {tuple(current.shape)}"
                )
            current[...] = asarray(value, self.xp, current.dtype, array_device(current))

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
        if self._q is not None:
            arrays["q"] = np.array(to_numpy(self._q), copy=True)
        scalars = {
            "n_epochs": self.n_epochs_,
            "rng": self.rng.get_state(),
            "monitor_seed": self._monitor_seed,
            "history": self.history_.to_dict(),
        }
        return scalars, arrays

    def load_training_state(self, scalars: dict[str, Any], arrays: dict[str, Any]) -> None:
        """Restore what :meth:`training_state` returned (the parameters are restored apart)."""
        like = self.W
        for name, current in self._velocities().items():
            if name not in arrays:
                raise DataError(f"the training state has no {name!r} array; saved: {sorted(arrays)}")
            value = np.asarray(to_numpy(arrays[name]))
            if tuple(value.shape) != tuple(current.shape):
                raise DataError(
                    f"training-state array {name!r} has shape {value.shape}, expected "
                    f"{tuple(current.shape)}"
                )
            current[...] = asarray(value, self.xp, current.dtype, array_device(current))
        self._chain = self._q = None
        if "chain" in arrays:
            self._chain = asarray(np.asarray(arrays["chain"]), self.xp, like.dtype, array_device(like))
        if "q" in arrays:
            self._q = asarray(np.asarray(arrays["q"]), self.xp, like.dtype, array_device(like))
        self.n_epochs_ = int(scalars["n_epochs"])
        self.rng.set_state(scalars["rng"])
        self._monitor_seed = scalars["monitor_seed"]
        self.history_ = LayerHistory.from_dict(scalars["history"])

    def _velocities(self) -> dict[str, Array]:
        """The momentum increments, by name (subclasses add their extras')."""
        return {"inc_W": self._inc_W, "inc_b_hidden": self._inc_bh, "inc_b_visible": self._inc_bv}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_visible={self.n_visible}, n_hidden={self.n_hidden}, "
            f"cd_k={self.cd_k}, persistent={self.persistent})"
        )


def _check_positive(name: str, value: float) -> None:
    if not value > 0 or not math.isfinite(value):
        raise ConfigError(f"{name} must be a positive finite number, got {value}")
