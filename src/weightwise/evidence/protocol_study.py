"""The protocol's engine (docs/protocol.md): pre-train once, choose a recipe on validation, run
every seed, read the test set once per final run.

Used by ``weightwise study labels`` (:mod:`.labels`: 100 to 3,000 labelled images, 1,000
validation images) and by the protocol reproductions (:mod:`.protocol_reproductions`: all 50,000
labelled training images, the last 10,000 for validation). One study runs as three stored,
resumable sweeps (:func:`~.sweep.run_sweep`) under ``folder/sweep``:

``pretrain``
    One run per (pre-training method, seed): greedy layer-wise pre-training of the hidden layers
    on the unlabelled images; the stack is stored as ``stacks/<key>.safetensors`` beside the runs
    (written atomically, so parallel workers never race: each run writes its own file).
``select``
    Seed 0 only, validation error only (the test set is not read): every recipe of the grid (the
    same grid, so the same budget, for every method) at every label count. The recipe with the
    lowest validation error is chosen per method and label count. Each run's network is stored
    as ``models/<key>.safetensors``.
``finetune``
    Every method, seed and label count with its chosen recipe, loading the stored stack (so one
    pre-training serves every label count); the test error is measured once, at the end. Seed
    0's runs are the chosen selection runs: their stored networks are read on the test set
    instead of being fitted a second time.

A fine-tuning run keeps the epoch with the lowest validation error (early stopping with the best
weights restored), and so does the softmax-alone phase of a ``top_first`` recipe.

The single runs and their settings are in :mod:`.protocol_runs`.

A label count of ``None`` means every labelled training image: the last ``n_valid`` images of
the (optionally ``n_train``-subsetted) training split are the validation set, the others are
fitted on.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .experiments import METHODS, check_methods
from .protocol_runs import (
    SELECTION_SEED,
    Recipe,
    StudySettings,
    balanced_split,
    count_key,
    finetune_config,
    pretrain_config,
    run_finetune,
    run_pretrain,
)

__all__ = [
    "SELECTION_SEED",
    "Recipe",
    "Study",
    "StudySettings",
    "balanced_split",
    "choose_recipes",
    "count_key",
    "finetune_config",
    "pretrain_config",
    "run_finetune",
    "run_pretrain",
    "run_study",
]


# --------------------------------------------------------------------------------------------------
# the study


@dataclass
class Study:
    """What the three sweeps returned, for the report.

    Attributes
    ----------
    results : list of dict
        The final runs (:func:`run_finetune`), each with the ``pretrain_seconds`` of its stack.
    selection : list of dict
        The selection runs (validation error only).
    chosen : dict
        ``"<method>@<n_labels>" -> recipe name`` (:func:`count_key` writes ``n_labels``).
    settings : StudySettings
    seconds : float
        Wall time of this call (runs reused from the sweep folders cost nothing).
    recipes : dict
        The grid every method tried: name -> :class:`Recipe`.
    """

    results: list[dict[str, Any]]
    selection: list[dict[str, Any]]
    chosen: dict[str, str]
    settings: StudySettings
    seconds: float
    recipes: dict[str, Recipe] | None = None


def choose_recipes(selection: Sequence[Mapping[str, Any]], grid: Sequence[str]) -> dict[str, str]:
    """Per method and label count, the recipe with the lowest validation error (ties: the first
    in ``grid``). Only ``valid_error`` is read: selection runs have no test error."""
    order = list(grid)
    best: dict[str, tuple[float, int, str]] = {}
    for r in selection:
        key = f"{r['method']}@{count_key(r['n_labels'])}"
        cand = (float(r["valid_error"]), order.index(r["recipe"]), r["recipe"])
        if key not in best or cand < best[key]:
            best[key] = cand
    return {k: v[2] for k, v in best.items()}


def _forget_missing_stacks(folder: Path, stacks: Path) -> None:
    """Drop a stored pre-training run whose stack file is gone, so the sweep runs it again."""
    from .sweep import RUNS, load_runs

    for key, run in load_runs(folder).items() if folder.is_dir() else []:
        if not (stacks / str(run["result"].get("stack", ""))).is_file():
            (folder / RUNS / f"{key}.json").unlink(missing_ok=True)


Runner = Callable[..., dict[str, Any]]


def run_study(
    folder: str | Path,
    methods: Sequence[str],
    plan: Mapping[int | None, Sequence[int]],
    *,
    settings: StudySettings,
    recipes: Mapping[str, Recipe],
    sweep: Mapping[str, Any],
    name: str,
    pretrain: Runner = run_pretrain,
    finetune: Runner = run_finetune,
) -> Study:
    """Pre-train, select a recipe per method and label count on validation, fine-tune every seed.

    ``plan`` maps each label count (None: all) to its final seeds. ``sweep`` holds
    :func:`~.sweep.run_sweep`'s ``n_jobs``, ``scheduler``, ``overwrite`` and ``progress``;
    ``name`` prefixes the sweeps' names. On a Dask cluster the workers must share ``folder``
    (the stacks are files). ``pretrain`` and ``finetune`` run one run each (tests count them).
    """
    from .sweep import run_sweep, sweep_key

    t0 = time.perf_counter()
    methods, counts = check_methods(methods), list(plan)
    root = Path(folder) / "sweep"
    stacks = root / "stacks"
    stacks.mkdir(parents=True, exist_ok=True)
    kw: dict[str, Any] = {"stacks": str(stacks), "mnist_path": settings.mnist_path}
    n_seeds = max(len(s) for s in plan.values())
    pre = [
        pretrain_config(m, s, settings) for m in methods if METHODS[m].learner for s in range(n_seeds)
    ]
    _forget_missing_stacks(root / "pretrain", stacks)
    pre_results = run_sweep(
        pre, functools.partial(pretrain, **kw), root / "pretrain", name=f"{name}-pretrain", **sweep
    )
    stack = {(c["method"], c["seed"]): sweep_key(c) for c in pre}
    pre_seconds = {
        (c["method"], c["seed"]): r["pretrain_seconds"] for c, r in zip(pre, pre_results, strict=True)
    }

    def config(m: str, s: int, n: int | None, recipe: Recipe, test: bool) -> dict[str, Any]:
        return finetune_config(m, s, n, recipe, settings, stack=stack.get((m, s)), test=test)

    sel = [
        config(m, SELECTION_SEED, n, r, False) for m in methods for n in counts for r in recipes.values()
    ]
    models = str(root / "models")
    fine = functools.partial(finetune, **kw, models=models)
    selection = run_sweep(sel, fine, root / "select", name=f"{name}-select", **sweep)
    chosen = choose_recipes(selection, list(recipes))
    final = [
        config(m, s, n, recipes[chosen[f"{m}@{count_key(n)}"]], True)
        for m in methods
        for n in counts
        for s in plan[n]
    ]
    # Seed 0's final runs are the chosen selection runs again: their stored networks are read
    # on the test set rather than fitted twice (run_finetune checks they are the same runs).
    selected = {sweep_key(c): r for c, r in zip(sel, selection, strict=True)}
    fine = functools.partial(finetune, **kw, models=models, selected=selected)
    results = run_sweep(final, fine, root / "finetune", name=f"{name}-finetune", **sweep)
    for r in results:
        r["pretrain_seconds"] = pre_seconds.get((r["method"], r["seed"]), 0.0)
    return Study(results, selection, chosen, settings, time.perf_counter() - t0, dict(recipes))
