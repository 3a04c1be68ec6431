"""The textbook XOR example, reproduced exactly, and one update worked out by hand.

The reference below is written from the textbook's description alone (2-4-1 sigmoid network, N(0, 1)
weights and biases, the full batch, squared error with output delta (a - y) a (1 - a), gradients
summed over the batch, learning rate 0.1); it shares no code with weightwise.
"""

from __future__ import annotations

import numpy as np
import pytest

from weightwise import SGD, Network, Random, backprop, fit, run_xor
from weightwise.presets import XorResult

SEED = 0  # checked: from this seed's initial weights the textbook run solves XOR (at epoch 1480)
X_XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y_XOR = np.array([[0.0], [1.0], [1.0], [0.0]])


def textbook_xor(weights: list[np.ndarray], epochs: int, eta: float = 0.1) -> list[np.ndarray]:
    """Plain NumPy back-propagation of the textbook example; returns [W1, b1, W2, b2]."""
    W1, b1, W2, b2 = (np.array(w, dtype=np.float64) for w in weights)
    X, y = X_XOR, Y_XOR
    for _ in range(epochs):
        h = 1.0 / (1.0 + np.exp(-(X @ W1 + b1)))  # hidden activations (4, 4)
        o = 1.0 / (1.0 + np.exp(-(h @ W2 + b2)))  # outputs (4, 1)
        delta2 = (o - y) * o * (1.0 - o)  # output delta of 0.5 * (o - y)^2
        delta1 = (delta2 @ W2.T) * h * (1.0 - h)  # pushed back through W2 (before its update)
        W2 -= eta * (h.T @ delta2)  # gradients summed over the four samples
        b2 -= eta * delta2.sum(axis=0)
        W1 -= eta * (X.T @ delta1)
        b1 -= eta * delta1.sum(axis=0)
    return [W1, b1, W2, b2]


def textbook_outputs(weights: list[np.ndarray]) -> np.ndarray:
    W1, b1, W2, b2 = weights
    h = 1.0 / (1.0 + np.exp(-(X_XOR @ W1 + b1)))
    return (1.0 / (1.0 + np.exp(-(h @ W2 + b2)))).ravel()


def initial_weights(seed: int) -> list[np.ndarray]:
    """The initial weights of run_xor(seed): presets.run_xor builds exactly this network."""
    return Network.create(
        (2, 4, 1), "sigmoid", "sigmoid", "normal", Random(seed), "float64"
    ).get_weights()


@pytest.fixture(scope="module")
def full_numpy_run() -> XorResult:
    return run_xor(seed=SEED, dtype="float64")


def test_initial_weights_are_standard_normal_draws() -> None:
    # N(0, 1) for weights and biases, drawn W then b, layer by layer, from one generator.
    gen = np.random.default_rng(SEED)
    want = [gen.normal(0, 1, (2, 4)), gen.normal(0, 1, 4), gen.normal(0, 1, (4, 1)), gen.normal(0, 1, 1)]
    for got, w in zip(initial_weights(SEED), want, strict=True):
        np.testing.assert_array_equal(got, w)


def test_same_weights_as_the_reference_after_1000_epochs() -> None:
    start = initial_weights(SEED)
    want = textbook_xor(start, 1000)
    result = run_xor(seed=SEED, dtype="float64", epochs=1000)
    got = result.network.get_weights()
    assert max(float(np.max(np.abs(w - s))) for w, s in zip(want, start, strict=True)) > 0.1
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-10)


def test_the_textbook_run_solves_xor(full_numpy_run: XorResult) -> None:
    want = textbook_xor(initial_weights(SEED), 10_000)
    out = textbook_outputs(want)
    assert np.all((out > 0.5) == (Y_XOR.ravel() > 0.5)), out
    assert full_numpy_run.solved
    assert full_numpy_run.history.n_epochs == 10_000
    np.testing.assert_allclose(full_numpy_run.outputs, out, atol=1e-10)
    for g, w in zip(full_numpy_run.network.get_weights(), want, strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-10)
    # epochs_to_solve: the reference is not yet right after that many epochs - 1, but is after it.
    n = full_numpy_run.epochs_to_solve
    assert n is not None and 0 < n < 10_000
    before = textbook_outputs(textbook_xor(initial_weights(SEED), n - 1))
    after = textbook_outputs(textbook_xor(initial_weights(SEED), n))
    assert not np.all((before > 0.5) == (Y_XOR.ravel() > 0.5))
    assert np.all((after > 0.5) == (Y_XOR.ravel() > 0.5))


def test_preset_on_torch_ends_with_the_numpy_weights(
    full_numpy_run: XorResult, torch_one_thread: object
) -> None:
    result = run_xor(seed=SEED, dtype="float64", backend="torch")
    assert result.solved and result.epochs_to_solve == full_numpy_run.epochs_to_solve
    for t, n in zip(result.network.get_weights(), full_numpy_run.network.get_weights(), strict=True):
        np.testing.assert_allclose(t, n, rtol=0, atol=1e-8)


