"""The RBMs' fast CD step against the plain reference of :mod:`weightwise.layerwise.reference`.

The fast learner and :func:`cd_update` start from the same parameters, increments, running mean
and chains, and take their random numbers from two :class:`Random` objects with the same seed:
their results must agree to rounding (1e-12 in float64, 1e-5 in float32) for every recipe
(CD-1, CD-3, PCD, momentum, weight cost, sparsity, Bernoulli and Gaussian visible units with unit,
fixed or learned variances), for the general weight step and the fused BLAS one, on NumPy and
PyTorch, one update at a time and one ``fit`` epoch at a time. Then the reference (and the fast
path) against the exact log-likelihood of a tiny model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import weightwise.layerwise.cd as cd
import weightwise.net.inplace as inplace
from weightwise.layerwise.rbm import BaseRBM, BernoulliRBM, GaussianRBM
from weightwise.layerwise.reference import RBMParams, RBMState, cd_epoch, cd_update
from weightwise.net.backend import Random, asarray, namespace, resolve_dtype, to_numpy

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
KINDS = ("bernoulli", "gaussian", "gaussian_sigma", "gaussian_learned")


# -- building a fast learner and its reference twin -----------------------------------------------


def make_rbm(case: dict[str, Any], xp: Any = None) -> BaseRBM:
    """The fast learner of ``case``, its arrays in NumPy (or ``xp``, e.g. torch) of case's dtype."""
    g = np.random.default_rng(case["seed"])
    nv, nh, kind = case["n_visible"], case["n_hidden"], case["kind"]
    W, c, b = g.normal(0, case["scale"], (nv, nh)), g.normal(0, 0.5, nh), g.normal(0, 0.5, nv)
    arrays = [
        asarray(a, xp, resolve_dtype(case["dtype"], xp)) if xp is not None else a.astype(case["dtype"])
        for a in (W, c, b)
    ]
    params = dict(
        seed=case["seed"],
        learning_rate=case["learning_rate"],
        momentum=case["momentum"],
        final_momentum=case["momentum"],
        cd_k=case["cd_k"],
        persistent=case["persistent"],
        weight_cost=case["weight_cost"],
        sparsity_target=0.1 if case["sparse"] else None,
        sparsity_cost=0.3 if case["sparse"] else 0.0,
        batch_size=case.get("batch_size", 100),
        monitor_size=case.get("monitor_size", 0),
    )
    if kind == "bernoulli":
        return BernoulliRBM(*arrays, **params)
    sigma = 1.0 if kind == "gaussian" else g.uniform(0.5, 2.0, nv)
    return GaussianRBM(*arrays, sigma=sigma, learn_variance=kind == "gaussian_learned", **params)


def make_data(case: dict[str, Any], n: int, xp: Any = None) -> Any:
    g = np.random.default_rng(case["seed"] + 1)
    shape = (n, case["n_visible"])
    if case["kind"] != "bernoulli":
        V = g.normal(0.3, 1.2, shape)
    elif case.get("probabilities"):
        V = g.random(shape)  # grey levels: probabilities as the data's expected values
    else:
        V = (g.random(shape) < 0.4).astype(float)
    return (
        asarray(V, xp, resolve_dtype(case["dtype"], xp)) if xp is not None else V.astype(case["dtype"])
    )


def preset_state(rbm: BaseRBM, case: dict[str, Any]) -> None:
    """Non-zero increments (and a running mean, and chains) loaded as a resumed fit would."""
    scalars, arrays = rbm.training_state()
    g = np.random.default_rng(case["seed"] + 2)
    for name in list(arrays):
        arrays[name] = g.normal(0, 0.05, arrays[name].shape)
    if case["sparse"]:
        arrays["q"] = g.uniform(0.05, 0.6, rbm.n_hidden)
    if case["persistent"]:
        shape = (rbm.batch_size, rbm.n_visible)
        chain = g.normal(0, 1, shape) if case["kind"] != "bernoulli" else (g.random(shape) < 0.5) * 1.0
        arrays["chain"] = chain
    rbm.load_training_state(scalars, arrays)


