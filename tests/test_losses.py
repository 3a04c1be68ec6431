"""Losses: values against naive formulas, stability for huge logits, deltas equal to the gradient
of the value (finite differences) for both reductions, and loss/output mismatches refused."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from weightwise import ACTIVATIONS, LOSSES, ConfigError, Network, fit, get_loss

ELEMENTWISE = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity")
PAIRS = [("squared_error", act) for act in (*ELEMENTWISE, "softmax")] + [
    ("cross_entropy", "softmax"),
    ("binary_cross_entropy", "sigmoid"),
]
Targets = Callable[[str, str, int, int, np.random.Generator], np.ndarray]


def _naive(loss: str, a: np.ndarray, y: np.ndarray) -> float:
    """Per-sample losses summed, straight from the definitions (taking log of the activations)."""
    if loss == "squared_error":
        return float(0.5 * np.sum((a - y) ** 2))
    if loss == "cross_entropy":
        return float(-np.sum(y * np.log(a)))
    if loss == "binary_cross_entropy":
        return float(-np.sum(y * np.log(a) + (1 - y) * np.log(1 - a)))
    raise AssertionError(loss)


EVERY_PAIR_AND_REDUCTION = pytest.mark.parametrize(
    ("loss", "output", "reduction"), [(loss, out, r) for loss, out in PAIRS for r in ("sum", "mean")]
)


@EVERY_PAIR_AND_REDUCTION
def test_value_matches_naive_formula(
    loss: str, output: str, reduction: str, rng: np.random.Generator, make_targets: Targets
) -> None:
    n, k = 6, 3
    z = rng.uniform(-3, 3, size=(n, k))
    act = ACTIVATIONS[output]
    a = act(z)
    y = make_targets(loss, output, n, k, rng)
    got = float(LOSSES[loss].value(z, a, y, act, reduction))
    want = _naive(loss, a, y) / (n if reduction == "mean" else 1)
    assert got == pytest.approx(want, rel=1e-12)


@EVERY_PAIR_AND_REDUCTION
def test_delta_is_the_gradient_of_the_value(
    loss: str, output: str, reduction: str, rng: np.random.Generator, make_targets: Targets
) -> None:
    n, k = 5, 3
    # |z| >= 0.05 keeps relu/leaky_relu outputs away from their kink at 0 (h is 1e-6).
    z = rng.uniform(0.05, 3, size=(n, k)) * rng.choice([-1.0, 1.0], size=(n, k))
    act, fn = ACTIVATIONS[output], LOSSES[loss]
    y = make_targets(loss, output, n, k, rng)
    delta = fn.delta(z, act(z), y, act, reduction)
    h = 1e-6
    numeric = np.empty_like(z)
    for i in range(n):
        for j in range(k):
            zp, zm = z.copy(), z.copy()
            zp[i, j] += h
            zm[i, j] -= h
            plus = float(fn.value(zp, act(zp), y, act, reduction))
            minus = float(fn.value(zm, act(zm), y, act, reduction))
            numeric[i, j] = (plus - minus) / (2 * h)
    assert delta.shape == z.shape
    np.testing.assert_allclose(delta, numeric, rtol=1e-6, atol=1e-9)


def test_cross_entropy_delta_is_a_minus_y_for_one_hot_rows(rng: np.random.Generator) -> None:
    z = rng.normal(size=(4, 3))
    y = np.eye(3)[[0, 2, 1, 2]]
    soft = ACTIVATIONS["softmax"]
    np.testing.assert_allclose(LOSSES["cross_entropy"].delta(z, soft(z), y, soft, "sum"), soft(z) - y)


def test_squared_error_delta_with_sigmoid_is_the_textbook_one(rng: np.random.Generator) -> None:
    z = rng.normal(size=(4, 2))
    y = rng.uniform(size=(4, 2))
    sig = ACTIVATIONS["sigmoid"]
    a = sig(z)
    got = LOSSES["squared_error"].delta(z, a, y, sig, "sum")
    np.testing.assert_allclose(got, (a - y) * a * (1 - a), rtol=1e-14)
    # "mean" divides the delta by the number of samples, like the value
    got_mean = LOSSES["squared_error"].delta(z, a, y, sig, "mean")
    np.testing.assert_allclose(got_mean, got / 4, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropies_stay_finite_for_huge_logits(dtype: type, strict: None) -> None:
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3]], dtype=dtype)
    y = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], dtype=dtype)
    soft = ACTIVATIONS["softmax"]
    ce = LOSSES["cross_entropy"]
    a = soft(z)
    value = float(ce.value(z, a, y, soft, "sum"))
    # Row 1 predicts its class with certainty (loss 0); row 2 misses it by 1e4 - (-1e4) = 2e4.
    assert value == pytest.approx(2e4, rel=1e-6)
    assert np.all(np.isfinite(ce.delta(z, a, y, soft, "sum")))

    sig = ACTIVATIONS["sigmoid"]
    bce = LOSSES["binary_cross_entropy"]
    zb = np.array([[1e4, -1e4, 1e4, -1e4]], dtype=dtype)
    yb = np.array([[1.0, 0.0, 0.0, 1.0]], dtype=dtype)
    ab = sig(zb)
    # Two right with certainty (0 each) and two wrong by 1e4 each; the naive log(1 - a) = log(0).
    assert float(bce.value(zb, ab, yb, sig, "sum")) == pytest.approx(2e4, rel=1e-6)
    np.testing.assert_array_equal(bce.delta(zb, ab, yb, sig, "sum"), [[0.0, 0.0, 1.0, -1.0]])


def test_loss_aliases_and_unknown_names() -> None:
    assert get_loss("mse") is LOSSES["squared_error"]
    assert get_loss("bce") is LOSSES["binary_cross_entropy"]
    with pytest.raises(ConfigError, match=r"unknown loss 'hinge'; valid losses: .*'cross_entropy'"):
        get_loss("hinge")


@pytest.mark.parametrize(
    ("loss", "output", "hint"),
    [
        ("cross_entropy", "sigmoid", "binary_cross_entropy"),
        ("cross_entropy", "identity", "squared_error"),
        ("binary_cross_entropy", "softmax", "use 'cross_entropy'"),
        ("binary_cross_entropy", "relu", "squared_error"),
    ],
)
def test_mismatched_loss_and_output_activation_is_refused(loss: str, output: str, hint: str) -> None:
    with pytest.raises(ConfigError, match=rf"loss '{loss}' needs a .* output layer.*'{output}'"):
        LOSSES[loss].check_output(output)
    net = Network.create((2, 3, 2), "tanh", output, seed=0, dtype="float64")
    X, Y = np.zeros((4, 2)), np.tile([1.0, 0.0], (4, 1))
    with pytest.raises(ConfigError, match=hint):
        fit(net, X, Y, loss=loss, epochs=1)
