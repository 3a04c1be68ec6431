"""Paper reproductions: ``weightwise reproduce NAME``, the published numbers beside ours.

Each entry of :data:`REPRODUCTIONS` names its source, the published results, and two recipes: the
full one (the paper's shape on all of MNIST; hours on two cores) and ``quick`` (a subset and
fewer epochs; minutes). Every recipe is a list of :class:`~.experiments.ExperimentConfig` runs,
run by :func:`~.sweep.run_sweep` (stored, resumable, parallel), and reported like ``compare`` or
``study depth`` with a "published vs measured" table first.

Differences from the papers, said once: fine-tuning is mini-batch SGD with momentum for a fixed
number of epochs (no conjugate gradients, no validation-based early stopping, no hyper-parameter
search); the test set is only monitored. Quick numbers come from a few thousand training images
and a few epochs and are *not* comparable with the published ones; they show the direction of
the effect. The long MNIST scripts in ``examples/`` (``mnist_dbn.py``, ``mnist_sda.py``) follow
the papers more closely (validation split, early stopping).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import unknown_name
from .report import Report
from .studies import compare_configs, study_depth_configs, sweep_and_report


@dataclass(frozen=True)
class Published:
    """One published result: the system, its test error (a fraction; None for a qualitative
    claim), the method and settings that measure it here, and a note."""

    system: str
    test_error: float | None
    method: str | None = None
    label: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Reproduction:
    """A paper reproduction: source, published results and how to run it.

    Attributes
    ----------
    name, title, source : str
    summary : str
        What the paper claims and what is run here.
    published : tuple of Published
    configs : callable
        ``configs(quick, seeds, **overrides) -> list of config dicts``.
    kind : {"compare", "depth"}
        Which report to build.
    """

    name: str
    title: str
    source: str
    summary: str
    published: tuple[Published, ...]
    configs: Callable[..., list[dict[str, Any]]]
    kind: str = "compare"
    quick_note: str = field(default="")


MNIST_QUICK = {"data": "mnist", "n_train": 5000, "n_test": 2000, "batch_size": 50}
MNIST_FULL = {"data": "mnist", "batch_size": 100}


def _settings(quick: bool, full: Mapping[str, Any], fast: Mapping[str, Any], overrides: Any) -> dict:
    base = {**(MNIST_QUICK if quick else MNIST_FULL), **(fast if quick else full)}
    base.update({k: v for k, v in overrides.items() if v is not None})
    return base


def _hinton(quick: bool, seeds: Any, **overrides: Any) -> list[dict[str, Any]]:
    s = _settings(
        quick,
        {"hidden": [500, 500, 2000], "epochs": 50, "pretrain_epochs": 50, "info_samples": 0},
        {"hidden": [500, 500, 2000], "epochs": 15, "pretrain_epochs": 5, "info_samples": 0},
        overrides,
    )
    return compare_configs(["rbm", "bp"], seeds, **{"learning_rate": 0.05, **s})


def _vincent(quick: bool, seeds: Any, **overrides: Any) -> list[dict[str, Any]]:
    s = _settings(
        quick,
        {"hidden": [1000] * 3, "epochs": 50, "pretrain_epochs": 40, "info_samples": 0},
        {"hidden": [500] * 3, "epochs": 15, "pretrain_epochs": 5, "info_samples": 0},
        overrides,
    )
    return compare_configs(["dae", "ae", "rbm"], seeds, **{"learning_rate": 0.05, **s})


def _erhan(quick: bool, seeds: Any, **overrides: Any) -> list[dict[str, Any]]:
    s = _settings(
        quick,
        {"epochs": 50, "pretrain_epochs": 20},
        {"epochs": 15, "pretrain_epochs": 5},
        overrides,
    )
    s.pop("hidden", None)
    width = 500 if not quick else 200
    depths = (1, 2, 3, 4, 5) if not quick else (1, 2, 3, 4)
    return study_depth_configs(depths, ("bp", "rbm", "dae"), seeds, width=width, **s)


GLOROT_VARIANTS = (
    ("sigmoid", "standard", "Sigmoid"),
    ("sigmoid", "xavier_uniform", "Sigmoid N"),
    ("tanh", "standard", "Tanh"),
    ("tanh", "xavier_uniform", "Tanh N"),
)


def _glorot(quick: bool, seeds: Any, **overrides: Any) -> list[dict[str, Any]]:
    s = _settings(
        quick,
        {"hidden": [1000] * 5, "epochs": 50, "info_samples": 0},
        {"hidden": [500] * 5, "epochs": 15, "info_samples": 0},
        overrides,
    )
    configs = []
    for activation, init, label in GLOROT_VARIANTS:
        configs += compare_configs(
            ["bp"],
            seeds,
            **{"learning_rate": 0.05, **s, "activation": activation, "init": init, "label": label},
        )
    return configs


REPRODUCTIONS: dict[str, Reproduction] = {
    "hinton2006": Reproduction(
        "hinton2006",
        "Deep belief net on MNIST (RBM pre-training + fine-tuning) vs BP from random weights",
        "Hinton, G. E., Salakhutdinov, R. R. (2006). Reducing the dimensionality of data with neural "
        "networks. Science 313; Hinton, Osindero, Teh (2006), Neural Computation 18.",
        "A 784-500-500-2000-10 network: each hidden layer pre-trained as an RBM (CD-1), then the "
        "whole net fine-tuned by back-propagation, against the same shape trained by BP from "
        "random weights. Quick: the same shape, 5,000 training and 2,000 test images, 5 RBM "
        "epochs per layer and 15 BP epochs.",
        (
            Published(
                "DBN 784-500-500-2000-10, pre-trained",
                0.012,
                "rbm",
                None,
                "Hinton and Salakhutdinov 2006 (1.25% in Hinton, Osindero, Teh 2006)",
            ),
            Published(
                "same shape, BP from random weights", 0.016, "bp", None, "Hinton and Salakhutdinov 2006"
            ),
        ),
        _hinton,
    ),
    "vincent2010": Reproduction(
        "vincent2010",
        "Stacked denoising auto-encoders (SdA-3) on MNIST",
        "Vincent, P., Larochelle, H., Lajoie, I., Bengio, Y., Manzagol, P.-A. (2010). Stacked "
        "denoising autoencoders. JMLR 11, 3371-3408 (table 3).",
        "Three hidden layers of 1000 units, each pre-trained as a denoising auto-encoder (masking "
        "noise 25%), as a plain auto-encoder (SAA-3) or as an RBM (DBN-3), then fine-tuned by BP. "
        "Quick: 500-wide layers, 5,000 training and 2,000 test images, 5 pre-training epochs per "
        "layer and 15 BP epochs.",
        (
            Published("SdA-3", 0.0128, "dae", None, "masking noise tuned in 0-40%; 25% here"),
            Published("SAA-3 (no noise)", 0.0140, "ae"),
            Published("DBN-3", 0.0124, "rbm"),
        ),
        _vincent,
    ),
    "erhan2010": Reproduction(
        "erhan2010",
        "Depth with and without unsupervised pre-training",
        "Erhan, D., Bengio, Y., Courville, A., Manzagol, P.-A., Vincent, P., Bengio, S. (2010). Why "
        "does unsupervised pre-training help deep learning? JMLR 11, 625-660.",
        "Networks of 1 to 5 hidden layers (500 units; quick: 1-4 layers of 200 units, 5,000 "
        "training images, 15 BP epochs) trained by BP from random weights (Erhan et al.'s "
        "U(-1/sqrt(k), 1/sqrt(k)) init) and after RBM or denoising auto-encoder pre-training.",
        (
            Published(
                "no pre-training",
                None,
                "bp",
                None,
                "test error grows with depth beyond 2-3 layers and varies more over seeds",
            ),
            Published(
                "RBM (DBN) pre-training",
                None,
                "rbm",
                None,
                "lower test error than without pre-training at every depth",
            ),
            Published(
                "denoising AE pre-training",
                None,
                "dae",
                None,
                "lower test error than without pre-training at every depth",
            ),
        ),
        _erhan,
        kind="depth",
    ),
    "glorot2010": Reproduction(
        "glorot2010",
        "Sigmoid vs tanh, standard vs normalised initialisation, per-layer gradients",
        "Glorot, X., Bengio, Y. (2010). Understanding the difficulty of training deep feedforward "
        "neural networks. AISTATS (table 1, figures 6-7).",
        "Five hidden layers of 1000 units (quick: 500 units, 5,000 training images, 15 epochs), "
        "sigmoid or tanh, with the standard init U(-1/sqrt(n_in), 1/sqrt(n_in)) or the normalised "
        "one U(-sqrt(6/(n_in+n_out)), +sqrt(6/(n_in+n_out))) ('N'). The paper: normalised "
        "initialisation keeps the back-propagated gradients about the same size in every layer; "
        "with the standard one they shrink towards the input, and sigmoid networks saturate "
        "their top hidden layer.",
        (
            Published("Sigmoid", 0.0221, "bp", "Sigmoid"),
            Published("Sigmoid N", None, "bp", "Sigmoid N", "not in the paper's table"),
            Published("Tanh", 0.0176, "bp", "Tanh"),
            Published("Tanh N", 0.0164, "bp", "Tanh N"),
        ),
        _glorot,
    ),
}


def get_reproduction(name: str) -> Reproduction:
    """The reproduction called ``name``; a ConfigError listing the valid names otherwise."""
    if name not in REPRODUCTIONS:
        raise unknown_name("reproduction", name, REPRODUCTIONS)
    return REPRODUCTIONS[name]


def _measured(rows: Sequence[Mapping[str, Any]], p: Published) -> list[Mapping[str, Any]]:
    return [r for r in rows if r["method"] == p.method and (p.label is None or r["label"] == p.label)]


def _preface(rep: Reproduction, quick: bool) -> Callable[[Report, list[dict[str, Any]]], None]:
    """Source, recipe and the published-vs-measured table, added before the conclusion."""

    def add(report: Report, rows: list[dict[str, Any]]) -> None:
        from .experiment_reports import HEADERS

        report.paragraph(f"**Source:** {rep.source}\n\n{rep.summary}")
        if quick:
            report.paragraph(
                "**Quick variant**: a subset and a few epochs; the measured numbers show the "
                "direction of the effect, not the published accuracy. Run without `--quick` for "
                "the full recipe."
            )
        table = []
        for p in rep.published:
            measured: list[Mapping[str, Any] | None] = list(_measured(rows, p)) or [None]
            for r in measured:
                table.append(
                    {
                        "system": p.system,
                        "published_test_error": p.test_error,
                        "published_note": p.note,
                        "method": p.method,
                        "depth": None if r is None else r.get("depth", None),
                        "measured_test_error": None if r is None else r["test_error"],
                        "measured_std": None if r is None else r["test_error_std"],
                        "runs": 0 if r is None else r["runs"],
                    }
                )
        if rep.kind != "depth":
            for row in table:
                row.pop("depth")
        fmts = {k: ".2%" for k in ("published_test_error", "measured_test_error", "measured_std")}
        report.heading("Published and measured")
        report.table(
            "published",
            table,
            formats=fmts,
            caption="Test error: published vs measured here",
            headers=HEADERS,
        )

    return add


def reproduce(
    name: str,
    folder: str | Path,
    *,
    quick: bool = False,
    seeds: int | Sequence[int] = 1,
    n_jobs: int = 1,
    scheduler: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    command: str | None = None,
    **overrides: Any,
) -> tuple[Report, Any, list[dict[str, Any]]]:
    """Run the reproduction ``name`` and write its report to ``folder``.

    ``overrides`` replace recipe settings (``data``, ``mnist_path``, ``epochs``, ``hidden``,
    ``n_train``, ...); e.g. ``data="digits"`` runs the recipe on the built-in digits (then the
    published MNIST numbers are only a reference).

    Returns
    -------
    report, files, results
    """
    from .depth_report import depth_report
    from .experiment_reports import compare_report

    rep = get_reproduction(name)
    configs = rep.configs(quick, seeds, **overrides)
    options = dict(n_jobs=n_jobs, scheduler=scheduler, overwrite=overwrite, progress=progress)
    build = depth_report if rep.kind == "depth" else compare_report
    title = f"Reproduction {rep.name}: {rep.title}" + (" (quick)" if quick else "")
    preface = _preface(rep, quick)
    report_args = {"command": command, "title": title, "preface": preface}
    return sweep_and_report(configs, folder, f"reproduce-{name}", options, build, **report_args)
