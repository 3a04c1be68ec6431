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
    assert rbm.log_partition() == pytest.approx(
        brute_log_partition(W, rbm.b_visible, rbm.b_hidden), 1e-12
    )
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
    # a subset of units (what the per-epoch monitor uses for wide layers) gives those columns
    full = rbm.conditional_log_likelihoods(V)
    np.testing.assert_allclose(rbm.conditional_log_likelihoods(V, [1, 4]), full[:, [1, 4]], rtol=1e-12)


def test_monitor_uses_a_fixed_unit_subset_for_wide_layers(monkeypatch):
    import weightwise.layerwise.rbm as rbm_module

    rbm = tiny_rbm()
    V = prototype_data()
    exact = float(np.mean(rbm.conditional_log_likelihoods(V)))
    assert rbm._monitor_pseudo_likelihood(V) == pytest.approx(exact, rel=1e-12)
    monkeypatch.setattr(rbm_module, "_MONITOR_ELEMENTS", len(V) * N_HIDDEN * 3)  # room for 3 units
    first = rbm._monitor_pseudo_likelihood(V)
    units = rbm._monitor_units.copy()
    assert len(units) == 3 and rbm._monitor_pseudo_likelihood(V) == first  # same units each epoch
    assert first == pytest.approx(
        float(np.mean(rbm.conditional_log_likelihoods(V)[:, units])), rel=1e-12
    )


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


