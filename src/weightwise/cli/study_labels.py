"""``weightwise study labels``: test error against the number of labelled images, pre-training on
every training image without its label. Registered by :func:`.evidence.register` beside
``study depth`` (this command lives in its own module to keep each module small); the maths is in
:mod:`weightwise.evidence.labels`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from .base import console, plural
from .evidence import (
    DataOpt,
    JobsOpt,
    NTestOpt,
    OverwriteOpt,
    ProgressOpt,
    QuickOpt,
    SchedOpt,
    _check_data,
    _command,
    _ints,
    _names,
    _path,
    _seeds,
    _show,
    _sweep,
)
from .options import DownloadOption, MnistPathOption


def _stored(out: Path) -> dict[str, int]:
    """The run files of the study's three sweeps in ``out`` and when each was written."""
    return {str(p): p.stat().st_mtime_ns for p in (out / "sweep").glob("*/runs/*.json")}


def study_labels(
    labels: Annotated[
        str | None, typer.Option(help="Labelled images per run (default 100,600,1000,3000).")
    ] = None,
    methods: Annotated[
        str | None, typer.Option(help="Comma-separated (default bp,relu_he,rbm,dae).")
    ] = None,
    seeds: Annotated[
        int | None, typer.Option(help="Seeds per method and label count (default 3; 1 with --quick).")
    ] = None,
    seeds_fewest: Annotated[
        int | None,
        typer.Option(help="Seeds at the smallest label count (default 5; 1 with --quick)."),
    ] = None,
    widths: Annotated[str | None, typer.Option(help="Hidden widths (default 500,500).")] = None,
    pretrain_epochs: Annotated[
        int | None, typer.Option(help="Pre-training epochs per layer (default 10).")
    ] = None,
    n_unlabelled: Annotated[
        int | None, typer.Option(help="Pre-train on a subset of the training images (default all).")
    ] = None,
    n_valid: Annotated[
        int | None, typer.Option(help="Labelled validation images (default 1000).")
    ] = None,
    data: DataOpt = "mnist",
    mnist_path: MnistPathOption = None,
    download: DownloadOption = False,
    n_test: NTestOpt = None,
    n_jobs: JobsOpt = 1,
    scheduler: SchedOpt = None,
    out: Annotated[
        Path, typer.Option(help="Report folder (runs and stacks are stored in OUT/sweep).")
    ] = Path("weightwise-labels"),
    overwrite: OverwriteOpt = False,
    quick: QuickOpt = False,
    pseudo_labels: Annotated[
        bool,
        typer.Option(
            help="Add two pseudo-label recipes (fine-tuning on the unlabelled images too, Lee "
            "2013) to every method's grid; the stored study's grid has none."
        ),
    ] = False,
    progress: ProgressOpt = True,
) -> None:
    """Test error against the number of labelled images (100 to 3,000): when does pre-training
    on all 60,000 MNIST images without labels still beat back-propagation alone?

    Pre-trains once per method and seed, chooses each fine-tuning recipe on 1,000 validation
    images (never the test set), fine-tunes every seed. Measured on 2 shared cores: --quick
    43 s; the full study (784-500-500-10, 5 seeds at 100 labels, 3 above) 31 minutes. Finished
    runs are stored in OUT/sweep; the same command resumes. See docs/labels.md."""
    from ..evidence.experiments import check_methods
    from ..evidence.labels import study_labels as run_study

    counts = None if labels is None else _ints(labels, "--labels")
    method_list = None if methods is None else check_methods(_names(methods))
    hidden = None if widths is None else tuple(_ints(widths, "--widths"))
    seed_count = None if seeds is None else _seeds(seeds, 3)
    fewest = None if seeds_fewest is None else _seeds(seeds_fewest, 5)
    _check_data(data, mnist_path, download)
    options = dict(
        labels=labels,
        methods=methods,
        seeds=seeds,
        seeds_fewest=seeds_fewest,
        widths=widths,
        pretrain_epochs=pretrain_epochs,
        n_unlabelled=n_unlabelled,
        n_valid=n_valid,
        data=data,
        mnist_path=mnist_path,
        n_test=n_test,
        out=out,
        quick=quick,
        pseudo_labels=pseudo_labels,
    )
    command = _command("study labels", **options)
    before = _stored(out)
    report, files, study = run_study(
        out,
        method_list,
        counts,
        seed_count,
        fewest,
        quick=quick,
        pseudo_labels=pseudo_labels,
        **_sweep(n_jobs, scheduler, overwrite, progress, command),
        data=data,
        mnist_path=_path(mnist_path),
        hidden=hidden,
        pretrain_epochs=pretrain_epochs,
        n_unlabelled=n_unlabelled,
        n_valid=n_valid,
        n_test=n_test,
    )
    _say_reused(out, before)
    _show(report, files, "labels")
    console.print(f"Took {study.seconds / 60:.1f} min.", highlight=False)


def _say_reused(out: Path, before: dict[str, Any]) -> None:
    after = _stored(out)
    reused = sum(1 for name, written in before.items() if after.get(name) == written)
    if reused:
        console.print(
            f"reused {plural(reused, 'stored run')} from {out / 'sweep'} (ran "
            f"{max(len(after) - reused, 0)} new); delete that folder, or give another --out, to "
            "run them again",
            highlight=False,
        )
