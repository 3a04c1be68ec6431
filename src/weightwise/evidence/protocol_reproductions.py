"""Paper reproductions by the protocol (docs/protocol.md): ``weightwise reproduce hinton2006`` and
``vincent2010``.

Each is one study of the protocol's engine (:mod:`.protocol_study`) with every labelled training
image (label count ``None``): pre-training on all 60,000 MNIST training images without labels,
once per (method, seed); a selection sweep on seed 0 where every method (the pre-trained one, BP
alone and the modern baseline ReLU + He + Adam) tries the same fine-tuning grid on the first
50,000 training images, scored on the last 10,000 (the validation split; the test set is not
read); then the chosen recipe per method for every seed, the test set read once per final run.
The report puts the published test errors beside the measured mean ± standard deviation.

:class:`ProtocolRecipe` holds what a reproduction fixes before any run: its methods, its network
and pre-training settings (full and ``--quick``), its grid and its seeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .experiment_reports import HEADERS, _mean_std, group_runs
from .experiments import METHODS
from .protocol_study import Recipe, Study, StudySettings, count_key, run_study
from .report import Report


@dataclass(frozen=True)
class ProtocolRecipe:
    """What a protocol reproduction fixes before any run.

    Attributes
    ----------
    methods : tuple of str
        Keys of :data:`~.experiments.METHODS`; every one tries all of ``recipes``.
    settings, quick : dict
        :class:`~.protocol_study.StudySettings` fields of the full run and of ``--quick``.
    recipes : dict
        The fine-tuning grid: name -> :class:`~.protocol_study.Recipe`.
    seeds, quick_seeds : int
        Final seeds (0 .. n-1); seed 0 also runs the selection sweep.
    """

    methods: tuple[str, ...]
    settings: Mapping[str, Any]
    quick: Mapping[str, Any]
    recipes: Mapping[str, Recipe]
    seeds: int = 3
    quick_seeds: int = 3


OVERRIDES = {"epochs": "max_epochs"}
"""``reproduce`` options spelt as the older recipes spell them -> :class:`StudySettings` fields."""


def protocol_settings(
    recipe: ProtocolRecipe, quick: bool, overrides: Mapping[str, Any]
) -> StudySettings:
    """The study's settings: the recipe's (full or quick), then the overrides given (not None)."""
    given = {OVERRIDES.get(k, k): v for k, v in overrides.items() if v is not None}
    valid = set(StudySettings.__dataclass_fields__)
    unknown = sorted(set(given) - valid)
    if unknown:
        raise ConfigError(f"unknown reproduction setting(s) {unknown}; valid: {sorted(valid)}")
    base = dict(recipe.quick if quick else recipe.settings)
    if "max_epochs" in given:  # an epoch budget given alone is not cut short by max_examples
        base["max_examples"] = 10**9
    return StudySettings(**{**base, **given}).validate()


def run_protocol(
    recipe: ProtocolRecipe,
    folder: str | Path,
    *,
    quick: bool,
    seeds: int | None,
    sweep: Mapping[str, Any],
    name: str,
    **overrides: Any,
) -> Study:
    """Pre-train, select on validation (seed 0), run ``seeds`` final seeds (default: the
    recipe's); resumable from ``folder/sweep``."""
    settings = protocol_settings(recipe, quick, overrides)
    n_seeds = seeds or (recipe.quick_seeds if quick else recipe.seeds)
    return run_study(
        folder,
        recipe.methods,
        {None: list(range(n_seeds))},
        settings=settings,
        recipes=recipe.recipes,
        sweep=sweep,
        name=name,
    )


# --------------------------------------------------------------------------------------------------
# the report


def summary_rows(study: Study) -> list[dict[str, Any]]:
    """Per method: test error mean and std over the final seeds, validation error, recipe."""
    rows = []
    order = {m: i for i, m in enumerate(METHODS)}
    groups = group_runs(study.results, ("method",))
    for (method,), runs in sorted(groups.items(), key=lambda kv: order.get(kv[0][0], 99)):
        err, std = _mean_std([r["test_error"] for r in runs])
        val, _ = _mean_std([r["valid_error"] for r in runs])
        rows.append(
            {
                "method": method,
                "label": runs[0]["label"],
                "runs": len(runs),
                "test_error": err,
                "test_error_std": std,
                "valid_error": val,
                "recipe": runs[0]["recipe"],
                "seconds": float(sum(r["seconds"] + r["pretrain_seconds"] for r in runs) / len(runs)),
            }
        )
    return rows


def published_rows(published: Sequence[Any], rows: Sequence[Mapping[str, Any]]) -> list[dict]:
    """The published results beside the measured ones (mean ± std over seeds), then the methods
    measured here that the paper did not report."""
    by = {r["method"]: r for r in rows}
    out, shown = [], set()
    for p in published:
        r = by.get(p.method)
        shown.add(p.method)
        out.append(_row(p.system, p.test_error, p.note, p.method, r))
    for method, r in by.items():
        if method not in shown:
            out.append(_row(METHODS[method].label, None, "measured here only", method, r))
    return out


def _row(system: str, published: Any, note: str, method: Any, r: Any) -> dict[str, Any]:
    measured = None
    if r is not None and r["test_error"] is not None:
        measured = f"{r['test_error']:.2%} ± {r['test_error_std'] or 0.0:.2%}"
    return {
        "system": system,
        "published_test_error": published,
        "published_note": note,
        "method": method,
        "measured": measured or "not run",
        "measured_test_error": None if r is None else r["test_error"],
        "measured_std": None if r is None else r["test_error_std"],
        "runs": 0 if r is None else r["runs"],
        "recipe": None if r is None else r["recipe"],
    }


_HEADERS = {
    **HEADERS,
    "measured": "measured (mean ± std)",
    "recipe": "recipe (chosen on validation)",
    "valid_error": "validation error",
    "chosen": "chosen",
    "best_epoch": "best epoch",
    "top_epochs": "softmax-alone epochs",
    "selection_run": "its selection run, read on the test set",
}
_PCT = ("published_test_error", "measured_test_error", "measured_std", "test_error", "valid_error")


def _table(report: Report, name: str, rows: list[dict[str, Any]], caption: str, **kw: Any) -> None:
    cols = list(rows[0]) if rows else []
    fmts = {c: ".2%" for c in (*_PCT, "test_error_std") if c in cols}
    report.table(name, rows, columns=cols, formats=fmts, caption=caption, headers=_HEADERS, **kw)


def protocol_report(
    rep: Any, study: Study, *, quick: bool, title: str, command: str | None = None
) -> Report:
    """The reproduction's report: source, published vs measured (mean ± std over seeds), how
    the recipes were chosen, every selection run and every final run."""
    rows = summary_rows(study)
    recipes = study.recipes or {}
    report = Report(
        title,
        command=command,
        config={
            "settings": study.settings.keyed(),
            "methods": [r["method"] for r in rows],
            "seeds": sorted({r["seed"] for r in study.results}),
            "recipes": {k: v.as_dict() for k, v in recipes.items()},
            "chosen": study.chosen,
        },
        metadata={"seconds": study.seconds},
    )
    report.paragraph(f"**Source:** {rep.source}\n\n{rep.summary}")
    if quick:
        report.paragraph(
            "**Quick variant**: a subset, a smaller network and a few epochs; the measured numbers "
            "show the direction of the effect, not the published accuracy. Run without `--quick` "
            "for the full recipe."
        )
    for r in rows:
        label = f"test error, {r['method']}, mean of {r['runs']} seeds"
        report.number(f"error_{r['method']}", r["test_error"], label=label, fmt=".2%")
    report.key_numbers()
    report.heading("Published and measured")
    table = published_rows(rep.published, rows)
    _table(report, "published", table, "Test error: published vs measured here (mean ± std)")
    report.heading("How each recipe was chosen")
    report.paragraph(_protocol_text(study, len(recipes)))
    _table(report, "selection", _selection_rows(study), "Selection runs (seed 0)", collapsed=True)
    report.heading("Details")
    _table(report, "summary", rows, "Per method, over the final seeds", collapsed=True)
    _table(report, "runs", _run_rows(study), "Every final run", collapsed=True)
    return report


def _selection_rows(study: Study) -> list[dict[str, Any]]:
    return [
        {
            "method": r["method"],
            "recipe": r["recipe"],
            "valid_error": r["valid_error"],
            "best_epoch": r["best_epoch"],
            "top_epochs": r["top_epochs"],
            "chosen": study.chosen.get(f"{r['method']}@{count_key(r['n_labels'])}") == r["recipe"],
            "seconds": r["seconds"],
        }
        for r in study.selection
    ]


def _run_rows(study: Study) -> list[dict[str, Any]]:
    keep = ("method", "seed", "recipe", "valid_error", "test_error", "best_epoch", "seconds")
    return [
        {k: r[k] for k in keep}
        | {"pretrain_seconds": r["pretrain_seconds"], "selection_run": "selection_run" in r}
        for r in study.results
    ]


def _protocol_text(study: Study, n_recipes: int) -> str:
    s = study.settings
    n_fit = study.results[0]["n_labelled"] if study.results else 0
    return (
        f"Pre-training used {'all' if s.n_unlabelled is None else s.n_unlabelled} training images "
        f"without labels, {s.pretrain_epochs} epochs per hidden layer, once per method and seed. "
        f"Every method tried the same {n_recipes} fine-tuning recipes on seed 0, fitted on "
        f"{n_fit} labelled training images and scored on the next {s.n_valid} (the validation "
        "split, part of the training set); the lowest validation error chose the recipe. Every "
        f"run kept the epoch of its lowest validation error (at most {s.max_epochs} epochs, "
        f"patience {s.patience}). The test set ({'all' if s.n_test is None else s.n_test} images) "
        "was read once per final run, never during selection. This call took "
        f"{study.seconds / 60:.1f} min of wall time (runs reused from the sweep folder cost "
        "nothing)."
    )