@pytest.mark.parametrize(
    ("cd_k", "persistent"), [(1, False), (3, False), (1, True)], ids=["CD-1", "CD-3", "PCD"]
)
def test_exact_log_likelihood_rises_during_training(cd_k, persistent):
    V = prototype_data()
    rbm = BernoulliRBM.create(
        N_VISIBLE, N_HIDDEN, dtype="float64", seed=0, learning_rate=0.1, batch_size=10,
        cd_k=cd_k, persistent=persistent, monitor_size=0, final_momentum=0.5,
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
        assert np.all(
            np.abs(sample_mean - mean_field) <= 5 * np.sqrt(mean_field * (1 - mean_field) / n) + 1e-12
        )
        errors.append(np.abs(sample_mean - mean_field).max())
    assert errors[1] < errors[0]


# -- Gaussian visible units ---------------------------------------------------------------------


def tiny_gaussian(learn_variance: bool = False) -> GaussianRBM:
    g = np.random.default_rng(7)
    W = g.normal(0, 0.8, (2, 3))
    return GaussianRBM(
        W, g.normal(0, 1, 3), g.normal(0, 1, 2), sigma=np.array([0.7, 1.3]),
        learn_variance=learn_variance, seed=0,
    )  # fmt: skip


def test_gaussian_free_energy_and_partition_function_against_integration():
    rbm = tiny_gaussian()
    sigma, b, c, W = np.array([0.7, 1.3]), rbm.b_visible, rbm.b_hidden, rbm.W
    # F(v) = -log sum_h exp(-E(v, h)), E = |v - b|^2 / (2 sigma^2) - h.c - (v / sigma) W h
    v = np.random.default_rng(0).normal(0, 2, (5, 2))
    H = all_states(3)
    E = ((v - b) ** 2 / (2 * sigma**2)).sum(1)[:, None] - (H @ c)[None] - (v / sigma) @ W @ H.T
    np.testing.assert_allclose(rbm.free_energy(v), -np.log(np.exp(-E).sum(1)), rtol=1e-12)
    # log Z = log of the integral of exp(-F(v)) over the plane, here by a Riemann sum
    step = 0.04
    grid = np.arange(-12, 12, step)
    gx, gy = np.meshgrid(grid, grid, indexing="ij")
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    numeric = np.log(np.exp(-rbm.free_energy(points)).sum() * step**2)
    assert rbm.log_partition() == pytest.approx(numeric, abs=1e-6)
    # ... and the sampler's visible conditional is that of the energy: mean b + sigma W h
    h = H[5:6]
    np.testing.assert_allclose(rbm.propdown(h), b + sigma * (h @ W.T), rtol=1e-12)


def standardised_factor_data(n: int = 600, seed: int = 0) -> np.ndarray:
    """16 real features driven by 3 binary causes plus noise, standardised per feature."""
    g = np.random.default_rng(seed)
    causes = (g.random((n, 3)) < 0.4).astype(float)
    X = causes @ g.normal(0, 2, (3, 16)) + 0.3 * g.normal(size=(n, 16))
    return ((X - X.mean(0)) / X.std(0)).astype(np.float32)


@pytest.mark.parametrize("learn_variance", [False, True], ids=["unit-variance", "learned-variance"])
def test_gaussian_cd_reduces_reconstruction_error(learn_variance):
    X = standardised_factor_data()
    rbm = GaussianRBM.create(16, 8, seed=0, learning_rate=0.01, learn_variance=learn_variance)
    assert rbm.W.dtype == np.float32
    history = rbm.fit(X, epochs=15)
    errors = history.reconstruction_error
    assert errors[-1] < 0.6 * errors[0]
    assert np.isnan(history.pseudo_likelihood).all()  # not defined for Gaussian units
    if learn_variance:
        # noise variance is 0.3**2 / var(feature) << 1: learned sigmas shrink, stay positive
        assert np.all(np.isfinite(rbm.sigma)) and float(np.mean(rbm.sigma)) < 0.95
    else:
        np.testing.assert_array_equal(rbm.sigma, 1.0)


def test_gaussian_extra_arrays_round_trip():
    rbm = tiny_gaussian(learn_variance=True)
    rbm.fit(np.random.default_rng(0).normal(size=(40, 2)), epochs=2)
    saved = rbm.extra_arrays()
    assert set(saved) == {"b_visible", "log_variance"}
    other = GaussianRBM(rbm.W.copy(), rbm.b_hidden.copy(), learn_variance=True)
    other.load_extra_arrays(saved)
    v = np.random.default_rng(1).normal(size=(4, 2))
    np.testing.assert_allclose(other.free_energy(v), rbm.free_energy(v), rtol=1e-12)
    with pytest.raises(DataError, match="log_variance"):
        other.load_extra_arrays({"b_visible": saved["b_visible"]})


# -- sharing with a Network ---------------------------------------------------------------------


def test_from_layer_trains_the_network_weights_in_place():
    net = Network.create([6, 4, 2], seed=0)
    layer = net.layers[0]
    before = net.get_weights()
    rbm = BernoulliRBM.from_layer(layer, seed=0, learning_rate=0.1, batch_size=10)
    assert rbm.W is layer.W and rbm.b_hidden is layer.b
    rbm.fit(prototype_data().astype(np.float32), epochs=3)
    after = net.get_weights()
    assert not np.allclose(after[0], before[0])  # W moved
    assert not np.allclose(after[1], before[1])  # hidden bias moved
    np.testing.assert_array_equal(after[2], before[2])  # the layer above is untouched
    # the network's forward pass is the RBM's propup
    X = prototype_data(n_per=2).astype(np.float32)
    np.testing.assert_allclose(net.transform(X, 1), rbm.transform(X), rtol=1e-6)


def test_from_layer_refuses_non_sigmoid_layers():
    net = Network.create([6, 4, 2], activation="relu", seed=0)
    with pytest.raises(ConfigError, match="only sigmoid layers.*auto-encoders"):
        BernoulliRBM.from_layer(net.layers[0])


# -- training options, monitoring, sampling -----------------------------------------------------


def test_history_monitoring_and_callback_stop():
    V = prototype_data()
    rbm = tiny_rbm(scale=0.01, batch_size=10, monitor_size=50)
    seen = []

    def stop_at_three(info):
        seen.append((info.epoch, info.logs["reconstruction_error"]))
        return info.epoch == 3

    history = rbm.fit(V[::2], epochs=10, callbacks=[stop_at_three], validation=V[1::2])
    assert isinstance(history, LayerHistory)
    assert history.epoch == [1, 2, 3] and history.stop_reason == "callback"
    assert [e for e, _ in seen] == [1, 2, 3]
    # per-unit pseudo-likelihood: between log(1/2) (untrained) and 0, and improving
    pl = history.pseudo_likelihood
    assert all(-1.0 < x < 0 for x in pl) and pl[-1] > pl[0]
    assert all(np.isfinite(history.free_energy_gap))
    d = history.to_dict()
    assert LayerHistory.from_dict(d).reconstruction_error == history.reconstruction_error
    # a second fit continues the epoch count and rbm.history_ keeps both
    rbm.fit(V, epochs=1)
    assert rbm.history_.epoch == [1, 2, 3, 4]


def test_free_energy_gap_grows_when_overfitting():
    """Hinton's overfitting signal: held-out data gets a higher free energy than training data."""
    g = np.random.default_rng(0)
    V = (g.random((40, 20)) < 0.5).astype(np.float32)  # pure noise: nothing to generalise
    held_out = (g.random((40, 20)) < 0.5).astype(np.float32)
    rbm = BernoulliRBM.create(20, 30, seed=0, learning_rate=0.1, batch_size=10, weight_cost=0.0)
    history = rbm.fit(V, epochs=60, validation=held_out)
    gap = history.free_energy_gap
    assert gap[-1] > 1.0 and gap[-1] > gap[0]


def test_momentum_and_learning_rate_schedules():
    rbm = tiny_rbm(momentum=0.5, final_momentum=0.9, momentum_switch_epoch=2, schedule="step",
                   learning_rate=0.2, batch_size=45)  # fmt: skip
    rates, momenta = [], []
    rbm.fit(prototype_data(), epochs=3, callbacks=[lambda i: momenta.append(rbm.current_momentum())])
    rates = rbm.history_.learning_rate
    assert rates == [0.2, 0.2, 0.2]  # step schedule halves every 10 epochs by default
    assert momenta == [0.5, 0.9, 0.9]  # momentum for the *next* epoch, after 1, 2, 3 epochs
    from weightwise.backpropagation.optimizers import Schedule

    rbm = tiny_rbm(schedule=Schedule("step", step_size=1, gamma=0.5), learning_rate=0.2)
    rbm.fit(prototype_data(), epochs=3)
    assert rbm.history_.learning_rate == pytest.approx([0.2, 0.1, 0.05])


def test_sparsity_target_lowers_hidden_activity():
    V = prototype_data()

    def mean_activity(**params):
        rbm = BernoulliRBM.create(6, 8, seed=0, batch_size=10, monitor_size=0, **params)
        rbm.fit(V, epochs=20)
        return float(rbm.transform(V).mean())

    free = mean_activity()
    sparse = mean_activity(sparsity_target=0.05, sparsity_cost=0.5)
    assert sparse < 0.6 * free and sparse < 0.2


def test_cd_k_and_pcd_run_and_keep_a_chain():
    V = prototype_data()
    rbm = tiny_rbm(scale=0.01, cd_k=3, persistent=True, batch_size=10)
    rbm.partial_fit(V[:10])
    chain = rbm._chain.copy()
    assert chain.shape == (10, 6) and set(np.unique(chain)) <= {0.0, 1.0}
    rbm.partial_fit(V[10:20])
    assert not np.array_equal(rbm._chain, chain)


def test_sample_and_gibbs_shapes():
    rbm = trained_tiny_rbm()
    s = rbm.sample(7, gibbs_steps=3)
    assert s.shape == (7, 6) and set(np.unique(s)) <= {0.0, 1.0}
    h_mean, h, v_mean, v = rbm.gibbs_vhv(s)
    assert h_mean.shape == h.shape == (7, 4) and v_mean.shape == v.shape == (7, 6)
    v_mean, v, h_mean, h = rbm.gibbs_hvh(h)
    assert v.shape == (7, 6) and h.shape == (7, 4)


def test_visible_bias_init_from_data_and_extra_arrays():
    V = prototype_data()
    rbm = BernoulliRBM.create(6, 4, dtype="float64", seed=0)
    rbm.init_visible_bias(V)
    p = V.mean(0)
    np.testing.assert_allclose(rbm.b_visible, np.log(p / (1 - p)), rtol=1e-12)
    saved = rbm.extra_arrays()
    saved["b_visible"][0] = 123.0  # a copy: changing it leaves the RBM alone
    assert rbm.b_visible[0] != 123.0


def test_inputs_left_unmodified():
    V = prototype_data()
    copy = V.copy()
    rbm = tiny_rbm(batch_size=10)
    rbm.fit(V, epochs=2)
    rbm.partial_fit(V)
    rbm.score_samples(V)
    np.testing.assert_array_equal(V, copy)


# -- bad input ----------------------------------------------------------------------------------


def test_bad_data_is_refused_with_a_clear_message():
    rbm = tiny_rbm()
    V = prototype_data()
    with pytest.raises(DataError, match=r"values in \[0, 2\].*\[0, 1\].*GaussianRBM"):
        rbm.fit(2 * V)
    with pytest.raises(DataError, match=r"\[-1, 0\]"):
        rbm.partial_fit(V - 1)
    bad = V.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError, match="1 NaN"):
        rbm.fit(bad)
    bad[0, 0] = np.inf
    with pytest.raises(DataError, match="infinite"):
        GaussianRBM.create(6, 4).fit(bad)
    with pytest.raises(DataError, match="5 features but the RBM has 6 visible units"):
        rbm.fit(V[:, :5])
    with pytest.raises(DataError, match="validation has 5 features"):
        rbm.fit(V, validation=V[:, :5])
    with pytest.raises(DataError, match="2-D"):
        rbm.transform(V[0])


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"cd_k": 0}, "cd_k must be a positive integer"),
        ({"cd_k": 1.5}, "cd_k"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"momentum": 1.0}, "momentum must be in"),
        ({"weight_cost": -1.0}, "weight_cost"),
        ({"sparsity_target": 1.5}, "sparsity_target"),
        ({"batch_size": 0}, "batch_size"),
        ({"schedule": "sometimes"}, "unknown schedule"),
    ],
)
def test_bad_settings_are_refused(params, match):
    with pytest.raises(ConfigError, match=match):
        BernoulliRBM.create(6, 4, **params)


