"""XOR by back-propagation: the textbook's 2-4-1 sigmoid network, and why some starts get stuck.

XOR (output 1 when exactly one input is 1) is the classic problem one neuron cannot solve: no
straight line separates (0, 1) and (1, 0) from (0, 0) and (1, 1). A hidden layer of sigmoid units
can, and back-propagation finds its weights: sigmoid hidden and output units, every weight and
bias from N(0, 1), the full batch of 4, squared error with output delta ``(a - y) a (1 - a)``,
gradients summed over the batch, learning rate 0.1, 10,000 epochs (:data:`weightwise.TEXTBOOK_XOR`;
the command ``weightwise xor`` runs the same thing).

Gradient descent only walks downhill from where it starts, so it is not guaranteed to solve XOR.
The script shows both ways it can be slowed or stopped:

- a *plateau*: the error stays almost flat for thousands of epochs before it drops (the slowest
  of the 2-4-1 runs);
- a *local minimum*: the smallest network that can solve XOR, 2-2-1, settles from some starts
  where the gradient is nearly zero but two of the four outputs sit at 0.5. The script counts
  those starts, and gives the first ones many more epochs to see whether they get out. (Strictly,
  Hamey (1998) proved that the 2-2-1 XOR error surface has no local minima with finite weights:
  these runs creep towards a flat valley at infinity, which in practice traps them just the same.)

Run ``python examples/xor_textbook.py`` (``--quick`` for fewer seeds; ``weightwise xor --seeds
100`` counts 100 starts of the 2-4-1 network).
"""

from __future__ import annotations

import argparse
import math
from typing import Any

import numpy as np

import weightwise as ww
from weightwise.presets import XorPreset, XorResult

MINIMAL = XorPreset(sizes=(2, 2, 1))  # the textbook's settings with 2 hidden units instead of 4


def gradient_norm(result: XorResult) -> float:
    """``||dLoss/dparameters||`` of the trained network on the four samples (summed loss)."""
    grads = ww.backprop(result.network, result.X, result.y.reshape(-1, 1), "squared_error", "sum")
    return math.sqrt(sum(float(np.sum(g * g)) for g in grads.as_list()))


def final_loss(result: XorResult) -> float:
    """Summed squared error ``0.5 * sum((a - y)^2)`` after training."""
    return float(
        ww.loss_value(result.network, result.X, result.y.reshape(-1, 1), "squared_error", "sum")
    )


def count(preset: XorPreset, seeds: range) -> list[XorResult]:
    """Train ``preset`` from each seed; print how many solve XOR and how many epochs they needed."""
    runs = [ww.run_xor(s, preset=preset, dtype="float64") for s in seeds]
    epochs = [r.epochs_to_solve for r in runs if r.solved and r.epochs_to_solve is not None]
    shape = "-".join(str(n) for n in preset.sizes)
    line = (
        f"{shape}: {len(epochs)} of {len(runs)} random starts solve XOR within {preset.epochs:,} epochs"
    )
    if epochs:
        line += f"; epochs needed: median {np.median(epochs):.0f}, range {min(epochs)}-{max(epochs)}"
    print(line)
    return runs


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the example, print what it found and return the key numbers."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", help="1 start of 2-4-1, 7 of 2-2-1, a shorter second chance"
    )
    p.add_argument("--seeds", type=int, help="starts of the 2-4-1 network, seeds 0..N-1 (default 10)")
    p.add_argument("--minimal-seeds", type=int, help="starts of the 2-2-1 network (default 20)")
    p.add_argument("--more-epochs", type=int, help="second chance for stuck runs (30,000; 5,000 quick)")
    p.add_argument("--second-chances", type=int, default=2, help="stuck runs given more epochs")
    args = p.parse_args(argv)
    n_seeds = args.seeds if args.seeds is not None else (1 if args.quick else 10)
    n_minimal = args.minimal_seeds if args.minimal_seeds is not None else (7 if args.quick else 20)
    chances = 1 if args.quick else args.second_chances
    more = args.more_epochs if args.more_epochs is not None else (5_000 if args.quick else 30_000)

    print("2-4-1, the textbook's network and settings:")
    runs = count(ww.TEXTBOOK_XOR, range(n_seeds))
    first = runs[0]
    print("  seed 0:  x1 x2  target  output")
    for (x1, x2), t, o in zip(first.X, first.y, first.outputs, strict=True):
        print(f"          {x1:>2.0f} {x2:>2.0f}  {t:>6.0f}  {o:.4f}")
    print(f"  seed 0: loss {final_loss(first):.5f}, solved after {first.epochs_to_solve} epochs")

    slowest = max((r for r in runs if r.solved), key=lambda r: r.epochs_to_solve or 0)
    marks = [0, 250, 500, 1000, 2000, 3000, 4000, 6000, 8000]
    loss = slowest.history.loss
    print(
        f"  a plateau: the slowest start, seed {slowest.seed}, "
        f"solved after {slowest.epochs_to_solve} epochs"
    )
    print("    epoch " + " ".join(f"{m:>5}" for m in marks if m < len(loss)))
    print("    loss  " + " ".join(f"{loss[m]:>5.3f}" for m in marks if m < len(loss)))

    print("\n2-2-1, the smallest network that can solve XOR, same settings:")
    minimal = count(MINIMAL, range(n_minimal))
    stuck = [r for r in minimal if not r.solved]
    rescued = []
    for i, r in enumerate(stuck):
        outs = " ".join(f"{o:.3f}" for o in r.outputs)
        print(
            f"  seed {r.seed} stuck: outputs {outs} (targets 0 1 1 0), loss {final_loss(r):.4f}, "
            f"gradient norm {gradient_norm(r):.1e}"
        )
        if i < chances:
            again = ww.run_xor(r.seed, preset=MINIMAL, dtype="float64", epochs=MINIMAL.epochs + more)
            rescued.append(again.solved)
            verdict = (
                f"solved after {again.epochs_to_solve} epochs: it was a plateau"
                if again.solved
                else f"still stuck, loss {final_loss(again):.4f}, "
                f"gradient norm {gradient_norm(again):.1e}"
            )
            print(f"    given {MINIMAL.epochs + more:,} epochs instead: {verdict}")
    return {
        "first": first,
        "n_seeds": n_seeds,
        "n_solved": sum(r.solved for r in runs),
        "slowest_loss": list(slowest.history.loss),
        "n_minimal": n_minimal,
        "minimal_solved": sum(r.solved for r in minimal),
        "stuck_seeds": [r.seed for r in stuck],
        "stuck_losses": [final_loss(r) for r in stuck],
        "stuck_gradient_norms": [gradient_norm(r) for r in stuck],
        "rescued": rescued,
    }


if __name__ == "__main__":
    main()
