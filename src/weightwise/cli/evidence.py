"""The evidence commands: ``weightwise compare``, ``weightwise study depth`` and ``study labels``
(in :mod:`.study_labels`), ``weightwise reproduce``.

:func:`register` adds them to a typer app (the main one, or a test's). Each runs a sweep of
stored, resumable runs (:mod:`weightwise.evidence.sweep`: joblib with ``--n-jobs``, a Dask
cluster with ``--scheduler``), writes a report folder (HTML, Markdown, JSON, CSV, PNG) under
``--out``, prints a summary table and says where the report is. Nothing here does maths; see
:mod:`weightwise.evidence.experiments`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import ConfigError
from .base import Typer, _user_errors_exit_1, console, plural
from .data import ensure_mnist
from .options import DownloadOption, MnistPathOption, TensorBoardOption, tensorboard_note

_DATA_HELP = "digits (built in), mnist (IDX files; see --mnist), or a .npz file holding X and y."


def _ints(spec: str, option: str) -> list[int]:
    """``"5"``, ``"100,50,50"``, a range ``"1-10"`` or both (``"1-3,5"``) as positive integers.

    A range runs upwards (``5-1`` is refused, not read as nothing), and every number is >= 1.
    """
    out: list[int] = []
    usage = "write e.g. '100', '100,50', '1-10' or '1-3,5' (positive integers, ranges upwards)"
    for part in spec.replace(" ", "").split(","):
        lo, dash, hi = part.partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()):
            raise ConfigError(f"{option} {spec!r}: {part!r} is not a number or a range; {usage}")
        first, last = int(lo), int(hi) if dash else int(lo)
        if first < 1 or last < first:
            why = (
                ("starts below 1" if dash else "is below 1")
                if first < 1
                else f"runs downwards (did you mean {last}-{first}?)"
            )
            raise ConfigError(f"{option} {spec!r}: {part!r} {why}; {usage}")
        out += list(range(first, last + 1))
    return out


def _names(spec: str) -> list[str]:
    """``"bp, rbm"`` as ``["bp", "rbm"]``."""
    return [s for s in spec.replace(" ", "").split(",") if s]


def _hidden(depth: int | None, widths: str | None) -> list[int] | None:
    """Hidden widths from ``--depth`` and ``--widths``; None keeps the experiment's default."""
    from ..evidence.experiments import MAX_DEPTH, check_hidden

    if depth is not None and not 1 <= depth <= MAX_DEPTH:
        raise ConfigError(f"--depth must be between 1 and {MAX_DEPTH} hidden layers, got {depth}")
    if widths is None:
        return None if depth is None else check_hidden([100] * depth)
    w = _ints(widths, "--widths")
    if len(w) == 1 and depth is not None:
        w = w * depth
    elif depth is not None and len(w) != depth:
        raise ConfigError(
            f"--widths gives {len(w)} widths for --depth {depth}; give one width for all layers "
            "or exactly one per layer"
        )
    return check_hidden(w)


def _command(name: str, **options: Any) -> str:
    """The command line that regenerates a report: every option that was set, in a fixed order."""
    parts = [f"weightwise {name}"]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        parts.append(flag if value is True else f"{flag} {value}")
    return " ".join(parts)


_TERMINAL = {
    "label": "method",
    "depth": "depth",
    "n_labels": "labels",
    "system": "system",
    "runs": "runs",
    "test_accuracy": "test acc.",
    "test_accuracy_std": "+-",
    "test_error": "test err.",
    "test_error_std": "+-",
    "published_test_error": "published",
    "measured_test_error": "measured",
    "measured_std": "+-",
    "grad_ratio_start": "grad 1/last (start)",
    "grad_ratio_final": "grad 1/last (end)",
    "seconds": "s/run",
}