def test_bad_shapes_are_refused():
    W = np.zeros((6, 4))
    with pytest.raises(DataError, match=r"b_hidden must have shape \(4,\)"):
        BernoulliRBM(W, np.zeros(3))
    with pytest.raises(DataError, match=r"b_visible must have shape \(6,\)"):
        BernoulliRBM(W, np.zeros(4), np.zeros(4))
    with pytest.raises(DataError, match="W must be 2-D"):
        BernoulliRBM(np.zeros(6), np.zeros(4))
    with pytest.raises(ConfigError, match="sigma must be positive"):
        GaussianRBM(W, np.zeros(4), sigma=0.0)
    with pytest.raises(ConfigError, match="at most 20"):
        BernoulliRBM.create(30, 25).log_partition()


# -- PyTorch ------------------------------------------------------------------------------------


def test_torch_matches_numpy_and_learns():
    torch = pytest.importorskip("torch")
    rbm = tiny_rbm()
    t = BernoulliRBM(
        torch.tensor(rbm.W), torch.tensor(rbm.b_hidden), torch.tensor(rbm.b_visible), seed=0
    )
    V = prototype_data()
    Vt = torch.tensor(V)
    # deterministic quantities agree to rounding
    np.testing.assert_allclose(t.propup(Vt).numpy(), rbm.propup(V), rtol=1e-12)
    np.testing.assert_allclose(t.propdown(t.propup(Vt)).numpy(), rbm.propdown(rbm.propup(V)), rtol=1e-12)
    np.testing.assert_allclose(t.free_energy(Vt).numpy(), rbm.free_energy(V), rtol=1e-12)
    np.testing.assert_allclose(t.score_samples(Vt).numpy(), rbm.score_samples(V), rtol=1e-12)
    np.testing.assert_allclose(
        t.conditional_log_likelihoods(Vt, [0, 5]).numpy(), rbm.conditional_log_likelihoods(V, [0, 5])
    )
    assert t.log_partition() == pytest.approx(rbm.log_partition(), rel=1e-12)
    # training on tensors (float32, device draws) runs, updates the tensors in place, and learns
    model = BernoulliRBM.create(6, 4, backend="torch", seed=0, batch_size=10, final_momentum=0.5)
    W = model.W
    before = float(model.exact_log_likelihood(Vt).mean())
    history = model.fit(Vt, epochs=20, validation=Vt[:20])
    assert model.W is W and isinstance(W, torch.Tensor) and W.dtype == torch.float32
    assert float(model.exact_log_likelihood(Vt).mean()) > before + 0.8
    assert history.reconstruction_error[-1] < history.reconstruction_error[0]
    assert np.isfinite(history.free_energy_gap).all()
    s = model.sample(5, gibbs_steps=2)
    assert isinstance(s, torch.Tensor) and tuple(s.shape) == (5, 6)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        model.fit(Vt * 3)


