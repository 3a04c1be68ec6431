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
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

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


def split_layers(
    sizes: Sequence[int], n_features: int, n_outputs: Sequence[int]
) -> tuple[tuple[int, ...], int | None]:
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

    Returns
    -------
    hidden : tuple of int
    n_out : int or None
        The output size when ``sizes`` were full sizes, else None.
    """
    sizes = list(sizes)
    looks_full = len(sizes) >= 3 and (sizes[0] == n_features or sizes[-1] in n_outputs)
    if not looks_full:
        return tuple(sizes), None
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
    return tuple(sizes[1:-1]), sizes[-1]


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
    accuracy : bool
        Show the training accuracy (classifiers).
    validation : bool
        Show the validation score (early stopping).
    console : rich Console, optional
        Where to draw (stderr by default, so stdout stays clean for tables and pipes).
    enabled : bool
        ``False`` draws nothing (``--no-progress``).
    """

    def __init__(
        self,
        epochs: int,
        accuracy: bool = True,
        validation: bool = False,
        console: Console | None = None,
        enabled: bool = True,
    ) -> None:
        columns: list[Any] = [
            TextColumn("[bold]epoch"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("loss {task.fields[loss]}"),
        ]
        if accuracy:
            columns.append(TextColumn("acc {task.fields[acc]}"))
        if validation:
            columns.append(TextColumn("val {task.fields[val]}"))
        columns += [TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn()]
        self.progress = Progress(
            *columns, console=console if console is not None else err_console, disable=not enabled
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
    reduction: Annotated[
        Literal["mean", "sum"], typer.Option(help="Average or add over the samples.")
    ] = "mean",
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


# --------------------------------------------------------------------------------------------------
# data

DEFAULT_MODEL = "weightwise-model.safetensors"


@dataclass
class Split:
    """Training and test data of one ``--data`` source.

    Attributes
    ----------
    X_train : ndarray of shape (n_train, n_features)
    X_test : ndarray of shape (n_test, n_features) or None
    y_train : ndarray of shape (n_train,) or (n_train, n_outputs)
    y_test : ndarray or None
    name : str
        What the data is, for the tables.
    """

    X_train: np.ndarray
    X_test: np.ndarray | None
    y_train: np.ndarray
    y_test: np.ndarray | None
    name: str


def load_split(
    data: str,
    target: str | None = None,
    test_size: float = 0.25,
    seed: int | None = 0,
    mnist_path: Path | None = None,
    download: bool = False,
    stratify: bool = True,
) -> Split:
    """Load ``--data``: ``digits``, ``mnist``, a ``.csv`` (with ``target``) or an ``.npz`` (X, y).

    digits and MNIST come with their fixed test sets; a CSV or NPZ is split here,
    ``test_size`` of it held out (stratified by label when ``stratify`` and every class has two
    samples); ``test_size=0`` keeps everything for training.
    """
    from . import datasets

    if data == "digits":
        X_train, X_test, y_train, y_test = datasets.load_digits()
        return Split(X_train, X_test, y_train, y_test, "digits")
    if data == "mnist":
        try:
            X_train, X_test, y_train, y_test = datasets.load_mnist(path=mnist_path, download=download)
        except FileNotFoundError as exc:
            raise DataError(f"{one_line(exc)} (here: --mnist-path FOLDER or --download)") from exc
        return Split(X_train, X_test, y_train, y_test, "MNIST")
    path = Path(data)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npz"):
        raise DataError(
            f"--data {data!r}: give 'digits', 'mnist', a .csv file (with --target COLUMN) or an "
            ".npz file holding arrays X and y"
        )
    if suffix == ".csv":
        if target is None:
            raise DataError(f"--data {data}: a CSV needs --target COLUMN, the name of the label column")
        X, y, _ = datasets.load_csv(path, target)
    else:
        X, y = datasets.load_npz(path)
    if not 0.0 <= test_size < 1.0:
        raise ConfigError(f"--test-size must be in [0, 1), got {test_size}")
    if test_size == 0.0:
        return Split(X, None, y, None, path.name)
    from sklearn.model_selection import train_test_split

    strata = None
    if stratify and y.ndim == 1:
        _, counts = np.unique(y, return_counts=True)
        strata = y if counts.min() >= 2 else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=strata
    )
    return Split(X_train, X_test, y_train, y_test, path.name)


def read_features(data: str, target: str | None = None) -> np.ndarray:
    """Features to predict from: ``digits``/``mnist`` test images, a CSV or an NPZ's ``X``.

    A CSV has a header row; with ``target`` that column is dropped, otherwise every column is a
    feature. Nothing is unpickled.
    """
    from . import datasets

    if data in ("digits", "mnist"):
        return load_split(data).X_test  # type: ignore[return-value]
    path = Path(data)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                if "X" not in getattr(archive, "files", ()):
                    raise DataError(f"{path} has no array 'X'; save it with np.savez(path, X=X)")
                X = archive["X"]
        except FileNotFoundError as exc:
            raise DataError(f"no NPZ file at {path}") from exc
        except (ValueError, OSError, EOFError) as exc:
            raise DataError(f"{path} is not a NumPy .npz file of numbers: {one_line(exc)}") from exc
    elif suffix == ".csv":
        if target is not None:
            X, _, _ = datasets.load_csv(path, target)
        else:
            X = _read_csv_features(path)
    else:
        raise DataError(f"DATA {data!r}: give a .csv file, an .npz file with array X, or digits/mnist")
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        raise DataError(f"{path}: X must be a numeric 2-D array, got shape {X.shape} dtype {X.dtype}")
    return X


def _read_csv_features(path: Path) -> np.ndarray:
    """Every column of a CSV with a header row, as float64 features (clear errors otherwise)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [row for row in csv.reader(fh) if any(cell.strip() for cell in row)]
    except FileNotFoundError as exc:
        raise DataError(f"no CSV file at {path}") from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path} cannot be read as CSV text: {one_line(exc)}") from exc
    if len(rows) < 2:
        raise DataError(f"{path} needs a header row and at least one data row")
    header = rows[0]
    X = np.empty((len(rows) - 1, len(header)))
    for i, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise DataError(
                f"{path} data row {i + 1} has {len(row)} fields but the header has {len(header)}; "
                "fix that row"
            )
        for j, cell in enumerate(row):
            try:
                X[i, j] = float(cell)
            except ValueError:
                raise DataError(
                    f"{path} data row {i + 1}, column {header[j]!r}: {cell.strip()!r} is not a number; "
                    "if it is the label column, name it with --target"
                ) from None
    return X


def _n_outputs(split: Split, task: str, output_activation: str | None) -> list[int]:
    """Output sizes that fit the data: classes (1 or 2 for two classes), or target columns."""
    y = split.y_train
    if task == "regress":
        return [1 if y.ndim == 1 else int(y.shape[1])]
    if y.ndim == 2:  # a 0/1 indicator matrix: one sigmoid unit per label
        return [int(y.shape[1])]
    labels = np.unique(y if split.y_test is None else np.concatenate([y, split.y_test]))
    if len(labels) == 2:
        return {"softmax": [2], "sigmoid": [1]}.get(output_activation or "", [1, 2])
    return [len(labels)]


def _check_task(split: Split, task: str) -> None:
    y = split.y_train
    if task == "classify" and y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
        raise DataError(
            "the target holds non-integer numbers, so it cannot be class labels; use --task regress "
            "for real-valued targets"
        )
    if task == "regress" and y.dtype.kind not in "biuf":
        raise DataError(
            f"the target holds non-numeric labels ({y[0]!r}, ...); use --task classify for labels"
        )


# --------------------------------------------------------------------------------------------------
# train


def _estimator_class(task: str) -> Any:
    from .estimators import BPClassifier, BPRegressor

    if task == "classify":
        return BPClassifier
    if task == "regress":
        return BPRegressor
    raise ConfigError(f"--task {task!r}: valid tasks are 'classify' and 'regress'")


def _with_progress(est: Any, progress: EpochProgress) -> Any:
    """``est`` reporting each epoch to ``progress``.

    An estimator with a ``callbacks`` parameter gets the bar there. Otherwise the estimator's
    per-epoch callback list is extended in a subclass that keeps the public class name, so the
    saved model file still names BPClassifier/BPRegressor. Without either, no bar is drawn.
    """
    if "callbacks" in est.get_params():
        est.set_params(callbacks=[progress])
        return est
    base = type(est)
    if not callable(getattr(base, "_callbacks", None)):
        return est

    class Watched(base):  # type: ignore[valid-type, misc]
        def _callbacks(self, *args: Any, **kwargs: Any) -> list[Any]:
            return [*super()._callbacks(*args, **kwargs), progress]

    Watched.__name__ = Watched.__qualname__ = base.__name__
    watched = Watched(**est.get_params())
    return watched


def stop_reason(reason: str) -> str:
    """A History's ``stop_reason`` in words (the estimators stop on ``tol`` through a callback)."""
    return {
        "": "the epoch limit",
        "max_epochs": "the epoch limit",
        "threshold": "the loss threshold",
        "early_stopping": "early stopping (validation score)",
        "callback": "no improvement above tol for --patience epochs",
    }.get(reason, reason)


def _loss_name(est: Any, given: Any) -> str:
    """The loss the estimator trained with (its default is chosen from the output activation)."""
    name = getattr(est, "_loss_name", None)
    return str(name()) if callable(name) else str(given)


def _metrics(est: Any, X: np.ndarray, y: np.ndarray, task: str) -> dict[str, float]:
    """Accuracy and log loss (classify) or R^2 and mean squared error (regress) on ``(X, y)``."""
    from sklearn.metrics import log_loss, mean_squared_error

    if task == "classify":
        out = {"accuracy": float(est.score(X, y))}
        if y.ndim == 1:
            proba = np.asarray(est.predict_proba(X), dtype=np.float64)
            proba /= proba.sum(axis=1, keepdims=True)  # float32 rows sum to 1 only within ~1e-7
            out["log loss"] = float(log_loss(y, proba, labels=est.classes_))
        return out
    pred = np.asarray(est.predict(X), dtype=np.float64)
    return {"R^2": float(est.score(X, y)), "mean squared error": float(mean_squared_error(y, pred))}


@app.command()
@_user_errors_exit_1
def train(
    data: Annotated[
        str,
        typer.Option(
            help="'digits' (built in), 'mnist' (IDX files, see --mnist-path), a .csv file (with "
            "--target) or an .npz file with arrays X and y."
        ),
    ] = "digits",
    target: Annotated[str | None, typer.Option(help="Label column of a CSV file.")] = None,
    mnist_path: Annotated[
        Path | None,
        typer.Option(help="Folder of the four MNIST IDX files (default: $WEIGHTWISE_DATA)."),
    ] = None,
    download: Annotated[
        bool, typer.Option("--download", help="Download missing MNIST files first.")
    ] = False,
    test_size: Annotated[
        float,
        typer.Option(
            help="Fraction of a CSV/NPZ held out for testing (0 = none); digits and MNIST have "
            "fixed test sets."
        ),
    ] = 0.25,
    task: Annotated[
        Literal["classify", "regress"],
        typer.Option(help="classify (labels) or regress (real-valued targets)."),
    ] = "classify",
    layers: Annotated[
        str | None,
        typer.Option(
            help="Full sizes input-hidden-output (64-100-100-10: the first must equal the data's "
            "features, the last its classes) or hidden sizes only (100-100). Default: one hidden "
            "layer of 100."
        ),
    ] = None,
    hidden: Annotated[
        str | None,
        typer.Option(help="Hidden sizes only, e.g. 100-50 (never read as full sizes)."),
    ] = None,
    activation: Annotated[
        str, typer.Option(help="Hidden activation, or one per hidden layer joined by ','.")
    ] = "relu",
    output_activation: Annotated[
        str | None,
        typer.Option(
            help="Output activation; default softmax (one sigmoid unit for two classes) to "
            "classify, identity to regress. The textbook's is sigmoid."
        ),
    ] = None,
    loss: Annotated[
        str | None,
        typer.Option(
            help="squared_error, cross_entropy or binary_cross_entropy; default: the one that "
            "fits the output activation."
        ),
    ] = None,
    init: Annotated[
        str, typer.Option(help="Initialiser: normal, xavier_uniform, he_normal, lecun_normal, ...")
    ] = "xavier_uniform",
    solver: Annotated[Literal["sgd", "adam"], typer.Option(help="The optimiser.")] = "adam",
    lr: Annotated[float, typer.Option("--lr", help="Initial learning rate.")] = 0.001,
    schedule: Annotated[
        Literal["constant", "step", "inverse_scaling", "exponential"],
        typer.Option(
            help="Learning-rate schedule: step multiplies by --lr-gamma every --lr-step-size "
            "epochs, exponential by --lr-gamma every epoch, inverse_scaling divides by "
            "epoch^--power-t."
        ),
    ] = "constant",
    lr_step_size: Annotated[int, typer.Option(help="Epochs between step decays.")] = 10,
    lr_gamma: Annotated[float, typer.Option(help="Decay factor of step and exponential.")] = 0.5,
    power_t: Annotated[float, typer.Option(help="Exponent of inverse_scaling.")] = 0.5,
    momentum: Annotated[float, typer.Option(help="SGD momentum in [0, 1).")] = 0.9,
    nesterov: Annotated[bool, typer.Option(help="Nesterov momentum (SGD).")] = False,
    alpha: Annotated[float, typer.Option(help="L2 penalty (weight decay).")] = 1e-4,
    batch_size: Annotated[
        str, typer.Option(help="Mini-batch size: an integer, 'auto' (min(200, n)) or 'full'.")
    ] = "auto",
    epochs: Annotated[int, typer.Option(help="Epoch limit.")] = 200,
    threshold: Annotated[
        float | None,
        typer.Option(help="Stop once the training loss falls below this (the textbook's rule)."),
    ] = None,
    tol: Annotated[
        float,
        typer.Option(
            help="Stop when the loss (or validation score) has not improved by tol for "
            "--patience epochs."
        ),
    ] = 1e-4,
    early_stopping: Annotated[
        bool,
        typer.Option(help="Hold out --validation-fraction and stop when its score stops improving."),
    ] = False,
    patience: Annotated[int, typer.Option(help="Epochs without improvement before stopping.")] = 10,
    validation_fraction: Annotated[
        float, typer.Option(help="Share of the training data held out for early stopping.")
    ] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the weights, shuffling and splits.")] = 0,
    dtype: Annotated[Literal["float32", "float64"], typer.Option(help="Float precision.")] = "float32",
    backend: Annotated[
        Literal["numpy", "torch"], typer.Option(help="Array library that trains.")
    ] = "numpy",
    device: Annotated[
        str | None, typer.Option(help="PyTorch device (cpu, cuda) for --backend torch.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Model file to write.")] = Path(DEFAULT_MODEL),
    progress: Annotated[
        bool, typer.Option(help="Show the progress bar (epoch, loss, accuracy, time left).")
    ] = True,
) -> None:
    """Train a network by back-propagation, report train and test metrics and save the model.

    Examples:

    - weightwise train --data digits --layers 64-100-10 --epochs 20
    - weightwise train --data table.csv --target label --hidden 32-16 --solver sgd --lr 0.1
    - weightwise train --data mnist --mnist-path ~/data/mnist --layers 784-500-500-10 --batch-size 128
    """
    if layers is not None and hidden is not None:
        raise ConfigError("give either --layers or --hidden, not both")
    if task not in ("classify", "regress"):
        raise ConfigError(f"--task {task!r}: valid tasks are 'classify' and 'regress'")
    split = load_split(data, target, test_size, seed, mnist_path, download, stratify=task == "classify")
    _check_task(split, task)
    n_features = int(split.X_train.shape[1])
    if hidden is not None:
        hidden_layers: tuple[int, ...] = tuple(parse_layers(hidden, "--hidden"))
    elif layers is not None:
        outputs = _n_outputs(split, task, output_activation)
        hidden_layers, n_out = split_layers(parse_layers(layers), n_features, outputs)
        if n_out == 2 and task == "classify" and output_activation is None:
            output_activation = "softmax"  # two output units asked for: softmax, not one sigmoid
    else:
        hidden_layers = (100,)
    params: dict[str, Any] = {
        "hidden_layer_sizes": hidden_layers,
        "activation": parse_activation(activation),
        "output_activation": output_activation,
        "loss": loss,
        "init": init,
        "solver": solver,
        "learning_rate": lr,
        "learning_rate_schedule": schedule,
        "lr_step_size": lr_step_size,
        "lr_gamma": lr_gamma,
        "power_t": power_t,
        "momentum": momentum,
        "nesterov": nesterov,
        "alpha": alpha,
        "batch_size": parse_batch_size(batch_size),
        "max_epochs": epochs,
        "threshold": threshold,
        "tol": tol,
        "early_stopping": early_stopping,
        "n_iter_no_change": patience,
        "validation_fraction": validation_fraction,
        "random_state": seed,
        "dtype": dtype,
        "backend": backend,
        "device": device,
    }
    cls = _estimator_class(task)
    valid = cls().get_params()
    unknown = sorted(set(params) - set(valid))
    if unknown:  # pragma: no cover - guards against the estimator and the CLI drifting apart
        raise ConfigError(f"{cls.__name__} has no parameter(s) {unknown}")
    X_train, y_train = split.X_train, split.y_train
    console.print(
        f"[bold]{split.name}[/bold]: {X_train.shape[0]} training samples, "
        f"{0 if split.X_test is None else split.X_test.shape[0]} test samples, {n_features} features"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bar_ctx = EpochProgress(
            epochs, accuracy=task == "classify", validation=early_stopping, enabled=progress
        )
        with bar_ctx as bar:
            est = _with_progress(cls(**params), bar)
            est.fit(X_train, y_train)
    for w in caught:
        if issubclass(w.category, (UserWarning, RuntimeWarning)):
            err_console.print(
                f"note: {one_line(Exception(w.message))}", highlight=False, markup=False, soft_wrap=True
            )

    net, hist = est.network_, est.history_
    console.print(
        f"network {'-'.join(map(str, net.sizes))} ({', '.join(net.activation_names)}), "
        f"loss {_loss_name(est, loss)}: {hist.n_epochs} epoch(s) in "
        f"{sum(hist.seconds):.1f} s, stopped by {stop_reason(hist.stop_reason)}"
    )
    rows = [("train", _metrics(est, X_train, y_train, task))]
    if split.X_test is not None and split.y_test is not None:
        rows.append(("test", _metrics(est, split.X_test, split.y_test, task)))
    table = Table(title=f"{cls.__name__} on {split.name}")
    table.add_column("data")
    table.add_column("samples", justify="right")
    for name in rows[0][1]:
        table.add_column(name, justify="right")
    sizes = {"train": X_train.shape[0], "test": 0 if split.X_test is None else split.X_test.shape[0]}
    for which, values in rows:
        table.add_row(which, str(sizes[which]), *(f"{v:.4f}" for v in values.values()))
    console.print(table)
    path = est.save(out)
    console.print(f"model saved to [bold]{path}[/bold]")


# --------------------------------------------------------------------------------------------------
# predict and info


def load_model(path: Path) -> tuple[Any, Any, dict[str, Any]]:
    """An estimator (or None for a bare network), the network and the metadata of a model file.

    The estimator class is the one named in the file (``BPClassifier``, ``BPRegressor``, ...);
    nothing is unpickled.
    """
    from . import estimators
    from .errors import ModelFileError
    from .io import load_network

    net, meta, _ = load_network(path)
    kind = meta.get("estimator")
    if kind is None:
        return None, net, meta
    cls = getattr(estimators, str(kind), None)
    if cls is None or not callable(getattr(cls, "load", None)):
        raise ModelFileError(
            f"{path} holds a {kind} model, which this version of weightwise cannot read; upgrade "
            "weightwise or train the model again"
        )
    est = cls.load(path)
    return est, est.network_, meta


@app.command()
@_user_errors_exit_1
def predict(
    model: Annotated[
        Path, typer.Argument(metavar="MODEL", help="Model file written by weightwise train.")
    ],
    data: Annotated[
        str,
        typer.Argument(
            metavar="DATA",
            help="A .csv with a header (features only, or name the label column with --target), "
            "an .npz with array X, or digits/mnist (their test sets).",
        ),
    ],
    target: Annotated[
        str | None, typer.Option(help="Column of the CSV to drop (the labels), if any.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write a CSV here instead of printing to stdout.")
    ] = None,
    proba: Annotated[
        bool, typer.Option("--proba", help="Also give class probabilities (classifiers).")
    ] = False,
) -> None:
    """Predict with a saved model: one prediction per line on stdout, or a CSV file with --out.

    Classifiers give labels (with --proba, then one probability per class); regressors give
    values (comma-separated for several targets). A bare network file gives its output units.
    """
    est, net, meta = load_model(model)
    X = read_features(data, target)
    n_in = int(net.sizes[0])
    if X.shape[1] != n_in:
        raise DataError(
            f"{data} has {X.shape[1]} feature columns but the model expects {n_in}; give the same "
            "columns as in training (name the label column with --target to drop it)"
        )
    header: list[str]
    if est is None:
        values = np.asarray(net.predict(np.asarray(X, dtype=np.dtype(meta["_file"]["dtype"]))))
        header = [f"output_{j}" for j in range(values.shape[1])]
        columns = [values[:, j] for j in range(values.shape[1])]
    else:
        pred = np.asarray(est.predict(X))
        pred2 = pred.reshape(len(pred), -1)
        k = pred2.shape[1]
        header = ["prediction"] if pred2.shape[1] == 1 else [f"prediction_{j}" for j in range(k)]
        columns = [pred2[:, j] for j in range(pred2.shape[1])]
        if proba:
            if not hasattr(est, "predict_proba"):
                raise ConfigError(f"--proba needs a classifier; {model} holds a {type(est).__name__}")
            p = np.asarray(est.predict_proba(X))
            header += [f"proba_{c}" for c in est.classes_]
            columns += [p[:, j] for j in range(p.shape[1])]
    lines = [",".join(_cell(col[i]) for col in columns) for i in range(X.shape[0])]
    if out is None:
        sys.stdout.write("\n".join(lines) + "\n")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(",".join(header) + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    err_console.print(f"{len(lines)} predictions written to {out}", highlight=False)


def _cell(value: Any) -> str:
    """A CSV cell: integers as integers, floats with full precision, labels as text."""
    if isinstance(value, np.floating):
        return str(value)  # the shortest text that reads back to the same float32/float64
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (np.integer, np.bool_)):
        return str(int(value))
    return str(value)


@app.command()
@_user_errors_exit_1
def info(
    model: Annotated[
        Path, typer.Argument(metavar="MODEL", help="Model file written by weightwise train.")
    ],
) -> None:
    """Describe a saved model: architecture, parameter count, dtype, training history, versions."""
    est, net, meta = load_model(model)
    file_meta = meta["_file"]
    kind = meta.get("estimator", "Network")
    table = Table(title=f"{model}: {kind} {'-'.join(map(str, net.sizes))}")
    for col in ("layer", "inputs", "outputs", "activation", "parameters"):
        table.add_column(col, justify="right")
    for l, layer in enumerate(net.layers, 1):
        n = layer.n_in * layer.n_out + layer.n_out
        table.add_row(str(l), str(layer.n_in), str(layer.n_out), layer.activation.name, f"{n:,}")
    table.add_row("total", "", "", "", f"{net.n_params:,}", style="bold")
    console.print(table)

    summary = Table(show_header=False, title="summary")
    summary.add_column("key")
    summary.add_column("value")
    summary.add_row("parameters", f"{net.n_params:,}")
    summary.add_row("dtype", str(file_meta["dtype"]))
    params = meta.get("params") or {}
    if est is not None:
        summary.add_row("loss", _loss_name(est, params.get("loss")))
        for key in ("solver", "learning_rate", "batch_size", "alpha"):
            if key in params:
                summary.add_row(key, str(params[key]))
    if meta.get("classes") is not None:
        summary.add_row("classes", ", ".join(map(str, meta["classes"])))
    history = meta.get("history")
    if history:
        from .backprop.training import History

        h = History.from_dict(history)
        summary.add_row("epochs", str(h.n_epochs))
        if h.loss:
            summary.add_row("final training loss", _fmt(h.loss[-1], ".6g"))
        if h.metric and not math.isnan(h.metric[-1]):
            summary.add_row("final training accuracy", _fmt(h.metric[-1], ".4f"))
        best = _best_validation(meta, h)
        summary.add_row("best validation score", best)
        summary.add_row("stop reason", stop_reason(h.stop_reason))
        summary.add_row("training time", f"{sum(h.seconds):.1f} s")
    else:
        summary.add_row("history", "none recorded")
    summary.add_row("saved by weightwise", str(file_meta.get("library_version")))
    summary.add_row("file format version", str(file_meta.get("format_version")))
    summary.add_row("this weightwise", __version__)
    console.print(summary)


def _best_validation(meta: dict[str, Any], h: Any) -> str:
    """The best validation score recorded (the estimator's, else the loop's), with its epoch."""
    scores = meta.get("validation_scores")
    if scores:
        clean = [np.nan if s is None else float(s) for s in scores]
        e = int(np.nanargmax(clean))
        return f"{clean[e]:.4f} (epoch {e + 1})"
    vals = [v for v in h.val_metric if not math.isnan(v)]
    if vals:
        e = int(np.nanargmax(h.val_metric))
        return f"{h.val_metric[e]:.4f} (epoch {e + 1})"
    return "- (no validation set)"


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
