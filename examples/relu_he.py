"""Today's answer: units whose slope does not shrink the error, and weights scaled to keep it level.

Pre-training was one way around the vanishing gradient. What deep networks mostly use today is
simpler: ReLU units, ``max(0, z)``, whose slope is exactly 1 wherever the unit is active (the
sigmoid's is at most 1/4), with He initialisation, ``W ~ N(0, 2 / n_in)`` (He et al. 2015), chosen
so that the signal keeps its size from layer to layer in both directions. For tanh units, Xavier
(Glorot) initialisation, ``U(+-sqrt(6 / (n_in + n_out)))``, does the same job (Glorot and Bengio
2010).

This script measures, on the built-in digits, the per-layer gradient norms
``||dLoss/dW_l||`` of one full-batch backward pass
(:func:`weightwise.evidence.diagnostics.gradient_norms_at`) for deep networks 64-32-...-32-10
with a softmax output and cross-entropy, four ways: sigmoid with the textbook N(0, 1) weights,
sigmoid with Xavier weights, tanh with Xavier weights, ReLU with He weights. Then it trains the
network of ``examples/pretraining_fix.py`` (5 hidden layers of 64) with ReLU and He weights by
plain BP, with the same optimiser and epochs, for its test accuracy.

Run ``python examples/relu_he.py`` (``--quick`` for fewer depths and seeds).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import weightwise as ww
from weightwise.datasets import load_digits
from weightwise.evidence.diagnostics import gradient_norms_at

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import figure  # noqa: E402

WIDTH = 32
SETUPS = {  # label: (hidden activation, initialiser)
    "sigmoid, N(0, 1)": ("sigmoid", "normal"),
    "sigmoid, Xavier": ("sigmoid", "xavier_uniform"),
    "tanh, Xavier": ("tanh", "xavier_uniform"),
    "ReLU, He": ("relu", "he_normal"),
}


def layer_norms(
    depth: int, activation: str, init: str, seed: int, X: np.ndarray, Y: np.ndarray
) -> np.ndarray:
    """``||dLoss/dW_l||`` per layer (output layer last) of a fresh deep network.

    Returns
    -------
    ndarray of shape (depth + 1,)
    """
    sizes = [64] + [WIDTH] * depth + [10]
    net = ww.Network.create(sizes, activation, "softmax", init, seed=seed, dtype="float64")
    return gradient_norms_at(net, X, Y, loss="cross_entropy")


def first_to_last_hidden(norms: np.ndarray) -> float:
    """Gradient norm of layer 1 over that of the last hidden layer."""
    return float(norms[0] / norms[-2])


def train_relu(seed: int, epochs: int, depth: int = 5, width: int = 64) -> tuple[float, float]:
    """Plain BP on a deep ReLU + He network, with ``pretraining_fix.py``'s optimiser and batches.

    Returns
    -------
    accuracy : float
        Test accuracy on the digits.
    seconds : float
    """
    X_train, X_test, y_train, y_test = load_digits()
    Y_train = np.eye(10, dtype=np.float32)[y_train]
    net = ww.Network.create([64] + [width] * depth + [10], "relu", "softmax", "he_normal", seed=seed)
    t0 = time.perf_counter()
    ww.fit(
        net,
        X_train,
        Y_train,
        loss="cross_entropy",
        optimizer=ww.SGD(0.05, momentum=0.9),
        epochs=epochs,
        batch_size=32,
        seed=seed,
        record_grad_norm=False,
    )
    seconds = time.perf_counter() - t0
    return float(np.mean(np.asarray(net.predict(X_test)).argmax(axis=1) == y_test)), seconds


def plot(norms: dict[str, np.ndarray], path: str) -> None:
    """Per-layer gradient norms (log scale) of one deep network per setup."""
    with figure(path) as ax:
        for (label, n), marker in zip(norms.items(), "os^D", strict=False):
            ax.semilogy(np.arange(1, len(n) + 1), n, marker + "-", ms=4, label=label)
        ax.set_xlabel("layer (1 = next to the input; last = output)")
        ax.set_ylabel("||dLoss/dW||")
        ax.set_title(
            f"{len(next(iter(norms.values()))) - 1} hidden layers of {WIDTH}: gradient per layer"
        )
        ax.legend(fontsize=8)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the example, print what it found and return the key numbers."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="depths 2, 5, 8; 2 seeds; 10 BP epochs")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--epochs", type=int, default=30, help="BP epochs of the ReLU training run")
    p.add_argument("--plot", metavar="PNG", help="save the per-layer gradient norms here")
    args = p.parse_args(argv)
    depths = [2, 5, 8] if args.quick else [2, 5, 7, 10, 15, 20]
    seeds = range(2 if args.quick else args.seeds)
    epochs = 10 if args.quick else args.epochs
    X_train, _, y_train, _ = load_digits(dtype="float64")
    X, Y = X_train[:500], np.eye(10)[y_train[:500]]

    print(
        f"layer-1 / last-hidden-layer gradient norm, 64-{WIDTH}x(depth)-10, softmax + cross-entropy, "
        f"median of {len(seeds)} seeds:"
    )
    print(f"{'hidden layers':>13} " + " ".join(f"{label:>17}" for label in SETUPS))
    ratios: dict[str, dict[int, float]] = {label: {} for label in SETUPS}
    for depth in depths:
        for label, (act, init) in SETUPS.items():
            ratios[label][depth] = float(
                np.median([first_to_last_hidden(layer_norms(depth, act, init, s, X, Y)) for s in seeds])
            )
        print(f"{depth:>13} " + " ".join(f"{ratios[label][depth]:>17.3g}" for label in SETUPS))

    deep = max(depths)
    deep_norms = {label: layer_norms(deep, act, init, 0, X, Y) for label, (act, init) in SETUPS.items()}
    print(f"\n{deep} hidden layers, seed 0: ||dLoss/dW|| per layer (1 = input side, last = output)")
    for label, n in deep_norms.items():
        print(f"  {label:<17} " + " ".join(f"{v:.1e}" for v in n))

    accs = [train_relu(s, epochs) for s in range(1 if args.quick else 2)]
    print(
        f"\nplain BP, ReLU + He, 64-64x5-10, {epochs} epochs (SGD 0.05, momentum 0.9, batches of 32): "
        f"test accuracy {' '.join(f'{a:.3f}' for a, _ in accs)}; "
        f"{np.mean([t for _, t in accs]):.1f} s per run"
    )
    if args.plot:
        plot(deep_norms, args.plot)
        print(f"figure: {args.plot}")
    return {"ratios": ratios, "deep_norms": deep_norms, "accuracy": float(np.mean([a for a, _ in accs]))}


if __name__ == "__main__":
    main()