def _show(report: Any, files: Any, table: str) -> None:
    """The report's main table (the columns that fit a terminal), its conclusion and its path."""
    from rich.table import Table

    from ..evidence.report_text import plain_text

    t = report.tables[table]
    keep = [i for i, c in enumerate(t.columns) if c in _TERMINAL]
    if "runs" in t.columns:  # a spread over one run is no spread: no "+- 0.00%" column
        runs = t.columns.index("runs")
        if all((row[runs] or 0) <= 1 for row in t.rows):
            keep = [i for i in keep if not t.columns[i].endswith("_std")]
    rich_table = Table(title=t.caption or t.name)
    for i in keep:
        rich_table.add_column(_TERMINAL[t.columns[i]], justify="left" if i == keep[0] else "right")
    for row in t.text():
        rich_table.add_row(*(row[i] for i in keep))
    console.print(rich_table)
    body = report._body
    for i, item in enumerate(body):  # the conclusion: the paragraph after its heading
        if item[0] == "heading" and item[2] == "Conclusion" and i + 1 < len(body):
            console.print(plain_text(body[i + 1][1]), highlight=False)
            break
    console.print(f"Report: {files.html}  (also report.md, results.json, CSV and PNG files)")


def _seeds(seeds: int | None, default: int) -> int:
    """``--seeds``, checked, or ``default`` when not given."""
    if seeds is None:
        return default
    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}")
    return seeds


def _check_jobs(n_jobs: int) -> int:
    """``--n-jobs``, checked: a positive number of processes, or -1."""
    if n_jobs == 0 or n_jobs < -1:
        raise ConfigError(
            f"--n-jobs must be a positive number of processes or -1 (all cores), got {n_jobs}"
        )
    return n_jobs


DataOpt = Annotated[str, typer.Option("--data", help=_DATA_HELP)]
MnistOpt = MnistPathOption
EpochsOpt = Annotated[int | None, typer.Option(help="BP epochs (default 30).")]
PretrainEpochsOpt = Annotated[int | None, typer.Option(help="Pre-training epochs per layer.")]
NTrainOpt = Annotated[int | None, typer.Option(help="Use a subset of the training data.")]
NTestOpt = Annotated[int | None, typer.Option(help="Use a subset of the test data.")]
JobsOpt = Annotated[
    int, typer.Option("--n-jobs", help="Parallel runs (joblib processes; -1: all cores).")
]
SchedOpt = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="ADDRESS",
        help='Run on this Dask scheduler (tcp://host:8786); needs pip install "weightwise[dask]".',
    ),
]
ReportOpt = Annotated[Path, typer.Option(help="Report folder (runs are stored in OUT/sweep).")]
OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Discard another sweep's stored runs in --out.")
]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar over runs.")]
QuickOpt = Annotated[
    bool,
    typer.Option("--quick", help="A small, fast variant (its measured time is given above)."),
]


def _check_scheduler(scheduler: str | None) -> None:
    """``--scheduler`` needs Dask's distributed package: one line naming the install if missing."""
    if scheduler is None:
        return
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"--scheduler {scheduler} needs Dask's distributed package, which is not installed: "
            'pip install "weightwise[dask]" (or leave --scheduler out to run here, with --n-jobs)'
        ) from None


def _sweep(
    n_jobs: int, scheduler: str | None, overwrite: bool, progress: bool, command: str
) -> dict[str, Any]:
    """How a sweep runs: the keyword arguments every evidence entry point takes alike."""
    _check_scheduler(scheduler)
    return {
        "n_jobs": _check_jobs(n_jobs),
        "scheduler": scheduler,
        "overwrite": overwrite,
        "progress": progress,
        "command": command,
    }


def _run_log(folder: Path | None) -> Any:
    """``--tensorboard`` as the runs take it: a plain folder and the class each run builds its
    callback from, in its own process (see :class:`weightwise.evidence.experiments.RunLog`).

    The folder is checked here, once, so that an unwritable one is one line before any run.
    """
    if folder is None:
        return None
    from ..evidence.experiments import RunLog
    from ..interop import TensorBoard

    TensorBoard(folder).close()  # creates the folder; refuses an unwritable one, or no tensorboardX
    for stray in folder.glob("events.out.tfevents.*"):
        stray.unlink()  # that check's empty event file: the runs log in subfolders
    return RunLog(str(folder), TensorBoard)


