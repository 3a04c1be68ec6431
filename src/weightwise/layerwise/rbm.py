"""Restricted Boltzmann machines: Bernoulli-Bernoulli and Gaussian-Bernoulli, trained by CD-k or PCD.

An RBM over visible units ``v`` (n_visible,) and binary hidden units ``h`` (n_hidden,) has the energy

    Bernoulli visible:  E(v, h) = - v.b - h.c - v W h
    Gaussian visible:   E(v, h) = sum_i (v_i - b_i)**2 / (2 sigma_i**2) - h.c - (v / sigma) W h

with ``W`` (n_visible, n_hidden) and ``c`` (n_hidden,) the *same arrays* as a sigmoid ``Dense``
layer's ``W`` and ``b``: ``p(h_j = 1 | v) = sigmoid(c_j + (v / sigma) W[:, j])`` is that layer's
forward pass. The visible bias ``b`` (and ``log sigma**2``) belong to the RBM alone (as in the LISA
Deep Learning Tutorials' DBN), so back-propagation later adjusts exactly what pre-training filled.

Summing out ``h`` gives the free energy, ``p(v) = exp(-F(v)) / Z``:

    Bernoulli:  F(v) = - v.b - sum_j softplus(c_j + v W[:, j])
    Gaussian:   F(v) = sum_i (v_i - b_i)**2 / (2 sigma_i**2) - sum_j softplus(c_j + (v / sigma) W[:, j])

and the log-likelihood gradient ``d log p(v) / d theta = - dF(v)/d theta + E_model[dF/d theta]``.
Contrastive divergence (Hinton 2002) replaces the model expectation by ``k`` Gibbs steps started
at the data; persistent CD (Tieleman 2008) keeps the Gibbs chains running between updates. The
training recipe (momentum 0.5 then 0.9, weight cost 2e-4, N(0, 0.01) weights, visible biases
``log(p / (1 - p))``, sparsity targets, monitoring by free-energy gap) follows Hinton, "A Practical
Guide to Training Restricted Boltzmann Machines" (UTML TR 2010-003).

The shared machinery (the training loop, monitoring, sampling, saving) is
:class:`~weightwise.layerwise.rbm_base.BaseRBM`, and the fast CD-k/PCD update, with the in-place
conditionals of both kinds of visible unit, is :mod:`weightwise.layerwise.cd`; this module holds
the rest of what differs between the two kinds: energies, likelihoods, initial states.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..net.activations import sigmoid_
from ..net.backend import Array, asarray, is_numpy, to_numpy
from ..net.backend import device as array_device
from ._rbm_kernels import (
    MAX_ENUMERATED_UNITS,
    bernoulli,
    binary_states,
    logsumexp,
    softplus,
)
from .learner import refuse_outside_unit_interval
from .rbm_base import BaseRBM

__all__ = ["MAX_ENUMERATED_UNITS", "BaseRBM", "BernoulliRBM", "GaussianRBM", "visible_bias"]


def visible_bias(V: Array, eps: float = 1e-3, xp: Any = np) -> Array:
    """Binary visible biases ``log(p_i / (1 - p_i))`` from the data's unit means ``p_i``, clipped
    to ``[eps, 1 - eps]`` so units that are always off stay finite (Hinton's guide 8.1).

    Parameters
    ----------
    V : array of shape (n_samples, n_visible)
    xp : array namespace of ``V``

    Returns
    -------
    array of shape (n_visible,), ``V``'s dtype
    """
    p = xp.clip(xp.mean(V, axis=0), eps, 1.0 - eps)
    return xp.log(p / (1.0 - p))


# Elements per chunk of the (rows, n_visible, n_hidden) tensor in the pseudo-likelihood.
_PL_CHUNK_ELEMENTS = 1 << 22
# Softplus evaluations allowed for the per-epoch pseudo-likelihood (a fraction of a second).
_MONITOR_ELEMENTS = 1 << 24


class BernoulliRBM(BaseRBM):
    """RBM with binary visible and binary hidden units (Smolensky 1986; Hinton 2002).

    Visible data must lie in [0, 1]: binary values, or probabilities such as grey levels scaled
    to [0, 1] (used as the data's expected values, Hinton's guide section 3.2). See
    :class:`BaseRBM` for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> rbm = BernoulliRBM.create(6, 4, seed=0)
    >>> V = (np.random.default_rng(0).random((50, 6)) < 0.3).astype("float32")
    >>> history = rbm.fit(V, epochs=2)
    >>> rbm.transform(V).shape
    (50, 4)
    """

    visible_kind = "bernoulli"

    def _check_data(self, V: Any, name: str = "V") -> Array:
        V = super()._check_data(V, name)
        refuse_outside_unit_interval(
            V,
            name,
            " but Bernoulli visible units take values in [0, 1] (binary, or probabilities); scale "
            "the data (e.g. pixels / 255) or use a GaussianRBM for real-valued, standardised data",
        )
        return V

    def propdown(self, h: Array) -> Array:
        """``p(v = 1 | h) = sigmoid(b + h W')``, shape (n, n_visible), for h (n, n_hidden)."""
        return sigmoid_(h @ self.W.T + self.b_visible)

    def _sample_visible(self, mean: Array) -> Array:
        return bernoulli(mean, self.rng)

    def _visible_energy(self, v: Array) -> Array:
        return -(v @ self.b_visible)

    def _initial_visible(self, n: int) -> Array:
        p = sigmoid_(self.xp.asarray(self.b_visible, copy=True))
        return bernoulli(self.xp.broadcast_to(p[None, :], (n, self.n_visible)), self.rng)

    def init_visible_bias(self, V: Any, eps: float = 1e-3) -> None:
        """Set ``b_i = log(p_i / (1 - p_i))`` from the data's unit means (Hinton's guide 8.1).

        ``p_i`` is clipped to ``[eps, 1 - eps]`` so units that are always off stay finite.
        """
        self.b_visible[...] = visible_bias(self._check_data(V), eps, self.xp)

    def conditional_log_likelihoods(self, V: Array, units: Any = None) -> Array:
        """``log p(v_i | v_-i)`` for each sample and each chosen visible unit, shape (n, k).

        ``p(v_i | v_-i) = sigmoid(F(v with unit i flipped) - F(v))``, flipping ``v_i`` to
        ``1 - v_i`` (exact for binary data). Costs ``n * k * n_hidden`` softplus evaluations, done
        in chunks of rows.

        Parameters
        ----------
        V : array of shape (n, n_visible)
            Checked data in the RBM's namespace.
        units : sequence of int, optional
            Visible units to score; all by default.
        """
        xp = self.xp
        W, b = self.W, self.b_visible
        if units is not None:
            index = asarray(np.asarray(units), xp, None, array_device(W)) if not is_numpy(xp) else units
            W, b = xp.take(W, index, axis=0), xp.take(b, index, axis=0)
            Vk = xp.take(V, index, axis=1)
        else:
            Vk = V
        x = V @ self.W + self.b_hidden  # (n, n_hidden)
        base = xp.sum(softplus(x), axis=1)  # (n,)
        d = 1.0 - 2.0 * Vk  # change of each chosen unit when flipped, (n, k)
        k = int(W.shape[0])
        rows = max(1, _PL_CHUNK_ELEMENTS // (k * self.n_hidden))
        parts = []
        for lo in range(0, int(V.shape[0]), rows):
            xc, dc = x[lo : lo + rows], d[lo : lo + rows]
            flipped = xp.sum(softplus(xc[:, None, :] + dc[:, :, None] * W[None, :, :]), axis=2)
            delta = -dc * b - (flipped - base[lo : lo + rows, None])  # F(v') - F(v), (rows, k)
            parts.append(-softplus(-delta))  # log sigmoid(delta)
        return xp.concat(parts)

    def score_samples(self, V: Any) -> Array:
        """Exact log pseudo-likelihood per sample, shape (n,): ``sum_i log p(v_i | v_-i)``.

        Sums :meth:`conditional_log_likelihoods` over *all* visible units (not sklearn's
        one-random-unit estimate). Divide by ``n_visible`` for the per-unit value that
        :class:`LayerHistory` records.
        """
        return self.xp.sum(self.conditional_log_likelihoods(self._check_data(V)), axis=1)

    def _monitor_pseudo_likelihood(self, V: Array) -> float:
        # Exact over all units when that is cheap; otherwise over a fixed random subset of units
        # (chosen once per RBM, so the curve is comparable across epochs): an unbiased estimate
        # of the mean per sample and unit.
        k = min(self.n_visible, max(1, _MONITOR_ELEMENTS // (int(V.shape[0]) * self.n_hidden)))
        units = None
        if k < self.n_visible:
            if self._monitor_units is None or len(self._monitor_units) != k:
                self._monitor_units = np.sort(self.rng.permutation(self.n_visible)[:k])
            units = self._monitor_units
        return float(self.xp.mean(self.conditional_log_likelihoods(V, units)))

    def free_energy_gradient(self, V: Array, weights: Array | None = None) -> dict[str, Array]:
        """Weighted mean over rows of ``-dF(v)/d theta``: the data term of the likelihood gradient.

        Parameters
        ----------
        V : array of shape (n, n_visible)
        weights : array of shape (n,), optional
            Row weights summing to one (``p(v)`` for the model term); uniform by default.

        Returns
        -------
        dict
            ``"W"`` (n_visible, n_hidden) ``= sum_n w_n v_n p(h | v_n)'``, ``"b_hidden"``
            (n_hidden,) ``= sum_n w_n p(h | v_n)``, ``"b_visible"`` (n_visible,) ``= sum_n w_n v_n``.
        """
        xp = self.xp
        if weights is None:
            weights = xp.full((int(V.shape[0]),), 1.0 / int(V.shape[0]), dtype=V.dtype)
        H = self.propup(V)
        return {"W": (V * weights[:, None]).T @ H, "b_hidden": weights @ H, "b_visible": weights @ V}

    def exact_log_likelihood_gradient(self, V: Any) -> dict[str, Array]:
        """Exact gradient of the mean log-likelihood of ``V`` (tiny models only).

        The data term minus the model term, the model's expectation taken over all
        ``2**n_visible`` visible states weighted by their exact probabilities: what CD-k estimates.
        """
        V = self._check_data(V)
        xp = self.xp
        states = binary_states(self.n_visible, self.W)
        p = xp.exp(-self.free_energy(states) - self.log_partition())
        data = self.free_energy_gradient(V)
        model = self.free_energy_gradient(states, p)
        return {name: data[name] - model[name] for name in data}

    def log_partition(self) -> float:
        """Exact ``log Z``, enumerating the smaller of the 2**n_visible and 2**n_hidden sides."""
        xp = self.xp
        if self.n_hidden <= self.n_visible:
            H = binary_states(self.n_hidden, self.W)
            # sum over v of exp(-E) factorises given h: prod_i (1 + exp(b_i + W_i.h))
            log_terms = H @ self.b_hidden + xp.sum(softplus(H @ self.W.T + self.b_visible), axis=1)
        else:
            log_terms = -self.free_energy(binary_states(self.n_visible, self.W))
        return float(logsumexp(log_terms))


class GaussianRBM(BaseRBM):
    """RBM with real-valued Gaussian visible units and binary hidden units.

    ``p(v_i | h) = N(b_i + sigma_i W[i] . h, sigma_i**2)`` and ``p(h_j = 1 | v) =
    sigmoid(c_j + (v / sigma) . W[:, j])`` (Hinton and Salakhutdinov 2006; Hinton's guide section
    13.2). With unit variances (the default) the data should be standardised per feature; a
    learning rate 10-100 times smaller than for binary units keeps training stable, hence the
    default 0.01.

    Parameters
    ----------
    sigma : float or array of shape (n_visible,)
        Initial standard deviations of the visible units.
    learn_variance : bool
        Also learn ``log sigma**2`` by CD (the gradient of the free energy with respect to it),
        clipped to ``[log 1e-4, log 1e4]``.
    **params
        As for :class:`BaseRBM`.
    """

    visible_kind = "gaussian"
    LOG_VARIANCE_RANGE = (math.log(1e-4), math.log(1e4))

    def __init__(
        self,
        W: Array,
        b_hidden: Array,
        b_visible: Array | None = None,
        *,
        learning_rate: float = 0.01,
        sigma: float | Array = 1.0,
        learn_variance: bool = False,
        **params: Any,
    ) -> None:
        super().__init__(W, b_hidden, b_visible, learning_rate=learning_rate, **params)
        xp = self.xp
        sig = np.broadcast_to(np.asarray(to_numpy(sigma), dtype=np.float64), (self.n_visible,))
        if not np.all(np.isfinite(sig)) or np.any(sig <= 0):
            raise ConfigError("sigma must be positive and finite for every visible unit")
        self.log_variance = asarray(np.log(sig**2), xp, W.dtype, array_device(W))
        self.learn_variance = bool(learn_variance)
        self._unit_variance = bool(np.all(sig == 1.0)) and not self.learn_variance
        self._inc_log_variance = xp.zeros((self.n_visible,), dtype=W.dtype, device=array_device(W))

    @property
    def sigma(self) -> Array:
        """Standard deviations of the visible units, shape (n_visible,)."""
        return self.xp.exp(0.5 * self.log_variance)

    def _visible_input(self, v: Array) -> Array:
        return v if self._unit_variance else v / self.sigma

    def propdown(self, h: Array) -> Array:
        """``E[v | h] = b + sigma (h W')``, shape (n, n_visible), for h (n, n_hidden)."""
        a = h @ self.W.T
        return (a if self._unit_variance else a * self.sigma) + self.b_visible

    def _sample_visible(self, mean: Array) -> Array:
        noise = self.rng.standard_normal(tuple(mean.shape), like=mean)
        return mean + (noise if self._unit_variance else noise * self.sigma)

    def _visible_energy(self, v: Array) -> Array:
        r = v - self.b_visible
        return self.xp.sum(r * r / (2.0 * self.xp.exp(self.log_variance)), axis=1)

    def _initial_visible(self, n: int) -> Array:
        mean = self.xp.broadcast_to(self.b_visible[None, :], (n, self.n_visible))
        return self._sample_visible(mean)

    def _minus_dF_dlog_variance(self, v: Array, h: Array) -> Array:
        """``-dF/d(log sigma_i**2) = (v_i - b_i)**2 / (2 sigma_i**2) - v_i (W h)_i / (2 sigma_i)``.

        Per row, shape (n, n_visible), with ``h = p(h | v)`` of shape (n, n_hidden).
        """
        r = v - self.b_visible
        return r * r / (2.0 * self.xp.exp(self.log_variance)) - v * (h @ self.W.T) / (2.0 * self.sigma)

    def free_energy_gradient(self, V: Array, weights: Array | None = None) -> dict[str, Array]:
        """Weighted mean over rows of ``-dF(v)/d theta`` (see :meth:`BernoulliRBM.free_energy_gradient`).

        Returns
        -------
        dict
            ``"W"`` ``= sum_n w_n (v_n / sigma) p(h | v_n)'``, ``"b_hidden"``, ``"b_visible"``
            ``= sum_n w_n (v_n - b) / sigma**2`` and ``"log_variance"`` (n_visible,).
        """
        xp = self.xp
        if weights is None:
            weights = xp.full((int(V.shape[0]),), 1.0 / int(V.shape[0]), dtype=V.dtype)
        H = self.propup(V)
        return {
            "W": (self._visible_input(V) * weights[:, None]).T @ H,
            "b_hidden": weights @ H,
            "b_visible": weights @ ((V - self.b_visible) / xp.exp(self.log_variance)),
            "log_variance": weights @ self._minus_dF_dlog_variance(V, H),
        }

    def init_visible_bias(self, V: Any) -> None:
        """Set ``b`` to the data means (and ``sigma**2`` to their variances when learning them)."""
        V = self._check_data(V)
        xp = self.xp
        self.b_visible[...] = xp.mean(V, axis=0)
        if self.learn_variance:
            var = xp.clip(xp.var(V, axis=0), math.exp(self.LOG_VARIANCE_RANGE[0]), None)
            self.log_variance[...] = xp.log(var)

    def score_samples(self, V: Any) -> Array:
        """Not defined here: a Gaussian unit's conditional needs a 1-D integral per unit.

        Raises
        ------
        NotImplementedError
            Always; use :meth:`free_energy` (or :meth:`exact_log_likelihood` for tiny models).
        """
        raise NotImplementedError(
            "the pseudo-likelihood of Gaussian visible units is not computed; compare "
            "free_energy(V) between data sets, or exact_log_likelihood(V) for tiny models"
        )

    def _monitor_pseudo_likelihood(self, V: Array) -> float:
        return math.nan

    def log_partition(self) -> float:
        """Exact ``log Z`` by enumerating hidden states and integrating each Gaussian analytically.

        For fixed ``h`` with ``a = W h``: ``int exp(-E) dv = exp(c.h) prod_i sigma_i sqrt(2 pi)
        exp(b_i a_i / sigma_i + a_i**2 / 2)``.
        """
        xp = self.xp
        H = binary_states(self.n_hidden, self.W)
        A = H @ self.W.T  # (2**n_hidden, n_visible)
        sigma = self.sigma
        per_unit = self.b_visible * A / sigma + 0.5 * A * A + xp.log(sigma * math.sqrt(2 * math.pi))
        return float(logsumexp(H @ self.b_hidden + xp.sum(per_unit, axis=1)))

    def extra_arrays(self) -> dict[str, np.ndarray]:
        arrays = super().extra_arrays()
        arrays["log_variance"] = np.array(to_numpy(self.log_variance), copy=True)
        return arrays

    def _extra_targets(self) -> dict[str, Array]:
        return {"b_visible": self.b_visible, "log_variance": self.log_variance}

    def _velocities(self) -> dict[str, Array]:
        return {**super()._velocities(), "inc_log_variance": self._inc_log_variance}

    def load_extra_arrays(self, arrays: dict[str, Any]) -> None:
        super().load_extra_arrays(arrays)
        sig = np.exp(0.5 * to_numpy(self.log_variance))
        self._unit_variance = bool(np.all(sig == 1.0)) and not self.learn_variance
