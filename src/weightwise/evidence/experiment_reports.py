"""The report of ``weightwise compare``, and what every experiment report shares: summaries over
seeds, tables, formats and per-method figures (:mod:`.depth_report` builds the depth study's).

Nothing here trains anything: every table, figure and sentence is computed from the results of
:func:`~.experiments.run_one` (as the sweep stored them), so a resumed sweep gives the same report.
The conclusion sentences quote the same numbers the tables show.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .report import Report

# --------------------------------------------------------------------------------------------------
# summaries over seeds


def _mean_std(values: Sequence[float | None]) -> tuple[float | None, float | None]:
    """Mean and (population) standard deviation over the finite values; None when there are none."""
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size == 0:
        return None, None
    return float(v.mean()), float(v.std())


def _geo_mean(values: Sequence[float | None]) -> float | None:
    """Geometric mean of positive finite values: ratios of gradient norms multiply, so average logs."""
    v = np.array([x for x in values if x is not None and math.isfinite(x) and x > 0], dtype=float)
    return float(np.exp(np.mean(np.log(v)))) if v.size else None


def group_runs(
    results: Sequence[Mapping[str, Any]], by: Sequence[str]
) -> dict[tuple[Any, ...], list[Any]]:
    """Results grouped by the values of the keys ``by``, groups in order of first appearance."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for r in results:
        groups.setdefault(tuple(r[k] for k in by), []).append(r)
    return groups


def summary_rows(
    results: Sequence[Mapping[str, Any]], by: Sequence[str] = ("label",)
) -> list[dict[str, Any]]:
    """One row per group (method label, or label and depth): accuracy mean +- std over seeds,
    gradient ratio layer 1 / last hidden layer (geometric mean over seeds), seconds per run."""
    rows = []
    for key, runs in group_runs(results, by).items():
        acc_mean, acc_std = _mean_std([r["test_accuracy"] for r in runs])
        err_mean, err_std = _mean_std([r["test_error"] for r in runs])
        sec_mean, _ = _mean_std([r["seconds"] for r in runs])
        row: dict[str, Any] = dict(zip(by, key, strict=True))
        row.update(
            {
                "method": runs[0]["method"],
                "runs": len(runs),
                "test_accuracy": acc_mean,
                "test_accuracy_std": acc_std,
                "test_error": err_mean,
                "test_error_std": err_std,
                "grad_ratio_init": _geo_mean([r["grad_ratio_init"] for r in runs]),
                "grad_ratio_start": _geo_mean([r["grad_ratio_start"] for r in runs]),
                "grad_ratio_final": _geo_mean([r["grad_ratio_final"] for r in runs]),
                "seconds": sec_mean,
                "diverged": sum(bool(r["diverged"]) for r in runs),
            }
        )
        rows.append(row)
    return rows


def _mean_curve(rows: Sequence[Sequence[float | None]]) -> list[float | None]:
    """Column means of ragged per-layer lists (None ignored)."""
    width = max((len(r) for r in rows), default=0)
    out = []
    for j in range(width):
        m, _ = _mean_std([r[j] for r in rows if j < len(r)])
        out.append(m)
    return out


def _as_float(values: Sequence[Any]) -> list[float]:
    """None to NaN, for the plots."""
    return [math.nan if v is None else float(v) for v in values]


def _one_over(r: float | None) -> str:
    if r is None:
        return "an unmeasurable share"
    if r < 0.5:
        return f"1/{1 / r:,.0f}"
    return f"{r:.2g} times"