def _check_data(data: str, mnist_path: Path | None, download: bool) -> None:
    """MNIST's files checked (or fetched with --download) before any run; other data as given."""
    if data == "mnist":
        ensure_mnist(mnist_path, download)
    elif download or mnist_path is not None:
        given = "--download" if download else "--mnist"
        raise ConfigError(f"{given} is for --data mnist; this run reads --data {data}")


def _stored_runs(out: Path) -> dict[str, int]:
    """The run files stored in ``out``'s sweep folder (or its sweeps' folders, as a protocol
    reproduction stores them) and when each was written."""
    found = [*(out / "sweep").glob("runs/*.json"), *(out / "sweep").glob("*/runs/*.json")]
    return {str(p): p.stat().st_mtime_ns for p in found}


def _say_reused(out: Path, before: dict[str, int], results: Sequence[Any]) -> None:
    """Say how many runs were reused from ``out``'s sweep folder rather than run (none: silent)."""
    after = _stored_runs(out)
    reused = sum(1 for name, written in before.items() if after.get(name) == written)
    if reused:
        fresh = max(len(after) - reused, 0)
        console.print(
            f"reused {plural(reused, 'stored run')} from {out / 'sweep'} (ran {fresh} new); delete "
            "that folder, or give another --out, to run them again",
            highlight=False,
        )


def _path(path: Path | None) -> str | None:
    """``--mnist-path`` as the sweeps store it: text, so a run's settings stay JSON."""
    return None if path is None else str(path)


# --------------------------------------------------------------------------------------------------
# compare


def compare(
    data: DataOpt = "digits",
    mnist_path: MnistOpt = None,
    download: DownloadOption = False,
    depth: Annotated[int | None, typer.Option(help="Hidden layers (default 5).")] = None,
    widths: Annotated[
        str | None,
        typer.Option(help="Hidden widths: one for all layers or one per layer, e.g. 100."),
    ] = None,
    epochs: EpochsOpt = None,
    pretrain_epochs: PretrainEpochsOpt = None,
    seeds: Annotated[
        int | None, typer.Option(help="Seeds per method, 0..N-1 (default 3; 1 with --quick).")
    ] = None,
    methods: Annotated[
        str, typer.Option(help="Comma-separated: bp, bp_normal, rbm, dae, ae, relu_he.")
    ] = ("bp,rbm,dae,relu_he"),
    n_train: NTrainOpt = None,
    n_test: NTestOpt = None,
    n_jobs: JobsOpt = 1,
    scheduler: SchedOpt = None,
    out: ReportOpt = Path("weightwise-compare"),
    overwrite: OverwriteOpt = False,
    quick: QuickOpt = False,
    progress: ProgressOpt = True,
    tensorboard: TensorBoardOption = None,
) -> None:
    """Train one deep network four ways and compare: plain BP from random weights, RBM
    pre-training + BP, denoising auto-encoder pre-training + BP, ReLU + He init + BP.

    Default: 5 sigmoid hidden layers of 100 units on the built-in digits, 30 epochs, 3 seeds.
    Measured on 2 cores: --quick 4 s, the default 14 s. A progress bar counts
    the runs. Finished runs are stored in OUT/sweep; running the same command again reuses
    them (and says so). With
    --tensorboard DIR each run logs to DIR/METHOD/seed_N (runs already stored are reused and log
    nothing).
    """
    from ..evidence.experiments import check_methods
    from ..evidence.studies import compare as run_compare

    method_list = check_methods(_names(methods))
    hidden = _hidden(depth, widths)
    _check_data(data, mnist_path, download)
    command = _command(
        "compare",
        data=data,
        mnist_path=mnist_path,
        depth=depth,
        widths=widths,
        epochs=epochs,
        pretrain_epochs=pretrain_epochs,
        seeds=seeds,
        methods=methods,
        n_train=n_train,
        n_test=n_test,
        out=out,
        quick=quick,
    )
    before = _stored_runs(out)
    report, files, results = run_compare(
        out,
        method_list,
        _seeds(seeds, 1 if quick else 3),
        quick=quick,
        **_sweep(n_jobs, scheduler, overwrite, progress, command),
        log=_run_log(tensorboard),
        data=data,
        mnist_path=_path(mnist_path),
        hidden=hidden,
        epochs=epochs,
        pretrain_epochs=pretrain_epochs,
        n_train=n_train,
        n_test=n_test,
    )
    _say_reused(out, before, results)
    _show(report, files, "summary")
    tensorboard_note(tensorboard)


