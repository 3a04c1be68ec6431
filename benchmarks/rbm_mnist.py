"""CD-1 epochs of a 784-500 RBM on MNIST: weightwise (NumPy, PyTorch) against scikit-learn and PyTorch.

All train a Bernoulli RBM with 784 visible and 500 hidden units on mini-batches of 100 float32
images for whole epochs, in one run on the same data, taking turns epoch by epoch (so a noisy
machine slows them alike; ``_harness.py``: same clock around the same call, wall and CPU seconds,
peak memory):

- weightwise ``BernoulliRBM`` on NumPy arrays and on PyTorch tensors (``--backend``; CD-1 with
  momentum and weight cost, monitoring off), one ``fit(V, epochs=1)`` per call,
- weightwise ``BernoulliRBM`` with scikit-learn's settings (``persistent=True``: PCD-1, no momentum,
  no weight cost; row "weightwise numpy pcd"), so scikit-learn is also measured on its own algorithm,
- scikit-learn ``BernoulliRBM`` (``n_iter=1`` per epoch: PCD-1, no momentum, no weight cost),
- a plain PyTorch CD-1 written from Hinton's practical guide (probabilities for the
  reconstruction and the statistics, a binary hidden sample, momentum and weight cost on the
  increments), ``torch.no_grad``, ``torch.set_num_threads``.

weightwise and PyTorch do the same arithmetic (five 100 x 784 x 500 products' worth per batch plus
the momentum update); scikit-learn does PCD-1 without momentum or weight cost, and is compared with
both weightwise's CD-1 (the library's default) and weightwise's PCD-1 with scikit-learn's settings
(the same algorithm). Prints seconds per epoch (the median over
rounds) and the ratios (the median over rounds of each round's ratio). Targets: weightwise on
NumPy at least 1.6x faster than scikit-learn and no slower than PyTorch; weightwise on PyTorch at
least 1.3x faster than the plain PyTorch CD-1.

Usage::

    python benchmarks/rbm_mnist.py --mnist /work/shared/data/mnist --epochs 5
    python benchmarks/rbm_mnist.py --n-samples 20000 --epochs 2 --backend torch
    python benchmarks/rbm_mnist.py --device cuda --json rbm_cuda.json   # torch rows on a GPU

Without the MNIST files, random binary data of the same shape stands in (the timings are the same:
the work does not depend on the values).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402

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


def weightwise_epoch(
    X: np.ndarray, seed: int, backend: str, device: str, pcd: bool = False
) -> Callable[[], Any]:
    """One CD-1 epoch (momentum, weight cost), or with ``pcd`` scikit-learn's PCD-1 (neither)."""
    from weightwise.layerwise.rbm import BernoulliRBM

    rbm = BernoulliRBM.create(
        N_VISIBLE, N_HIDDEN, seed=seed, learning_rate=LEARNING_RATE, batch_size=BATCH,
        momentum=0.0 if pcd else MOMENTUM, final_momentum=0.0 if pcd else 0.9,
        weight_cost=0.0 if pcd else WEIGHT_COST,
        persistent=pcd, monitor_size=0, backend=backend,
        device=None if backend == "numpy" else device,
    )  # fmt: skip
    data: Any = X
    if backend == "torch":
        import torch

        data = torch.from_numpy(X).to(device)
    return lambda: rbm.fit(data, epochs=1)


def sklearn_epoch(X: np.ndarray, seed: int) -> Callable[[], None]:
    from sklearn.neural_network import BernoulliRBM as SkRBM

    rbm = SkRBM(
        n_components=N_HIDDEN, learning_rate=LEARNING_RATE, batch_size=BATCH, n_iter=1, random_state=seed
    )
    # Each call is one epoch (n_iter=1) from fresh weights: drawing them costs milliseconds.
    return lambda: rbm.fit(X)


