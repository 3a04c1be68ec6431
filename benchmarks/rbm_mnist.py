"""CD-1 epochs of a 784-500 RBM on MNIST: weightwise against scikit-learn and plain PyTorch.

All three train a Bernoulli RBM with 784 visible and 500 hidden units on mini-batches of 100
float32 images for whole epochs, in one run on the same data, taking turns epoch by epoch (so a
noisy machine slows them alike):

- weightwise ``BernoulliRBM`` (CD-1 with momentum and weight cost, monitoring off),
- scikit-learn ``BernoulliRBM`` (``n_iter=1`` per epoch: PCD-1, no momentum, no weight cost),
- a plain PyTorch CD-1 with the same momentum and weight cost (CPU, ``torch.set_num_threads``).

weightwise and PyTorch do the same arithmetic (five 100 x 784 x 500 products per batch plus the
momentum update); scikit-learn does the same products without momentum or weight cost, so the
comparison is, if anything, tilted towards scikit-learn. Prints seconds per epoch (the median over
epochs) and the ratios (the median over rounds of each round's ratio). Targets: at least 1.6x
faster than scikit-learn, no slower than PyTorch.

Usage::

    python benchmarks/rbm_mnist.py                        # 60,000 images, 3 epochs each
    python benchmarks/rbm_mnist.py --n-samples 20000 --epochs 2
    python benchmarks/rbm_mnist.py --mnist /path/to/mnist  # or WEIGHTWISE_MNIST=/path/to/mnist

Without the MNIST files, random binary data of the same shape stands in (the timings are the same:
the work does not depend on the values).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

N_VISIBLE, N_HIDDEN, BATCH = 784, 500, 100
LEARNING_RATE, MOMENTUM, WEIGHT_COST = 0.1, 0.5, 2e-4


def load_images(path: str | None, n_samples: int, seed: int) -> tuple[np.ndarray, str]:
    """MNIST training images in [0, 1] as float32 (n_samples, 784), or random binary stand-ins."""
    folder = path or os.environ.get("WEIGHTWISE_MNIST")
    if folder is None:
        folder = str(Path(__file__).resolve().parent.parent / ".." / "shared" / "data" / "mnist")
    try:
        from weightwise.datasets import load_mnist

        X, _, _, _ = load_mnist(folder, dtype="float32", progress=False)
        source = f"MNIST from {Path(folder).resolve()}"
    except (FileNotFoundError, OSError, ValueError) as exc:
        X = (np.random.default_rng(seed).random((60000, N_VISIBLE)) < 0.13).astype(np.float32)
        source = f"random binary data (MNIST not found: {type(exc).__name__})"
    return np.ascontiguousarray(X[:n_samples], dtype=np.float32), source


def weightwise_epoch(X: np.ndarray, seed: int) -> Callable[[], None]:
    from weightwise.layerwise.rbm import BernoulliRBM

    rbm = BernoulliRBM.create(
        N_VISIBLE, N_HIDDEN, seed=seed, learning_rate=LEARNING_RATE, batch_size=BATCH,
        momentum=MOMENTUM, weight_cost=WEIGHT_COST, monitor_size=0,
    )  # fmt: skip
    return lambda: rbm.fit(X, epochs=1)


def sklearn_epoch(X: np.ndarray, seed: int) -> Callable[[], None]:
    from sklearn.neural_network import BernoulliRBM as SkRBM

    rbm = SkRBM(
        n_components=N_HIDDEN, learning_rate=LEARNING_RATE, batch_size=BATCH, n_iter=1, random_state=seed
    )
    # Each call is one epoch (n_iter=1) from fresh weights: drawing them costs milliseconds.
    return lambda: rbm.fit(X)


def torch_epoch(X: np.ndarray, seed: int, threads: int) -> Callable[[], None]:
    import torch

    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(seed)
    data = torch.from_numpy(X)
    W = torch.randn(N_VISIBLE, N_HIDDEN, generator=gen) * 0.01
    b_visible, b_hidden = torch.zeros(N_VISIBLE), torch.zeros(N_HIDDEN)
    inc_W, inc_bv, inc_bh = torch.zeros_like(W), torch.zeros_like(b_visible), torch.zeros_like(b_hidden)

    @torch.no_grad()
    def epoch() -> None:
        order = torch.randperm(data.shape[0], generator=gen)
        for lo in range(0, data.shape[0], BATCH):
            v0 = data[order[lo : lo + BATCH]]
            n = v0.shape[0]
            h0 = torch.sigmoid(v0 @ W + b_hidden)
            h_sample = torch.bernoulli(h0, generator=gen)
            v1 = torch.sigmoid(h_sample @ W.T + b_visible)
            h1 = torch.sigmoid(v1 @ W + b_hidden)
            grad_W = v0.T @ h0 - v1.T @ h1
            inc_W.mul_(MOMENTUM).add_(grad_W, alpha=LEARNING_RATE / n).add_(
                W, alpha=-LEARNING_RATE * WEIGHT_COST
            )
            inc_bh.mul_(MOMENTUM).add_(h0.sum(0) - h1.sum(0), alpha=LEARNING_RATE / n)
            inc_bv.mul_(MOMENTUM).add_(v0.sum(0) - v1.sum(0), alpha=LEARNING_RATE / n)
            W.add_(inc_W)
            b_hidden.add_(inc_bh)
            b_visible.add_(inc_bv)

    return epoch


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist", default=None, help="folder with the MNIST IDX files")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per implementation")
    parser.add_argument("--n-samples", type=int, default=60000, help="training images per epoch")
    parser.add_argument("--threads", type=int, default=2, help="BLAS and PyTorch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", nargs="*", default=(), choices=("sklearn", "torch"))
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    X, source = load_images(args.mnist, args.n_samples, args.seed)
    print(f"data: {source}; {X.shape[0]} x {X.shape[1]} float32, batch {BATCH}, {N_HIDDEN} hidden")
    print(f"threads: {args.threads} (BLAS and PyTorch); {args.epochs} epochs each; median s/epoch")
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load + args.threads > cores + 0.5 and args.threads > 1:
        # Spinning BLAS/OpenMP worker threads on an oversubscribed machine slow every library
        # by 5-20x, unevenly: the ratios then say more about the neighbours than the code.
        print(f"warning: load average {load:.1f} on {cores} cores; multi-threaded timings are "
              "unreliable here, compare with --threads 1")  # fmt: skip
    results: dict[str, float] = {}
    with threadpool_limits(limits=args.threads):
        epoch_of = {"weightwise": weightwise_epoch(X, args.seed)}
        if "sklearn" not in args.skip:
            epoch_of["scikit-learn"] = sklearn_epoch(X, args.seed)
        if "torch" not in args.skip:
            epoch_of["pytorch"] = torch_epoch(X, args.seed, args.threads)
        # Round robin, one epoch of each per round: a shared machine's slow spells then fall on
        # every implementation alike, and each round gives its own ratios.
        times: dict[str, list[float]] = {name: [] for name in epoch_of}
        for _ in range(args.epochs):
            for name, run_epoch in epoch_of.items():
                start = time.perf_counter()
                run_epoch()
                times[name].append(time.perf_counter() - start)
    for name, ts in times.items():
        results[name] = statistics.median(ts)
        each = ", ".join(f"{t:.3f}" for t in ts)
        print(f"  {name:<13} {results[name]:8.3f} s/epoch   (epochs: {each})")
    ww = times["weightwise"]
    for name, target in (("scikit-learn", ">= 1.6"), ("pytorch", ">= 1.0")):
        if name in times:
            per_round = [t / w for t, w in zip(times[name], ww, strict=True)]
            each = ", ".join(f"{r:.2f}" for r in per_round)
            median = statistics.median(per_round)
            results[f"{name}/weightwise"] = median
            print(f"  {name} / weightwise = {median:5.2f}x   (target {target}; per round: {each})")
    return results


if __name__ == "__main__":
    main()