# --------------------------------------------------------------------------------------------------
# study depth


def study_depth(
    depths: Annotated[
        str | None, typer.Option(help="Depths, e.g. 1-10 or 1,3,5 (default 1-10).")
    ] = None,
    width: Annotated[int | None, typer.Option(help="Units per hidden layer (default 100).")] = None,
    widths: Annotated[
        str | None, typer.Option(help="Same as --width (one width for all layers).")
    ] = None,
    methods: Annotated[
        str | None, typer.Option(help="Comma-separated (default bp,rbm,relu_he).")
    ] = None,
    seeds: Annotated[
        int | None, typer.Option(help="Seeds per method and depth (default 2; 1 with --quick).")
    ] = None,
    epochs: EpochsOpt = None,
    pretrain_epochs: PretrainEpochsOpt = None,
    data: DataOpt = "digits",
    mnist_path: MnistOpt = None,
    download: DownloadOption = False,
    n_train: NTrainOpt = None,
    n_test: NTestOpt = None,
    n_jobs: JobsOpt = 1,
    scheduler: SchedOpt = None,
    out: ReportOpt = Path("weightwise-depth"),
    overwrite: OverwriteOpt = False,
    quick: QuickOpt = False,
    progress: ProgressOpt = True,
    tensorboard: TensorBoardOption = None,
) -> None:
    """Test error, gradient norm per layer and time against depth (1-10 hidden layers by
    default): does back-propagation stop working beyond about 7 layers, and what changes it?

    Measured on 2 cores: --quick 2 s (depths 1, 3, 5); the default runs 60 networks of up
    to 10 layers, about 1 minute. A progress bar counts the runs.

    With --tensorboard DIR each run logs to DIR/depth_D/METHOD/seed_N (runs already stored in
    OUT/sweep are reused and log nothing)."""
    from ..evidence.experiments import check_methods
    from ..evidence.studies import study_depth as run_study

    depth_list = None if depths is None else _ints(depths, "--depths")
    method_list = None if methods is None else check_methods(_names(methods))
    width = _study_width(width, widths)
    seeds = _seeds(seeds, 1 if quick else 2)
    _check_data(data, mnist_path, download)
    command = _command(
        "study depth",
        depths=depths,
        width=width,
        methods=methods,
        seeds=seeds,
        epochs=epochs,
        pretrain_epochs=pretrain_epochs,
        data=data,
        mnist_path=mnist_path,
        n_train=n_train,
        n_test=n_test,
        out=out,
        quick=quick,
    )
    settings: dict[str, Any] = {
        "epochs": epochs,
        "pretrain_epochs": pretrain_epochs,
        "data": data,
        "n_train": n_train,
        "n_test": n_test,
        "mnist_path": _path(mnist_path),
    }
    before = _stored_runs(out)
    report, files, results = run_study(
        out,
        depth_list,
        method_list,
        seeds,
        width=width,
        quick=quick,
        **_sweep(n_jobs, scheduler, overwrite, progress, command),
        log=_run_log(tensorboard),
        **{k: v for k, v in settings.items() if v is not None},
    )
    _say_reused(out, before, results)
    _show(report, files, "depth")
    tensorboard_note(tensorboard)


def _study_width(width: int | None, widths: str | None) -> int | None:
    """The one width of every hidden layer, from ``--width`` or ``--widths``; None: the default."""
    from ..evidence.experiments import MAX_WIDTH

    if widths is not None:
        w = _ints(widths, "--widths")
        if len(w) != 1:
            raise ConfigError("study depth takes one --width for every layer; give a single number")
        width = w[0]
    if width is not None and not 1 <= width <= MAX_WIDTH:
        raise ConfigError(f"--width must be in 1..{MAX_WIDTH}, got {width}")
    return width


