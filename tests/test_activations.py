"""Activations: values against direct formulas, derivatives against finite differences,
stability for |z| up to 1e4, and softmax's backward pass against its full Jacobian."""

from __future__ import annotations

import math

import numpy as np
import pytest

from weightwise import ACTIVATIONS, ConfigError, get_activation

ELEMENTWISE = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity")


def _direct(name: str, z: float) -> float:
    """Each activation written out from its textbook formula, one scalar at a time."""
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-z))
    if name == "tanh":
        return (math.exp(z) - math.exp(-z)) / (math.exp(z) + math.exp(-z))
    if name == "relu":
        return z if z > 0 else 0.0
    if name == "leaky_relu":
        return z if z > 0 else 0.01 * z
    if name == "softplus":
        return math.log(1.0 + math.exp(z))
    if name == "identity":
        return z
    raise AssertionError(name)


def test_registry_holds_the_seven_activations() -> None:
    assert set(ACTIVATIONS) == {*ELEMENTWISE, "softmax"}
    assert get_activation("logistic") is ACTIVATIONS["sigmoid"]
    assert get_activation("linear") is ACTIVATIONS["identity"]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_values_match_direct_formulas(name: str, rng: np.random.Generator) -> None:
    z = rng.uniform(-6, 6, size=(7, 5))
    got = ACTIVATIONS[name](z)
    want = np.vectorize(lambda t: _direct(name, t))(z)
    assert got.shape == z.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def test_softmax_value_matches_direct_formula(rng: np.random.Generator) -> None:
    z = rng.uniform(-6, 6, size=(7, 5))
    want = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    got = ACTIVATIONS["softmax"](z)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-14)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_central_differences(name: str, rng: np.random.Generator) -> None:
    act = ACTIVATIONS[name]
    # Keep z at least 0.05 away from 0: relu and leaky_relu have a kink there, and a central
    # difference straddling it would measure the average of the two slopes.
    z = rng.uniform(0.05, 5, size=(6, 4)) * rng.choice([-1.0, 1.0], size=(6, 4))
    h = 1e-6
    numeric = (act(z + h) - act(z - h)) / (2 * h)
    assert act.derivative is not None
    analytic = act.derivative(z, act(z))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-9)
    # backward is grad_a times the derivative for elementwise units
    g = rng.normal(size=z.shape)
    np.testing.assert_allclose(act.backward(z, act(z), g), g * analytic, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("name", ["relu", "leaky_relu"])
def test_kinked_units_use_the_left_slope_at_zero(name: str) -> None:
    # The convention (as in PyTorch's gradient): the derivative at exactly 0 is the left one.
    act = ACTIVATIONS[name]
    z = np.zeros((1, 1))
    assert act.derivative is not None
    assert float(act.derivative(z, act(z))[0, 0]) == (0.0 if name == "relu" else 0.01)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", [*ELEMENTWISE, "softmax"])
def test_no_overflow_for_huge_inputs(name: str, dtype: type, strict: None) -> None:
    act = ACTIVATIONS[name]
    z = np.array([[-1e4, -700.0, -30.0, 0.0, 30.0, 700.0, 1e4]], dtype=dtype)
    a = act(z)
    grad = act.backward(z, a, np.ones_like(z))
    assert a.dtype == dtype and grad.dtype == dtype
    assert np.all(np.isfinite(a)) and np.all(np.isfinite(grad))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_saturating_units_are_correct_at_the_extremes(dtype: type, strict: None) -> None:
    z = np.array([[-1e4, -1e3, 1e3, 1e4]], dtype=dtype)
    np.testing.assert_array_equal(ACTIVATIONS["sigmoid"](z), np.array([[0.0, 0.0, 1.0, 1.0]]))
    # softplus(z) = z + log1p(exp(-z)) -> z for large z, and exp(z) -> 0 for very negative z.
    np.testing.assert_allclose(ACTIVATIONS["softplus"](z), [[0.0, 0.0, 1e3, 1e4]], rtol=1e-7)
    # Moderate negative z: softplus(-30) = log1p(exp(-30)) ~ exp(-30) must not round to 0 early.
    small = ACTIVATIONS["softplus"](np.array([[-30.0]], dtype=dtype))
    np.testing.assert_allclose(small, [[math.exp(-30)]], rtol=1e-6)
    # softmax of a row with a huge spread is a one-hot row, and shift invariance holds.
    s = ACTIVATIONS["softmax"](np.array([[1e4, -1e4, 0.0], [1e4, 1e4, -1e4]], dtype=dtype))
    np.testing.assert_allclose(s, [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], atol=1e-7)


def test_softmax_is_shift_invariant(rng: np.random.Generator) -> None:
    z = rng.normal(size=(4, 6))
    soft = ACTIVATIONS["softmax"]
    np.testing.assert_allclose(soft(z + 1e4), soft(z), rtol=1e-9)


def test_softmax_backward_equals_vector_times_full_jacobian(rng: np.random.Generator) -> None:
    soft = ACTIVATIONS["softmax"]
    assert soft.derivative is None  # softmax's Jacobian is not diagonal
    z = rng.normal(size=(5, 4))
    a = soft(z)
    grad_a = rng.normal(size=z.shape)
    got = soft.backward(z, a, grad_a)
    for i in range(z.shape[0]):
        # J[j, k] = d a_j / d z_k = a_j (delta_jk - a_k), built from the formula ...
        jac = np.diag(a[i]) - np.outer(a[i], a[i])
        # ... and checked column by column against central differences of the softmax itself.
        h = 1e-6
        jac_fd = np.empty_like(jac)
        for k in range(z.shape[1]):
            e = np.zeros(z.shape[1])
            e[k] = h
            jac_fd[:, k] = (soft(z[i : i + 1] + e) - soft(z[i : i + 1] - e))[0] / (2 * h)
        np.testing.assert_allclose(jac, jac_fd, atol=1e-9)
        np.testing.assert_allclose(got[i], grad_a[i] @ jac, rtol=1e-12, atol=1e-14)


def test_torch_tensors_give_the_numpy_values(rng: np.random.Generator) -> None:
    torch = pytest.importorskip("torch")
    z = np.concatenate([rng.normal(scale=3, size=(3, 5)), [[-1e4, -20, 0.5, 20, 1e4]]])
    for name, act in ACTIVATIONS.items():
        zt = torch.from_numpy(z)
        a_np, a_t = act(z), act(zt)
        assert isinstance(a_t, torch.Tensor) and a_t.dtype == torch.float64
        np.testing.assert_allclose(a_t.numpy(), a_np, rtol=1e-13, atol=1e-300, err_msg=name)
        g = rng.normal(size=z.shape)
        np.testing.assert_allclose(
            act.backward(zt, a_t, torch.from_numpy(g)).numpy(),
            act.backward(z, a_np, g),
            rtol=1e-13,
            atol=1e-300,
            err_msg=name,
        )


def test_unknown_activation_lists_the_valid_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown activation 'sigmoidd'.*'relu'.*'softmax'"):
        get_activation("sigmoidd")
