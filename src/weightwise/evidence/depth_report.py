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
            f"- {group[0]['label']}: lowest test error {_pct(best['test_error'])} with "
            f"{best['depth']} hidden layer(s); {_pct(deep['test_error'])} with {deep['depth']}; "
            f"within {tolerance * 100:.0f} points of its best at every depth up to {reach} layers."
        )
    text = "Test error against depth (mean over seeds):\n\n" + "\n".join(parts)
    max_depth = max(r["depth"] for r in rows)
    if "bp" in deepest_ok:
        d = deepest_ok["bp"]
        if max_depth <= 7:
            claim = (
                f"this study stops at {max_depth} layers, so it cannot test the passage's claim "
                "that BP networks rarely go beyond 7 layers"
            )
        elif d <= 7:
            claim = "consistent with the passage's claim that BP networks rarely go beyond 7 layers"
        else:
            claim = "deeper than the passage's 7 layers in this setting"
        text += f"\n\nPlain BP stays within 2 points of its best up to {d} hidden layers: {claim}."
        others = {m: v for m, v in deepest_ok.items() if m != "bp"}
        if others:
            text += (
                " Within 2 points of their best: "
                + "; ".join(f"{m} up to {v} layers" for m, v in others.items())
                + "."
            )
    return text


def _norms_by_depth_figure(results: Sequence[Mapping[str, Any]], method: str) -> Any:
    """Gradient norm per layer at init (dashed) and after training (solid), one colour per depth."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.5), layout="constrained")
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
        f"{method}\n||dL/dW|| per layer: dashed at init, solid after training", fontsize="medium"
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
            label=f"test error, {group[0]['label']}, {deep['depth']} hidden layers",
            fmt=".2%",
        )
    report.heading("Conclusion")
    report.paragraph(depth_conclusion(rows))
    report.heading("Test error against depth")
    _against_depth_figures(report, results)
    _table(report, "depth", rows, columns=DEPTH_COLUMNS, caption="Per method and depth, over seeds")
    report.paragraph(RATIO_NOTE)
    report.heading("Gradient norm per layer at initialisation and after training")
    for (method,), runs in group_runs(results, ("method",)).items():
        report.figure(
            f"norms_{method}",
            _norms_by_depth_figure(runs, runs[0]["label"]),
            caption=f"{runs[0]['label']}: ||dL/dW|| per layer for each depth, mean over seeds.",
        )
    _table(report, "gradient_norms", _norm_rows(results, ("method", "depth")))
    report.heading("Runs")
    _table(report, "runs", _runs_table(results, with_depth=True))
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


def _against_depth_figures(report: Report, results: Sequence[Mapping[str, Any]]) -> None:
    """Test error and seconds per run against depth, one line per method label."""
    from .plots import depth_plot

    by_depth = group_runs(results, ("label", "depth"))
    errors: dict[str, dict[int, list[Any]]] = {}
    seconds: dict[str, dict[int, list[Any]]] = {}
    for (label, depth), runs in by_depth.items():
        errors.setdefault(label, {})[depth] = [x["test_error"] for x in runs]
        seconds.setdefault(label, {})[depth] = [x["seconds"] for x in runs]
    report.figure(
        "error_vs_depth",
        depth_plot(errors, ylabel="test error", title="test error against depth"),
        caption="Mean over seeds, bars one standard deviation.",
    )
    report.figure(
        "seconds_vs_depth",
        depth_plot(seconds, ylabel="seconds per run", title="time per run"),
        caption="Wall time per run (pre-training included), mean over seeds.",
    )