def twin(rbm: BaseRBM) -> tuple[RBMParams, RBMState]:
    """Copies of the learner's parameters and training state, in its namespace and dtype."""
    xp = namespace(rbm.W)

    def copy(a: Any) -> Any:
        return None if a is None else xp.asarray(a, copy=True)

    _, arrays = rbm.training_state()

    def load(name: str) -> Any:
        return asarray(arrays[name], xp, rbm.W.dtype) if name in arrays else None

    params = RBMParams(
        copy(rbm.W), copy(rbm.b_hidden), copy(rbm.b_visible), copy(getattr(rbm, "log_variance", None))
    )
    state = RBMState(
        load("inc_W"),
        load("inc_b_hidden"),
        load("inc_b_visible"),
        load("inc_log_variance"),
        load("q"),
        load("chain"),
    )
    return params, state


def update_options(rbm: BaseRBM) -> dict[str, Any]:
    return dict(
        learning_rate=rbm.current_learning_rate(),
        momentum=rbm.current_momentum(),
        cd_k=rbm.cd_k,
        persistent=rbm.persistent,
        weight_cost=rbm.weight_cost,
        sparsity_target=rbm.sparsity_target,
        sparsity_cost=rbm.sparsity_cost,
        learn_variance=getattr(rbm, "learn_variance", False),
    )


def assert_same(rbm: BaseRBM, params: RBMParams, state: RBMState, tol: float) -> None:
    """Parameters, increments, running mean and chains all equal to ``tol`` (rtol and atol)."""
    fast, ref = twin(rbm)
    for label, a, b in [
        ("W", fast.W, params.W),
        ("b_hidden", fast.b_hidden, params.b_hidden),
        ("b_visible", fast.b_visible, params.b_visible),
        ("log_variance", fast.log_variance, params.log_variance),
        ("inc_W", ref.inc_W, state.inc_W),
        ("inc_b_hidden", ref.inc_b_hidden, state.inc_b_hidden),
        ("inc_b_visible", ref.inc_b_visible, state.inc_b_visible),
        ("q", ref.q, state.q),
        ("chain", ref.chain, state.chain),
    ]:
        assert (a is None) == (b is None), label
        if a is not None:
            np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=tol, atol=tol, err_msg=label)
    if state.inc_log_variance is not None:
        np.testing.assert_allclose(
            to_numpy(ref.inc_log_variance), to_numpy(state.inc_log_variance), rtol=tol, atol=tol
        )


@st.composite
def cases(draw: st.DrawFn, dtype: str = "float64", big: bool = False) -> dict[str, Any]:
    """A recipe, a tiny (or BLAS-sized) RBM and a seed."""
    kind = draw(st.sampled_from(KINDS))
    case = dict(
        kind=kind,
        dtype=dtype,
        seed=draw(st.integers(0, 2**31 - 1)),
        n_visible=draw(st.integers(70, 90)) if big else draw(st.integers(1, 6)),
        n_hidden=draw(st.integers(60, 70)) if big else draw(st.integers(1, 5)),
        scale=0.1 if big else draw(st.sampled_from([0.3, 1.0])),
        cd_k=draw(st.sampled_from([1, 3])),
        persistent=draw(st.booleans()),
        momentum=draw(st.sampled_from([0.0, 0.5, 0.9])),
        weight_cost=draw(st.sampled_from([0.0, 2e-4, 0.05])),
        sparse=draw(st.booleans()),
        preset=draw(st.booleans()),
        probabilities=draw(st.booleans()),
        learning_rate=draw(st.sampled_from([0.05, 0.3])) if kind == "bernoulli" else 0.02,
        batch_size=draw(st.integers(1, 12)),
    )
    case["n"] = draw(st.integers(1, case["batch_size"]))
    return case


def check_updates(case: dict[str, Any], updates: int, tol: float, xp: Any = None) -> BaseRBM:
    rbm = make_rbm(case, xp)
    if case["preset"]:
        preset_state(rbm, case)
    params, state = twin(rbm)
    rng = Random(case["seed"])
    V = make_data(case, case["n"], xp)
    for _ in range(updates):
        error = rbm.partial_fit(V)
        params, state, ref_error = cd_update(
            params, state, V, rng, n_chains=rbm.batch_size, **update_options(rbm)
        )
        assert error == pytest.approx(float(ref_error), rel=tol, abs=tol)
        assert_same(rbm, params, state, tol)
    # both streams are where they should be: the next draws agree
    assert np.array_equal(rbm.rng.numpy.random(3), rng.numpy.random(3))
    return rbm


# -- one update at a time ---------------------------------------------------------------------------


@SETTINGS
@given(case=cases(), updates=st.integers(1, 3))
def test_updates_match_the_reference_float64(case, updates):
    """General weight step (tiny W): CD-k, PCD, momentum, weight cost, sparsity, every visible kind."""
    check_updates(case, updates, 1e-12)


