"""The ``weightwise`` command line.

A thin layer over the library: it parses options, loads data, hands them to the estimators, the
model files and the back-propagation engine, and prints rich tables. Nothing here does maths.

Exit codes: 0 success; 2 usage errors (typer's: an unknown option, a value of the wrong type);
1 for data or model errors, printed as one line ``error: <problem>; <fix>`` with no traceback
unless ``weightwise --debug ...`` is given.
"""

from __future__ import annotations

import functools
import inspect
import math
import statistics
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import numpy as np
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from . import __version__
from .errors import ConfigError, DataError, WeightwiseError

app = typer.Typer(
    name="weightwise",
    help="How should a neural network's weights be adjusted? Back-propagation and greedy "
    "layer-wise pre-training, with measured evidence.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

_state = {"debug": False}

# Errors a user can fix (bad data, a bad model file, a bad setting): one line, exit 1. Anything
# else is a bug in weightwise and keeps its traceback.
USER_ERRORS: tuple[type[BaseException], ...] = (
    WeightwiseError,
    FileNotFoundError,
    ValueError,
    ImportError,
    OSError,
)

F = TypeVar("F", bound=Callable[..., Any])


def one_line(exc: BaseException) -> str:
    """The exception's message on a single line (newlines and runs of spaces collapsed)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _report(exc: BaseException) -> None:
    err_console.print(f"error: {one_line(exc)}", highlight=False, markup=False, soft_wrap=True)


def _user_errors_exit_1(command: F) -> F:
    """Turn a user error raised by ``command`` into one line on stderr and exit status 1.

    Done inside each command (not only in :func:`main`) so that ``typer.testing.CliRunner``, which
    calls the app directly, sees the same behaviour as the console script.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as exc:
            if _state["debug"]:
                raise
            _report(exc)
            raise typer.Exit(1) from None

    wrapper.__doc__ = reflow(command.__doc__ or "")
    return wrapper  # type: ignore[return-value]


def reflow(doc: str) -> str:
    """Join the hard-wrapped lines of each docstring paragraph, keeping list items on their own lines.

    typer's rich help keeps single line breaks after the first paragraph, so a docstring wrapped at
    the source's line length would print ragged.
    """
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    out = []
    for par in paragraphs:
        lines = par.splitlines()
        if any(line.lstrip().startswith(("- ", "* ")) for line in lines):
            out.append(par)
        else:
            out.append(" ".join(line.strip() for line in lines))
    return "\n\n".join(out)


def _version(value: bool) -> None:
    if value:
        console.print(f"weightwise {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    _state["debug"] = debug


# --------------------------------------------------------------------------------------------------
# option parsing


def parse_layers(spec: str, option: str = "--layers") -> list[int]:
    """Layer sizes from a string such as ``"64-100-100-10"`` (``,`` also separates).

    Raises
    ------
    ConfigError
        When a part is not a positive integer; the message shows the expected form.
    """
    parts = [p.strip() for p in spec.replace(",", "-").split("-")]
    example = "e.g. 64-100-10 (input, hidden, output sizes) or 100-100 (hidden sizes only)"
    if not spec.strip() or any(p == "" for p in parts):
        raise ConfigError(
            f"{option} {spec!r} does not parse: write positive integers joined by '-', {example}"
        )
    sizes = []
    for p in parts:
        if not p.isdigit() or int(p) < 1:
            raise ConfigError(
                f"{option} {spec!r} does not parse: {p!r} is not a positive integer; write positive "
                f"integers joined by '-', {example}"
            )
        sizes.append(int(p))
    return sizes


def hidden_sizes(sizes: Sequence[int], n_features: int, n_outputs: Sequence[int]) -> tuple[int, ...]:
    """The hidden sizes meant by ``--layers``: full sizes (input-hidden-output) or hidden only.

    ``sizes`` is read as *full* when it has at least three sizes and either its first size equals
    the data's feature count or its last size is a valid output size; then both ends must match.
    Otherwise every size is a hidden layer (``--hidden`` always means that).

    Parameters
    ----------
    sizes : sequence of int
    n_features : int
        Columns of the training data.
    n_outputs : sequence of int
        Output sizes that fit the task (a binary classifier may have 1 or 2 output units).
    """
    sizes = list(sizes)
    looks_full = len(sizes) >= 3 and (sizes[0] == n_features or sizes[-1] in n_outputs)
    if not looks_full:
        return tuple(sizes)
    spec = "-".join(map(str, sizes))
    outs = " or ".join(map(str, n_outputs))
    if sizes[0] != n_features:
        fixed = "-".join(map(str, [n_features, *sizes[1:]]))
        raise DataError(
            f"--layers {spec}: the first size {sizes[0]} must equal the data's feature count "
            f"{n_features}; use --layers {fixed}, or give hidden sizes only with "
            f"--hidden {'-'.join(map(str, sizes))}"
        )
    if sizes[-1] not in n_outputs:
        fixed = "-".join(map(str, [*sizes[:-1], n_outputs[-1]]))
        raise DataError(
            f"--layers {spec}: the last size {sizes[-1]} must equal the number of outputs {outs} "
            f"(classes, or target columns); use --layers {fixed}, or give hidden sizes only with "
            f"--hidden {'-'.join(map(str, sizes[1:]))}"
        )
    return tuple(sizes[1:-1])


def parse_activation(spec: str) -> str | tuple[str, ...]:
    """One activation name, or one per hidden layer separated by commas (``"relu,tanh"``)."""
    names = tuple(s.strip() for s in spec.split(","))
    return names[0] if len(names) == 1 else names


def parse_batch_size(spec: str) -> int | str:
    """``"auto"``, ``"full"`` or a positive integer."""
    if spec in ("auto", "full"):
        return spec
    if spec.isdigit() and int(spec) > 0:
        return int(spec)
    raise ConfigError(f"--batch-size {spec!r}: give a positive integer, 'auto' or 'full'")


# --------------------------------------------------------------------------------------------------
# progress


class EpochProgress:
    """A rich progress bar driven as a ``fit`` callback: epoch, loss, accuracy and time left.

    Use it as a context manager and pass the instance in ``callbacks``; it never stops training
    (returns ``None``). The bar's total is the epoch limit, so the time left assumes no early stop.

    Parameters
    ----------
    epochs : int
        The epoch limit.
    console : rich Console, optional
        Where to draw (stderr by default, so stdout stays clean for tables and pipes).
    enabled : bool
        ``False`` draws nothing (``--no-progress``).
    """

    def __init__(self, epochs: int, console: Console | None = None, enabled: bool = True) -> None:
        self.epochs = epochs
        self.progress = Progress(
            TextColumn("[bold]epoch"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("acc {task.fields[acc]}"),
            TextColumn("val {task.fields[val]}"),
            TimeElapsedColumn(),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console if console is not None else err_console,
            disable=not enabled,
            transient=False,
        )
        self.task = self.progress.add_task("train", total=epochs, loss="-", acc="-", val="-")
        self.last_epoch = 0

    def __enter__(self) -> EpochProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, info: Any) -> None:
        """Advance to ``info.epoch``; ``info.logs`` holds ``loss``, ``metric``, ``val_metric``."""
        logs = info.logs
        self.last_epoch = info.epoch
        self.progress.update(
            self.task,
            completed=info.epoch,
            total=info.epochs,
            loss=_fmt(logs.get("loss"), ".4f"),
            acc=_fmt(logs.get("metric"), ".3f"),
            val=_fmt(logs.get("val_metric", logs.get("val_loss")), ".3f"),
        )


def _fmt(value: Any, spec: str) -> str:
    """A number for a table or bar; '-' for missing or NaN values."""
    if value is None:
        return "-"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "-" if math.isnan(v) else format(v, spec)


# --------------------------------------------------------------------------------------------------
# xor


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
    n_jobs: Annotated[int, typer.Option(help="Parallel workers for --seeds (joblib).")] = 1,
) -> None:
    """The textbook example: a 2-4-1 sigmoid network learns XOR by back-propagation.

    Weights and biases from N(0, 1), full batch of 4, squared error with output delta
    (a - y) a (1 - a), gradients summed over the batch, learning rate 0.1, 10,000 epochs.
    """
    from .presets import run_xor

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

    results = Parallel(n_jobs=n_jobs)(delayed(one)(s) for s in range(seeds))
    solved = [e for ok, e in results if ok and e is not None]
    n_ok = sum(ok for ok, _ in results)
    console.print(
        f"[bold]{n_ok} of {seeds}[/bold] random initialisations solve XOR within {epochs} epochs "
        f"(lr {learning_rate}); {seeds - n_ok} end in a local minimum or plateau."
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


# --------------------------------------------------------------------------------------------------
# gradcheck

GRADCHECK_TOLERANCE = 1e-6


def _gradcheck_targets(loss: str, output_activation: str, n: int, n_out: int, rng: Any) -> np.ndarray:
    """Targets of shape (n, n_out) that fit the loss: one-hot rows, 0/1 labels, or real values."""
    if loss == "cross_entropy":
        return np.eye(n_out)[rng.integers(0, n_out, size=n)]
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, size=(n, n_out)).astype(float)
    if output_activation in ("sigmoid", "softmax"):
        return rng.uniform(0.05, 0.95, size=(n, n_out))
    return rng.normal(size=(n, n_out))


@app.command()
@_user_errors_exit_1
def gradcheck(
    layers: Annotated[
        str, typer.Option(help="Full layer sizes, input to output, joined by '-' (e.g. 4-8-3).")
    ] = "4-8-3",
    activation: Annotated[
        str, typer.Option(help="Hidden activation, or one per hidden layer joined by ','.")
    ] = "tanh",
    loss: Annotated[
        str, typer.Option(help="squared_error, cross_entropy (softmax) or binary_cross_entropy.")
    ] = "cross_entropy",
    output_activation: Annotated[
        str | None,
        typer.Option(
            help="Output activation; default softmax for cross_entropy, sigmoid for "
            "binary_cross_entropy, identity for squared_error."
        ),
    ] = None,
    init: Annotated[str, typer.Option(help="Initialiser of the random network.")] = "xavier_uniform",
    reduction: Annotated[str, typer.Option(help="mean or sum over the samples.")] = "mean",
    samples: Annotated[int, typer.Option(min=1, help="Random samples in the batch.")] = 5,
    eps: Annotated[float, typer.Option(min=0.0, help="Finite-difference step h.")] = 1e-5,
    seed: Annotated[int, typer.Option(help="Seed of the network and the data.")] = 0,
) -> None:
    """Check back-propagation against central finite differences on a random float64 network.

    Every weight and bias is nudged by +-h and the loss difference (L(w+h) - L(w-h)) / 2h is
    compared with the back-propagated gradient. Prints the largest relative error per layer and
    PASS (exit 0) when all are below 1e-6, FAIL (exit 1) otherwise. It costs two forward passes per
    parameter: keep the network small.
    """
    from .backprop.gradcheck import gradcheck as run_gradcheck
    from .net.backend import Random
    from .net.losses import get_loss
    from .net.network import Network

    sizes = parse_layers(layers)
    if len(sizes) < 2:
        raise ConfigError(
            f"--layers {layers!r}: gradcheck needs full sizes, at least input and output (e.g. 4-8-3)"
        )
    loss_fn = get_loss(loss)
    if output_activation is None:
        output_activation = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(
            loss_fn.name, "identity"
        )
    rng = Random(seed)
    net = Network.create(
        sizes, parse_activation(activation), output_activation, init, rng, dtype="float64"
    )
    loss_fn.check_output(net.layers[-1].activation)
    # Most initialisers set biases to zero; a sample whose ReLU units are all off then gives the
    # next layer pre-activations of exactly 0, on the kink where finite differences are wrong.
    # Small random biases keep every pre-activation off the kink without changing what is checked.
    for layer in net.layers:
        layer.b[...] = rng.normal(0.1, (layer.n_out,))
    X = rng.numpy.normal(size=(samples, sizes[0]))
    Y = _gradcheck_targets(loss_fn.name, output_activation, samples, sizes[-1], rng.numpy)
    result = run_gradcheck(net, X, Y, loss_fn, reduction=reduction, eps=eps)
    near_kink = sum(int(np.sum(np.abs(z) < 10 * eps)) for z in net.forward(X).zs)

    table = Table(
        title=f"gradcheck {'-'.join(map(str, sizes))}, {','.join(net.activation_names)}, "
        f"{loss_fn.name} ({reduction}), {samples} samples, float64"
    )
    for col in ("layer", "W shape", "max rel. error W", "max rel. error b", ""):
        table.add_column(col, justify="right")
    for l, (layer, eW, eb) in enumerate(
        zip(net.layers, result.max_rel_error_W, result.max_rel_error_b, strict=True), 1
    ):
        ok = max(eW, eb) < GRADCHECK_TOLERANCE
        table.add_row(
            str(l),
            f"{layer.n_in}x{layer.n_out}",
            f"{eW:.2e}",
            f"{eb:.2e}",
            "[green]ok[/green]" if ok else "[red]too large[/red]",
        )
    console.print(table)
    worst = result.max_rel_error
    if worst < GRADCHECK_TOLERANCE:
        console.print(f"[bold green]PASS[/bold green]: max relative error {worst:.2e} < 1e-6")
        return
    kink = {"relu", "leaky_relu"} & set(net.activation_names)
    hint = (
        f"; {near_kink} pre-activations lie within 10h of a {'/'.join(sorted(kink))} kink at 0, "
        "where differences are wrong: try another --seed"
        if kink and near_kink
        else ""
    )
    console.print(f"[bold red]FAIL[/bold red]: max relative error {worst:.2e} >= 1e-6{hint}")
    raise typer.Exit(1)


def main() -> None:
    """Entry point: usage errors exit 2 (typer's); data and model errors print one line, exit 1."""
    try:
        app()
    except USER_ERRORS as exc:
        if _state["debug"]:
            raise
        _report(exc)
        sys.exit(1)


if __name__ == "__main__":
    main()
