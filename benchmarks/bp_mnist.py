"""Back-propagation speed on MNIST: weightwise vs scikit-learn vs PyTorch vs the matmul floor.

Trains 784-500-500-10 (sigmoid hidden, softmax + cross-entropy, SGD momentum 0.9, lr 0.1, batch 128,
float32) for a few epochs with

- weightwise (NumPy backend),
- scikit-learn's ``MLPClassifier`` with the same settings,
- PyTorch (CPU, 2 threads), a plain ``nn.Sequential`` loop,

and times the matrix products of one epoch alone (the floor: 3 forward, 3 weight-gradient and 2
delta products per batch). Prints seconds per epoch, ratios and GFLOP/s, and weightwise's peak
memory above the data (tracemalloc sees NumPy's allocations).

Usage::

    python benchmarks/bp_mnist.py [--mnist PATH] [--epochs 3] [--n-samples 60000]

MNIST comes from ``--mnist``, ``$WEIGHTWISE_MNIST`` or ``../shared/data/mnist``; random data of the
same shape when absent.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from pathlib import Path

import numpy as np

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


def floor_epoch(X: np.ndarray, Ws: list[np.ndarray]) -> float:
    """Seconds for the matrix products of one epoch alone."""
    deltas = [np.ones((BATCH, W.shape[1]), np.float32) for W in Ws]
    t0 = time.perf_counter()
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
    return time.perf_counter() - t0


def bench_weightwise(X: np.ndarray, y: np.ndarray, epochs: int) -> tuple[float, float, float]:
    """Best seconds per epoch (untraced), peak MiB above the data (a traced run), accuracy."""
    import weightwise as ww

    Y = np.eye(10, dtype=np.float32)[y]

    def run(n_epochs: int) -> ww.History:
        net = ww.Network.create(SIZES, "sigmoid", "softmax", "xavier_uniform", seed=0)
        opt = ww.SGD(LR, momentum=MOMENTUM)
        return ww.fit(
            net, X, Y, loss="cross_entropy", optimizer=opt, epochs=n_epochs, batch_size=BATCH, seed=0
        )

    hist = run(epochs)
    # tracemalloc slows every allocation, so memory is measured in a separate one-epoch run.
    tracemalloc.start()
    run(1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return min(hist.seconds), peak / 2**20, hist.metric[-1]


def bench_sklearn(X: np.ndarray, y: np.ndarray, epochs: int) -> float:
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
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(epochs):
            t0 = time.perf_counter()
            clf.fit(X, y)
            times.append(time.perf_counter() - t0)
    return min(times)


def bench_torch(X: np.ndarray, y: np.ndarray, epochs: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    torch.manual_seed(0)
    layers: list = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=False)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.Sigmoid())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    lossf = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(Xt.shape[0])
        for lo in range(0, Xt.shape[0], BATCH):
            idx = perm[lo : lo + BATCH]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", default=None, help="folder with the four MNIST IDX files")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=60_000)
    args = parser.parse_args()

    X, y, source = load(args.mnist, args.n_samples)
    n = X.shape[0]
    print(f"data: {source}, X {X.shape} {X.dtype} ({X.nbytes / 2**20:.0f} MiB)")
    try:
        from threadpoolctl import threadpool_info

        blas = [(i["internal_api"], i["num_threads"]) for i in threadpool_info()]
        print(f"BLAS: {blas}")
    except ImportError:
        pass

    rng = np.random.default_rng(0)
    Ws = [
        rng.standard_normal((a, b)).astype(np.float32) * 0.05
        for a, b in zip(SIZES[:-1], SIZES[1:], strict=False)
    ]
    floor = min(floor_epoch(X, Ws) for _ in range(args.epochs))
    ww_s, ww_peak, ww_acc = bench_weightwise(X, y, args.epochs)
    sk_s = bench_sklearn(X, y, args.epochs)
    pt_s = bench_torch(X, y, args.epochs)

    gflop = flops_per_epoch(n) / 1e9
    print(f"\nseconds per epoch (best of {args.epochs}), {n} samples, batch {BATCH}:")
    rows = [("matmul floor", floor), ("weightwise", ww_s), ("scikit-learn", sk_s)]
    if pt_s is not None:
        rows.append(("pytorch (2 threads)", pt_s))
    for name, s in rows:
        print(f"  {name:<20} {s:8.3f} s   {gflop / s:6.1f} GFLOP/s   {s / floor:5.2f}x floor")
    print("\nratios:")
    print(f"  weightwise / floor        {ww_s / floor:5.2f}   (target <= 1.15)")
    print(f"  scikit-learn / weightwise {sk_s / ww_s:5.2f}   (target >= 1.5)")
    if pt_s is not None:
        print(f"  pytorch / weightwise      {pt_s / ww_s:5.2f}   (target >= 1.3)")
    print(
        f"\nweightwise peak memory during fit: {ww_peak:.1f} MiB above the data "
        f"(target < 60 MiB); train accuracy after {args.epochs} epochs: {ww_acc:.4f}"
    )


if __name__ == "__main__":
    main()
