"""Plain references of one pre-training update: CD-k/PCD for RBMs, one step of a tied auto-encoder.

These are the fast learners' specifications, written from the papers in the plainest array code:
no buffers, no in-place kernels, no BLAS calls, every result a new array. They use the array
namespace of their inputs, so they run on NumPy arrays and PyTorch tensors alike, and they take
their random numbers from a :class:`~weightwise.net.backend.Random` in exactly the order and shapes
the fast paths do: the same seed gives the same draws, so a test can demand equal results from
:class:`~weightwise.layerwise.rbm.BernoulliRBM` (or ``GaussianRBM``, ``AutoEncoder``) and from
:func:`cd_update` (or :func:`autoencoder_update`).

References
----------
Hinton (2002). Training products of experts by minimizing contrastive divergence. Neural Comput.
Hinton (2010). A practical guide to training restricted Boltzmann machines. UTML TR 2010-003.
Tieleman (2008). Training restricted Boltzmann machines using approximations to the likelihood
gradient. ICML.
Vincent, Larochelle, Bengio, Manzagol (2008). Extracting and composing robust features with
denoising autoencoders. ICML. Vincent et al. (2010). Stacked denoising autoencoders. JMLR 11.
Kingma and Ba (2015). Adam: a method for stochastic optimization. ICLR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from ..backpropagation.reference import AdamState, SGDState, adam_step, sgd_step
from ..checks import check_cd_k
from ..errors import ConfigError
from ..net.activations import get_activation, sigmoid, softplus
from ..net.backend import Array, Random, asarray, is_numpy, namespace
from ..net.backend import device as array_device

__all__ = [
    "AEParams",
    "AEState",
    "LOG_VARIANCE_RANGE",
    "RBMParams",
    "RBMState",
    "autoencoder_update",
    "cd_epoch",
    "cd_update",
    "rbm_propdown",
    "rbm_propup",
]

LOG_VARIANCE_RANGE = (math.log(1e-4), math.log(1e4))
"""Where learned ``log sigma**2`` is clipped after each update (as :class:`GaussianRBM` does)."""


# --------------------------------------------------------------------------------------------------
# restricted Boltzmann machines


@dataclass(frozen=True)
class RBMParams:
    """The parameters of an RBM.

    Attributes
    ----------
    W : array of shape (n_visible, n_hidden)
    b_hidden : array of shape (n_hidden,)
    b_visible : array of shape (n_visible,)
    log_variance : array of shape (n_visible,) or None
        ``log sigma**2`` of Gaussian visible units (zeros for unit variance); None for Bernoulli
        visible units.
    """

    W: Array
    b_hidden: Array
    b_visible: Array
    log_variance: Array | None = None

    @property
    def gaussian(self) -> bool:
        return self.log_variance is not None


@dataclass(frozen=True)
class RBMState:
    """What training carries from one update to the next besides the parameters.

    Attributes
    ----------
    inc_W : array of shape (n_visible, n_hidden)
        Momentum increment of ``W`` (Hinton's guide, section 9).
    inc_b_hidden : array of shape (n_hidden,)
    inc_b_visible : array of shape (n_visible,)
    inc_log_variance : array of shape (n_visible,) or None
        Increment of a learned ``log sigma**2``; None when the variance is not learned.
    q : array of shape (n_hidden,) or None
        Running mean hidden activity of the sparsity penalty; None before its first update.
    chain : array of shape (n_chains, n_visible) or None
        PCD's persistent fantasy particles; None before the first PCD update.
    """

    inc_W: Array
    inc_b_hidden: Array
    inc_b_visible: Array
    inc_log_variance: Array | None = None
    q: Array | None = None
    chain: Array | None = None

    @classmethod
    def zeros(cls, params: RBMParams) -> RBMState:
        """Zero increments, no running mean, no chains."""
        xp = namespace(params.W)
        z = params.log_variance
        return cls(
            xp.zeros_like(params.W),
            xp.zeros_like(params.b_hidden),
            xp.zeros_like(params.b_visible),
            None if z is None else xp.zeros_like(z),
        )


def _sigma(params: RBMParams) -> Array:
    assert params.log_variance is not None
    return namespace(params.W).exp(0.5 * params.log_variance)


def _visible_input(params: RBMParams, v: Array) -> Array:
    """What the hidden units see of ``v``: ``v``, or ``v / sigma`` for Gaussian visible units."""
    return v / _sigma(params) if params.gaussian else v


def rbm_propup(params: RBMParams, v: Array) -> Array:
    """``p(h = 1 | v) = sigmoid(c + (v / sigma) W)``, shape (n, n_hidden), for v (n, n_visible)."""
    return sigmoid(_visible_input(params, v) @ params.W + params.b_hidden)


def rbm_propdown(params: RBMParams, h: Array) -> Array:
    """``E[v | h]``, shape (n, n_visible), for h (n, n_hidden).

    Bernoulli: ``sigmoid(b + h W')``; Gaussian: ``b + sigma (h W')``.
    """
    if params.gaussian:
        return (h @ params.W.T) * _sigma(params) + params.b_visible
    return sigmoid(h @ params.W.T + params.b_visible)


def _bernoulli(p: Array, rng: Random) -> Array:
    """``1.0 * (U < p)``, one uniform draw of p's shape."""
    u = rng.random(tuple(p.shape), like=p)
    return namespace(p).astype(u < p, p.dtype)


def _sample_visible(params: RBMParams, mean: Array, rng: Random) -> Array:
    """Bernoulli(mean), or ``mean + sigma N(0, 1)`` for Gaussian units: one draw of mean's shape."""
    if params.gaussian:
        return mean + rng.standard_normal(tuple(mean.shape), like=mean) * _sigma(params)
    return _bernoulli(mean, rng)


def _initial_chain(params: RBMParams, n: int, rng: Random) -> Array:
    """PCD's chain starts: independent visible units with the visible biases alone, (n, n_visible)."""
    xp = namespace(params.W)
    shape = (n, int(params.W.shape[0]))
    if params.gaussian:
        return _sample_visible(params, xp.broadcast_to(params.b_visible[None, :], shape), rng)
    return _bernoulli(xp.broadcast_to(sigmoid(params.b_visible)[None, :], shape), rng)


def _minus_dF_dlog_variance(params: RBMParams, v: Array, h: Array) -> Array:
    """``-dF/d(log sigma_i**2) = (v_i - b_i)**2 / (2 sigma_i**2) - v_i (W h)_i / (2 sigma_i)``.

    Per row, shape (n, n_visible), with ``h = p(h | v)`` of shape (n, n_hidden).
    """
    xp = namespace(v)
    assert params.log_variance is not None
    r = v - params.b_visible
    return r * r / (2.0 * xp.exp(params.log_variance)) - v * (h @ params.W.T) / (2.0 * _sigma(params))


def _gibbs_chain(
    params: RBMParams, h: Array, cd_k: int, carry_samples: bool, rng: Random
) -> tuple[Array, Array]:
    """``(vk, p(h | vk))`` after ``cd_k`` Gibbs steps from the hidden sample ``h``.

    The visible units are sampled at every step but the last, and at the last one too when
    ``carry_samples``; the hidden units at every step but the last.
    """
    for step in range(cd_k):
        last = step == cd_k - 1
        v = rbm_propdown(params, h)
        if carry_samples or not last:
            v = _sample_visible(params, v, rng)
        h_prob = rbm_propup(params, v)
        if not last:
            h = _bernoulli(h_prob, rng)
    return v, h_prob


def cd_update(
    params: RBMParams,
    state: RBMState,
    v0: Array,
    rng: Random,
    *,
    learning_rate: float,
    momentum: float = 0.0,
    cd_k: int = 1,
    persistent: bool = False,
    weight_cost: float = 0.0,
    sparsity_target: float | None = None,
    sparsity_cost: float = 0.0,
    learn_variance: bool = False,
    n_chains: int | None = None,
) -> tuple[RBMParams, RBMState, Array]:
    """One CD-k (Hinton 2002) or PCD (Tieleman 2008) update with Hinton's recipe.

    Parameters
    ----------
    params : RBMParams
        Bernoulli visible units when ``params.log_variance`` is None, Gaussian otherwise.
    state : RBMState
        Increments, the sparsity running mean and PCD chains from the previous update.
    v0 : array of shape (n, n_visible)
        The mini-batch.
    rng : Random
        Source of every draw, consumed in the order below.
    learning_rate, momentum : float
        ``lr`` and ``mu`` of this update (schedules are the caller's business).
    cd_k : int
        Gibbs steps, ``>= 1``.
    persistent : bool
        PCD: the negative phase starts from ``state.chain`` (made on first use) instead of the data.
    weight_cost : float
        L2 cost on ``W`` only (Hinton's guide, section 10), inside the momentum increment.
    sparsity_target, sparsity_cost : float
        Hinton's guide, section 11; off unless a target is given and the cost is positive.
    learn_variance : bool
        Gaussian units: also update ``log sigma**2`` (own increment, then clipped to
        :data:`LOG_VARIANCE_RANGE`).
    n_chains : int, optional
        How many PCD chains to make on first use (``max(n, n_chains)``; the RBM's ``batch_size``),
        so that a smaller last batch of an epoch uses the first ``n`` of them.

    Returns
    -------
    params : RBMParams
        The updated parameters (new arrays).
    state : RBMState
        The updated increments, running mean and chains.
    error : 0-d array
        ``mean((v0 - E[v | h0_sample])**2)``: the data against its one-step reconstruction, from
        the data side even for PCD, before the update.

    Notes
    -----
    Samples or probabilities (Hinton's guide, section 3):

    - ``h0 = p(h | v0)`` (probabilities) is the positive phase; a sample of it drives the chain.
    - Each Gibbs step computes ``E[v | h]``, then ``p(h | v)``; the visible units are sampled at
      every step but the last, and at the last step too for PCD and for Gaussian visible units
      (chains that must stay valid Markov chains). Bernoulli CD's last visible step uses the
      probabilities. The hidden units are sampled at every step but the last; the negative phase
      is ``(v_k, p(h | v_k))``.

    The random draws, in this order (``U`` uniform on [0, 1), ``N`` standard normal; "visible draw"
    means ``U`` for Bernoulli and ``N`` for Gaussian units):

    1. ``U`` (n, n_hidden): the data's hidden sample.
    2. PCD only: a visible draw (max(n, n_chains), n_visible) when the chains are made (first use,
       or fewer chains than rows); then ``U`` (n, n_hidden): the chains' hidden sample.
    3. For each Gibbs step s = 1..k: the visible draw (n, n_visible) if the visible units are
       sampled at that step, then ``U`` (n, n_hidden) if s < k.

    The update, with ``<.>`` the batch mean and ``x = v / sigma`` (``x = v`` for Bernoulli units)::

        grad_W  = <x0' h0> - <xk' hk>
        grad_c  = <h0> - <hk>
        grad_b  = (<v0> - <vk>) / sigma**2
        inc     = mu * inc + lr * (grad - weight_cost * W)     (weight cost on W only)
        theta   = theta + inc

    The sparsity penalty (guide, section 11): ``q = 0.9 q + 0.1 <h0>`` (``q = <h0>`` on the first
    update), and the gradient of the cross-entropy between the target ``p`` and ``q`` with respect to
    a hidden unit's total input, ``p - q``, is added to ``grad_c`` and, times ``<x0_i>``, to
    ``grad_W[i, j]``: the exact per-sample ``<x0_i (p - q_j)>``, since ``q`` is the same for every
    sample. A learned variance follows ``grad_z = <-dF/dz (v0, h0)> - <-dF/dz (vk, hk)>`` with
    ``z = log sigma**2``, its own increment ``inc_z = mu inc_z + lr grad_z``, then clipping. Every
    gradient is taken at the parameters before the update.
    """
    check_cd_k(cd_k)
    if learn_variance and not params.gaussian:
        raise ConfigError("learn_variance needs Gaussian visible units (params.log_variance)")
    xp = namespace(v0)
    n = int(v0.shape[0])
    lr, mu = learning_rate, momentum

    # positive phase and the data-side reconstruction error
    h0 = rbm_propup(params, v0)  # (n, n_hidden)
    h = _bernoulli(h0, rng)
    r = v0 - rbm_propdown(params, h)
    error = xp.mean(r * r)

    # negative phase: k Gibbs steps from the data (CD) or from the persistent chains (PCD)
    chain = state.chain
    if persistent:
        if chain is None or int(chain.shape[0]) < n:
            chain = _initial_chain(params, max(n, n_chains or n), rng)
        h = _bernoulli(rbm_propup(params, chain[:n]), rng)
    vk, hk = _gibbs_chain(params, h, cd_k, persistent or params.gaussian, rng)
    if persistent:
        assert chain is not None
        chain = xp.concat([vk, chain[n:]], axis=0) if int(chain.shape[0]) > n else vk

    # gradients, all at the current parameters
    x0, xk = _visible_input(params, v0), _visible_input(params, vk)
    grad_W = (x0.T @ h0 - xk.T @ hk) / n
    grad_c = (xp.sum(h0, axis=0) - xp.sum(hk, axis=0)) / n
    grad_b = (xp.sum(v0, axis=0) - xp.sum(vk, axis=0)) / n
    if params.gaussian:
        assert params.log_variance is not None
        grad_b = grad_b / xp.exp(params.log_variance)
    q = state.q
    if sparsity_target is not None and sparsity_cost > 0:
        q = xp.mean(h0, axis=0) if q is None else 0.9 * q + 0.1 * xp.mean(h0, axis=0)
        push = sparsity_cost * (sparsity_target - q)  # (n_hidden,)
        grad_c = grad_c + push
        grad_W = grad_W + xp.mean(x0, axis=0)[:, None] * push[None, :]

    # momentum increments and the step
    inc_W = mu * state.inc_W + lr * (grad_W - weight_cost * params.W)
    inc_c = mu * state.inc_b_hidden + lr * grad_c
    inc_b = mu * state.inc_b_visible + lr * grad_b
    log_variance, inc_z = params.log_variance, state.inc_log_variance
    if learn_variance:
        grad_z = (
            xp.sum(_minus_dF_dlog_variance(params, v0, h0), axis=0)
            - xp.sum(_minus_dF_dlog_variance(params, vk, hk), axis=0)
        ) / n
        inc_z = mu * (xp.zeros_like(grad_z) if inc_z is None else inc_z) + lr * grad_z
        log_variance = xp.clip(log_variance + inc_z, *LOG_VARIANCE_RANGE)
    new_params = RBMParams(
        params.W + inc_W, params.b_hidden + inc_c, params.b_visible + inc_b, log_variance
    )
    new_state = RBMState(inc_W, inc_c, inc_b, inc_z, q, chain)
    return new_params, new_state, error


def cd_epoch(
    params: RBMParams,
    state: RBMState,
    V: Array,
    rng: Random,
    *,
    batch_size: int,
    draw_monitor_seed: bool = False,
    **update: Any,
) -> tuple[RBMParams, RBMState, float]:
    """One epoch of :func:`cd_update` over shuffled mini-batches, as ``BaseRBM.fit`` makes it.

    Parameters
    ----------
    params, state, rng
        As for :func:`cd_update`.
    V : array of shape (n_samples, n_visible)
    batch_size : int
        Rows per mini-batch; the last batch holds the ``n_samples % batch_size`` left, if any.
    draw_monitor_seed : bool
        Take one ``rng.numpy.integers(0, 2**31 - 1)`` first, as the first ``fit`` of an RBM with
        ``monitor_size > 0`` does to seed its monitoring subset.
    **update
        Keyword arguments of :func:`cd_update` (``learning_rate``, ``momentum``, ...); PCD chains
        are made ``batch_size`` strong.

    Returns
    -------
    params, state
        After the epoch.
    error : float
        Mean over rows of the batches' reconstruction errors (weighted by batch size).

    Notes
    -----
    Draws: the monitor seed (if asked), then ``rng.permutation(n_samples)``, then each batch's
    draws (:func:`cd_update`) in the order of the permutation's slices.
    """
    if draw_monitor_seed:
        rng.numpy.integers(0, 2**31 - 1)
    n = int(V.shape[0])
    xp = namespace(V)
    order = rng.permutation(n)
    if not is_numpy(xp):
        order = asarray(order, xp, None, array_device(V))
    total = 0.0
    for lo in range(0, n, batch_size):
        batch = xp.take(V, order[lo : lo + batch_size], axis=0)
        params, state, error = cd_update(params, state, batch, rng, n_chains=batch_size, **update)
        total += float(error) * int(batch.shape[0])
    return params, state, total / n


# --------------------------------------------------------------------------------------------------
# tied-weight (denoising) auto-encoder


@dataclass(frozen=True)
class AEParams:
    """Tied auto-encoder parameters: ``W`` (n_visible, n_hidden), ``b_hidden``, ``b_visible``."""

    W: Array
    b_hidden: Array
    b_visible: Array


@dataclass(frozen=True)
class AEState:
    """The optimiser's state, one slot per parameter in the order ``(W, b_hidden, b_visible)``.

    Attributes
    ----------
    t : int
        Steps taken (Adam's bias correction).
    velocity : tuple of arrays or None
        SGD momentum buffers; None before the first step.
    m, v : tuple of arrays or None
        Adam's first and second moment estimates; None before the first step.
    """

    t: int = 0
    velocity: tuple[Array, ...] | None = None
    m: tuple[Array, ...] | None = None
    v: tuple[Array, ...] | None = None


def autoencoder_update(
    params: AEParams,
    state: AEState,
    x: Array,
    rng: Random,
    *,
    activation: str = "sigmoid",
    loss: str = "cross_entropy",
    corruption: float = 0.0,
    noise: str = "mask",
    noise_std: float | None = None,
    weight_decay: float = 0.0,
    optimizer: str = "sgd",
    learning_rate: float = 0.1,
    momentum: float = 0.9,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
) -> tuple[AEParams, AEState, Array]:
    """One optimiser step of a tied-weight (denoising) auto-encoder (Vincent et al. 2008, 2010).

    Parameters
    ----------
    params : AEParams
    state : AEState
    x : array of shape (n, n_visible)
        The clean mini-batch, which is also the target.
    rng : Random
        Source of the corruption: one draw of x's shape, ``U`` for masking, ``N`` for Gaussian
        noise; none without corruption (``corruption == 0``, and ``noise_std`` 0 or not given).
    activation : str
        The encoder's activation ``f``.
    loss : {"cross_entropy", "squared_error"}
        With a sigmoid or a linear decoder.
    corruption : float
        Masking probability, or the default noise standard deviation.
    noise : {"mask", "gaussian"}
    noise_std : float, optional
        Standard deviation of Gaussian noise; ``corruption`` by default.
    weight_decay : float
        ``lambda``: adds ``lambda W`` to ``dL/dW`` (not to the biases).
    optimizer : {"sgd", "adam"}
    learning_rate, momentum, beta1, beta2, epsilon : float
        ``eta``; SGD's ``mu``; Adam's decay rates and ``eps``.

    Returns
    -------
    params : AEParams
    state : AEState
    loss : 0-d array
        The loss of the clean target from the corrupted input, before the step.

    Notes
    -----
    With ``x~`` the corrupted input (``x~ = x * (U >= corruption)`` or ``x + sigma N``)::

        h       = f(z_h),  z_h = x~ W + c                        (n, n_hidden)
        x_hat   = g(z_v),  z_v = h W' + b                        (n, n_visible)
        delta_v = (x_hat - x) / n        (dL/dz_v for both losses with their decoders)
        delta_h = f'(z_h) * (delta_v W)
        dL/dW   = x~' delta_h + delta_v' h  (+ lambda W)        encoder and decoder terms
        dL/dc   = sum(delta_h),  dL/db = sum(delta_v)

    SGD: ``v = mu v + g; theta -= eta v`` (no buffer when ``mu == 0``). Adam (PyTorch's form):
    ``m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g**2;
    theta -= eta / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)``.
    """
    xp = namespace(x)
    n = int(x.shape[0])
    x_in = _corrupt(x, rng, corruption, noise, corruption if noise_std is None else noise_std)
    f = get_activation(activation)
    if f.derivative is None:
        raise ConfigError(f"an auto-encoder needs an elementwise activation, got {f.name!r}")
    W, c, b = params.W, params.b_hidden, params.b_visible
    z_h = x_in @ W + c
    h = f.fn(z_h)
    z_v = h @ W.T + b
    if loss == "cross_entropy":
        x_hat = sigmoid(z_v)
        value = xp.sum(softplus(z_v) - x * z_v) / n
    elif loss == "squared_error":
        x_hat = z_v
        value = 0.5 * xp.sum((x_hat - x) ** 2) / n
    else:
        raise ConfigError(f"unknown loss {loss!r}; valid losses: 'cross_entropy', 'squared_error'")
    delta_v = (x_hat - x) / n
    delta_h = f.derivative(z_h, h) * (delta_v @ W)
    grads = [
        x_in.T @ delta_h + delta_v.T @ h + weight_decay * W,
        xp.sum(delta_h, axis=0),
        xp.sum(delta_v, axis=0),
    ]
    new, new_state = _optimiser_step(
        [W, c, b], grads, state, optimizer, learning_rate, momentum, beta1, beta2, epsilon
    )
    return AEParams(*new), new_state, value


def _corrupt(x: Array, rng: Random, corruption: float, noise: str, sigma: float) -> Array:
    """``x * (U >= corruption)`` (masking) or ``x + sigma N`` (Gaussian); ``x`` without noise."""
    xp = namespace(x)
    if noise == "mask" and corruption > 0:
        return x * xp.astype(rng.random(tuple(x.shape), like=x) >= corruption, x.dtype)
    if noise == "gaussian" and sigma > 0:
        return x + sigma * rng.standard_normal(tuple(x.shape), like=x)
    return x


def _optimiser_step(
    thetas: list[Array],
    grads: list[Array],
    state: AEState,
    optimizer: str,
    learning_rate: float,
    momentum: float,
    beta1: float,
    beta2: float,
    epsilon: float,
) -> tuple[list[Array], AEState]:
    """The plain SGD or Adam step of the back-propagation engine's references."""
    if optimizer == "sgd":
        sgd = SGDState(list(state.velocity or ()))
        new, sgd = sgd_step(thetas, grads, sgd, learning_rate, momentum)
        return new, replace(state, t=state.t + 1, velocity=tuple(sgd.velocity) if momentum else None)
    if optimizer == "adam":
        adam = AdamState(state.t, list(state.m or ()), list(state.v or ()))
        new, adam = adam_step(thetas, grads, adam, learning_rate, beta1, beta2, epsilon)
        return new, replace(state, t=adam.t, m=tuple(adam.m), v=tuple(adam.v))
    raise ConfigError(f"unknown optimizer {optimizer!r}; valid optimizers: 'sgd', 'adam'")
