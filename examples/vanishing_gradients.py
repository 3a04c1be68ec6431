"""The vanishing gradient in numbers: why deep sigmoid networks trained by BP stalled.

Back-propagation sends the output error back one layer at a time. Each layer multiplies it by its
weights and by the derivative of its sigmoid units, ``sigma'(z) = sigma(z) (1 - sigma(z))``, which
is never more than 1/4. Unless the weights make up for it, the signal shrinks layer after layer,
so the first layers get a tiny share of the gradient and hardly learn: the reason the passage says
BP networks rarely had more than about 7 layers.

This script measures it on the built-in digits (8x8 images), with sigmoid units and squared error
as in the textbook, for networks 64-32-...-32-10 of growing depth:

1. the bound ``max sigma' = 1/4`` and the mean ``sigma'`` each layer actually has;
2. per-layer gradient norms ``||dLoss/dW_l||`` of one full-batch backward pass
   (:func:`weightwise.evidence.diagnostics.gradient_norms_at`), and the ratio of the first layer's
   to the last hidden layer's, for the textbook's N(0, 1) weights and for the small uniform
   ``U(-1/sqrt(n_in), 1/sqrt(n_in))`` weights that Glorot and Bengio (2010) call the "standard"
   initialisation (the common practice before theirs);
3. what that does to learning: how far each layer's weights move in 20 epochs of BP.

Run ``python examples/vanishing_gradients.py`` (``--quick`` for fewer depths and seeds).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

import weightwise as ww
from weightwise.datasets import load_digits
from weightwise.evidence.diagnostics import gradient_norms_at

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import figure  # noqa: E402

WIDTH = 32
INITS = {"normal": "textbook N(0, 1)", "standard": "U(+-1/sqrt(n_in))"}


def digits(n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """The first ``n`` training digits and one-hot targets, float64."""
    X_train, _, y_train, _ = load_digits(dtype="float64")
    return X_train[:n], np.eye(10)[y_train[:n]]


def layer_norms(depth: int, init: str, seed: int, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``||dLoss/dW_l||`` per layer (output layer last) of a fresh deep sigmoid network.

    Returns
    -------
    ndarray of shape (depth + 1,)
    """
    net = ww.Network.create(
        [64] + [WIDTH] * depth + [10], "sigmoid", init=init, seed=seed, dtype="float64"
    )
    return gradient_norms_at(net, X, Y, loss="squared_error")


def first_to_last_hidden(norms: np.ndarray) -> float:
    """Gradient norm of layer 1 over that of the last hidden layer (the output layer if none)."""
    return float(norms[0] / norms[-2]) if len(norms) > 2 else float(norms[0] / norms[-1])


def sigmoid_slopes(depth: int, init: str, seed: int, X: np.ndarray) -> np.ndarray:
    """Mean ``sigma'(z)`` over samples and units, per hidden layer (what multiplies the delta)."""
    net = ww.Network.create(
        [64] + [WIDTH] * depth + [10], "sigmoid", init=init, seed=seed, dtype="float64"
    )
    fwd = net.forward(X)
    return np.array([float(np.mean(a * (1 - a))) for a in fwd.activations[1:-1]])


def weight_moves(depth: int, seed: int, epochs: int, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``||W_l(after) - W_l(before)|| / ||W_l(before)||`` per layer after ``epochs`` of BP."""
    net = ww.Network.create(
        [64] + [WIDTH] * depth + [10], "sigmoid", init="normal", seed=seed, dtype="float64"
    )
    before = [W.copy() for W in net.get_weights()[::2]]
    ww.fit(
        net,
        X,
        Y,
        loss="squared_error",
        optimizer=ww.SGD(0.5),
        epochs=epochs,
        batch_size=32,
        seed=seed,
        record_grad_norm=False,
        metric=None,
    )
    after = net.get_weights()[::2]
    return np.array(
        [np.linalg.norm(a - b) / np.linalg.norm(b) for a, b in zip(after, before, strict=True)]
    )


def plot(norms: dict[str, np.ndarray], path: str) -> None:
    """Per-layer gradient norms (log scale) of one deep network per initialisation."""
    with figure(path) as ax:
        for (init, n), marker in zip(norms.items(), "os", strict=False):
            ax.semilogy(np.arange(1, len(n) + 1), n, marker + "-", label=f"sigmoid, {INITS[init]}")
        ax.set_xlabel("layer (1 = next to the input; last = output)")
        ax.set_ylabel("||dLoss/dW||")
        ax.set_title(
            f"Deep sigmoid net, {len(next(iter(norms.values()))) - 1} hidden layers: gradient per layer"
        )
        ax.legend(fontsize=8)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the example, print what it found and return the key numbers."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="depths 2, 5, 8 and 2 seeds")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--plot", metavar="PNG", help="save the per-layer gradient norms here")
    args = p.parse_args(argv)
    depths = [2, 5, 8] if args.quick else [1, 2, 3, 4, 5, 6, 7, 8, 10]
    seeds = range(2 if args.quick else args.seeds)
    deep = max(depths)
    X, Y = digits()

    z = np.linspace(-10, 10, 20001)
    s = 1 / (1 + np.exp(-z))
    print(f"max of sigma'(z) = sigma(z)(1 - sigma(z)) over z in [-10, 10]: {np.max(s * (1 - s)):.4f}")
    slopes = {init: sigmoid_slopes(deep, init, 0, X) for init in INITS}
    for init, sl in slopes.items():
        print(
            f"mean sigma' per hidden layer, {INITS[init]}, {deep} hidden layers: "
            + " ".join(f"{v:.3f}" for v in sl)
        )

    print(
        f"\nlayer-1 / last-hidden-layer gradient norm, 64-{WIDTH}x(depth)-10 sigmoid, squared error, "
        f"median of {len(seeds)} seeds:"
    )
    print(f"{'hidden layers':>13} " + " ".join(f"{INITS[i]:>21}" for i in INITS))
    ratios: dict[str, dict[int, float]] = {init: {} for init in INITS}
    for depth in depths:
        for init in INITS:
            ratios[init][depth] = float(
                np.median([first_to_last_hidden(layer_norms(depth, init, s, X, Y)) for s in seeds])
            )
        print(
            f"{depth:>13} "
            + " ".join(f"{ratios[i][depth]:>7.2g} = 1/{1 / ratios[i][depth]:<10,.0f}" for i in INITS)
        )

    deep_norms = {init: layer_norms(deep, init, 0, X, Y) for init in INITS}
    for init, n in deep_norms.items():
        print(f"\n{deep} hidden layers, {INITS[init]}, seed 0: ||dLoss/dW|| per layer (1 = input side)")
        print("  " + " ".join(f"{v:.2e}" for v in n))
        print(f"  layer 1 receives 1/{n[-2] / n[0]:,.0f} of the gradient of layer {deep}")

    moves_epochs = 5 if args.quick else 20
    moves = {d: weight_moves(d, 0, moves_epochs, X, Y) for d in (2, deep)}
    print(
        f"\nhow far BP moved each layer's weights in {moves_epochs} epochs "
        "(||W_after - W_before|| / ||W_before||), N(0, 1) init:"
    )
    for d, m in moves.items():
        print(f"  {d:>2} hidden layers: " + " ".join(f"{v:.4f}" for v in m))
    if args.plot:
        plot(deep_norms, args.plot)
        print(f"figure: {args.plot}")
    return {"ratios": ratios, "deep_norms": deep_norms, "slopes": slopes, "moves": moves, "deep": deep}


if __name__ == "__main__":
    main()