def test_torch_gaussian_and_persistent_run():
    torch = pytest.importorskip("torch")
    X = torch.tensor(standardised_factor_data())
    rbm = GaussianRBM.create(16, 8, backend="torch", seed=0, learn_variance=True, persistent=True)
    history = rbm.fit(X, epochs=3)
    assert np.isfinite(history.reconstruction_error).all()
    assert torch.isfinite(rbm.log_variance).all()


@pytest.mark.parametrize("kind", ["bernoulli", "gaussian"])
def test_free_energy_gradient_matches_finite_differences(kind):
    """The statistics CD uses: -dF/d theta for every parameter, log-variances included."""
    if kind == "gaussian":
        rbm = tiny_gaussian(learn_variance=True)
        V = np.random.default_rng(2).normal(0, 1.5, (7, 2))
        params = {"W": rbm.W, "b_hidden": rbm.b_hidden, "b_visible": rbm.b_visible}
        params["log_variance"] = rbm.log_variance
    else:
        rbm = tiny_rbm()
        V = prototype_data(n_per=2)
        params = {"W": rbm.W, "b_hidden": rbm.b_hidden, "b_visible": rbm.b_visible}
    grad = rbm.free_energy_gradient(V)
    assert set(grad) == set(params)
    eps = 1e-6
    for name, param in params.items():
        numeric = np.zeros_like(param)
        for idx in np.ndindex(param.shape):
            old = param[idx]
            param[idx] = old + eps
            up = -float(np.mean(rbm.free_energy(V)))
            param[idx] = old - eps
            down = -float(np.mean(rbm.free_energy(V)))
            param[idx] = old
            numeric[idx] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_sigmoid_matches_the_formula(dtype):
    """The in-place sigmoid of the CD fast path (float32: the tanh form)."""
    from weightwise.net.activations import sigmoid_ as _sigmoid_

    tol = 1e-7 if dtype == np.float32 else 1e-15
    z = np.linspace(-30, 30, 1001).astype(dtype)
    np.testing.assert_allclose(_sigmoid_(z.copy()), sigmoid(z.astype(np.float64)), rtol=0, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("weight_cost", [0.0, 2e-4])
def test_fused_blas_weight_step_equals_the_general_step(monkeypatch, dtype, weight_cost):
    """NumPy RBMs of BLAS size fold ``mu inc + V'H`` into one gemm; the result is the general path's."""
    import weightwise.layerwise.cd as cd
    from weightwise.net.inplace import has_blas_kernels

    if not has_blas_kernels():
        pytest.skip("NumPy's BLAS kernels are off (WEIGHTWISE_NO_BLAS_KERNELS): no fused path to test")

    g = np.random.default_rng(0)
    V = (g.random((90, 80)) < 0.3).astype(dtype)

    def trained(fused: bool) -> BernoulliRBM:
        if not fused:
            monkeypatch.setattr(cd, "can_outer_update", lambda *a: False)
        rbm = BernoulliRBM.create(
            80,
            60,
            dtype=dtype,
            seed=1,
            batch_size=30,
            monitor_size=0,
            weight_cost=weight_cost,
            momentum=0.5,
            momentum_switch_epoch=1,
        )
        rbm.fit(V, epochs=3)
        monkeypatch.undo()
        return rbm

    assert cd.can_outer_update(V, np.zeros((90, 60), dtype), np.zeros((80, 60), dtype))
    fused, general = trained(True), trained(False)
    rtol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(fused.W, general.W, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(fused._inc_W, general._inc_W, rtol=rtol, atol=rtol * 1e-2)
    assert not np.array_equal(fused.W, BernoulliRBM.create(80, 60, dtype=dtype, seed=1).W)
