"""Restricted Boltzmann machines against exact answers.

A tiny RBM (6 visible, 4 hidden units, float64) is small enough to enumerate: the 2**10 joint
states give the partition function by brute force, written out here independently of the library.
Against it: the free energy, log Z, the exact log-likelihood gradient (and finite differences of
the exact log-likelihood), the rise of the exact log-likelihood under CD-1 and PCD, the
distribution of Gibbs samples, one hand-worked CD-1 update, and the Gaussian-Bernoulli RBM's free
energy and partition function against numerical integration.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from weightwise.errors import ConfigError, DataError
from weightwise.layerwise import LayerHistory
from weightwise.layerwise.rbm import BernoulliRBM, GaussianRBM
from weightwise.net.network import Network

N_VISIBLE, N_HIDDEN = 6, 4


# -- independent brute force --------------------------------------------------------------------


def all_states(n: int) -> np.ndarray:
    """The 2**n binary vectors, shape (2**n, n)."""
    return np.array(list(itertools.product((0.0, 1.0), repeat=n)))


def joint_energy(W, b_visible, b_hidden, v, h):
    """E(v, h) = -v.b - h.c - v W h for one pair."""
    return -(v @ b_visible) - (h @ b_hidden) - v @ W @ h


def brute_log_partition(W, b_visible, b_hidden) -> float:
    """log sum over all 2**(n_visible + n_hidden) joint states of exp(-E)."""
    energies = [
        joint_energy(W, b_visible, b_hidden, v, h)
        for v in all_states(W.shape[0])
        for h in all_states(W.shape[1])
    ]
    e = -np.array(energies)
    return float(e.max() + np.log(np.exp(e - e.max()).sum()))


def brute_free_energy(W, b_visible, b_hidden, v) -> float:
    """-log sum_h exp(-E(v, h)), enumerating h."""
    e = np.array([-joint_energy(W, b_visible, b_hidden, v, h) for h in all_states(W.shape[1])])
    return float(-(e.max() + np.log(np.exp(e - e.max()).sum())))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def tiny_rbm(scale: float = 1.0, seed: int = 0, **params) -> BernoulliRBM:
    """A 6-4 float64 RBM with random weights and biases."""
    g = np.random.default_rng(seed)
    W = g.normal(0, scale, (N_VISIBLE, N_HIDDEN))
    return BernoulliRBM(
        W, g.normal(0, scale, N_HIDDEN), g.normal(0, scale, N_VISIBLE), seed=seed, **params
    )


def prototype_data(n_per: int = 30, flip: float = 0.05, seed: int = 1) -> np.ndarray:
    """Noisy copies of three binary prototypes: a small data set with clear structure."""
    g = np.random.default_rng(seed)
    protos = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [1, 0, 1, 0, 1, 0]], dtype=float)
    V = np.repeat(protos, n_per, axis=0)
    flips = g.random(V.shape) < flip
    return np.abs(V - flips)


def exact_mean_ll(rbm: BernoulliRBM, V: np.ndarray) -> float:
    """Mean exact log-likelihood from the brute-force partition function."""
    logZ = brute_log_partition(rbm.W, rbm.b_visible, rbm.b_hidden)
    F = np.array([brute_free_energy(rbm.W, rbm.b_visible, rbm.b_hidden, v) for v in V])
    return float(np.mean(-F - logZ))


# -- exact quantities ---------------------------------------------------------------------------


def test_free_energy_equals_marginalisation_over_hidden_states():
    rbm = tiny_rbm()
    V = all_states(N_VISIBLE)
    expected = [brute_free_energy(rbm.W, rbm.b_visible, rbm.b_hidden, v) for v in V]
    np.testing.assert_allclose(rbm.free_energy(V), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("transpose", [False, True], ids=["enumerate-hidden", "enumerate-visible"])
def test_log_partition_equals_joint_enumeration(transpose):
    g = np.random.default_rng(3)
    shape = (N_HIDDEN, N_VISIBLE) if transpose else (N_VISIBLE, N_HIDDEN)
    W = g.normal(0, 1, shape)
    rbm = BernoulliRBM(W, g.normal(0, 1, shape[1]), g.normal(0, 1, shape[0]))
    assert rbm.log_partition() == pytest.approx(brute_log_partition(W, rbm.b_visible, rbm.b_hidden), 1e-12)
    # probabilities of all visible states sum to one
    ll = rbm.exact_log_likelihood(all_states(shape[0]))
    assert np.exp(ll).sum() == pytest.approx(1.0, abs=1e-12)


def test_exact_gradient_matches_finite_differences():
    rbm = tiny_rbm(scale=0.5)
    V = prototype_data(n_per=5)
    grad = rbm.exact_log_likelihood_gradient(V)
    eps = 1e-6
    for name, param in (("W", rbm.W), ("b_hidden", rbm.b_hidden), ("b_visible", rbm.b_visible)):
        numeric = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            old = param[idx]
            param[idx] = old + eps
            up = float(np.mean(rbm.exact_log_likelihood(V)))
            param[idx] = old - eps
            down = float(np.mean(rbm.exact_log_likelihood(V)))
            param[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)
    # and the gradient is not trivially zero
    assert np.abs(grad["W"]).max() > 1e-2


def test_pseudo_likelihood_matches_flipping_each_unit():
    rbm = tiny_rbm()
    V = prototype_data(n_per=2)
    expected = np.zeros(len(V))
    for n, v in enumerate(V):
        for i in range(N_VISIBLE):
            flipped = v.copy()
            flipped[i] = 1 - flipped[i]
            F = rbm.free_energy(np.stack([v, flipped]))
            # p(v_i | v_-i) = exp(-F(v)) / (exp(-F(v)) + exp(-F(v')))
            expected[n] += -np.logaddexp(0.0, F[0] - F[1])
    np.testing.assert_allclose(rbm.score_samples(V), expected, rtol=1e-12)


# -- learning -----------------------------------------------------------------------------------


def test_cd1_update_by_hand():
    """One CD-1 step, no momentum or weight cost, redone here with the same random stream."""
    rbm = tiny_rbm(scale=0.3, seed=5, learning_rate=0.5, momentum=0.0, weight_cost=0.0)
    W0, c0, b0 = rbm.W.copy(), rbm.b_hidden.copy(), rbm.b_visible.copy()
    V = prototype_data(n_per=2)
    error = rbm.partial_fit(V)
    g = np.random.default_rng(5)  # the RBM's seed: its first draws are the hidden-sample uniforms
    h0 = sigmoid(V @ W0 + c0)
    h_sample = (g.random(h0.shape) < h0).astype(float)
    v1 = sigmoid(h_sample @ W0.T + b0)  # Hinton: probabilities for the reconstruction
    h1 = sigmoid(v1 @ W0 + c0)
    n = len(V)
    np.testing.assert_allclose(rbm.W, W0 + 0.5 / n * (V.T @ h0 - v1.T @ h1), rtol=1e-12)
    np.testing.assert_allclose(rbm.b_hidden, c0 + 0.5 / n * (h0 - h1).sum(0), rtol=1e-12)
    np.testing.assert_allclose(rbm.b_visible, b0 + 0.5 / n * (V - v1).sum(0), rtol=1e-12)
    assert error == pytest.approx(np.mean((V - v1) ** 2), rel=1e-12)


@pytest.mark.parametrize("persistent", [False, True], ids=["CD-1", "PCD"])
def test_exact_log_likelihood_rises_during_training(persistent):
    V = prototype_data()
    rbm = BernoulliRBM.create(
        N_VISIBLE, N_HIDDEN, dtype="float64", seed=0, learning_rate=0.1, batch_size=10,
        persistent=persistent, monitor_size=0, final_momentum=0.5,
    )  # fmt: skip
    # Momentum stays at 0.5: with 0.9 and only 10 persistent chains PCD's log-likelihood
    # oscillates by nats on this data (fantasy particles lag the fast-moving weights).
    lls = [exact_mean_ll(rbm, V)]
    rbm.fit(V, epochs=30, callbacks=[lambda info: lls.append(exact_mean_ll(rbm, V))])
    # starts near 6 * log(1/2) = -4.16 (W ~ N(0, 0.01)); three prototypes need about log(1/3)
    assert lls[0] == pytest.approx(-6 * math.log(2), abs=0.05)
    assert lls[-1] > lls[0] + 1.0
    assert lls[-1] > lls[10] > lls[0]
    # the library's own exact likelihood agrees with the brute force
    assert float(np.mean(rbm.exact_log_likelihood(V))) == pytest.approx(lls[-1], abs=1e-10)


def trained_tiny_rbm() -> BernoulliRBM:
    rbm = BernoulliRBM.create(
        N_VISIBLE, N_HIDDEN, dtype="float64", seed=2, learning_rate=0.1, batch_size=10, monitor_size=0
    )
    rbm.fit(prototype_data(), epochs=15)
    return rbm


def test_gibbs_samples_match_the_exact_distribution():
    """Total-variation distance between Gibbs samples and the exact p(v) is below 0.05.

    Bound: with the chains mixed, N independent samples over K = 64 states give an empirical
    distribution whose expected TV distance is at most 0.5 * sqrt(2 K / (pi N)) (Cauchy-Schwarz on
    the per-state half-normal errors) = 0.023 for N = 20000; TV changes by at most 1/N per sample,
    so McDiarmid puts P(TV > E[TV] + 0.02) below exp(-2 N 0.02**2) = 1e-7. Mixing is checked
    exactly: the chains' start distribution pushed through the exact 64 x 64 visible transition
    matrix for the same number of steps is within 1e-3 of p(v). Hence 0.023 + 0.02 + 1e-3 < 0.05.
    """
    rbm = trained_tiny_rbm()
    states = all_states(N_VISIBLE)
    p_exact = np.exp(rbm.exact_log_likelihood(states))
    # exact visible-to-visible transition: T[v, v'] = sum_h p(h | v) p(v' | h)
    H = all_states(N_HIDDEN)
    ph = sigmoid(states @ rbm.W + rbm.b_hidden)
    p_h_given_v = np.prod(np.where(H[None] == 1, ph[:, None], 1 - ph[:, None]), axis=2)
    pv = sigmoid(H @ rbm.W.T + rbm.b_visible)
    p_v_given_h = np.prod(np.where(states[None] == 1, pv[:, None], 1 - pv[:, None]), axis=2)
    T = p_h_given_v @ p_v_given_h
    np.testing.assert_allclose(p_exact @ T, p_exact, atol=1e-12)  # p is stationary
    steps = 200
    start = sigmoid(rbm.b_visible)  # sample() starts from independent units with these means
    mu = np.prod(np.where(states == 1, start, 1 - start), axis=1) @ np.linalg.matrix_power(T, steps)
    assert 0.5 * np.abs(mu - p_exact).sum() < 1e-3
    samples = rbm.sample(20000, gibbs_steps=steps)
    index = (samples @ (2 ** np.arange(N_VISIBLE)[::-1])).astype(int)  # same order as all_states
    p_sampled = np.bincount(index, minlength=64) / len(samples)
    tv = 0.5 * np.abs(p_sampled - p_exact).sum()
    assert tv < 0.05
    # sampled hidden means match their exact model expectations (mean field of p(h | v))
    exact_h = p_exact @ ph
    np.testing.assert_allclose(rbm.propup(samples).mean(0), exact_h, atol=0.02)


def test_hidden_sample_means_converge_to_mean_field_values():
    rbm = tiny_rbm()
    v = prototype_data(n_per=1)
    mean_field = rbm.propup(v)
    errors = []
    for n in (100, 10000):
        draws = [rbm.sample_h_given_v(v)[1] for _ in range(n)]
        sample_mean = np.mean(draws, axis=0)
        # 5 standard errors of a Bernoulli mean
        assert np.all(np.abs(sample_mean - mean_field) <= 5 * np.sqrt(mean_field * (1 - mean_field) / n) + 1e-12)
        errors.append(np.abs(sample_mean - mean_field).max())
    assert errors[1] < errors[0]
