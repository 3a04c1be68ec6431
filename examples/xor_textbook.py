"""XOR by back-propagation: the textbook's 2-4-1 sigmoid network, and why some starts get stuck.

XOR (output 1 when exactly one input is 1) is the classic problem one neuron cannot solve: no
straight line separates (0, 1) and (1, 0) from (0, 0) and (1, 1). A hidden layer of 4 sigmoid
units can, and back-propagation finds its weights: sigmoid hidden and output units, every weight
and bias from N(0, 1), the full batch of 4, squared error with output delta ``(a - y) a (1 - a)``,
gradients summed over the batch, learning rate 0.1, 10,000 epochs (:data:`weightwise.TEXTBOOK_XOR`;
the command ``weightwise xor`` runs the same thing).

Gradient descent only walks downhill from where it starts, so it is not guaranteed to solve XOR:
from some random starts it settles where the gradient is (nearly) zero but the error is not, a
local minimum or a long flat plateau. The script trains from many seeds, counts how many solve
XOR, and for the runs that do not, shows the outputs they settled on, their gradient norm, and
whether many more epochs get them out (a plateau) or not (a local minimum, for this budget).

Run ``python examples/xor_textbook.py`` (``--quick`` for fewer seeds; ``weightwise xor --seeds
100`` for the full count).
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

import weightwise as ww
from weightwise.presets import XorResult


def gradient_norm(result: XorResult) -> float:
    """``||dLoss/dparameters||`` of the trained network on the four samples (summed loss)."""
    grads = ww.backprop(result.network, result.X, result.y.reshape(-1, 1), "squared_error", "sum")
    return math.sqrt(sum(float(np.sum(g * g)) for g in grads.as_list()))


def final_loss(result: XorResult) -> float:
    """Summed squared error ``0.5 * sum((a - y)^2)`` after training."""
    return float(
        ww.loss_value(result.network, result.X, result.y.reshape(-1, 1), "squared_error", "sum")
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the example, print what it found and return the key numbers."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="10 seeds, a shorter second chance")
    p.add_argument(
        "--seeds", type=int, help="random starts to count, seeds 0..N-1 (30; 10 with --quick)"
    )
    p.add_argument("--more-epochs", type=int, default=40_000, help="second chance for stuck runs")
    args = p.parse_args(argv)
    n_seeds = args.seeds if args.seeds is not None else (10 if args.quick else 30)
    more = 10_000 if args.quick else args.more_epochs

    first = ww.run_xor(0, dtype="float64")
    print("seed 0, textbook settings, 10,000 epochs:")
    print("  x1 x2  target  output")
    for (x1, x2), t, o in zip(first.X, first.y, first.outputs, strict=True):
        print(f"  {x1:>2.0f} {x2:>2.0f}  {t:>6.0f}  {o:.4f}")
    print(f"  loss {final_loss(first):.5f}; solved after {first.epochs_to_solve} epochs")

    runs = [ww.run_xor(s, dtype="float64") for s in range(n_seeds)]
    solved = [r for r in runs if r.solved]
    stuck = [r for r in runs if not r.solved]
    epochs = [r.epochs_to_solve for r in solved if r.epochs_to_solve is not None]
    print(f"\n{len(solved)} of {n_seeds} random starts solve XOR within 10,000 epochs", end="")
    print(
        f"; epochs needed: median {np.median(epochs):.0f}, range {min(epochs)}-{max(epochs)}"
        if epochs
        else ""
    )

    rescued = []
    for r in stuck:
        outs = " ".join(f"{o:.3f}" for o in r.outputs)
        print(
            f"  seed {r.seed} stuck: outputs {outs} (targets 0 1 1 0), loss {final_loss(r):.4f}, "
            f"gradient norm {gradient_norm(r):.1e}"
        )
        again = ww.run_xor(r.seed, dtype="float64", epochs=10_000 + more)
        rescued.append(again.solved)
        verdict = (
            f"solved after {again.epochs_to_solve} epochs: it was a plateau"
            if again.solved
            else f"still stuck (loss {final_loss(again):.4f}): a local minimum for this budget"
        )
        print(f"    with {10_000 + more:,} epochs instead: {verdict}")
    return {
        "first": first,
        "n_seeds": n_seeds,
        "n_solved": len(solved),
        "stuck_seeds": [r.seed for r in stuck],
        "rescued": rescued,
        "stuck_gradient_norms": [gradient_norm(r) for r in stuck],
        "stuck_losses": [final_loss(r) for r in stuck],
    }


if __name__ == "__main__":
    main()
