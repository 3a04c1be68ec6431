"""What the gradient-flow diagnostics cost: training with and without :class:`GradientFlow`.

Trains 784-500-500-500-10 (sigmoid hidden, softmax + cross-entropy, SGD lr 0.1, batch 128, float32)
on random data of MNIST's shape, alternating runs without and with the callback, for
``sample_every`` 1 (every batch), 4, and the default (the ~8 batches an epoch whose ``dW`` the loop
forms for :attr:`History.grad_norm` anyway). The diagnostics' budget is 10% of an epoch. Then the
same for the ``compare`` network on the built-in digits (64-100x5-10, batch 32), where the layers
are small and Python overhead weighs most.

Two measures of the overhead are printed:

- *self time*: the time spent inside the callback's hooks divided by the rest of the epoch, timed
  in the same run, so it holds even on a machine shared with other jobs; it leaves out the fused
  SGD update lost on batches where the callback asks for ``dW`` beyond those History samples;
- *wall clock*: the median epoch time with the callback against the median without, which a
  neighbour's load can swing by more than the overhead itself.

Also times one :func:`gradient_norms_at` (a full-batch backward pass on a subset, for the gradient
norm per layer at initialisation and after training) and one information-plane record (binning
estimator) as fractions of an epoch.

Usage::

    python benchmarks/diagnostics_overhead.py [--n-samples 6400] [--epochs 2] [--repeats 3] [--threads 1]

BLAS runs on ``--threads`` threads (default 1): on a machine shared with other jobs, more threads
than free cores make every matrix product tens of times slower and the timings meaningless.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import numpy as np

import weightwise as ww
from weightwise.backpropagation.training import BatchInfo, EpochInfo
from weightwise.evidence import GradientFlow, InformationPlane, gradient_norms_at

MNIST_SIZES = (784, 500, 500, 500, 10)
DIGITS_SIZES = (64, 100, 100, 100, 100, 100, 10)
LR = 0.1
OFF = "off"


class TimedFlow(GradientFlow):
    """A GradientFlow that adds up the time spent in its own hooks."""

    def __init__(self, sample_every: int | None) -> None:
        super().__init__(sample_every=sample_every)
        self.seconds = 0.0

    def on_batch(self, info: BatchInfo) -> None:
        t0 = time.perf_counter()
        super().on_batch(info)
        self.seconds += time.perf_counter() - t0

    def __call__(self, info: EpochInfo) -> None:
        t0 = time.perf_counter()
        super().__call__(info)
        self.seconds += time.perf_counter() - t0


def run(
    sizes: Sequence[int], X: np.ndarray, Y: np.ndarray, batch: int, epochs: int, every: int | str | None
) -> tuple[float, float]:
    """Median seconds per epoch and the callback's share of the rest of the run (0 without it)."""
    net = ww.Network.create(sizes, "sigmoid", "softmax", seed=0)
    flow = None if every == OFF else TimedFlow(every)  # type: ignore[arg-type]
    history = ww.fit(
        net, X, Y, loss="cross_entropy", learning_rate=LR, epochs=epochs, batch_size=batch, seed=0,
        callbacks=[] if flow is None else [flow],
    )  # fmt: skip
    total = sum(history.seconds)
    own = 0.0 if flow is None else flow.seconds
    return statistics.median(history.seconds), own / (total - own)


def compare(
    title: str, sizes: Sequence[int], X: np.ndarray, Y: np.ndarray, batch: int, args: argparse.Namespace
) -> float:
    """Print the overhead table for one network; return the epoch time without diagnostics."""
    variants: dict[str, int | str | None] = {
        "without": OFF,
        "every batch": 1,
        "every 4th batch": 4,
        "default (~8/epoch)": None,
    }
    times: dict[str, list[float]] = {k: [] for k in variants}
    shares: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(args.repeats):
        for name, every in variants.items():
            seconds, share = run(sizes, X, Y, batch, args.epochs, every)
            times[name].append(seconds)
            shares[name].append(share)
    n_batches = -(-X.shape[0] // batch)
    print(f"{title}: {'-'.join(map(str, sizes))} sigmoid, batch {batch}, {n_batches} batches/epoch")
    base = statistics.median(times["without"])
    print(f"  without diagnostics             {base:7.3f} s/epoch")
    for name in list(variants)[1:]:
        t = statistics.median(times[name])
        own, wall = 100 * statistics.median(shares[name]), 100 * (t - base) / base
        print(f"  GradientFlow, {name:<18}{t:7.3f} s/epoch  self time {own:4.1f}%  wall {wall:+5.1f}%")
    return base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-samples", type=int, default=6400)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--subset", type=int, default=1000, help="samples for gradient_norms_at")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=args.threads):
        measure(args)


def measure(args: argparse.Namespace) -> None:
    print(
        f"{args.epochs} epochs x {args.repeats} repeats per variant, float32, "
        f"{args.threads} BLAS thread(s)"
    )
    rng = np.random.default_rng(0)
    X = rng.random((args.n_samples, MNIST_SIZES[0]), dtype=np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, args.n_samples)]
    base = compare(f"random MNIST-shaped data ({args.n_samples})", MNIST_SIZES, X, Y, 128, args)

    net = ww.Network.create(MNIST_SIZES, "sigmoid", "softmax", seed=0)
    Xs, Ys = X[: args.subset], Y[: args.subset]
    gradient_norms_at(net, Xs, Ys, "cross_entropy")  # warm up
    t0 = time.perf_counter()
    for _ in range(3):
        gradient_norms_at(net, Xs, Ys, "cross_entropy")
    t_norms = (time.perf_counter() - t0) / 3
    share = 100 * t_norms / base
    print(f"  gradient_norms_at on {args.subset} samples: {t_norms:.3f} s = {share:.1f}% of an epoch")
    plane = InformationPlane(Xs, Ys, estimator="binning")
    t0 = time.perf_counter()
    plane.record(net, 0)
    t_info = time.perf_counter() - t0
    print(
        f"  information plane (binning, {args.subset} samples, 3 layers): {t_info:.3f} s = "
        f"{100 * t_info / base:.1f}% of an epoch"
    )

    from sklearn.datasets import load_digits

    Xd, yd = load_digits(return_X_y=True)
    Xd = (Xd / 16.0).astype(np.float32)
    Yd = np.eye(10, dtype=np.float32)[yd]
    compare("digits (1797)", DIGITS_SIZES, Xd, Yd, 32, args)


if __name__ == "__main__":
    main()
