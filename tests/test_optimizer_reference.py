"""The fast optimiser paths against the plain reference updates of ``backpropagation.reference``.

Every path that changes weights (``Optimizer.step``, the base ``step_factored``, SGD's fused BLAS
``step_factored`` with and without momentum, its fallback for small layers and for NumPy builds
without BLAS kernels, Nesterov, Adam; NumPy and PyTorch) is driven with the same weights,
gradients and settings as the reference for several steps, so momentum and Adam's moments matter,
and must agree to 1e-12 in float64 and 1e-5 in float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weightwise import SGD, Adam, Forward, Gradients, Network, Optimizer, Random, backprop, fit
from weightwise.backpropagation import optimizers
from weightwise.backpropagation.reference import AdamState, SGDState, adam_step, sgd_step
from weightwise.net import inplace
from weightwise.net.backend import to_numpy

TOL = {"float64": 1e-12, "float32": 1e-5}
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# 64 * 64 = 4096 reaches inplace._MIN_BLAS_SIZE, so layers of these widths take the fused gemm.
WIDTHS = st.sampled_from([1, 3, 7, 64, 70])


@dataclass
class Hyper:
    """An optimiser's settings: ``kind`` and the keyword arguments of SGD or Adam."""

    kind: str
    kwargs: dict[str, Any]

    def make(self) -> Optimizer:
        return (SGD if self.kind == "sgd" else Adam)(**self.kwargs)


@st.composite
def hypers(draw: st.DrawFn, kinds: tuple[str, ...] = ("sgd", "adam")) -> Hyper:
    """Settings of SGD (momentum 0 or not, Nesterov, L2) or Adam, decay on all or weights only."""
    kind = draw(st.sampled_from(kinds))
    kw: dict[str, Any] = {
        "learning_rate": draw(st.floats(1e-3, 0.5)),
        "weight_decay": draw(st.sampled_from([0.0, 1e-3, 0.1, 0.7])),
        "decay_bias": draw(st.booleans()),
    }
    if kind == "sgd":
        kw["momentum"] = draw(st.one_of(st.just(0.0), st.floats(0.05, 0.95)))
        kw["nesterov"] = kw["momentum"] > 0 and draw(st.booleans())
    else:
        kw["beta1"] = draw(st.floats(0.0, 0.95))
        kw["beta2"] = draw(st.floats(0.5, 0.999))
        kw["epsilon"] = draw(st.sampled_from([1e-8, 1e-6, 1e-3]))
    return Hyper(kind, kw)


@dataclass
class Problem:
    """Initial ``[W1, b1, ...]`` and, per step, each layer's inputs ``a[l]`` (n, n_in) and deltas
    ``delta[l]`` (n, n_out); float64, to be cast to the dtype under test."""

    params: list[np.ndarray]
    steps: list[tuple[list[np.ndarray], list[np.ndarray]]]


@st.composite
def problems(draw: st.DrawFn, big_first: bool = False) -> Problem:
    """Random layers (widths from ``WIDTHS``), 1 to 12 samples, 1 to 4 steps; with ``big_first``
    the first layer is at least 64 x 64, so SGD's fused gemm takes it."""
    sizes = draw(st.lists(WIDTHS, min_size=2, max_size=4))
    if big_first:
        sizes[:2] = [64, draw(st.sampled_from([64, 70]))]
    n, n_steps = draw(st.integers(1, 12)), draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    params = [
        a
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
        for a in (rng.normal(size=(n_in, n_out)), rng.normal(size=n_out))
    ]
    steps = [
        (
            [rng.normal(size=(n, k)) for k in sizes[:-1]],
            # Deltas of a mean reduction are O(1 / n).
            [rng.normal(size=(n, k)) / n for k in sizes[1:]],
        )
        for _ in range(n_steps)
    ]
    return Problem(params, steps)


def explicit(acts: list[Any], deltas: list[Any]) -> list[Any]:
    """``[dW1, db1, ...]`` with ``dW = a.T @ delta`` and ``db = sum(delta)`` over the batch."""
    return [g for a, d in zip(acts, deltas, strict=True) for g in (a.T @ d, d.sum(0))]


