"""The round-robin timer both MNIST benchmarks share: same clock, same call, contenders alternating.

Each contender is a callable that runs one epoch. Every round calls each contender once, in
turn, and measures around that call alone:

- wall seconds (``time.perf_counter``) and CPU seconds of the whole process
  (``time.process_time``, every thread), after ``sync()`` for a GPU;
- peak memory: the peak resident set size during the call above the resident size before it
  (Linux resets the peak through ``/proc/self/clear_refs``; freed heap is handed back to the
  system with ``malloc_trim`` first so one contender's leftovers do not hide another's needs);
  on a CUDA device, ``torch.cuda.max_memory_allocated`` above the allocation before the call.

Between calls the process sleeps briefly (untimed) so that the previous contender's spinning
BLAS/OpenMP worker threads go idle instead of competing with the next one on a 2-core machine.
Ratios are the median over rounds of each round's ratio, so a slow spell of a shared machine
falls on every contender of that round alike.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PAUSE_S = 0.3  # untimed, between contenders: longer than OpenBLAS's and libgomp's spin-waits


@dataclass
class Runs:
    """Per-contender lists of wall seconds, CPU seconds and peak MiB, one entry per round."""

    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    mem: dict[str, list[float]] = field(default_factory=dict)


def _rss_kib(key: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _trim() -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def cuda_sync(device: str) -> Callable[[], None]:
    """A function that waits for the GPU (a no-op on the CPU)."""
    if not device.startswith("cuda"):
        return lambda: None
    import torch

    return torch.cuda.synchronize


def measure(name: str, run: Callable[[], Any], runs: Runs, gpu: bool) -> None:
    """Time one call of ``run`` and record wall, CPU and peak memory under ``name``.

    ``gpu``: the contender works on a CUDA device (synchronised before and after the call).
    """
    sync = cuda_sync("cuda" if gpu else "cpu")
    _trim()
    time.sleep(PAUSE_S)
    if gpu:
        import torch

        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        can_reset = _reset_peak()
        base = _rss_kib("VmRSS") or 0.0
    sync()
    c0, t0 = time.process_time(), time.perf_counter()
    run()
    sync()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if gpu:
        peak_mib = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        peak = _rss_kib("VmHWM") if can_reset else None
        peak_mib = (peak - base) / 1024 if peak is not None else float("nan")
    runs.wall.setdefault(name, []).append(wall)
    runs.cpu.setdefault(name, []).append(cpu)
    runs.mem.setdefault(name, []).append(peak_mib)


def round_robin(
    contenders: dict[str, Callable[[], Any]], rounds: int, on_gpu: frozenset[str] = frozenset()
) -> Runs:
    """``rounds`` rounds, each calling every contender once, in the order given; the names in
    ``on_gpu`` run on a CUDA device."""
    runs = Runs()
    for r in range(rounds):
        for name, run in contenders.items():
            measure(name, run, runs, name in on_gpu)
        print(f"  round {r + 1}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in runs.wall.items()))
    return runs


def ratio(runs: Runs, slow: str, fast: str) -> tuple[float, list[float]] | None:
    """Median over rounds of ``wall[slow] / wall[fast]``, and the per-round ratios."""
    if slow not in runs.wall or fast not in runs.wall:
        return None
    per_round = [s / f for s, f in zip(runs.wall[slow], runs.wall[fast], strict=True)]
    return statistics.median(per_round), per_round


def report(
    runs: Runs,
    ratios: list[tuple[str, str, str]],
    per_epoch_flops: float | None = None,
    note: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Print the table and the ratios; return them (for ``--json``)."""
    note = note or {}
    print(
        f"\n  {'contender':<20} {'wall s':>8} {'(min-max)':>15} {'cpu s':>8} {'peak MiB':>9}"
        + ("  GFLOP/s" if per_epoch_flops else "")
    )
    out: dict[str, Any] = {"rows": {}, "ratios": {}}
    for name, walls in runs.wall.items():
        wall, cpu = statistics.median(walls), statistics.median(runs.cpu[name])
        mem = statistics.median(runs.mem[name])
        rate = f"  {per_epoch_flops / wall / 1e9:7.1f}" if per_epoch_flops else ""
        print(
            f"  {name:<20} {wall:8.3f} ({min(walls):6.3f}-{max(walls):6.3f}) {cpu:8.3f} "
            f"{mem:9.1f}{rate}  {note.get(name, '')}"
        )
        out["rows"][name] = {"wall": wall, "cpu": cpu, "peak_mib": mem, "walls": walls}
    print("\n  ratio (median of per-round ratios)         measured   target   per round")
    for slow, fast, target in ratios:
        got = ratio(runs, slow, fast)
        if got is None:
            continue
        median, per_round = got
        each = " ".join(f"{x:.2f}" for x in per_round)
        print(f"  {slow + ' / ' + fast:<42} {median:7.2f}   {target:>7}   {each}")
        out["ratios"][f"{slow}/{fast}"] = {"median": median, "rounds": per_round, "target": target}
    return out


def write_json(path: str | None, payload: dict[str, Any]) -> None:
    if path:
        with open(path, "w") as f:
            json.dump(payload, f, indent=1)
        print(f"\nwrote {path}")


def machine() -> str:
    """The CPU model and the core count, for the record."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{model}, {os.cpu_count()} cores, load average {load:.1f}"