@settings(SETTINGS, max_examples=20)
@given(case=cases(dtype="float32"), updates=st.integers(1, 2))
def test_updates_match_the_reference_float32(case, updates):
    check_updates(case, updates, 1e-5)


@settings(SETTINGS, max_examples=8)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("blas", [True, False], ids=["fused-blas", "no-blas"])
@given(case=cases(big=True))
def test_blas_sized_updates_match_the_reference(monkeypatch, dtype, blas, case):
    """W of >= 4096 elements: the fused gemm step (or, with NumPy's BLAS hidden, the general one)."""
    case = {**case, "dtype": dtype, "batch_size": 40, "n": 37, "sparse": case["sparse"] and not blas}
    if not blas:
        monkeypatch.setattr(inplace, "_CBLAS", None)
    elif not inplace.has_blas_kernels():
        pytest.skip("NumPy's own BLAS was not found")
    calls = []
    real = cd.outer_update
    monkeypatch.setattr(cd, "outer_update", lambda *a: (calls.append(1), real(*a)))
    check_updates(case, 2 if dtype == "float32" else 3, 1e-5 if dtype == "float32" else 1e-12)
    assert bool(calls) == blas  # the path under test is the one taken


# -- one epoch of fit ----------------------------------------------------------------------------


@SETTINGS
@given(
    case=cases(),
    n=st.integers(1, 23),
    epochs=st.integers(1, 2),
    monitor=st.booleans(),
)
def test_fit_epochs_match_reference_epochs(case, n, epochs, monitor):
    """Shuffling, batches that do not divide n, PCD chains across batches, the momentum switch."""
    case = {**case, "monitor_size": 256 if monitor else 0}
    rbm = make_rbm(case)
    rbm.momentum_switch_epoch = 1
    rbm.final_momentum = 0.9
    params, state = twin(rbm)
    rng = Random(case["seed"])
    V = make_data(case, n)
    history = rbm.fit(V, epochs=epochs)
    for epoch in range(epochs):
        params, state, error = cd_epoch(
            params,
            state,
            V,
            rng,
            batch_size=rbm.batch_size,
            draw_monitor_seed=monitor and epoch == 0,
            **{**update_options(rbm), "momentum": case["momentum"] if epoch == 0 else 0.9},
        )
        assert history.reconstruction_error[epoch] == pytest.approx(error, rel=1e-12, abs=1e-12)
    assert_same(rbm, params, state, 1e-12)
    assert np.array_equal(rbm.rng.numpy.random(3), rng.numpy.random(3))


# -- PyTorch ---------------------------------------------------------------------------------------


@settings(SETTINGS, max_examples=12)
@given(case=cases(), updates=st.integers(1, 2))
def test_torch_updates_match_the_reference(torch_one_thread, case, updates):
    """Tensors: device draws from the torch generator that both derive from the same host stream."""
    torch = torch_one_thread
    check_updates(case, updates, 1e-12, namespace(torch.zeros(1)))


@pytest.mark.parametrize("kind", ["bernoulli", "gaussian_learned"])
def test_torch_fit_epoch_matches_the_reference(torch_one_thread, kind):
    torch = torch_one_thread
    xp = namespace(torch.zeros(1))
    case = dict(
        kind=kind, dtype="float64", seed=4, n_visible=5, n_hidden=3, scale=0.5, cd_k=3, persistent=True,
        momentum=0.5, weight_cost=0.01, sparse=True, learning_rate=0.05, batch_size=4, monitor_size=256,
    )  # fmt: skip
    rbm = make_rbm(case, xp)
    params, state = twin(rbm)
    V = make_data(case, 11, xp)
    history = rbm.fit(V, epochs=1)
    params, state, error = cd_epoch(
        params, state, V, Random(4), batch_size=4, draw_monitor_seed=True, **update_options(rbm)
    )
    assert isinstance(rbm.W, torch.Tensor) and isinstance(params.W, torch.Tensor)
    assert history.reconstruction_error[0] == pytest.approx(error, rel=1e-12)
    assert_same(rbm, params, state, 1e-12)


# -- the reference against the exact likelihood of a tiny model -----------------------------------------


def prototypes(n_per: int = 30, seed: int = 1) -> np.ndarray:
    """Noisy copies of three 6-unit binary prototypes."""
    g = np.random.default_rng(seed)
    protos = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [1, 0, 1, 0, 1, 0]], dtype=float)
    V = np.repeat(protos, n_per, axis=0)
    return np.abs(V - (g.random(V.shape) < 0.05))


