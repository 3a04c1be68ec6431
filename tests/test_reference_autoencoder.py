"""The tied (denoising) auto-encoder's step against the plain reference ``autoencoder_update``.

The fast learner and the reference start from the same weights and take their corruption noise from
two :class:`Random` objects with the same seed; step after step (so SGD's momentum and Adam's
moments are non-zero) the parameters, the optimiser's slots and the losses must agree to rounding:
1e-12 in float64, 1e-5 in float32. Masking and Gaussian noise, both losses, every hidden
activation, SGD with and without momentum, Adam, weight decay on W only; NumPy and PyTorch; one
``fit`` epoch with batches that do not divide the data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weightwise.layerwise.autoencoder import AE_ACTIVATIONS, AutoEncoder
from weightwise.layerwise.reference import AEParams, AEState, autoencoder_update
from weightwise.net.backend import Random, asarray, namespace, resolve_dtype, to_numpy

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
SLOTS = {"sgd": ("velocity",), "adam": ("m", "v")}


@st.composite
def cases(draw: st.DrawFn, dtype: str = "float64") -> dict[str, Any]:
    """A recipe, a tiny auto-encoder and a seed."""
    noise = draw(st.sampled_from(["mask", "gaussian"]))
    loss = draw(st.sampled_from(["cross_entropy", "squared_error"]))
    return dict(
        dtype=dtype,
        seed=draw(st.integers(0, 2**31 - 1)),
        n=draw(st.integers(1, 8)),
        n_visible=draw(st.integers(1, 6)),
        n_hidden=draw(st.integers(1, 5)),
        activation=draw(st.sampled_from(AE_ACTIVATIONS)),
        loss=loss,
        noise=noise,
        corruption=draw(st.sampled_from([0.0, 0.3])),
        noise_std=draw(st.sampled_from([None, 0.5])) if noise == "gaussian" else None,
        optimizer=draw(st.sampled_from(["sgd", "adam"])),
        momentum=draw(st.sampled_from([0.0, 0.9])),
        weight_decay=draw(st.sampled_from([0.0, 0.05])),
        # real-valued data through a linear decoder diverges at 0.2 with batches of one row
        learning_rate=draw(st.sampled_from([0.01, 0.2 if loss == "cross_entropy" else 0.05])),
    )


def options(case: dict[str, Any]) -> dict[str, Any]:
    keys = ("activation", "loss", "noise", "corruption", "noise_std", "optimizer", "momentum")
    return {k: case[k] for k in (*keys, "weight_decay", "learning_rate")}


def make_pair(case: dict[str, Any], xp: Any = None) -> tuple[AutoEncoder, AEParams, Any]:
    """The fast learner, the reference's copy of its parameters, and the data."""
    g = np.random.default_rng(case["seed"])
    nv, nh, n = case["n_visible"], case["n_hidden"], case["n"]
    W, c, b = g.normal(0, 0.7, (nv, nh)), g.normal(0, 0.3, nh), g.normal(0, 0.3, nv)
    V = g.random((n, nv)) if case["loss"] == "cross_entropy" else g.normal(0, 1, (n, nv))
    xp = xp or namespace(W)
    dt = resolve_dtype(case["dtype"], xp)
    W, c, b, V = (asarray(a, xp, dt) for a in (W, c, b, V))
    ae = AutoEncoder(
        xp.asarray(W, copy=True), xp.asarray(c, copy=True), xp.asarray(b, copy=True), seed=case["seed"],
        **options(case),
    )  # fmt: skip
    return ae, AEParams(W, c, b), V


def assert_same(ae: AutoEncoder, params: AEParams, state: AEState, optimizer: str, tol: float) -> None:
    for label, a, b in zip(
        ("W", "b_hidden", "b_visible"),
        ae.parameters(),
        (params.W, params.b_hidden, params.b_visible),
        strict=True,
    ):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=tol, atol=tol, err_msg=label)
    _, arrays = ae.training_state()
    for slot in SLOTS[optimizer]:
        mine = getattr(state, slot)
        if mine is None:  # plain SGD keeps no buffer
            assert not any(k.startswith(f"opt.{slot}.") for k in arrays)
            continue
        for i, m in enumerate(mine):
            np.testing.assert_allclose(
                arrays[f"opt.{slot}.{i}"], to_numpy(m), rtol=tol, atol=tol, err_msg=f"{slot}.{i}"
            )


