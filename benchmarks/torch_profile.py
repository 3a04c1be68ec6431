"""Where a BP epoch on PyTorch tensors spends its time: weightwise's torch path against PyTorch's loop.

Both train the network of ``bp_mnist.py`` (784-500-500-10, sigmoid, softmax + cross-entropy, SGD
momentum 0.9, batch 128, float32) on the same images under ``torch.profiler``, and the script
prints, per batch: the number of ATen operator calls, the CPU time inside the matrix products
(``mm``/``addmm``) and inside everything else. It answers the question behind issue 14's torch
target: how much of each loop is arithmetic that any implementation must do, and how much is
the rest (elementwise passes and per-operator dispatch), so what ratio over PyTorch a loop built
from PyTorch operators can reach at best.

    python benchmarks/torch_profile.py --mnist /work/shared/data/mnist --batches 200 --threads 1

The profiler adds a few microseconds to every operator call, so the absolute times are above
``bp_mnist.py``'s; the counts and the matrix-product times are what to read.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bp_mnist  # noqa: E402

PRODUCTS = frozenset({"aten::mm", "aten::addmm", "aten::addmm_", "aten::matmul_out", "aten::mm_out"})


def _profile(step: Callable[[], Any], batches: int) -> dict[str, float]:
    """Run ``step`` (one epoch over ``batches`` batches) under the profiler; per-batch figures."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    step()  # warm-up: buffers, first-call dispatch
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    self_us: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    for event in prof.key_averages():
        if event.key.startswith("aten::"):
            self_us[event.key] += event.self_cpu_time_total
            calls[event.key] += event.count
    products = sum(v for k, v in self_us.items() if k in PRODUCTS)
    total = sum(self_us.values())
    del torch
    return {
        "aten_calls_per_batch": sum(calls.values()) / batches,
        "product_ms_per_batch": products / 1e3 / batches,
        "other_ms_per_batch": (total - products) / 1e3 / batches,
        "top_other": sorted(
            (
                (k, v / 1e3 / batches, calls[k] / batches)
                for k, v in self_us.items()
                if k not in PRODUCTS
            ),
            key=lambda t: -t[1],
        )[:8],
    }


def dispatch_us(repeats: int = 20000) -> float:
    """Microseconds of one in-place PyTorch operator on a 10-element tensor: the fixed cost that
    every operator call pays before any arithmetic (the best of 5 timings)."""
    import time

    import torch

    x, y = torch.zeros(10), torch.ones(10)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeats):
            x.add_(y)
        best = min(best, (time.perf_counter() - t0) / repeats * 1e6)
    return best


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mnist", default=None)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    X, y, source = bp_mnist.load(args.mnist, args.batches * bp_mnist.BATCH)
    print(f"data: {source}; {X.shape[0]} images, {args.batches} batches, {args.threads} threads")
    contenders = {
        "weightwise torch": bp_mnist.weightwise_epoch(X, y, "torch", "cpu"),
        "pytorch loop": bp_mnist.torch_epoch(X, y, "cpu"),
    }
    out = {name: _profile(step, args.batches) for name, step in contenders.items()}
    print(f"\n  {'per batch':<18} {'ATen calls':>10} {'products ms':>12} {'the rest ms':>12}")
    for name, r in out.items():
        print(
            f"  {name:<18} {r['aten_calls_per_batch']:10.1f} {r['product_ms_per_batch']:12.3f} "
            f"{r['other_ms_per_batch']:12.3f}"
        )
    for name, r in out.items():
        print(f"\n  {name}, largest other operators (ms per batch, calls per batch):")
        for key, ms, n in r["top_other"]:
            print(f"    {key:<36} {ms:7.3f}  {n:5.1f}")
    wt, pt = out["weightwise torch"], out["pytorch loop"]
    floor = min(wt["product_ms_per_batch"], pt["product_ms_per_batch"])
    pytorch_total = pt["product_ms_per_batch"] + pt["other_ms_per_batch"]
    print(
        f"\n  PyTorch's loop / the products alone: {pytorch_total / floor:.2f} (the most any loop "
        "that does these products could gain over PyTorch's)"
    )
    budget = pytorch_total / 1.3 - floor
    print(
        f"  a 1.3x lead over PyTorch leaves the rest {budget:.3f} ms per batch; weightwise's rest "
        f"is {wt['other_ms_per_batch']:.3f} ms"
    )
    cost = dispatch_us()
    print(
        f"  one operator call costs {cost:.1f} us before any arithmetic, so that budget pays for "
        f"at most {1e3 * max(budget, 0) / cost:.0f} calls with no arithmetic at all (weightwise "
        f"makes {wt['aten_calls_per_batch']:.0f} ATen calls a batch, PyTorch's loop "
        f"{pt['aten_calls_per_batch']:.0f})"
    )
    out["dispatch_us"] = cost
    return out


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
