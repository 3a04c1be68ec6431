"""Paper reproductions: ``weightwise reproduce NAME``, the published numbers beside ours.

Each entry of :data:`REPRODUCTIONS` names its source and the published results.

``hinton2006`` and ``vincent2010`` follow the protocol (docs/protocol.md) through
:mod:`.protocol_reproductions` (the engine of ``study labels``, :mod:`.protocol_study`, with
every labelled image): the network and pre-training of the paper (:data:`HINTON_PROTOCOL`,
:data:`VINCENT_PROTOCOL`), pre-trained once per seed on all 60,000 MNIST training images without
labels; every method (the pre-trained one, BP alone, ReLU + He) tries the same fine-tuning grid
(:data:`FINETUNE_GRID`, written down before any run) on seed 0, fitted on the first 50,000
training images and scored on the last 10,000 (the test set is not read); the recipe with the
lowest validation error then runs for 3 seeds, each keeping its best-validation epoch, the test
set read once per final run. The report shows the published test error beside our mean ± std.
Full runs on 2 shared cores, one BLAS thread per run: hinton2006 took 1.8 hours of wall time with
``--n-jobs 2`` (3.0 hours of one-thread runs: RBM pre-training about 17 minutes per seed, a
fine-tuning run 5 to 9 minutes; docs/results/hinton2006.json); vincent2010 3.1 hours
(5.5 hours of one-thread runs: denoising pre-training 29 to 38 minutes per seed, a
fine-tuning run 7 to 17 minutes; docs/results/vincent2010.json). Stored runs are reused, so an
interrupted run resumes.
``--quick`` (6,000 training images of which 1,000 validate, 2,000 test images, a smaller
network, 2 pre-training and at most 5 fine-tuning epochs, 3 seeds) took 45 s for hinton2006 and
shows the direction of the effect, not the published accuracy.

``erhan2010`` and ``glorot2010`` run fixed recipes (:class:`~.experiments.ExperimentConfig`
runs through :func:`~.sweep.run_sweep`, reported like ``compare`` or ``study depth``): mini-batch
SGD with momentum for a fixed number of epochs, no validation split, no hyper-parameter search,
the test set only monitored. They are not yet protocol numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import unknown_name
from .protocol_reproductions import ProtocolRecipe, protocol_report, protocol_settings, run_protocol
from .protocol_study import Recipe
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
        ``configs(quick, seeds, **overrides) -> list of config dicts``: the runs of a fixed
        recipe, or (``protocol``) one line per final run saying what it will be.
    kind : {"compare", "depth", "protocol"}
        Which report to build.
    protocol : ProtocolRecipe or None
        Set: the reproduction follows the protocol (:mod:`.protocol_reproductions`).
    """

    name: str
    title: str
    source: str
    summary: str
    published: tuple[Published, ...]
    configs: Callable[..., list[dict[str, Any]]]
    kind: str = "compare"
    quick_note: str = field(default="")
    protocol: ProtocolRecipe | None = None


MNIST_QUICK = {"data": "mnist", "n_train": 5000, "n_test": 2000, "batch_size": 50}
MNIST_FULL = {"data": "mnist", "batch_size": 100}


def _settings(quick: bool, full: Mapping[str, Any], fast: Mapping[str, Any], overrides: Any) -> dict:
    base = {**(MNIST_QUICK if quick else MNIST_FULL), **(fast if quick else full)}
    base.update({k: v for k, v in overrides.items() if v is not None})
    return base


FINETUNE_GRID: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("adam_1e-3_x0.9", "adam", 1e-3, lr_decay=0.9),
        Recipe("adam_1e-3_x0.9_top", "adam", 1e-3, top_first=True, lr_decay=0.9),
        Recipe("adam_1e-4", "adam", 1e-4),
        Recipe("sgd_0.1", "sgd", 0.1),
    )
}
"""The fine-tuning grid of the protocol reproductions, written down before any run: every method
tries these four and keeps the lowest validation error. The first two are the recipes of
examples/mnist_dbn.py and mnist_sda.py (Adam 1e-3 times 0.9 per epoch, with and without the
softmax layer trained alone first); a small Adam rate keeps pre-trained features; SGD with
momentum 0.9 is the papers' kind of optimiser."""

_FULL = {
    "data": "mnist",
    "n_unlabelled": None,  # pre-training: all 60,000 training images, labels unread
    "n_train": None,
    "n_valid": 10_000,  # the last 10,000 training images; fitted on the first 50,000
    "n_test": None,
    "pretrain_epochs": 50,
    "epoch_examples": 1000,
    "max_examples": 30 * 50_000,
    "max_epochs": 30,
    "patience": 10,
}
_QUICK = {
    "data": "mnist",
    "n_unlabelled": 6000,
    "n_train": 6000,  # 5,000 fitted on, the last 1,000 validate
    "n_valid": 1000,
    "n_test": 2000,
    "pretrain_epochs": 2,
    "epoch_examples": 1000,
    "max_examples": 5 * 5000,
    "max_epochs": 5,
    "patience": 5,
}