def tiny_bernoulli(seed: int = 3, scale: float = 0.5) -> BernoulliRBM:
    g = np.random.default_rng(seed)
    return BernoulliRBM(
        g.normal(0, scale, (6, 4)), g.normal(0, scale, 4), g.normal(0, scale, 6), seed=seed
    )


def flat(grad: dict[str, Any]) -> np.ndarray:
    return np.concatenate([np.ravel(grad[k]) for k in ("W", "b_hidden", "b_visible")])


def cd_gradient(path: str, rbm: BernoulliRBM, V: np.ndarray, k: int, persistent: bool) -> dict[str, Any]:
    """``theta_new - theta`` of one update with learning rate 1, no momentum and no weight cost."""
    before = {"W": rbm.W.copy(), "b_hidden": rbm.b_hidden.copy(), "b_visible": rbm.b_visible.copy()}
    if path == "fast":
        model = BernoulliRBM(
            *(a.copy() for a in before.values()), learning_rate=1.0, cd_k=k, persistent=persistent,
            momentum=0.0, weight_cost=0.0, seed=k,
        )  # fmt: skip
        model.partial_fit(V)
        after = {"W": model.W, "b_hidden": model.b_hidden, "b_visible": model.b_visible}
    else:
        p = RBMParams(*before.values())
        p, _, _ = cd_update(
            p, RBMState.zeros(p), V, Random(k), learning_rate=1.0, cd_k=k, persistent=persistent
        )
        after = {"W": p.W, "b_hidden": p.b_hidden, "b_visible": p.b_visible}
    return {name: after[name] - before[name] for name in before}


def relative_error(estimate: dict[str, Any], exact: dict[str, Any], names: tuple[str, ...]) -> float:
    e, x = (np.concatenate([np.ravel(d[k]) for k in names]) for d in (estimate, exact))
    return float(np.linalg.norm(e - x) / np.linalg.norm(x))


@pytest.mark.parametrize("path", ["reference", "fast"])
def test_expected_cd_update_follows_the_exact_gradient(path):
    """The mean CD-k step over many chains against the exact log-likelihood gradient.

    One update with learning rate 1 on 400 copies of the 90-row data set averages 36,000 chains,
    so ``theta_new - theta`` estimates the expected update to about 1% of the gradient's norm.

    - PCD from fresh chains carries samples through every step, so after 30 Gibbs steps its model
      term is the model's expectation: the whole update is the exact gradient (to 3%). One step
      from the chains' start (independent units) is far from it.
    - CD-k's last visible step uses probabilities (Hinton's recipe). That is unbiased for the
      visible biases (``E[p(v | h)] = E[v]``), so CD-30 gets them exactly, but it leaves a bias of
      several percent in ``W`` and ``b_hidden`` whatever k (``p(h | E[v])`` is not ``E[p(h | v)]``):
      here CD-30 is still only a good *direction*. CD-1 is biased in all three.
    """
    V = prototypes()
    rbm = tiny_bernoulli(seed=3, scale=1.0)
    exact = rbm.exact_log_likelihood_gradient(V)
    big = np.tile(V, (400, 1))
    everything, visible = ("W", "b_hidden", "b_visible"), ("b_visible",)

    assert relative_error(cd_gradient(path, rbm, big, 30, True), exact, everything) < 0.03
    assert relative_error(cd_gradient(path, rbm, big, 1, True), exact, everything) > 0.2

    cd30, cd1 = cd_gradient(path, rbm, big, 30, False), cd_gradient(path, rbm, big, 1, False)
    assert relative_error(cd30, exact, visible) < 0.02
    assert relative_error(cd1, exact, visible) > 0.15
    x, e = flat(cd30), flat(exact)
    assert x @ e / np.linalg.norm(x) / np.linalg.norm(e) > 0.99
    assert relative_error(cd30, exact, everything) < relative_error(cd1, exact, everything)