def _shared(config: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of a sweep's first run without the per-run keys, for the report's metadata."""
    return {k: v for k, v in config.items() if k not in ("method", "seed", "label")}


SUMMARY_COLUMNS = [
    "method",
    "label",
    "runs",
    "test_accuracy",
    "test_accuracy_std",
    "grad_ratio_init",
    "grad_ratio_start",
    "grad_ratio_final",
    "seconds",
    "diverged",
]
FORMATS = {
    "test_accuracy": ".2%",
    "test_accuracy_std": ".2%",
    "test_error": ".2%",
    "test_error_std": ".2%",
    "grad_ratio_init": ".3g",
    "grad_ratio_start": ".3g",
    "grad_ratio_final": ".3g",
    "seconds": ".1f",
    "train_accuracy": ".2%",
    "delta_norm_first": ".3g",
    "delta_norm_last": ".3g",
    "saturation_first": ".1%",
    "saturation_last": ".1%",
    "activation_std_last": ".3g",
    "grad_norm_init": ".3g",
    "grad_norm_start": ".3g",
    "grad_norm_final": ".3g",
}
_MOMENTS = {
    "start": "when back-propagation starts (after any pre-training)",
    "final": "after training",
}
RATIO_NOTE = (
    "Gradient ratio: ||dL/dW|| of layer 1 divided by that of the last hidden layer, one full-batch "
    "backward pass on a fixed training subset (geometric mean over seeds); 'init' before any "
    "training, 'start' when back-propagation starts (after pre-training), 'final' after training."
)


def _table(
    report: Report,
    name: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    columns: Sequence[str] | None = None,
    formats: Mapping[str, str] = FORMATS,
    caption: str | None = None,
) -> None:
    """Add a table of dict rows, each known column with its format from ``formats``."""
    cols = list(columns) if columns is not None else list(rows[0]) if rows else []
    fmts = {c: formats[c] for c in cols if c in formats}
    report.table(name, rows, columns=cols, formats=fmts, caption=caption)


def _slug(label: str) -> str:
    """A label as a file-name part: letters and digits kept, runs of anything else as one '_'."""
    return re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_").lower() or "run"


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2%}"


def _pm(mean: float | None, std: float | None, runs: int) -> str:
    if mean is None:
        return "n/a (every run diverged)"
    return f"{mean:.2%}" + (f" +- {std:.2%}" if runs > 1 and std is not None else "")


def _describe(cfg: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> str:
    r0 = results[0]
    hidden = cfg["hidden"]
    shape = "-".join(str(w) for w in hidden)
    return (
        f"{len(hidden)} hidden layers ({shape}) on {r0['data']} ({r0['n_train']} training, "
        f"{r0['n_test']} test samples), {cfg['epochs']} epochs of mini-batch SGD (batch "
        f"{cfg['batch_size']}, learning rate {cfg['learning_rate']:g}, momentum {cfg['momentum']:g}, "
        f"softmax cross-entropy)"
    )


def compare_conclusion(rows: Sequence[Mapping[str, Any]], cfg: Mapping[str, Any], results: Any) -> str:
    """Plain-language conclusion from the summary rows (the numbers are the table's)."""
    parts = [f"With {_describe(cfg, results)}:"]
    bullets = []
    for row in rows:
        bullets.append(
            f"- {row['label']}: "
            f"test accuracy {_pm(row['test_accuracy'], row['test_accuracy_std'], row['runs'])} "
            f"over {row['runs']} seed(s); layer 1 received {_one_over(row['grad_ratio_start'])} "
            f"the gradient of layer {len(cfg['hidden'])} when back-propagation started, "
            f"{_one_over(row['grad_ratio_final'])} after training."
        )
    parts.append("\n".join(bullets))
    ranked = [r for r in rows if r["test_accuracy"] is not None]
    if ranked:
        best = max(ranked, key=lambda r: r["test_accuracy"])
        worst = min(ranked, key=lambda r: r["test_accuracy"])
        gap = best["test_accuracy"] - worst["test_accuracy"]
        spread = max((r["test_accuracy_std"] or 0.0) for r in (best, worst))
        verdict = (
            "larger than the spread over seeds"
            if gap > 2 * spread
            else "within about twice the spread over seeds, so not clearly a difference"
        )
        parts.append(
            f"Best: **{best['label']}** ({_pct(best['test_accuracy'])}); worst: **{worst['label']}** "
            f"({_pct(worst['test_accuracy'])}); the gap of {gap * 100:.2f} points is {verdict}."
        )
    bp = next((r for r in rows if r["method"] == "bp"), None)
    if bp is not None and bp["grad_ratio_init"] is not None:
        vanish = bp["grad_ratio_init"] < 0.1
        parts.append(
            f"Under plain BP the first layer starts with {_one_over(bp['grad_ratio_init'])} the "
            f"gradient of the last hidden layer: "
            + (
                "the error signal vanishes on its way down, as the passage says."
                if vanish
                else "here the gradient does not vanish much at initialisation."
            )
        )
    return "\n\n".join(parts)


def _runs_table(results: Sequence[Mapping[str, Any]], with_depth: bool = False) -> list[dict[str, Any]]:
    rows = []
    for r in results:
        row = {"method": r["method"], "label": r["label"], "seed": r["seed"]}
        if with_depth:
            row["depth"] = r["depth"]
        row.update(
            {
                "test_accuracy": r["test_accuracy"],
                "train_accuracy": r["train_accuracy"],
                "grad_ratio_init": r["grad_ratio_init"],
                "grad_ratio_final": r["grad_ratio_final"],
                "seconds": r["seconds"],
                "diverged": r["diverged"],
            }
        )
        rows.append(row)
    return rows


def _norm_rows(results: Sequence[Mapping[str, Any]], by: Sequence[str]) -> list[dict[str, Any]]:
    """Mean gradient norm per layer (over seeds) at init, at the start of BP and after training."""
    rows = []
    for key, runs in group_runs(results, by).items():
        means = {
            k: _mean_curve([r[k] for r in runs])
            for k in ("grad_norm_init", "grad_norm_start", "grad_norm_final")
        }
        for layer in range(len(means["grad_norm_init"])):
            row: dict[str, Any] = dict(zip(by, key, strict=True))
            row["layer"] = layer + 1
            row.update({k: v[layer] for k, v in means.items()})
            rows.append(row)
    return rows


def _layer_stat_rows(results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per method label and layer: delta norm and saturation in the first and last epoch, and the
    activation spread in the last, each the mean over seeds (None where it does not apply)."""
    rows = []
    for (label,), runs in group_runs(results, ("label",)).items():
        done = [r for r in runs if r["flow"]["grad_norm"]]
        if not done:
            continue

        def mean_at(key: str, epoch: int, done: list[Any] = done) -> list[float | None]:
            return _mean_curve([r["flow"][key][epoch] for r in done])

        stats = {
            "delta_norm_first": mean_at("delta_norm", 0),
            "delta_norm_last": mean_at("delta_norm", -1),
            "saturation_first": mean_at("saturation", 0),
            "saturation_last": mean_at("saturation", -1),
            "activation_std_last": mean_at("activation_std", -1),
        }
        for layer in range(len(stats["delta_norm_first"])):
            row: dict[str, Any] = {"label": label, "layer": layer + 1}
            row.update({k: v[layer] if layer < len(v) else None for k, v in stats.items()})
            rows.append(row)
    return rows


def _first_seed_runs(results: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Per method label, the run with the lowest seed: the one whose figures the report shows."""
    return {
        label: min(runs, key=lambda x: x["seed"])
        for (label,), runs in group_runs(results, ("label",)).items()
    }


def _add_method_figures(report: Report, results: Sequence[Mapping[str, Any]]) -> None:
    """Per method (first seed): gradient-flow heat maps, then information planes, then features."""
    from .plots import feature_grid, gradient_flow_heatmap, information_plane

    first = _first_seed_runs(results)
    for label, r in first.items():
        grad = [_as_float(row) for row in r["flow"]["grad_norm"]]
        if grad:
            report.figure(
                f"flow_{_slug(label)}",
                gradient_flow_heatmap(grad, title=f"{label}: gradient norm per layer and epoch"),
                caption=f"{label} (seed {r['seed']}): RMS of ||dL/dW|| per layer (up) and epoch "
                "(across); the top row is the output layer.",
            )
    for label, r in first.items():
        plane = r.get("info_plane")
        if plane and plane["I_XT"]:
            report.figure(
                f"info_{_slug(label)}",
                information_plane(
                    plane["I_XT"],
                    plane["I_TY"],
                    title=f"{label}: information plane",
                    layer_labels=[f"layer {l}" for l in plane["layers"]],
                    first_epoch=1,
                ),
                caption=f"{label} (seed {r['seed']}): I(X;T) and I(T;Y) in bits per hidden layer, "
                f"KDE estimator (noise variance {plane['noise_variance']:g}) on {plane['n_samples']} "
                f"training samples. The colour counts the records 1..{len(plane['epochs'])}, "
                f"taken at epochs {plane['epochs']}.",
            )
    for label, r in first.items():
        if r.get("image_shape") and r.get("features"):
            report.figure(
                f"features_{_slug(label)}",
                feature_grid(
                    np.array(r["features"]), tuple(r["image_shape"]), title=f"{label}: layer 1"
                ),
                caption=f"{label} (seed {r['seed']}): weights into the first hidden units after "
                "training, each on its own grey scale.",
            )


def _learning_curves(report: Report, results: Sequence[Mapping[str, Any]], name: str) -> None:
    from .plots import learning_curve_panels

    loss: dict[str, Any] = {}
    acc: dict[str, Any] = {}
    for (label,), runs in group_runs(results, ("label",)).items():
        done = [r for r in runs if r["curves"]["loss"]]
        if done:
            loss[label] = [_as_float(r["curves"]["loss"]) for r in done]
            acc[label] = [_as_float(r["curves"]["test_accuracy"]) for r in done]
    if loss:
        report.figure(
            name,
            learning_curve_panels({"training loss": loss, "test accuracy": acc}, log_y=[True, False]),
            caption="Mean over seeds with one standard deviation; the test set is only monitored.",
        )


Preface = Callable[[Report, list[dict[str, Any]]], None]
"""``preface(report, summary_rows)``: what a report adds before its conclusion."""


def compare_report(
    results: Sequence[Mapping[str, Any]],
    configs: Sequence[Mapping[str, Any]],
    command: str | None = None,
    *,
    title: str | None = None,
    preface: Preface | None = None,
) -> Report:
    """The ``compare`` report: summary, conclusion, curves, gradient flow, information, features.

    ``title`` replaces the default title; ``preface(report, summary_rows)`` adds content before
    the conclusion (a reproduction's published numbers).
    """
    cfg = configs[0]
    rows = summary_rows(results)
    depth = len(cfg["hidden"])
    report = Report(
        title or f"How should the weights be adjusted? {depth} hidden layers, {len(rows)} ways",
        command=command,
        config={
            "shared": _shared(cfg),
            "methods": [r["method"] for r in rows],
            "seeds": sorted({c["seed"] for c in configs}),
        },
    )
    if preface is not None:
        preface(report, rows)
    _compare_numbers(report, rows)
    report.heading("Conclusion")
    report.paragraph(compare_conclusion(rows, cfg, results))
    report.heading("Summary")
    _table(
        report,
        "summary",
        rows,
        columns=SUMMARY_COLUMNS,
        caption="Test accuracy per method, mean and standard deviation over seeds",
    )
    report.paragraph(RATIO_NOTE)
    report.heading("Learning curves")
    _learning_curves(report, results, "learning_curves")
    report.heading("Gradient norm per layer")
    _gradient_norm_section(report, results)
    report.heading("Gradient flow, information and features per method")
    for label, r in _first_seed_runs(results).items():
        report.paragraph(
            f"**{label}** (seed {r['seed']}):\n\n" + "\n".join(f"- {s}" for s in r["flow"]["summary"])
        )
    _add_method_figures(report, results)
    report.heading("Runs")
    _table(report, "runs", _runs_table(results))
    return report


def _compare_numbers(report: Report, rows: Sequence[Mapping[str, Any]]) -> None:
    """The key numbers: test accuracy per method, and plain BP's gradient ratio at init."""
    for row in rows:
        report.number(
            f"accuracy_{_slug(row['label'])}",
            row["test_accuracy"],
            label=f"test accuracy, {row['label']}",
            fmt=".2%",
        )
    bp = next((r for r in rows if r["method"] == "bp"), None)
    if bp is not None:
        report.number(
            "grad_ratio_bp_init",
            bp["grad_ratio_init"],
            label="plain BP: gradient ratio layer 1 / last hidden at init",
            fmt=".3g",
        )


def _gradient_norm_section(report: Report, results: Sequence[Mapping[str, Any]]) -> None:
    """Norms per layer and method, per-layer statistics, and the bars when BP starts and after."""
    from .plots import gradient_norm_bars

    _table(
        report,
        "gradient_norms",
        _norm_rows(results, ("label",)),
        caption="||dL/dW|| per layer (output layer last), mean over seeds",
    )
    _table(
        report,
        "layer_statistics",
        _layer_stat_rows(results),
        caption="Per layer, mean over seeds: back-propagated error ||delta|| and saturated "
        "fraction (outputs within 0.01 of a sigmoid/tanh bound) in the first and last epoch, "
        "and the spread of the outputs in the last epoch (Glorot and Bengio 2010, figures 3-7)",
    )
    for moment in ("start", "final"):
        series = {
            label: _as_float(_mean_curve([r[f"grad_norm_{moment}"] for r in runs]))
            for (label,), runs in group_runs(results, ("label",)).items()
        }
        report.figure(
            f"grad_norms_{moment}",
            gradient_norm_bars(series, title=f"gradient norm per layer {_MOMENTS[moment]}"),
            caption=f"||dL/dW|| per layer {_MOMENTS[moment]}, mean over seeds (log scale).",
        )
