"""Back-propagated gradients against central finite differences, for every valid activation x
loss pair and random architectures with 1 to 4 hidden layers (float64)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from weightwise import Network, Random, backprop, gradcheck
from weightwise.backpropagation.gradcheck import numerical_gradients
from weightwise.net.activations import Activation, sigmoid

ELEMENTWISE = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity")
PAIRS = [("squared_error", act) for act in (*ELEMENTWISE, "softmax")] + [
    ("cross_entropy", "softmax"),
    ("binary_cross_entropy", "sigmoid"),
]
Targets = Callable[[str, str, int, int, np.random.Generator], np.ndarray]

# gradcheck perturbs one parameter by EPS; a pre-activation then moves by at most about EPS times
# the largest input or weight it meets (all O(1) here). KINK_MARGIN is far above that, so when every
# pre-activation is at least KINK_MARGIN from 0 no difference straddles a relu/leaky_relu kink.
# EPS = 1e-5 balances the truncation error of a central difference, O(EPS**2), against its rounding
# error, about 1e-16 L / EPS for a float64 loss L (measured: abs error < 5e-10 L here).
EPS = 1e-5
KINK_MARGIN = 1e-3
# So a gradient entry far below 1e-4 L cannot be checked to a relative 1e-6 by differences at all.
# Such entries occur when a path runs through several negative leaky_relu slopes (0.01 each) or
# saturated units; the cases are drawn so that every gradient entry is exactly 0 (a dead unit,
# whose difference is exactly 0 too) or at least RESOLVABLE * L.
RESOLVABLE = 1e-4


def _case(
    seed: int, hidden: list[str], loss: str, output: str, make_targets: Targets
) -> tuple[Network, np.ndarray, np.ndarray]:
    """A random architecture and data that finite differences can check to 1e-6.

    Draws weights and data from successive sub-seeds until every pre-activation is KINK_MARGIN away
    from 0 and every gradient entry is 0 or resolvable (see RESOLVABLE); the draws are
    deterministic, so the test always sees the same case.
    """
    rng = np.random.default_rng(seed)
    depth = len(hidden)
    sizes = [int(rng.integers(2, 5))] + [int(rng.integers(2, 5)) for _ in range(depth)]
    sizes.append(int(rng.integers(2, 4)))
    n = 5
    for attempt in range(200):
        net = Network.create(
            sizes, hidden, output, "xavier_normal", Random(seed * 100 + attempt), "float64"
        )
        # xavier_normal sets biases to 0; random ones make the bias gradients typical too.
        for layer in net.layers:
            layer.b[...] = rng.normal(scale=0.5, size=layer.b.shape)
        X = rng.normal(size=(n, sizes[0]))
        Y = make_targets(loss, output, n, sizes[-1], rng)
        # Only the magnitudes of the analytic gradient pick the case, never their correctness.
        g = backprop(net, X, Y, loss, "sum")
        if min(float(np.min(np.abs(z))) for z in g.forward.zs) <= KINK_MARGIN:
            continue
        floor = RESOLVABLE * float(g.loss)
        if all(np.all((d == 0) | (np.abs(d) >= floor)) for d in g.as_list()):
            return net, X, Y
    raise AssertionError("no kink-free, resolvable draw in 200 tries; pick another seed")


def _cases() -> list[tuple[str, str, tuple[str, ...], str]]:
    """(loss, output, hidden activations, reduction) for every pair x hidden activation.

    Depths cycle through 1..4 so every pair meets every depth; the last case per pair mixes all
    elementwise activations across four hidden layers.
    """
    out = []
    for p, (loss, output) in enumerate(PAIRS):
        for h, act in enumerate(ELEMENTWISE):
            depth = 1 + (p + h) % 4
            out.append((loss, output, (act,) * depth, ("sum", "mean")[(p + h) % 2]))
        mixed = tuple(ELEMENTWISE[(p + i) % len(ELEMENTWISE)] for i in range(4))
        out.append((loss, output, mixed, "mean"))
    return out


CASES = _cases()


@pytest.mark.parametrize(
    ("loss", "output", "hidden", "reduction"),
    CASES,
    ids=[f"{lo}-{o}-{'+'.join(h)}-{r}" for lo, o, h, r in CASES],
)
def test_gradcheck_every_pair_and_depth(
    loss: str, output: str, hidden: tuple[str, ...], reduction: str, make_targets: Targets
) -> None:
    seed = CASES.index((loss, output, hidden, reduction))
    net, X, Y = _case(seed, list(hidden), loss, output, make_targets)
    result = gradcheck(net, X, Y, loss, reduction, eps=EPS)
    assert len(result.max_rel_error_W) == len(hidden) + 1
    assert result.max_rel_error < 1e-6, result


def test_gradcheck_catches_a_wrong_derivative(make_targets: Targets) -> None:
    # The check must be able to fail: a sigmoid whose derivative forgets the (1 - a) factor.
    wrong = Activation("sigmoid", sigmoid, lambda z, a: a, (0.0, 1.0))
    net, X, Y = _case(7, ["sigmoid"], "squared_error", "identity", make_targets)
    net.layers[0].activation = wrong
    assert gradcheck(net, X, Y, "squared_error").max_rel_error > 1e-2


def test_gradients_shapes_deltas_and_loss(make_targets: Targets) -> None:
    net, X, Y = _case(3, ["tanh", "sigmoid"], "cross_entropy", "softmax", make_targets)
    g = backprop(net, X, Y, "cross_entropy", "mean")
    for layer, dW, db, delta, z in zip(net.layers, g.dW, g.db, g.deltas, g.forward.zs, strict=True):
        assert dW.shape == layer.W.shape and db.shape == layer.b.shape
        assert delta.shape == z.shape == (X.shape[0], layer.n_out)
    # The deltas are dLoss/dz per layer: db is their sum over samples, dW = a_in.T @ delta.
    for l, delta in enumerate(g.deltas):
        np.testing.assert_allclose(g.db[l], delta.sum(axis=0), rtol=1e-14)
        np.testing.assert_allclose(g.dW[l], g.forward.activations[l].T @ delta, rtol=1e-14)
    soft = net.layers[-1].activation(g.forward.zs[-1])
    np.testing.assert_allclose(g.deltas[-1], (soft - Y) / X.shape[0], rtol=1e-13)
    assert g.loss.shape == ()
    assert [a.shape for a in g.as_list()] == [p.shape for p in net.parameters()]


def test_sum_reduction_is_n_times_mean(make_targets: Targets) -> None:
    net, X, Y = _case(5, ["relu", "softplus"], "binary_cross_entropy", "sigmoid", make_targets)
    g_sum = backprop(net, X, Y, "binary_cross_entropy", "sum").as_list()
    g_mean = backprop(net, X, Y, "binary_cross_entropy", "mean").as_list()
    for s, m in zip(g_sum, g_mean, strict=True):
        np.testing.assert_allclose(s, X.shape[0] * m, rtol=1e-13)


def test_numerical_gradients_leave_the_weights_unchanged(make_targets: Targets) -> None:
    net, X, Y = _case(11, ["tanh"], "squared_error", "identity", make_targets)
    before = net.get_weights()
    numerical_gradients(net, X, Y, "squared_error")
    for b, a in zip(before, net.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
