"""The experiment behind ``weightwise study labels``: when does front-to-back still pay?

Pre-training needs no labels, so it can use every training image; fine-tuning needs labels, and
with few of them BP alone overfits. The study pre-trains on all the training images without their
labels, then fine-tunes on 100, 600, 1,000 and 3,000 labelled ones (balanced per class, one fixed
subset per seed), choosing everything on 1,000 other labelled training images (the validation
set), and reads the test set once per final run.

It is one study of the protocol's engine (:mod:`.protocol_study`: a pre-training sweep, a
selection sweep on seed 0 scored on validation only, a final sweep over seeds with the chosen
recipe, the test set read once per final run); this module holds its grid, its settings and its
seed plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .experiments import check_methods
from .protocol_study import (
    SELECTION_SEED,
    Recipe,
    Study,
    StudySettings,
    balanced_split,
    run_finetune,
    run_pretrain,
    run_study,
)
from .protocol_study import choose_recipes as _choose

__all__ = [
    "LABEL_COUNTS",
    "LABELS_METHODS",
    "QUICK",
    "RECIPES",
    "SELECTION_SEED",
    "LabelsSettings",
    "LabelsStudy",
    "PSEUDO_LABEL_RECIPES",
    "Recipe",
    "balanced_split",
    "check_label_counts",
    "choose_recipes",
    "run_finetune",
    "run_labels_study",
    "run_pretrain",
    "study_labels",
]

LABEL_COUNTS = (100, 600, 1000, 3000)
"""Labelled images per run (Kingma et al. 2014, Table 1)."""
LABELS_METHODS = ("bp", "relu_he", "rbm", "dae")
N_VALID = 1000
"""Labelled validation images, drawn from the training set, disjoint from the labelled subset."""
SEEDS_FEWEST = 5
"""Seeds at the smallest label count (the noisiest); :data:`SEEDS` at the others."""
SEEDS = 3

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("adam_1e-3", "adam", 1e-3),
        Recipe("adam_1e-4_top", "adam", 1e-4, top_first=True),
        Recipe("adam_1e-4_top_wd", "adam", 1e-4, top_first=True, weight_decay=1e-3),
        Recipe("sgd_0.1", "sgd", 0.1),
    )
}
"""The selection grid, written down before any run (docs/protocol.md, section 2): every method
tries exactly these four recipes at every label count, and keeps the one with the lowest
validation error. Small learning rates keep pre-trained features; the softmax layer alone first
sends errors into meaningful features; weight decay fights overfitting a few labels."""

PSEUDO_LABEL_RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("adam_1e-4_pl3", "adam", 1e-4, pseudo_labels=3.0),
        Recipe("adam_1e-4_top_pl3", "adam", 1e-4, top_first=True, pseudo_labels=3.0),
    )
}
"""Added to :data:`RECIPES` by ``--pseudo-labels`` (every method gets them, so the budget stays
the same for all): fine-tuning on the unlabelled training images too, with the network's own
classes as their targets (Lee 2013, whose weight 3 they use), the weight rising from 0 at epoch
5 to 3 at epoch 50. Not in the grid of the stored study, which was written down before pseudo-
labels existed here."""


LabelsSettings = StudySettings
"""The study's settings (:class:`~.protocol_study.StudySettings`; its defaults are this study's)."""
LabelsStudy = Study


QUICK = {
    "n_unlabelled": 10_000,
    "pretrain_epochs": 3,
    "hidden": (256, 256),
    "n_test": 2000,
    "max_examples": 10_000,
}
"""``--quick``: 784-256-256-10 pre-trained on 10,000 images for 3 epochs per layer, at most 10
epochs of fine-tuning, 2,000 test images (a smoke test of the whole study, not its figures)."""
QUICK_LABEL_COUNTS = (100, 1000)


def choose_recipes(selection: Sequence[Any]) -> dict[str, str]:
    """Per method and label count, the recipe with the lowest validation error (ties: the first
    in :data:`RECIPES`). Only ``valid_error`` is read: selection runs have no test error."""
    return _choose(selection, list(RECIPES))


def _seed_plan(
    label_counts: Sequence[int], seeds: int, seeds_fewest: int
) -> dict[int | None, list[int]]:
    """Seeds per label count: ``seeds_fewest`` at the smallest count, ``seeds`` elsewhere."""
    fewest = min(label_counts)
    return {n: list(range(seeds_fewest if n == fewest else seeds)) for n in label_counts}


def check_label_counts(counts: Sequence[int]) -> list[int]:
    """Label counts: at least one, each >= 10 (one per class), no repeats, ascending."""
    out = sorted({int(n) for n in counts})
    if not out:
        raise ConfigError("give at least one label count, e.g. 100,600,1000,3000")
    if out[0] < 10:
        raise ConfigError(f"every label count must be >= 10 (one image per class), got {out[0]}")
    return out


def run_labels_study(
    folder: str | Path,
    methods: Sequence[str] = LABELS_METHODS,
    label_counts: Sequence[int] = LABEL_COUNTS,
    seeds: int = SEEDS,
    seeds_fewest: int = SEEDS_FEWEST,
    *,
    settings: LabelsSettings,
    sweep: Mapping[str, Any],
    recipes: Mapping[str, Recipe] = RECIPES,
) -> LabelsStudy:
    """Pre-train, select a recipe per method and label count on validation, fine-tune every seed
    (:func:`~.protocol_study.run_study` with the grid ``recipes``, :data:`RECIPES` by default).

    ``sweep`` holds :func:`~.sweep.run_sweep`'s ``n_jobs``, ``scheduler``, ``overwrite`` and
    ``progress``. On a Dask cluster the workers must share ``folder`` (the stacks are files).
    """
    methods, counts = check_methods(methods), check_label_counts(label_counts)
    plan = _seed_plan(counts, seeds, seeds_fewest)
    return run_study(
        folder,
        methods,
        plan,
        settings=settings,
        recipes=recipes,
        sweep=sweep,
        name="labels",
        pretrain=run_pretrain,  # looked up at call time: tests count the runs
        finetune=run_finetune,
    )


def study_labels(
    folder: str | Path,
    methods: Sequence[str] | None = None,
    label_counts: Sequence[int] | None = None,
    seeds: int | None = None,
    seeds_fewest: int | None = None,
    *,
    quick: bool = False,
    pseudo_labels: bool = False,
    n_jobs: int = 1,
    scheduler: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    command: str | None = None,
    **settings: Any,
) -> tuple[Any, Any, LabelsStudy]:
    """Run the study (:func:`run_labels_study`) and write its report to ``folder``.

    Default: bp, relu_he, rbm and dae; 100, 600, 1,000 and 3,000 labels; 5 seeds at 100 labels
    and 3 above; 784-500-500-10 pre-trained on all 60,000 MNIST training images. ``quick``:
    :data:`QUICK`, 100 and 1,000 labels, one seed (unless given). ``pseudo_labels``: the grid
    is :data:`RECIPES` and :data:`PSEUDO_LABEL_RECIPES`. ``settings`` are
    :class:`LabelsSettings` fields (None: the default).

    Returns
    -------
    report, files, study
    """
    from .labels_report import labels_report

    given = {k: v for k, v in settings.items() if v is not None}
    unknown = sorted(set(given) - set(LabelsSettings.__dataclass_fields__))
    if unknown:
        raise ConfigError(
            f"unknown study setting(s) {unknown}; valid: {sorted(LabelsSettings.__dataclass_fields__)}"
        )
    s = LabelsSettings(**{**(QUICK if quick else {}), **given}).validate()
    study = run_labels_study(
        folder,
        methods or LABELS_METHODS,
        label_counts or (QUICK_LABEL_COUNTS if quick else LABEL_COUNTS),
        seeds or (1 if quick else SEEDS),
        seeds_fewest or (1 if quick else SEEDS_FEWEST),
        settings=s,
        sweep={"n_jobs": n_jobs, "scheduler": scheduler, "overwrite": overwrite, "progress": progress},
        recipes={**RECIPES, **PSEUDO_LABEL_RECIPES} if pseudo_labels else RECIPES,
    )
    report = labels_report(study, command=command)
    return report, report.write(folder), study
