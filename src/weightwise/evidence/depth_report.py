"""The report of ``weightwise study depth``: error, gradient norms per layer and time against depth.

Like :mod:`.experiment_reports` (whose summaries over seeds, tables and formats it shares), it only
reads stored run results: nothing here trains anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .experiment_reports import (
    RATIO_NOTE,
    Preface,
    _as_float,
    _mean_curve,
    _norm_rows,
    _pct,
    _runs_table,
    _shared,
    _table,
    group_runs,
    summary_rows,
)
from .report import Report
from .report_text import literal, plural


def depth_conclusion(rows: Sequence[Mapping[str, Any]], tolerance: float = 0.02) -> str:
    """Per method: the best depth, the error at the deepest depth, and how deep the mean error stays
    within ``tolerance`` (2 points) of the best at every depth from the best one up; then the
    passage's 7-layer claim."""
    parts = []
    deepest_ok: dict[str, int] = {}
    for (method,), group in group_runs(rows, ("method",)).items():
        ok = [r for r in group if r["test_error"] is not None]
        if not ok:
            parts.append(f"- {method}: every run diverged.")
            continue
        best = min(ok, key=lambda r: r["test_error"])
        deep = max(ok, key=lambda r: r["depth"])
        # From the best depth upwards, the deepest depth reached without any depth on the way
        # leaving the tolerance: one unstable depth ends the run even if a deeper one recovers.
        reach = best["depth"]
        for r in sorted(ok, key=lambda r: r["depth"]):
            if r["depth"] <= best["depth"]:
                continue
            if r["test_error"] > best["test_error"] + tolerance:
                break
            reach = r["depth"]
        deepest_ok[method] = reach
        parts.append(
            f"- {literal(group[0]['label'])}: lowest test error {_pct(best['test_error'])} with "
            f"{plural(best['depth'], 'hidden layer')}; {_pct(deep['test_error'])} with "
            f"{deep['depth']}; within {tolerance * 100:.0f} points of its best at every depth up "
            f"to {plural(reach, 'layer')}."
        )
    text = "Test error against depth (mean over seeds):\n\n" + "\n".join(parts)
    max_depth = max(r["depth"] for r in rows)
    if "bp" in deepest_ok:
        d = deepest_ok["bp"]
        if max_depth <= 7:
            claim = (
                f"this study stops at {plural(max_depth, 'layer')}, so it cannot test the "
                "passage's claim that BP networks rarely go beyond 7 layers"
            )
        elif d <= 7:
            claim = "consistent with the passage's claim that BP networks rarely go beyond 7 layers"
        else:
            claim = "deeper than the passage's 7 layers in this setting"
        text += (
            f"\n\nPlain BP stays within 2 points of its best up to {plural(d, 'hidden layer')}: {claim}."
        )
        others = {m: v for m, v in deepest_ok.items() if m != "bp"}
        if others:
            text += (
                " Within 2 points of their best: "
                + "; ".join(f"{m} up to {plural(v, 'layer')}" for m, v in others.items())
                + "."
            )
    return text