# --------------------------------------------------------------------------------------------------
# reproduce


def reproduce(
    name: Annotated[str | None, typer.Argument(help="Which reproduction (see --list).")] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="Name the reproductions and their sources.")
    ] = False,
    quick: QuickOpt = False,
    seeds: Annotated[
        int | None,
        typer.Option(help="Seeds per method (default 3 for hinton2006 and vincent2010, else 1)."),
    ] = None,
    data: Annotated[
        str | None, typer.Option(help="Override the data (default: MNIST, as published).")
    ] = None,
    mnist_path: MnistOpt = None,
    download: DownloadOption = False,
    epochs: Annotated[int | None, typer.Option(help="Override the BP epochs.")] = None,
    n_train: Annotated[int | None, typer.Option(help="Override the training subset size.")] = None,
    n_jobs: JobsOpt = 1,
    scheduler: SchedOpt = None,
    out: Annotated[Path | None, typer.Option(help="Report folder (default weightwise-NAME).")] = None,
    overwrite: OverwriteOpt = False,
    progress: ProgressOpt = True,
) -> None:
    """Reproduce a paper's experiment with its published numbers side by side (hinton2006,
    vincent2010, erhan2010, glorot2010).

    hinton2006 and vincent2010 follow docs/protocol.md: recipes chosen on the last 10,000
    training images, 3 seeds, the test set read once per final run. --quick runs a subset:
    hinton2006 --quick took 45 s here (2 shared cores); the full hinton2006 took 1.8 hours with
    --n-jobs 2, and vincent2010 3.1 hours. A progress bar counts the runs."""
    from ..evidence.reproductions import get_reproduction
    from ..evidence.reproductions import reproduce as run_reproduction

    if list_ or name is None:
        _list_reproductions(must_name=not list_)
        return
    rep = get_reproduction(name)
    seeds = _seeds(seeds, 3 if rep.protocol is not None else 1)
    _check_data(data or "mnist", mnist_path, download)
    folder = out if out is not None else Path(f"weightwise-{name}")
    command = _command(
        f"reproduce {name}",
        quick=quick,
        seeds=seeds,
        data=data,
        mnist_path=mnist_path,
        epochs=epochs,
        n_train=n_train,
        out=folder,
    )
    before = _stored_runs(folder)
    report, files, results = run_reproduction(
        name,
        folder,
        quick=quick,
        seeds=seeds,
        **_sweep(n_jobs, scheduler, overwrite, progress, command),
        data=data,
        mnist_path=_path(mnist_path),
        epochs=epochs,
        n_train=n_train,
    )
    _say_reused(folder, before, results)
    _show(report, files, "published")


def _list_reproductions(must_name: bool) -> None:
    """The table of reproductions; then, where a NAME was needed (``must_name``), the error."""
    from rich.table import Table

    from ..evidence.reproductions import REPRODUCTIONS

    table = Table(title="Reproductions")
    for col in ("name", "what", "source"):
        table.add_column(col)
    for r in REPRODUCTIONS.values():
        table.add_row(r.name, r.title, r.source)
    console.print(table)
    if must_name:
        raise ConfigError(
            f"name a reproduction: weightwise reproduce NAME, one of {', '.join(REPRODUCTIONS)}"
        )


# --------------------------------------------------------------------------------------------------
# registration


def register(app: typer.Typer) -> None:
    """Add ``compare``, ``study depth``, ``study labels`` and ``reproduce`` to ``app`` (the
    ``weightwise`` command)."""
    from .study_labels import study_labels

    app.command("compare")(_user_errors_exit_1(compare))
    study = Typer(
        help="Studies over many runs: test error against depth, or against labelled images.",
        no_args_is_help=True,
    )
    study.command("depth")(_user_errors_exit_1(study_depth))
    study.command("labels")(_user_errors_exit_1(study_labels))
    app.add_typer(study, name="study")
    app.command("reproduce")(_user_errors_exit_1(reproduce))


__all__: Sequence[str] = ["compare", "register", "reproduce", "study_depth"]