def torch_epoch(X: np.ndarray, seed: int, threads: int, device: str = "cpu") -> Callable[[], None]:
    """Plain PyTorch CD-1 as in Hinton's guide (sections 3-4, 9-10): no autograd, no buffers."""
    import torch

    torch.set_num_threads(threads)
    gen = torch.Generator(device=device).manual_seed(seed)
    data = torch.from_numpy(X).to(device)
    W = torch.randn(N_VISIBLE, N_HIDDEN, generator=gen, device=device) * 0.01
    b_visible = torch.zeros(N_VISIBLE, device=device)
    b_hidden = torch.zeros(N_HIDDEN, device=device)
    inc_W, inc_bv, inc_bh = torch.zeros_like(W), torch.zeros_like(b_visible), torch.zeros_like(b_hidden)

    @torch.no_grad()
    def epoch() -> None:
        order = torch.randperm(data.shape[0], generator=gen, device=device)
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


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist", default=None, help="folder with the MNIST IDX files")
    parser.add_argument("--epochs", type=int, default=5, help="rounds: epochs per contender")
    parser.add_argument("--n-samples", type=int, default=60000, help="training images per epoch")
    parser.add_argument("--threads", type=int, default=2, help="BLAS and PyTorch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--backend", nargs="+", default=["numpy", "torch"], choices=("numpy", "torch"),
        help="weightwise rows to run (default both)",
    )  # fmt: skip
    parser.add_argument("--device", default="cpu", help="device of the torch contenders: cpu, cuda")
    parser.add_argument("--skip", nargs="*", default=(), choices=("sklearn", "torch", "pytorch"))
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    X, source = load_images(args.mnist, args.n_samples, args.seed)
    print(f"data: {source}; {X.shape[0]} x {X.shape[1]} float32, batch {BATCH}, {N_HIDDEN} hidden")
    print(f"machine: {_harness.machine()}; {args.threads} threads; device {args.device}")
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load + args.threads > cores + 0.5 and args.threads > 1:
        # Spinning BLAS/OpenMP worker threads on an oversubscribed machine slow every library
        # by 5-20x, unevenly: the ratios then say more about the neighbours than the code.
        print(f"warning: load average {load:.1f} on {cores} cores; multi-threaded timings are "
              "unreliable here, compare with --threads 1")  # fmt: skip
    on_cpu = args.device == "cpu"
    skip_pytorch = "torch" in args.skip or "pytorch" in args.skip
    with threadpool_limits(limits=args.threads):
        if "torch" in args.backend or not skip_pytorch:
            import torch

            torch.set_num_threads(args.threads)
        contenders: dict[str, Callable[[], Any]] = {}
        for backend in args.backend:
            if backend == "torch" or on_cpu:
                contenders[f"weightwise {backend}"] = weightwise_epoch(
                    X, args.seed, backend, args.device
                )
        if "sklearn" not in args.skip and on_cpu:
            contenders["scikit-learn"] = sklearn_epoch(X, args.seed)
            if "numpy" in args.backend:
                contenders["weightwise numpy pcd"] = weightwise_epoch(
                    X, args.seed, "numpy", "cpu", pcd=True
                )
        if not skip_pytorch:
            contenders["pytorch"] = torch_epoch(X, args.seed, args.threads, args.device)
        gpu = frozenset() if on_cpu else frozenset(k for k in contenders if "torch" in k)
        runs = _harness.round_robin(contenders, args.epochs, gpu)
    ratios = [
        ("scikit-learn", "weightwise numpy", ">= 1.6"),
        ("scikit-learn", "weightwise numpy pcd", "same algorithm"),
        ("pytorch", "weightwise numpy", ">= 1.0"),
        ("pytorch", "weightwise torch", ">= 1.3"),
    ]
    print(f"\nseconds per epoch, median of {args.epochs} rounds:")
    out = _harness.report(runs, ratios)
    out.update(device=args.device, threads=args.threads, n_samples=int(X.shape[0]))
    _harness.write_json(args.json, out)
    return out


if __name__ == "__main__":
    main()
