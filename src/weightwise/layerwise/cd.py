"""The fast CD-k / PCD update of an RBM: positive phase, Gibbs chain, negative phase, increments.

This is :func:`weightwise.layerwise.reference.cd_update` (the plain specification, with the
recipe and the order of the random draws written out) made fast: every array lives in
preallocated work buffers (:class:`CDBuffers`, one set per batch size) and every product,
sigmoid and Bernoulli draw writes into them through the in-place kernels of
:mod:`weightwise.layerwise._rbm_kernels`. The two must agree to rounding, draw for draw
(``tests/test_reference_rbm.py``).

The positive and negative phases are stacked, ``v = [v0; vk]`` and ``h = [h0_prob; hk_prob]``, so
that the weight gradient ``v0' h0_prob - vk' hk_prob`` is *one* matrix product,
``[v0; vk]' [h0_prob; -hk_prob]``. With NumPy on the CPU that product goes straight into the
momentum increment by one BLAS gemm with ``beta = momentum``
(:func:`weightwise.net.inplace.outer_update`); elsewhere a general step does the same arithmetic
through a reused gradient buffer.

The RBM (:class:`~weightwise.layerwise.rbm_base.BaseRBM`) holds the parameters and the training
state (momentum increments, the PCD chains, the sparsity target's running mean); the functions
here read and update them in place. What differs between Bernoulli and Gaussian visible units is
the visible conditional, its sample and the visible-bias gradient (and, when learned, the
``log sigma**2`` step), each one function below.

The papers (Hinton 2002, Tieleman 2008, Hinton's practical guide) are cited in
:mod:`weightwise.layerwise.reference`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..net.activations import sigmoid_
from ..net.backend import Array, namespace
from ..net.backend import device as array_device
from ..net.inplace import axpy, can_outer_update, outer_update
from ._rbm_kernels import bernoulli_into, matmul_into, mean_squared, multiply_into

if TYPE_CHECKING:
    from .rbm import GaussianRBM
    from .rbm_base import BaseRBM

__all__ = ["CDBuffers", "cd_step", "increment", "negative_phase", "positive_phase"]


class CDBuffers:
    """Work arrays of one batch size ``n``, reused by every CD step of that size.

    Attributes
    ----------
    v : array of shape (2n, n_visible)
        ``[v0; vk]``: the mini-batch, then the negative phase's visible states.
    h : array of shape (2n, n_hidden)
        ``[h0_prob; hk_prob]``, the two phases' hidden probabilities (scaled to
        ``(lr / n) [h0_prob; -hk_prob]`` by :func:`increment`).
    h_sample : array of shape (n, n_hidden)
        The hidden sample that drives the next visible step.
    u_hidden, u_visible : arrays of shape (n, n_hidden), (n, n_visible)
        The uniform (or, for Gaussian visible units, normal) draws.
    diff : array of shape (n, n_visible)
        ``v0 - reconstruction``, for the reconstruction error.
    grad_W : array of shape (n_visible, n_hidden) or None
        The general weight step's gradient, made on its first use.
    """

    def __init__(self, n: int, n_visible: int, n_hidden: int, like: Array) -> None:
        xp = namespace(like)

        def zeros(*shape: int) -> Array:
            return xp.zeros(shape, dtype=like.dtype, device=array_device(like))

        self.v = zeros(2 * n, n_visible)
        self.h = zeros(2 * n, n_hidden)
        self.h_sample = zeros(n, n_hidden)
        self.u_hidden = zeros(n, n_hidden)
        self.u_visible = zeros(n, n_visible)
        self.diff = zeros(n, n_visible)
        self.grad_W: Array | None = None


def cd_step(rbm: BaseRBM, buf: CDBuffers, n: int) -> Array:
    """One CD-k (or PCD) update on the mini-batch already in ``buf.v[:n]``, in place.

    Returns
    -------
    0-d array
        ``mean((v0 - E[v | h0_sample])**2)``, the batch's one-step reconstruction error, measured
        before the update.
    """
    h0_sample = positive_phase(rbm, buf, n)
    error = negative_phase(rbm, buf, n, h0_sample)
    increment(rbm, buf, n)
    return error


# the conditionals, in place -------------------------------------------------------------------
def propup_into(rbm: BaseRBM, v: Array, out: Array) -> Array:
    """``out = p(h = 1 | v) = sigmoid(c + (v / sigma) W)``, shape (n, n_hidden)."""
    matmul_into(rbm._visible_input(v), rbm.W, out)
    out += rbm.b_hidden
    return sigmoid_(out)


def propdown_into(rbm: BaseRBM, h: Array, out: Array) -> Array:
    """``out = E[v | h]``, shape (n, n_visible): ``sigmoid(b + h W')`` or ``b + sigma (h W')``."""
    if rbm.visible_kind == "bernoulli":
        matmul_into(h, rbm.W.T, out)
        out += rbm.b_visible
        return sigmoid_(out)
    if rbm.visible_kind == "gaussian":
        gaussian = cast("GaussianRBM", rbm)
        matmul_into(h, rbm.W.T, out)
        if not gaussian._unit_variance:
            out *= gaussian.sigma
        out += rbm.b_visible
        return out
    out[...] = rbm.propdown(h)
    return out


def sample_visible_into(rbm: BaseRBM, mean: Array, u: Array) -> Array:
    """Replace ``mean`` by a visible sample with that mean, drawing into ``u``.

    Bernoulli units: ``1.0 * (U < mean)``; Gaussian units: ``mean + sigma N(0, 1)``.
    """
    if rbm.visible_kind == "bernoulli":
        return bernoulli_into(mean, u, mean, rbm.rng)
    if rbm.visible_kind == "gaussian":
        gaussian = cast("GaussianRBM", rbm)
        if isinstance(u, np.ndarray):
            rbm.rng.numpy.standard_normal(out=u, dtype=u.dtype)
        else:
            u[...] = rbm.rng.standard_normal(tuple(u.shape), like=u)
        if not gaussian._unit_variance:
            u *= gaussian.sigma
        mean += u
        return mean
    mean[...] = rbm._sample_visible(mean)
    return mean


# the two phases -------------------------------------------------------------------------------
def positive_phase(rbm: BaseRBM, buf: CDBuffers, n: int) -> Array:
    """``h0_prob = p(h | v0)`` into ``buf.h[:n]``; returns its Bernoulli sample (``buf.h_sample``)."""
    propup_into(rbm, buf.v[:n], buf.h[:n])
    return bernoulli_into(buf.h[:n], buf.u_hidden, buf.h_sample, rbm.rng)


def negative_phase(rbm: BaseRBM, buf: CDBuffers, n: int, h0_sample: Array) -> Array:
    """``k`` Gibbs steps into ``vk = buf.v[n:]`` and ``hk_prob = buf.h[n:]``; the reconstruction error.

    CD starts the chain at the data's hidden sample; PCD at the persistent chains (made on first
    use, ``batch_size`` of them), which then keep ``vk``.
    """
    v0, vk, hk_prob = buf.v[:n], buf.v[n:], buf.h[n:]
    h = h0_sample
    error = None
    if rbm.persistent:
        # The reconstruction error is still measured from the data, one step down.
        error = mean_squared(v0, rbm.propdown(h), buf.diff)
        if rbm._chain is None or rbm._chain.shape[0] < n:
            rbm._chain = rbm._initial_visible(max(n, rbm.batch_size))
        h = bernoulli_into(rbm.propup(rbm._chain[:n]), buf.u_hidden, buf.h_sample, rbm.rng)
    # Hinton's recipe drives the last visible step by probabilities for Bernoulli CD; chains
    # that must stay valid Markov chains (PCD, Gaussian visibles) carry samples.
    use_samples = rbm.persistent or rbm.visible_kind == "gaussian"
    for step in range(rbm.cd_k):
        last = step == rbm.cd_k - 1
        propdown_into(rbm, h, vk)
        if error is None:
            error = mean_squared(v0, vk, buf.diff)
        if use_samples or not last:
            sample_visible_into(rbm, vk, buf.u_visible)
        propup_into(rbm, vk, hk_prob)
        if not last:
            h = bernoulli_into(hk_prob, buf.u_hidden, buf.h_sample, rbm.rng)
    if rbm.persistent and rbm._chain is not None:
        rbm._chain[:n] = vk
    return error


# the increments -------------------------------------------------------------------------------
def increment(rbm: BaseRBM, buf: CDBuffers, n: int) -> None:
    """Momentum step of ``W``, ``c``, ``b`` (and a learned ``log sigma**2``) from ``buf``, in place.

    ``inc = mu inc + lr (grad - weight_cost W)`` (weight cost on ``W`` only), ``theta += inc``,
    every gradient taken at the parameters before the step, with the sparsity penalty (Hinton's
    guide, section 11) added to the hidden biases' and weights' gradients.
    """
    lr = rbm.current_learning_rate()
    mu = rbm.current_momentum()
    xp = rbm.xp
    v0, vk = buf.v[:n], buf.v[n:]
    h0_prob, hk_prob = buf.h[:n], buf.h[n:]
    grad_b_visible = visible_bias_gradient(rbm, v0, vk)
    grad_log_variance = log_variance_gradient(rbm, v0, h0_prob, vk, hk_prob)
    if rbm.sparsity_target is not None and rbm.sparsity_cost > 0:
        batch_activity = xp.mean(h0_prob, axis=0)
        rbm._hidden_activity = (
            batch_activity
            if rbm._hidden_activity is None
            else 0.9 * rbm._hidden_activity + 0.1 * batch_activity
        )
    hk_prob *= -1.0
    grad_b_hidden = xp.sum(buf.h, axis=0)  # sum h0_prob - sum hk_prob
    scale = lr / n
    # inc = mu inc + (lr / n) [v0; vk]' [h0_prob; -hk_prob] - lr weight_cost W;  W += inc.
    # Scaling the (2n, n_hidden) h instead of the product saves a pass over W-sized arrays.
    buf.h *= scale
    x = rbm._visible_input(buf.v)
    sparsity = None
    if rbm._hidden_activity is not None:
        # The gradient of the cross-entropy between the target and the running activity, with
        # respect to each hidden unit's input; times n to match the batch sums.
        sparsity = (rbm.sparsity_cost * n) * (rbm.sparsity_target - rbm._hidden_activity)
        grad_b_hidden = grad_b_hidden + sparsity
    if sparsity is None and can_outer_update(x, buf.h, rbm._inc_W):
        _fused_weight_increment(rbm, x, buf.h, lr, mu)
    else:
        _general_weight_increment(rbm, buf, n, x, lr, mu, sparsity)
    rbm._inc_b_hidden *= mu
    rbm._inc_b_hidden += scale * grad_b_hidden
    rbm.b_hidden += rbm._inc_b_hidden
    rbm._inc_b_visible *= mu
    rbm._inc_b_visible += scale * grad_b_visible
    rbm.b_visible += rbm._inc_b_visible
    if grad_log_variance is not None:
        _log_variance_increment(cast("GaussianRBM", rbm), grad_log_variance, scale, mu)


def _fused_weight_increment(rbm: BaseRBM, x: Array, h: Array, lr: float, mu: float) -> None:
    """NumPy on the CPU: ``inc = mu inc + x' h`` in one BLAS gemm (``beta = mu``), then two axpys.

    Four fewer passes over W-sized arrays than :func:`_general_weight_increment`.
    """
    outer_update(1.0, x, h, mu, rbm._inc_W)
    if rbm.weight_cost > 0:
        axpy(-lr * rbm.weight_cost, rbm.W, rbm._inc_W)
    axpy(1.0, rbm._inc_W, rbm.W)


def _general_weight_increment(
    rbm: BaseRBM, buf: CDBuffers, n: int, x: Array, lr: float, mu: float, sparsity: Any
) -> None:
    """The weight step for any namespace, with the sparsity gradient when there is one.

    The gradient goes into a reused buffer, so no temporaries of W's size.
    """
    if buf.grad_W is None:
        buf.grad_W = rbm.xp.zeros_like(rbm.W)
    grad_W = matmul_into(x.T, buf.h, buf.grad_W)
    if sparsity is not None:
        grad_W += (lr / n) * (rbm.xp.mean(x[:n], axis=0)[:, None] * sparsity[None, :])
    rbm._inc_W *= mu
    rbm._inc_W += grad_W
    if rbm.weight_cost > 0:
        multiply_into(rbm.W, lr * rbm.weight_cost, grad_W)
        rbm._inc_W -= grad_W
    rbm.W += rbm._inc_W


def visible_bias_gradient(rbm: BaseRBM, v0: Array, vk: Array) -> Array:
    """``sum v0 - sum vk`` (over the batch), divided by ``sigma**2`` for Gaussian units."""
    xp = rbm.xp
    grad = xp.sum(v0, axis=0) - xp.sum(vk, axis=0)  # the b terms cancel: both phases have n rows
    if rbm.visible_kind == "gaussian" and not cast("GaussianRBM", rbm)._unit_variance:
        return grad / xp.exp(cast("GaussianRBM", rbm).log_variance)
    return grad


def log_variance_gradient(
    rbm: BaseRBM, v0: Array, h0_prob: Array, vk: Array, hk_prob: Array
) -> Array | None:
    """``sum -dF/d(log sigma**2)`` at the data minus at the chain; None unless it is learned."""
    if not getattr(rbm, "learn_variance", False):
        return None
    gaussian = cast("GaussianRBM", rbm)
    xp = rbm.xp
    return xp.sum(gaussian._minus_dF_dlog_variance(v0, h0_prob), axis=0) - xp.sum(
        gaussian._minus_dF_dlog_variance(vk, hk_prob), axis=0
    )


def _log_variance_increment(rbm: GaussianRBM, grad: Array, scale: float, mu: float) -> None:
    """``inc_z = mu inc_z + (lr / n) grad_z``, ``z += inc_z``, then clipped to its range."""
    rbm._inc_log_variance *= mu
    rbm._inc_log_variance += scale * grad
    rbm.log_variance += rbm._inc_log_variance
    lo, hi = rbm.LOG_VARIANCE_RANGE
    rbm.log_variance[...] = rbm.xp.clip(rbm.log_variance, lo, hi)