HINTON_PROTOCOL = ProtocolRecipe(
    methods=("rbm", "bp", "relu_he"),
    settings={**_FULL, "hidden": (500, 500, 2000)},
    quick={**_QUICK, "hidden": (200, 200, 400)},
    recipes=FINETUNE_GRID,
)
"""784-500-500-2000-10; RBMs by CD-1 (learning rate 0.1, momentum 0.5 then 0.9, weight cost
2e-4, batches of 100), 50 epochs per layer (examples/mnist_dbn.py)."""

VINCENT_PROTOCOL = ProtocolRecipe(
    methods=("dae", "bp", "relu_he"),
    settings={**_FULL, "hidden": (1000, 1000, 1000)},
    quick={**_QUICK, "hidden": (200, 200, 200)},
    recipes=FINETUNE_GRID,
)
"""784-1000-1000-1000-10; denoising auto-encoders with masking noise 0.25 in every layer
(learning rate 0.05, batches of 100), 50 epochs per layer (examples/mnist_sda.py)."""


def _plan(protocol: ProtocolRecipe) -> Callable[..., list[dict[str, Any]]]:
    """``configs`` of a protocol reproduction: one line per final run (method, seed, network,
    data and epochs), for ``--list`` and the tests; the runs themselves are the engine's."""

    def configs(quick: bool, seeds: Any, **overrides: Any) -> list[dict[str, Any]]:
        s = protocol_settings(protocol, quick, overrides)
        n = seeds if isinstance(seeds, int) else len(seeds)
        keep = ("data", "n_train", "n_valid", "n_test", "n_unlabelled", "pretrain_epochs")
        return [
            {"method": m, "seed": seed, "hidden": list(s.hidden), "epochs": s.max_epochs}
            | {k: getattr(s, k) for k in keep}
            for m in protocol.methods
            for seed in range(n)
        ]

    return configs


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
        "A 784-500-500-2000-10 network: each hidden layer pre-trained as an RBM (CD-1, 50 "
        "epochs per layer on all 60,000 training images), then the whole net fine-tuned by "
        "back-propagation, against the same shape trained by BP from random weights and by "
        "ReLU + He + BP. By the protocol: each method's fine-tuning recipe chosen from the same "
        "grid on the validation split (the last 10,000 training images, seed 0), then 3 seeds. "
        "Quick: 784-200-200-400-10, 5,000 training, 1,000 validation and 2,000 test images, 2 "
        "RBM epochs per layer, at most 5 fine-tuning epochs.",
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
        _plan(HINTON_PROTOCOL),
        kind="protocol",
        protocol=HINTON_PROTOCOL,
    ),
    "vincent2010": Reproduction(
        "vincent2010",
        "Stacked denoising auto-encoders (SdA-3) on MNIST",
        "Vincent, P., Larochelle, H., Lajoie, I., Bengio, Y., Manzagol, P.-A. (2010). Stacked "
        "denoising autoencoders. JMLR 11, 3371-3408 (table 3).",
        "Three hidden layers of 1000 units, each pre-trained as a denoising auto-encoder (masking "
        "noise 25%, 50 epochs per layer on all 60,000 training images), then fine-tuned by BP, "
        "against the same shape by BP alone and by ReLU + He + BP; each method's recipe chosen "
        "from the same grid on the validation split (seed 0), then 3 seeds. The paper's SAA-3 "
        "(1.40%) and DBN-3 (1.24%) are not run here (hinton2006 runs a DBN). Quick: "
        "784-200-200-200-10, 5,000 training, 1,000 validation and 2,000 test images, 2 "
        "pre-training epochs per layer, at most 5 fine-tuning epochs.",
        (
            Published(
                "SdA-3 784-1000-1000-1000-10, pre-trained",
                0.0128,
                "dae",
                None,
                "Vincent et al. 2010, table 3 (masking noise chosen in 0-40% there; 25% here)",
            ),
        ),
        _plan(VINCENT_PROTOCOL),
        kind="protocol",
        protocol=VINCENT_PROTOCOL,
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
    seeds: int | Sequence[int] | None = None,
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
    published MNIST numbers are only a reference). A protocol reproduction takes
    :class:`~.protocol_study.StudySettings` fields (``epochs``: ``max_epochs``). ``seeds``:
    final seeds (None: 3 for a protocol reproduction, 1 otherwise).

    Returns
    -------
    report, files, results
        ``results``: the final runs.
    """
    from .depth_report import depth_report
    from .experiment_reports import compare_report

    rep = get_reproduction(name)
    options = dict(n_jobs=n_jobs, scheduler=scheduler, overwrite=overwrite, progress=progress)
    title = f"Reproduction {rep.name}: {rep.title}" + (" (quick)" if quick else "")
    if rep.protocol is not None:
        n = None if seeds is None else seeds if isinstance(seeds, int) else len(seeds)
        study = run_protocol(
            rep.protocol, folder, quick=quick, seeds=n, sweep=options, name=name, **overrides
        )
        report = protocol_report(rep, study, quick=quick, title=title, command=command)
        return report, report.write(folder), study.results
    configs = rep.configs(quick, 1 if seeds is None else seeds, **overrides)
    build = depth_report if rep.kind == "depth" else compare_report
    preface = _preface(rep, quick)
    report_args = {"command": command, "title": title, "preface": preface}
    return sweep_and_report(configs, folder, f"reproduce-{name}", options, build, **report_args)