def _norms_by_depth_figure(results: Sequence[Mapping[str, Any]], method: str) -> Any:
    """Gradient norm per layer at init (dashed) and after training (solid), one colour per depth."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.0, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for i, ((depth,), runs) in enumerate(sorted(group_runs(results, ("depth",)).items())):
        colour = f"C{i % 10}"
        for key, style in (("grad_norm_init", "--"), ("grad_norm_final", "-")):
            norms = np.array(_as_float(_mean_curve([r[key] for r in runs])))
            shown = np.where(norms > 0, norms, np.nan)
            ax.plot(
                np.arange(1, norms.size + 1),
                shown,
                style,
                color=colour,
                marker="o",
                markersize=3,
                label=f"{depth} hidden" if key == "grad_norm_final" else None,
            )
    ax.set_yscale("log")
    ax.set_xlabel("layer (1 = next to the input; the last is the output layer)")
    ax.set_ylabel("||dL/dW||")
    ax.set_title(
        f"{method}: does the gradient reach layer 1 in deeper nets?\n"
        "||dL/dW|| per layer, dashed at init, solid after training",
        fontsize="medium",
    )
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", ncol=2)
    return fig


def depth_report(
    results: Sequence[Mapping[str, Any]],
    configs: Sequence[Mapping[str, Any]],
    command: str | None = None,
    *,
    title: str | None = None,
    preface: Preface | None = None,
) -> Report:
    """The ``study depth`` report: error and time against depth, gradient norms per layer.

    ``title`` and ``preface(report, summary_rows)`` as in :func:`compare_report`.
    """
    rows = summary_rows(results, by=("label", "depth"))
    depths = sorted({r["depth"] for r in rows})
    cfg = _shared(configs[0])
    cfg.pop("hidden", None)
    report = Report(
        title or f"Depth study: {depths[0]}-{depths[-1]} hidden layers",
        command=command,
        config={
            "shared": cfg,
            "width": configs[0]["hidden"][0],
            "depths": depths,
            "methods": sorted({c["method"] for c in configs}),
            "seeds": sorted({c["seed"] for c in configs}),
        },
    )
    if preface is not None:
        preface(report, rows)
    for (method,), group in group_runs(rows, ("method",)).items():
        deep = max(group, key=lambda r: r["depth"])
        report.number(
            f"error_{method}_depth{deep['depth']}",
            deep["test_error"],
            label=f"test error, {group[0]['label']}, {plural(deep['depth'], 'hidden layer')}",
            fmt=".2%",
        )
    # The answer first: the conclusion, its numbers and the error against depth; then details.
    report.heading("Conclusion")
    report.paragraph(depth_conclusion(rows))
    report.key_numbers()
    _error_figure(report, results)
    report.heading("Per method and depth")
    _table(report, "depth", rows, columns=DEPTH_COLUMNS, caption="Per method and depth, over seeds")
    report.paragraph(RATIO_NOTE)
    report.heading("Does the gradient reach the first layer of a deeper net?")
    for (method,), runs in group_runs(results, ("method",)).items():
        report.figure(
            f"norms_{method}",
            _norms_by_depth_figure(runs, runs[0]["label"]),
            caption=f"{runs[0]['label']}: ||dL/dW|| per layer for each depth, mean over seeds.",
        )
    report.heading("How long does a deeper net take?")
    _time_figure(report, results)
    report.heading("Details")
    _table(
        report,
        "gradient_norms",
        _norm_rows(results, ("method", "depth")),
        caption="||dL/dW|| per layer (the last layer is the output layer), mean over seeds",
        collapsed=True,
    )
    _table(report, "runs", _runs_table(results, with_depth=True), caption="Every run", collapsed=True)
    return report


DEPTH_COLUMNS = [
    "method",
    "label",
    "depth",
    "runs",
    "test_error",
    "test_error_std",
    "grad_ratio_init",
    "grad_ratio_final",
    "seconds",
    "diverged",
]
"""The columns of the per-method-and-depth table."""


CLASSES = {"digits": 10, "mnist": 10}
"""Classes of the built-in data sets (for the chance line) when a run does not store its own."""


def _chance(results: Sequence[Mapping[str, Any]]) -> tuple[float, str] | None:
    """The test error of guessing (1 - 1/K for K classes) and its legend label, when known."""
    r0 = results[0]
    k = r0.get("n_classes") or CLASSES.get(str(r0.get("data", "")).split(" ")[0].lower())
    if not k:
        return None
    return 1.0 - 1.0 / int(k), f"chance: guessing among {k} classes"


def _error_figure(report: Report, results: Sequence[Mapping[str, Any]]) -> None:
    """Test error against depth, one line per method label, with the chance line."""
    from .plots import depth_plot

    errors: dict[str, dict[int, list[Any]]] = {}
    for (label, depth), runs in group_runs(results, ("label", "depth")).items():
        errors.setdefault(label, {})[depth] = [x["test_error"] for x in runs]
    chance = _chance(results)
    report.figure(
        "error_vs_depth",
        depth_plot(
            errors,
            ylabel="test error",
            title="Does a deeper net make more mistakes?",
            reference=chance,
        ),
        caption="Test error against the number of hidden layers, mean over seeds, bars one "
        "standard deviation"
        + (f"; the dashed line is {chance[1]} ({chance[0]:.0%} error)." if chance else "."),
    )


def _time_figure(report: Report, results: Sequence[Mapping[str, Any]]) -> None:
    """Seconds per epoch of back-propagation against depth (start-up and pre-training excluded)."""
    from .plots import depth_plot

    per_epoch: dict[str, dict[int, list[Any]]] = {}
    for (label, depth), runs in group_runs(results, ("label", "depth")).items():
        per_epoch.setdefault(label, {})[depth] = [
            x["finetune_seconds"] / max(1, len(x["curves"]["loss"])) for x in runs
        ]
    report.figure(
        "seconds_vs_depth",
        depth_plot(
            per_epoch,
            ylabel="seconds per epoch of back-propagation",
            title="How much longer does an epoch take in a deeper net?",
        ),
        caption="Seconds per epoch of back-propagation (fine-tuning time / epochs), mean over "
        "seeds. Loading the data, building the net, the gradient measurements and pre-training "
        "are left out: they are paid once per run, not per epoch, and would hide the trend.",
    )