def factored(acts: list[Any], deltas: list[Any]) -> Gradients:
    """The same gradients left factored (``dW`` None), as ``backprop(weight_grads=False)`` gives."""
    n_layers = len(deltas)
    forward = Forward(zs=list(deltas), activations=[*acts, deltas[-1]])
    return Gradients(
        [None] * n_layers, [d.sum(0) for d in deltas], list(deltas), 0.0 * deltas[0][0, 0], forward
    )


def run_fast(hyper: Hyper, problem: Problem, path: str, cast: Any) -> list[np.ndarray]:
    """Final parameters after ``opt.step`` or ``opt.step_factored`` on the cast arrays."""
    opt = hyper.make()
    params = [cast(p) for p in problem.params]
    for acts, deltas in problem.steps:
        A, D = [cast(a) for a in acts], [cast(d) for d in deltas]
        if path == "step":
            opt.step(params, explicit(A, D))
        else:
            opt.step_factored(params, factored(A, D))
    return [np.asarray(to_numpy(p), dtype=np.float64) for p in params]


def run_reference(hyper: Hyper, problem: Problem, cast: Any) -> list[np.ndarray]:
    """Final parameters after the reference update on the same (cast) arrays."""
    params = [cast(p) for p in problem.params]
    state: Any = SGDState() if hyper.kind == "sgd" else AdamState()
    step = sgd_step if hyper.kind == "sgd" else adam_step
    for acts, deltas in problem.steps:
        grads = explicit([cast(a) for a in acts], [cast(d) for d in deltas])
        params, state = step(params, grads, state, **hyper.kwargs)
    return [np.asarray(to_numpy(p), dtype=np.float64) for p in params]


def numpy_cast(dtype: str) -> Any:
    """A fresh copy: the fast paths update in place and the problem is shared with the reference."""
    return lambda a: np.array(a, dtype=dtype, order="C", copy=True)


def oracle_cast(dtype: str) -> Any:
    """The reference works in the dtype under test, as the fast path does.

    Not float64 for float32 inputs: Adam divides by ``sqrt(v) + eps``, so where the L2 term all but
    cancels the gradient (``dW + lambda * W ~ 0``), float32's rounding of that ``g`` becomes a step
    of order ``eta`` (seen: 3e-5 with eta 0.5, beta1 0). That is float32's conditioning, the same
    for any correct implementation, not a difference between the update rules under test.
    """
    return numpy_cast(dtype)


def assert_same(fast: list[np.ndarray], ref: list[np.ndarray], dtype: str) -> None:
    tol = TOL[dtype]
    for i, (f, r) in enumerate(zip(fast, ref, strict=True)):
        np.testing.assert_allclose(f, r, rtol=tol, atol=tol, err_msg=f"parameter {i}")


# --------------------------------------------------------------------------------------------------
# NumPy: every path, with and without NumPy's BLAS kernels


@SETTINGS
@given(hypers(), problems(), st.sampled_from(["float64", "float32"]), st.booleans())
@pytest.mark.parametrize("method", ["step", "step_factored"])
def test_step_matches_reference(
    method: str, hyper: Hyper, problem: Problem, dtype: str, blas: bool
) -> None:
    """``step`` (dense gradients) and ``step_factored``: SGD's fused gemm path (big layers), its
    fallback (small layers, no BLAS), Nesterov and Adam through the base class's ``step_factored``."""
    with pytest.MonkeyPatch.context() as mp:
        if not blas:
            mp.setattr(inplace, "_CBLAS", None)
        fast = run_fast(hyper, problem, method, numpy_cast(dtype))
    assert_same(fast, run_reference(hyper, problem, oracle_cast(dtype)), dtype)


@SETTINGS
@given(hypers(kinds=("sgd",)), problems(big_first=True), st.sampled_from(["float64", "float32"]))
def test_fused_step_factored_matches_reference(hyper: Hyper, problem: Problem, dtype: str) -> None:
    """SGD's fused gemm on a big first layer (momentum or none, L2 on all arrays or weights only),
    the later layers fused or pending; with the generic draws above a big layer is rare."""
    fast = run_fast(hyper, problem, "step_factored", numpy_cast(dtype))
    assert_same(fast, run_reference(hyper, problem, oracle_cast(dtype)), dtype)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("decay_bias", [True, False])
