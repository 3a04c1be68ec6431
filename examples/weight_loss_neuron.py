"""The weight-loss analogy: one linear neuron learns how much exercise and diet matter.

Someone wants to lose weight. Each week they exercise ``x1`` hours and cut ``x2`` hundred kcal a
day, and the scale shows how much they lost. How much does each habit matter? A neuron with two
inputs guesses ``a = w1 * x1 + w2 * x2 + b``; the gap between the *target* (what the scale showed)
and the *actual* output (its guess) tells it how to adjust each weight: more for the input that
was large when the gap was large. That is the delta rule,

    w <- w - eta * mean over weeks of (a - y) * x,

and it is exactly back-propagation with a single layer: the output delta ``a - y`` of a linear
unit under squared error, times the unit's input. The script checks that
:func:`weightwise.backprop` gives the same numbers as the rule written out by hand, then adjusts
the weights until they match the true ones hidden in the synthetic data.

Run ``python examples/weight_loss_neuron.py`` (``--quick`` for fewer weeks of data).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import weightwise as ww

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import figure  # noqa: E402

TRUE_W = (0.30, 0.45)  # kg lost per week per hour of exercise, per 100 kcal/day cut
TRUE_B = 0.10  # kg lost per week doing neither (the body's own drift)


@dataclass
class NeuronResult:
    """What the run found.

    Attributes
    ----------
    w : ndarray of shape (2,)
        Learned weights (exercise, diet).
    b : float
        Learned bias.
    trace : list of (int, float, float, float, float)
        ``(epoch, w1, w2, b, loss)`` at the printed epochs.
    max_rule_gap : float
        Largest difference between backprop's gradient and the hand-written delta rule.
    """

    w: np.ndarray
    b: float
    trace: list[tuple[int, float, float, float, float]]
    max_rule_gap: float


def make_weeks(n_weeks: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic diary: hours of exercise and kcal cut per week, and the weight lost.

    Returns
    -------
    X : ndarray of shape (n_weeks, 2)
        Columns: exercise hours per week (0-6), diet in hundreds of kcal cut per day (0-5).
    y : ndarray of shape (n_weeks, 1)
        Kilograms lost that week: ``X @ TRUE_W + TRUE_B`` plus Gaussian noise (water, salt...).
    """
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.uniform(0, 6, n_weeks), rng.uniform(0, 5, n_weeks)])
    y = X @ np.array(TRUE_W) + TRUE_B + noise * rng.standard_normal(n_weeks)
    return X, y.reshape(-1, 1)


def delta_rule(X: np.ndarray, y: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The delta rule's gradient, written out: the mean of ``(a - y) * x`` over the samples.

    Parameters
    ----------
    X : ndarray of shape (n, 2)
    y, a : ndarray of shape (n, 1)
        Targets and the neuron's outputs.

    Returns
    -------
    dW : ndarray of shape (2, 1)
    db : ndarray of shape (1,)
    """
    gap = a - y  # (n, 1): positive when the neuron promised more weight loss than happened
    return X.T @ gap / len(X), gap.mean(axis=0)


def train(
    n_weeks: int = 200,
    epochs: int = 2000,
    learning_rate: float = 0.05,
    noise: float = 0.1,
    seed: int = 0,
) -> NeuronResult:
    """Learn the two weights with the delta rule, as back-propagation computes it."""
    X, y = make_weeks(n_weeks, noise, seed)
    # A 2-1 network with an identity output is a linear neuron; start from zero knowledge.
    net = ww.Network.create(
        [2, 1], output_activation="identity", init="normal", seed=seed, dtype="float64"
    )
    net.set_weights([np.zeros((2, 1)), np.zeros(1)])
    layer = net.layers[0]
    trace, max_gap = [], 0.0
    show = {0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, epochs}
    for epoch in range(epochs + 1):
        grads = ww.backprop(net, X, y, loss="squared_error", reduction="mean")
        dW, db = delta_rule(X, y, grads.forward.output)
        max_gap = max(
            max_gap, float(np.abs(grads.dW[0] - dW).max()), float(np.abs(grads.db[0] - db).max())
        )
        if epoch in show:
            w1, w2 = layer.W[:, 0]
            trace.append((epoch, float(w1), float(w2), float(layer.b[0]), float(grads.loss)))
        if epoch < epochs:
            layer.W -= learning_rate * grads.dW[0]  # adjust each weight against its share of the gap
            layer.b -= learning_rate * grads.db[0]
    return NeuronResult(layer.W[:, 0].copy(), float(layer.b[0]), trace, max_gap)


def plot(result: NeuronResult, path: str) -> None:
    """Weights against epochs, with the true values as dashed lines."""
    ep, w1, w2, b, _ = (np.array(c) for c in zip(*result.trace, strict=True))
    with figure(path) as ax:
        for values, truth, label, colour in (
            (w1, TRUE_W[0], "w1 exercise", "C0"),
            (w2, TRUE_W[1], "w2 diet", "C1"),
            (b, TRUE_B, "b", "C2"),
        ):
            ax.plot(np.maximum(ep, 0.5), values, "o-", ms=3, color=colour, label=label)
            ax.axhline(truth, color=colour, ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("epoch (full batch, log scale)")
        ax.set_ylabel("weight")
        ax.set_title("Delta rule: the weights find the true ones (dashed)")
        ax.legend(fontsize=8)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the example, print what it found and return the key numbers."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="100 weeks of data instead of 200")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", metavar="PNG", help="save the weights' trajectory here")
    args = p.parse_args(argv)
    result = train(n_weeks=100 if args.quick else 200, seed=args.seed)
    print(f"true weights: exercise {TRUE_W[0]:.2f}, diet {TRUE_W[1]:.2f}, bias {TRUE_B:.2f}")
    print(f"backprop's gradient equals the delta rule's to {result.max_rule_gap:.1e}")
    print(f"{'epoch':>6} {'w1 exercise':>12} {'w2 diet':>8} {'b':>7} {'loss':>9}")
    for epoch, w1, w2, b, loss in result.trace:
        print(f"{epoch:>6} {w1:>12.4f} {w2:>8.4f} {b:>7.4f} {loss:>9.5f}")
    error = np.abs(result.w - np.array(TRUE_W))
    print(
        f"learned: exercise {result.w[0]:.3f}, diet {result.w[1]:.3f}, bias {result.b:.3f}; "
        f"largest weight error {error.max():.3f}"
    )
    if args.plot:
        plot(result, args.plot)
        print(f"figure: {args.plot}")
    return {"w": result.w, "b": result.b, "max_rule_gap": result.max_rule_gap, "trace": result.trace}


if __name__ == "__main__":
    main()