def check_steps(case: dict[str, Any], steps: int, tol: float, xp: Any = None) -> None:
    ae, params, V = make_pair(case, xp)
    state = AEState()
    rng = Random(case["seed"])
    for _ in range(steps):
        loss = ae.partial_fit(V)
        params, state, ref_loss = autoencoder_update(params, state, V, rng, **options(case))
        assert loss == pytest.approx(float(ref_loss), rel=tol, abs=tol)
        assert_same(ae, params, state, case["optimizer"], tol)
    assert ae.optimizer.t == state.t == steps
    assert np.array_equal(ae.rng.numpy.random(3), rng.numpy.random(3))  # same draws consumed


@SETTINGS
@given(case=cases(), steps=st.integers(1, 3))
def test_steps_match_the_reference_float64(case, steps):
    check_steps(case, steps, 1e-12)


@settings(SETTINGS, max_examples=20)
@given(case=cases(dtype="float32"), steps=st.integers(1, 2))
def test_steps_match_the_reference_float32(case, steps):
    check_steps(case, steps, 1e-5)


@settings(SETTINGS, max_examples=12)
@given(case=cases(), steps=st.integers(1, 2))
def test_torch_steps_match_the_reference(torch_one_thread, case, steps):
    check_steps(case, steps, 1e-12, namespace(torch_one_thread.zeros(1)))


@settings(SETTINGS, max_examples=20)
@given(case=cases(), n=st.integers(1, 17), batch_size=st.integers(1, 7))
def test_fit_epoch_matches_reference_steps(case, n, batch_size):
    """One epoch: ``rng.permutation(n)`` (drawn only when there is more than one batch), then the
    batches in that order, each with its own corruption draw; the epoch's loss is the batch mean."""
    case = {**case, "n": n}
    ae, params, V = make_pair(case)
    ae.batch_size = batch_size
    history = ae.fit(V, epochs=1)
    rng = Random(case["seed"])
    bs = min(batch_size, n)
    order = rng.permutation(n) if bs < n else np.arange(n)
    state, losses = AEState(), []
    for lo in range(0, n, bs):
        params, state, loss = autoencoder_update(
            params, state, V[order[lo : lo + bs]], rng, **options(case)
        )
        losses.append(float(loss))
    assert history.reconstruction_error[0] == pytest.approx(np.mean(losses), rel=1e-12, abs=1e-12)
    assert_same(ae, params, state, case["optimizer"], 1e-12)


def test_weight_decay_reaches_only_the_weights():
    """With no reconstruction gradient, weight decay alone moves W, by ``-eta lambda W``; not the biases.

    Zero data and zero biases give ``h = 0`` and ``x_hat = 0 = x`` whatever W (identity encoder,
    linear decoder), so the fast learner and the reference both take the bare decay step.
    """
    case = dict(
        dtype="float64", seed=0, n=4, n_visible=3, n_hidden=2, activation="identity",
        loss="squared_error", noise="mask", corruption=0.0, noise_std=None, optimizer="sgd",
        momentum=0.0, weight_decay=0.5, learning_rate=0.1,
    )  # fmt: skip
    ae, params, V = make_pair(case)
    for b in (ae.b_hidden, ae.b_visible):
        b[...] = 0.0
    W0 = params.W.copy()
    X = np.zeros_like(V)
    assert ae.partial_fit(X) == 0.0
    zero = AEParams(W0, np.zeros_like(params.b_hidden), np.zeros_like(params.b_visible))
    new, _, _ = autoencoder_update(zero, AEState(), X, Random(0), **options(case))
    for W in (ae.W, new.W):
        np.testing.assert_allclose(W, W0 * (1 - 0.1 * 0.5), rtol=1e-15)
    for b in (ae.b_hidden, ae.b_visible, new.b_hidden, new.b_visible):
        assert not np.any(b)