def test_reference_training_with_momentum_and_weight_cost_raises_the_exact_likelihood():
    """Ten reference epochs of CD-3 (momentum 0.5 then 0.9, weight cost 1e-3) climb the exact likelihood.

    (tests/test_rbm.py checks the fast learner with momentum 0.5 and the default weight cost; this
    checks the reference itself, with the switch to 0.9, against the oracle.)
    """
    V = prototypes()
    rbm = BernoulliRBM.create(6, 4, dtype="float64", seed=0)
    params, state = RBMParams(rbm.W, rbm.b_hidden, rbm.b_visible), None
    state = RBMState.zeros(params)
    rng = Random(0)

    def ll(p: RBMParams) -> float:
        model = BernoulliRBM(p.W, p.b_hidden, p.b_visible)
        return float(np.mean(model.exact_log_likelihood(V)))

    lls = [ll(params)]
    for epoch in range(10):
        params, state, _ = cd_epoch(
            params, state, V, rng, batch_size=10, learning_rate=0.05, cd_k=3,
            momentum=0.5 if epoch < 3 else 0.9, weight_cost=1e-3,
        )  # fmt: skip
        lls.append(ll(params))
    assert lls[-1] > lls[0] + 1.0
    assert lls[-1] > lls[5] > lls[0]
    # the weight cost is felt: the same run without it ends with larger weights
    free, free_state = RBMParams(rbm.W, rbm.b_hidden, rbm.b_visible), RBMState.zeros(params)
    rng = Random(0)
    for epoch in range(10):
        free, free_state, _ = cd_epoch(
            free, free_state, V, rng, batch_size=10, learning_rate=0.05, cd_k=3,
            momentum=0.5 if epoch < 3 else 0.9, weight_cost=0.0,
        )  # fmt: skip
    assert np.sum(free.W**2) > np.sum(params.W**2)


def test_reference_gaussian_training_with_learned_variance_raises_the_exact_likelihood():
    """A 3-visible, 2-hidden Gaussian RBM learning its variances (its exact likelihood integrates v).

    Two clusters with noise 0.4 per unit: the likelihood climbs by over a nat and the learned
    standard deviations shrink from the data's spread towards the noise level.
    """
    g = np.random.default_rng(0)
    centres = np.array([[2.0, -1.0, 0.5], [-1.5, 1.0, -0.5]])
    V = centres[g.integers(0, 2, 200)] + g.normal(0, 0.4, (200, 3))
    rbm = GaussianRBM.create(3, 2, dtype="float64", seed=0, learn_variance=True)
    params = RBMParams(rbm.W, rbm.b_hidden, V.mean(axis=0), np.log(V.var(axis=0)))
    state = RBMState.zeros(params)
    rng = Random(0)

    def ll(p: RBMParams) -> float:
        model = GaussianRBM(p.W, p.b_hidden, p.b_visible, sigma=np.exp(0.5 * p.log_variance))
        return float(np.mean(model.exact_log_likelihood(V)))

    lls = [ll(params)]
    for _ in range(20):
        params, state, _ = cd_epoch(
            params, state, V, rng, batch_size=20, learning_rate=0.02, cd_k=1, momentum=0.9,
            weight_cost=2e-4, learn_variance=True,
        )  # fmt: skip
        lls.append(ll(params))
    assert lls[-1] > lls[0] + 1.5, lls
    sigma = np.exp(0.5 * params.log_variance)
    assert np.all(sigma < 0.7 * V.std(axis=0)) and np.all(sigma > 0.3), sigma


@pytest.mark.parametrize("edge", [0, 1], ids=["lower", "upper"])
def test_learned_log_variance_is_clipped_like_the_reference(edge):
    """Increments that push ``log sigma**2`` past its range: both clip it to the same bound.

    (A learning rate of 1e-8 keeps the gradient, huge for sigma = 0.01, from outweighing the push.)
    """
    case = dict(
        kind="gaussian_learned", dtype="float64", seed=7, n_visible=4, n_hidden=3, scale=0.3, cd_k=1,
        persistent=False, momentum=0.9, weight_cost=0.0, sparse=False, learning_rate=1e-8, batch_size=5,
    )  # fmt: skip
    rbm = make_rbm(case)
    bound = GaussianRBM.LOG_VARIANCE_RANGE[edge]
    rbm.log_variance[...] = bound + (0.05 if edge == 0 else -0.05)
    scalars, arrays = rbm.training_state()
    arrays["inc_log_variance"] = np.full(4, 1.0 if edge else -1.0)
    rbm.load_training_state(scalars, arrays)
    params, state = twin(rbm)
    V = make_data(case, 5)
    rbm.partial_fit(V)
    params, state, _ = cd_update(params, state, V, Random(7), **update_options(rbm))
    assert np.all(rbm.log_variance == bound)
    assert_same(rbm, params, state, 1e-12)