def test_big_layers_take_the_fused_path(
    momentum: float, decay_bias: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The property tests' 64-wide layers really reach the fused gemm (else they would test the
    fallback twice), and with L2 it agrees with the reference."""
    if not inplace.has_blas_kernels():
        pytest.skip("NumPy's BLAS was not found: no fused path")
    calls = []
    real = optimizers.outer_update

    def counting(*args: Any) -> None:
        calls.append(args[2].shape)
        real(*args)

    monkeypatch.setattr(optimizers, "outer_update", counting)
    rng = np.random.default_rng(0)
    sizes, n = (64, 70, 3), 10
    params = [rng.normal(size=s) for s in ((64, 70), (70,), (70, 3), (3,))]
    steps = [
        ([rng.normal(size=(n, k)) for k in sizes[:-1]], [rng.normal(size=(n, k)) / n for k in sizes[1:]])
        for _ in range(3)
    ]
    hyper = Hyper(
        "sgd",
        {"learning_rate": 0.1, "momentum": momentum, "weight_decay": 0.3, "decay_bias": decay_bias},
    )
    problem = Problem(params, steps)
    fast = run_fast(hyper, problem, "step_factored", numpy_cast("float64"))
    assert calls == [(10, 70)] * 3  # the 64 x 70 layer each step; the 70 x 3 one is too small
    assert_same(fast, run_reference(hyper, problem, oracle_cast("float64")), "float64")


# --------------------------------------------------------------------------------------------------
# PyTorch tensors: the fused path does not apply, the ordinary updates must still agree


@SETTINGS
@given(
    hypers(),
    problems(),
    st.sampled_from(["float64", "float32"]),
    st.sampled_from(["step", "step_factored"]),
)
def test_torch_paths_match_reference(
    torch_one_thread: Any, hyper: Hyper, problem: Problem, dtype: str, path: str
) -> None:
    torch = torch_one_thread
    tdtype = getattr(torch, dtype)
    fast = run_fast(
        hyper, problem, path, lambda a: torch.tensor(np.asarray(a, dtype=dtype), dtype=tdtype)
    )
    # The reference runs in torch too, so its namespace handling is tested as well.
    ref = run_reference(hyper, problem, lambda a: torch.tensor(np.asarray(a, dtype=dtype), dtype=tdtype))
    assert_same(fast, ref, dtype)


# --------------------------------------------------------------------------------------------------
# the training loop: fit against a plain loop over the same batches

FIT_HYPERS = [
    Hyper("sgd", {"learning_rate": 0.1, "momentum": 0.9, "weight_decay": 0.01, "decay_bias": False}),
    Hyper("sgd", {"learning_rate": 0.1, "momentum": 0.0, "weight_decay": 0.01, "decay_bias": True}),
    Hyper("sgd", {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.02}),
    Hyper("adam", {"learning_rate": 0.01, "weight_decay": 0.01, "decay_bias": False}),
]


@pytest.mark.parametrize("record_grad_norm", [True, False])
@pytest.mark.parametrize("hyper", FIT_HYPERS, ids=lambda h: f"{h.kind}-{h.kwargs}")
def test_fit_matches_a_reference_loop(hyper: Hyper, record_grad_norm: bool) -> None:
    """100 samples in batches of 6 (16 full, one of 4) for 3 epochs, unshuffled. With grad norms
    recorded, every other batch forms dW (``step``) and the rest stay factored (``step_factored``);
    without, every batch is factored."""
    sizes, epochs, bs, n = (64, 70, 10), 3, 6, 100
    net = Network.create(sizes, "tanh", "softmax", "xavier_uniform", Random(0), "float64")
    ref = net.copy()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], size=n)]

    fit(
        net, X, Y, loss="cross_entropy", optimizer=hyper.make(), epochs=epochs, batch_size=bs,
        shuffle=False, record_grad_norm=record_grad_norm,
    )  # fmt: skip

    params = ref.get_weights()
    state: Any = SGDState() if hyper.kind == "sgd" else AdamState()
    step = sgd_step if hyper.kind == "sgd" else adam_step
    for _ in range(epochs):
        for lo in range(0, n, bs):
            ref.set_weights(params)
            g = backprop(ref, X[lo : lo + bs], Y[lo : lo + bs], "cross_entropy", "mean")
            params, state = step(params, g.as_list(), state, **hyper.kwargs)
    assert_same(net.get_weights(), params, "float64")