def test_one_update_worked_by_hand() -> None:
    """One SGD step of a 2-2-1 sigmoid network with squared error, on one sample.

    Inputs x = (1, 0.5), target y = 1, learning rate eta = 0.5, sigma(t) = 1 / (1 + e^-t), and
        W1 = [[0.1, -0.2], [0.4, 0.3]]  (row i: weights out of input i),  b1 = [0.05, -0.1],
        W2 = [[0.7], [-0.6]],  b2 = [0.2].
    Forward:
        z1 = x W1 + b1 = (0.1 + 0.2 + 0.05, -0.2 + 0.15 - 0.1) = (0.35, -0.15)
        h  = sigma(z1) = (0.58661757891733006, 0.46257015465625045)
        z2 = 0.7 h1 - 0.6 h2 + 0.2 = 0.33309021244838077
        o  = sigma(z2) = 0.58251108261353358
        E  = (o - y)^2 / 2 = 0.087148498070261893
    Backward:
        delta2 = (o - y) o (1 - o) = -0.41748891738646642 * 0.58251108261353358
                 * 0.41748891738646642 = -0.10152993191810339
        delta1_j = delta2 W2_j h_j (1 - h_j):
                 = (-0.10152993191810339 * 0.7 * 0.58661757891733006 * 0.41338242108266994,
                    -0.10152993191810339 * -0.6 * 0.46257015465625045 * 0.53742984534374955)
                 = (-0.017234520804866302, 0.015144144133727442)
        dE/dW2 = h^T delta2 = (-0.059559242849439166, -0.046964716309595666),  dE/db2 = delta2
        dE/dW1 = x^T delta1 = [[-0.017234520804866302, 0.015144144133727442],
                               [-0.008617260402433151, 0.0075720720668637212]],  dE/db1 = delta1
    Update w <- w - eta dE/dw:
        W1 = [[0.1 + 0.008617260402433151, -0.2 - 0.0075720720668637212],
              [0.4 + 0.004308630201216576, 0.3 - 0.0037860360334318606]]
           = [[0.10861726040243315, -0.20757207206686372], [0.40430863020121658, 0.29621396396656814]]
        b1 = [0.058617260402433151, -0.10757207206686372]
        W2 = [[0.72977962142471958], [-0.57651764184520217]],  b2 = [0.2507649659590517]
    (Computed to 30 digits with a calculator, mpmath, and rounded to 17.)
    """
    W1 = np.array([[0.1, -0.2], [0.4, 0.3]])
    b1 = np.array([0.05, -0.1])
    W2 = np.array([[0.7], [-0.6]])
    b2 = np.array([0.2])
    x, y = np.array([[1.0, 0.5]]), np.array([[1.0]])
    net = Network.create((2, 2, 1), "sigmoid", "sigmoid", seed=0, dtype="float64")
    net.set_weights([W1, b1, W2, b2])

    g = backprop(net, x, y, "squared_error", "sum")
    tol = {"rtol": 0, "atol": 1e-12}
    np.testing.assert_allclose(g.forward.zs[0], [[0.35, -0.15]], **tol)
    np.testing.assert_allclose(
        g.forward.activations[1], [[0.58661757891733006, 0.46257015465625045]], **tol
    )
    np.testing.assert_allclose(g.forward.zs[1], [[0.33309021244838077]], **tol)
    np.testing.assert_allclose(g.forward.output, [[0.58251108261353358]], **tol)
    assert float(g.loss) == pytest.approx(0.087148498070261893, abs=1e-12)
    np.testing.assert_allclose(g.deltas[1], [[-0.10152993191810339]], **tol)
    np.testing.assert_allclose(g.deltas[0], [[-0.017234520804866302, 0.015144144133727442]], **tol)
    np.testing.assert_allclose(g.dW[1], [[-0.059559242849439166], [-0.046964716309595666]], **tol)
    np.testing.assert_allclose(g.db[1], [-0.10152993191810339], **tol)
    np.testing.assert_allclose(
        g.dW[0],
        [[-0.017234520804866302, 0.015144144133727442], [-0.008617260402433151, 0.0075720720668637212]],
        **tol,
    )
    np.testing.assert_allclose(g.db[0], [-0.017234520804866302, 0.015144144133727442], **tol)

    fit(net, x, y, loss="squared_error", optimizer=SGD(0.5), reduction="sum", epochs=1)
    new_W1, new_b1, new_W2, new_b2 = net.get_weights()
    np.testing.assert_allclose(
        new_W1,
        [[0.10861726040243315, -0.20757207206686372], [0.40430863020121658, 0.29621396396656814]],
        **tol,
    )
    np.testing.assert_allclose(new_b1, [0.058617260402433151, -0.10757207206686372], **tol)
    np.testing.assert_allclose(new_W2, [[0.72977962142471958], [-0.57651764184520217]], **tol)
    np.testing.assert_allclose(new_b2, [0.2507649659590517], **tol)
