"""Back-propagation speed on MNIST: weightwise (NumPy, PyTorch) vs scikit-learn vs PyTorch vs the floor.

Trains 784-500-500-10 (sigmoid hidden, softmax + cross-entropy, SGD momentum 0.9, lr 0.1, batch 128,
float32) one epoch per call with

- weightwise on NumPy arrays and on PyTorch tensors (``--backend``), ``fit(..., epochs=1)``
  continuing the same network and optimiser (so the wall time includes what a user's call pays:
  the input checks, the shuffle, the epoch's bookkeeping),
- scikit-learn's ``MLPClassifier`` with the same settings (``warm_start``, one epoch per ``fit``),
- PyTorch's own loop: ``nn.Sequential`` + ``torch.optim.SGD`` + ``CrossEntropyLoss`` + autograd,

and the matrix products of one epoch alone (the floor: 3 forward, 3 weight-gradient and 2 delta
products per batch) on NumPy/OpenBLAS and on torch/MKL. The contenders take turns epoch by epoch
(``_harness.py``: same clock around the same call, wall and CPU seconds, peak memory); the ratios
are medians of per-round ratios.

Usage::

    python benchmarks/bp_mnist.py --mnist /work/shared/data/mnist --epochs 5
    python benchmarks/bp_mnist.py --n-samples 20000 --epochs 3 --backend torch   # quicker
    python benchmarks/bp_mnist.py --device cuda --json bp_cuda.json  # torch contenders on a GPU

MNIST comes from ``--mnist``, ``$WEIGHTWISE_MNIST`` or ``../shared/data/mnist``; random data of the
same shape when absent.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness  # noqa: E402

SIZES = (784, 500, 500, 10)
BATCH = 128
LR = 0.1
MOMENTUM = 0.9


def load(path: str | None, n_samples: int) -> tuple[np.ndarray, np.ndarray, str]:
    candidates = [
        path,
        os.environ.get("WEIGHTWISE_MNIST"),
        str(Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"),
    ]
    for folder in candidates:
        if folder and Path(folder).is_dir():
            try:
                from weightwise.datasets import load_mnist

                X, _, y, _ = load_mnist(folder)
                return X[:n_samples], y[:n_samples].astype(np.int64), f"MNIST from {folder}"
            except Exception as exc:  # fall back to random data, say why
                print(f"(could not read MNIST from {folder}: {exc})")
    rng = np.random.default_rng(0)
    X = rng.random((n_samples, SIZES[0]), dtype=np.float32)
    return X, rng.integers(0, 10, n_samples), "random data of MNIST's shape"


def flops_per_epoch(n: int) -> float:
    fwd = sum(a * b for a, b in zip(SIZES[:-1], SIZES[1:], strict=False))
    back = sum(a * b for a, b in zip(SIZES[1:-1], SIZES[2:], strict=False))
    return 2.0 * n * (2 * fwd + back)


def floor_epoch(X: np.ndarray, Ws: list[Any], ones: Callable[..., Any]) -> None:
    """The matrix products of one epoch alone (NumPy arrays or tensors alike)."""
    deltas = [ones(BATCH, W.shape[1]) for W in Ws]
    for lo in range(0, X.shape[0], BATCH):
        a = X[lo : lo + BATCH]
        acts = [a]
        for W in Ws:
            a = a @ W
            acts.append(a)
        for l in range(len(Ws) - 1, -1, -1):
            d = deltas[l][: acts[l].shape[0]]
            _ = acts[l].T @ d
            if l:
                _ = d @ Ws[l].T


def floors(X: np.ndarray, torch_too: bool, device: str) -> dict[str, Callable[[], None]]:
    rng = np.random.default_rng(0)
    Ws = [
        rng.standard_normal((a, b)).astype(np.float32) * 0.05
        for a, b in zip(SIZES[:-1], SIZES[1:], strict=False)
    ]
    out: dict[str, Callable[[], None]] = {}
    if device == "cpu":
        out["floor numpy"] = lambda: floor_epoch(X, Ws, lambda *s: np.ones(s, np.float32))
    if torch_too:
        import torch

        Xt, Wt = torch.from_numpy(X).to(device), [torch.from_numpy(W).to(device) for W in Ws]
        out["floor torch"] = lambda: floor_epoch(Xt, Wt, lambda *s: torch.ones(s, device=device))
    return out


def weightwise_epoch(X: np.ndarray, y: np.ndarray, backend: str, device: str) -> Callable[[], Any]:
    """One ``fit`` epoch per call, continuing the same network, optimiser and random stream."""
    import weightwise as ww
    from weightwise.net.backend import Random

    Y = np.eye(10, dtype=np.float32)[y]
    dev = None if backend == "numpy" else device
    net = ww.Network.create(
        SIZES, "sigmoid", "softmax", "xavier_uniform", seed=0, backend=backend, device=dev
    )
    opt, rng = ww.SGD(LR, momentum=MOMENTUM), Random(0)
    if backend == "torch":
        import torch

        X, Y = torch.from_numpy(X).to(device), torch.from_numpy(Y).to(device)
    return lambda: ww.fit(
        net, X, Y, loss="cross_entropy", optimizer=opt, epochs=1, batch_size=BATCH, seed=rng
    )


def sklearn_epoch(X: np.ndarray, y: np.ndarray) -> Callable[[], Any]:
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        SIZES[1:-1],
        activation="logistic",
        solver="sgd",
        learning_rate_init=LR,
        momentum=MOMENTUM,
        nesterovs_momentum=False,
        batch_size=BATCH,
        alpha=0.0,
        max_iter=1,
        shuffle=True,
        random_state=0,
        warm_start=True,
        tol=0.0,
    )

    def epoch() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)

    return epoch


def torch_epoch(X: np.ndarray, y: np.ndarray, device: str) -> Callable[[], None]:
    """PyTorch's own loop: nn.Sequential, torch.optim.SGD, CrossEntropyLoss, autograd."""
    import torch

    torch.manual_seed(0)
    layers: list = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=False)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.Sigmoid())
    model = torch.nn.Sequential(*layers).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    lossf = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X).to(device), torch.from_numpy(y).to(device)

    def epoch() -> None:
        perm = torch.randperm(Xt.shape[0], device=device)
        for lo in range(0, Xt.shape[0], BATCH):
            idx = perm[lo : lo + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()

    return epoch


def input_check_seconds(X: np.ndarray, backends: list[str], device: str) -> dict[str, str]:
    """What each ``fit`` call spends checking its input (inside weightwise's wall time)."""
    from weightwise.net.validation import check_matrix

    notes = {}
    for backend in backends:
        data: Any = X
        if backend == "torch":
            import torch

            data = torch.from_numpy(X).to(device)
        t0 = time.perf_counter()
        check_matrix(data, "X")
        notes[f"weightwise {backend}"] = f"(of which input check {time.perf_counter() - t0:.3f} s)"
    return notes


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", default=None, help="folder with the four MNIST IDX files")
    parser.add_argument("--epochs", type=int, default=5, help="rounds: epochs per contender")
    parser.add_argument("--n-samples", type=int, default=60_000)
    parser.add_argument(
        "--backend", nargs="+", default=["numpy", "torch"], choices=("numpy", "torch"),
        help="weightwise rows to run (default both)",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=2, help="BLAS and PyTorch threads")
    parser.add_argument("--device", default="cpu", help="device of the torch contenders: cpu, cuda")
    parser.add_argument("--skip", nargs="*", default=(), choices=("floor", "sklearn", "pytorch"))
    parser.add_argument("--json", default=None, help="write the figures to this file")
    args = parser.parse_args(argv)

    from threadpoolctl import threadpool_limits

    X, y, source = load(args.mnist, args.n_samples)
    print(f"data: {source}, X {X.shape} {X.dtype} ({X.nbytes / 2**20:.0f} MiB)")
    print(f"machine: {_harness.machine()}; {args.threads} threads; device {args.device}")
    torch_needed = "torch" in args.backend or "pytorch" not in args.skip
    if torch_needed:
        import torch

        torch.set_num_threads(args.threads)
    on_cpu = args.device == "cpu"
    contenders: dict[str, Callable[[], Any]] = {}
    if "floor" not in args.skip:
        contenders.update(floors(X, "torch" in args.backend, args.device))
    for backend in args.backend:
        if backend == "numpy" and not on_cpu:
            continue
        contenders[f"weightwise {backend}"] = weightwise_epoch(X, y, backend, args.device)
    if "sklearn" not in args.skip and on_cpu:
        contenders["scikit-learn"] = sklearn_epoch(X, y)
    if "pytorch" not in args.skip:
        contenders["pytorch"] = torch_epoch(X, y, args.device)
    gpu = frozenset() if on_cpu else frozenset(k for k in contenders if "torch" in k)
    with threadpool_limits(limits=args.threads):
        notes = input_check_seconds(X, [b for b in args.backend if on_cpu or b == "torch"], args.device)
        runs = _harness.round_robin(contenders, args.epochs, gpu)
    ratios = [
        ("weightwise numpy", "floor numpy", "<= 1.25"),
        ("weightwise torch", "floor torch", ""),
        ("scikit-learn", "weightwise numpy", ">= 1.5"),
        ("pytorch", "weightwise numpy", ">= 1.3"),
        ("pytorch", "weightwise torch", ">= 1.3"),
    ]
    print(f"\nseconds per epoch, median of {args.epochs} rounds; {X.shape[0]} samples, batch {BATCH}:")
    out = _harness.report(runs, ratios, flops_per_epoch(X.shape[0]), notes)
    out.update(device=args.device, threads=args.threads, n_samples=int(X.shape[0]))
    _harness.write_json(args.json, out)
    return out


if __name__ == "__main__":
    main()
