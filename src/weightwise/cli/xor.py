"""``weightwise xor``: the textbook 2-4-1 example."""

from __future__ import annotations

import statistics
from typing import Annotated

import numpy as np
import typer
from rich.table import Table
from rich.text import Text

from ..errors import WeightwiseError
from .base import _user_errors_exit_1, app, console
from .progress import count_bar


@app.command()
@_user_errors_exit_1
def xor(
    seed: Annotated[int, typer.Option(help="Seed of the N(0, 1) initial weights.")] = 0,
    seeds: Annotated[
        int,
        typer.Option(
            help="Train from this many random initialisations (seeds 0..N-1) and "
            "report how many solve XOR and how many epochs they needed."
        ),
    ] = 0,
    epochs: Annotated[int, typer.Option(help="Epoch limit (the textbook's 10,000).")] = 10_000,
    learning_rate: Annotated[float, typer.Option("--lr", help="Learning rate.")] = 0.1,
    dtype: Annotated[str, typer.Option(help="float32 or float64.")] = "float64",
    backend: Annotated[str, typer.Option(help="numpy or torch.")] = "numpy",
    n_jobs: Annotated[
        int, typer.Option(help="Parallel workers for --seeds (joblib; -1 uses every core).")
    ] = -1,
    progress: Annotated[
        bool, typer.Option(help="Show a progress bar over the seeds (with --seeds).")
    ] = True,
) -> None:
    """The textbook example: a 2-4-1 sigmoid network learns XOR by back-propagation.

    Weights and biases from N(0, 1), full batch of 4, squared error with output delta
    (a - y) a (1 - a), gradients summed over the batch, learning rate 0.1, 10,000 epochs.
    One run takes about 1 s; --seeds 100 about 40 s (measured on 2 cores).
    """
    from ..presets import run_xor

    if seeds < 0:
        raise WeightwiseError(f"--seeds must be >= 0, got {seeds}")
    if seeds == 0:
        r = run_xor(seed, dtype=dtype, backend=backend, epochs=epochs, learning_rate=learning_rate)
        table = Table(title=f"XOR, 2-4-1 sigmoid, seed {seed}, {r.history.n_epochs} epochs")
        for col in ("x1", "x2", "target", "output"):
            table.add_column(col, justify="right")
        for (x1, x2), t, o in zip(r.X, r.y, r.outputs, strict=True):
            table.add_row(f"{x1:g}", f"{x2:g}", f"{t:g}", f"{o:.4f}")
        console.print(table)
        verdict = "solved" if r.solved else "NOT solved (a local minimum or too few epochs)"
        console.print(f"final loss {r.history.loss[-1]:.6f}; {verdict}")
        return

    from joblib import Parallel, delayed

    def one(s: int) -> tuple[bool, int | None]:
        r = run_xor(s, dtype=dtype, backend=backend, epochs=epochs, learning_rate=learning_rate)
        return r.solved, r.epochs_to_solve

    results = []
    bar = count_bar("seeds", enabled=progress)
    task = bar.add_task("xor", total=seeds)
    with bar:
        runs = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
            delayed(one)(s) for s in range(seeds)
        )
        for r in runs:
            results.append(r)
            bar.advance(task)
    solved = [e for ok, e in results if ok and e is not None]
    n_ok = sum(ok for ok, _ in results)
    console.print(
        Text.assemble(
            (f"{n_ok} of {seeds}", "bold"),
            f" random initialisations solve XOR within {epochs} epochs (lr {learning_rate}); "
            f"{seeds - n_ok} do not (a local minimum, a plateau, or too few epochs).",
        )
    )
    if solved:
        table = Table(title="Epochs needed by the runs that solved XOR")
        for col in ("min", "25%", "median", "75%", "max", "mean"):
            table.add_column(col, justify="right")
        q = np.percentile(solved, [0, 25, 50, 75, 100])
        table.add_row(*(f"{v:.0f}" for v in q), f"{statistics.fmean(solved):.0f}")
        console.print(table)
        hist, edges = np.histogram(solved, bins=min(10, len(set(solved))))
        width = max(hist)
        for h, lo, hi in zip(hist, edges[:-1], edges[1:], strict=True):
            console.print(f"{lo:7.0f}-{hi:<7.0f} {'#' * int(round(40 * h / width)):<40} {h}")
