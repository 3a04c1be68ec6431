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
from .report_text import literal, plural

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
    """A ratio of gradients as words that go before "the gradient": "1/2,576 of", "1.3 times"."""
    if r is None:
        return "an unmeasurable share of"
    if r < 0.5:
        return f"1/{1 / r:,.0f} of"
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
HEADERS = {
    "method": "key",
    "label": "method",
    "runs": "seeds",
    "seed": "seed",
    "depth": "hidden layers",
    "layer": "layer",
    "test_accuracy": "test accuracy",
    "test_accuracy_std": "± std",
    "test_error": "test error",
    "test_error_std": "± std",
    "train_accuracy": "training accuracy",
    "grad_ratio_init": "gradient ratio at init",
    "grad_ratio_start": "gradient ratio when BP starts",
    "grad_ratio_final": "gradient ratio after training",
    "grad_norm_init": "||dL/dW|| at init",
    "grad_norm_start": "||dL/dW|| when BP starts",
    "grad_norm_final": "||dL/dW|| after training",
    "delta_norm_first": "||delta||, first epoch",
    "delta_norm_last": "||delta||, last epoch",
    "saturation_first": "saturated, first epoch",
    "saturation_last": "saturated, last epoch",
    "activation_std_last": "output spread, last epoch",
    "seconds": "seconds per run",
    "diverged": "diverged runs",
    "system": "system",
    "published_test_error": "published test error",
    "published_note": "note",
    "measured_test_error": "measured test error",
    "measured_std": "± std",
}
"""What a reader sees above each column (the CSV files and results.json keep the names)."""
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
    collapsed: bool | None = None,
) -> None:
    """Add a table of dict rows, each known column with its format from ``formats`` and its
    header from :data:`HEADERS`."""
    cols = list(columns) if columns is not None else list(rows[0]) if rows else []
    fmts = {c: formats[c] for c in cols if c in formats}
    report.table(
        name, rows, columns=cols, formats=fmts, caption=caption, headers=HEADERS, collapsed=collapsed
    )


def layer_names(n_layers: int) -> list[str]:
    """Tick labels of a net's layers: ``1`` (next to the input) ... and ``output`` for the last."""
    return [str(i + 1) for i in range(n_layers - 1)] + ["output"]


def _slug(label: str) -> str:
    """A label as a file-name part: letters and digits kept, runs of anything else as one '_'."""
    return re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_").lower() or "run"


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2%}"


def _over_seeds(runs: int) -> str:
    """``"from one seed"``, ``"over 3 seeds"``."""
    return "from one seed" if runs == 1 else f"over {plural(runs, 'seed')}"


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
            f"- {literal(row['label'])}: "
            f"test accuracy {_pm(row['test_accuracy'], row['test_accuracy_std'], row['runs'])} "
            f"{_over_seeds(row['runs'])}; layer 1 received {_one_over(row['grad_ratio_start'])} "
            f"the gradient of layer {len(cfg['hidden'])} when back-propagation started, and "
            f"{_one_over(row['grad_ratio_final'])} it after training."
        )
    parts.append("\n".join(bullets))
    ranked = [r for r in rows if r["test_accuracy"] is not None]
    if len(ranked) == 1 and len(rows) == 1:
        parts.append("Only one method was run, so there is nothing to rank it against.")
    if len(ranked) >= 2:
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
            f"Best: **{literal(best['label'])}** ({_pct(best['test_accuracy'])}); "
            f"worst: **{literal(worst['label'])}** "
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
    """Per method (first seed), each kind side by side on one scale: gradient flow, information
    planes, first-layer features."""
    from .method_figures import feature_panels, gradient_flow_panels, information_plane_panels

    first = _first_seed_runs(results)
    seeds = sorted({r["seed"] for r in first.values()})
    seed_note = f"seed {seeds[0]}" if len(seeds) == 1 else "the lowest seed of each method"
    grads = {k: [_as_float(row) for row in r["flow"]["grad_norm"]] for k, r in first.items()}
    grads = {k: g for k, g in grads.items() if g}
    if grads:
        n_layers = max(len(g[0]) for g in grads.values())
        report.heading("Where does the gradient vanish during training?")
        report.figure(
            "flow_per_method",
            gradient_flow_panels(
                grads,
                title="Where does the gradient vanish? ||dL/dW|| per layer and epoch",
                layer_names=layer_names(n_layers),
            ),
            caption=f"RMS of ||dL/dW|| per layer (up; the top row is the output layer) and epoch "
            f"(across), {seed_note}. All panels share one colour scale, so a darker cell is a "
            "smaller gradient whichever method it belongs to.",
        )
        for label, r in first.items():
            report.paragraph(
                f"**{literal(label)}** (seed {r['seed']}):\n\n"
                + "\n".join(f"- {s}" for s in r["flow"]["summary"])
            )
    planes = {k: r["info_plane"] for k, r in first.items() if r.get("info_plane")}
    planes = {k: p for k, p in planes.items() if p["I_XT"]}
    if planes:
        p0 = next(iter(planes.values()))
        report.heading("What does each layer keep about the input and the label?")
        report.figure(
            "info_per_method",
            information_plane_panels(
                planes, title="Does a layer forget its input while keeping the label?"
            ),
            caption="The information plane (Shwartz-Ziv and Tishby 2017). Across: I(X;T), how "
            "many bits the layer's output T still carries about the input X (at most "
            f"log2 {p0['n_samples']} = {math.log2(p0['n_samples']):.1f} bits for "
            f"{p0['n_samples']} distinct samples); up: I(T;Y), how many bits it carries about the "
            "label Y. A path moving left late in training is compression. KDE estimator (noise "
            f"variance {p0['noise_variance']:g}), {seed_note}; the colour is the epoch of each "
            f"record (epochs {', '.join(map(str, p0['epochs']))}). Axes span at least 0.5 bits, "
            "so a flat path stays flat.",
        )
    shapes = {tuple(r["image_shape"]) for r in first.values() if r.get("image_shape")}
    feats = {
        f"{label}: {_when(r)}": np.array(r["features"])
        for label, r in first.items()
        if r.get("image_shape") and r.get("features")
    }
    if feats and len(shapes) == 1:
        report.heading("What did the first layer learn?")
        report.figure(
            "features_per_method",
            feature_panels(feats, shapes.pop(), title="First-layer weights after training"),
            caption=f"Weights into the first hidden units of each method after fine-tuning "
            f"(for plain BP: after training from random weights), {seed_note}; each on its own "
            "grey scale.",
        )


def _when(r: Mapping[str, Any]) -> str:
    """When a run's features were taken, in a panel title."""
    pretrained = (r.get("pretrain_seconds") or 0) > 0
    return "after fine-tuning" if pretrained else "after BP training"


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
            learning_curve_panels(
                {"training loss": loss, "test accuracy": acc},
                log_y=[True, False],
                title="Which method learns, and how well does it do on unseen digits?",
            ),
            caption="Training loss (log scale) and test accuracy per epoch of back-propagation, "
            "mean over seeds with one standard deviation; the test set is only monitored.",
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
    # The answer first: the conclusion, its numbers and the key figure; then the details.
    report.heading("Conclusion")
    report.paragraph(compare_conclusion(rows, cfg, results))
    report.key_numbers()
    _learning_curves(report, results, "learning_curves")
    report.heading("Summary")
    _table(
        report,
        "summary",
        rows,
        columns=SUMMARY_COLUMNS,
        caption="Test accuracy per method, mean and standard deviation over seeds",
    )
    report.paragraph(RATIO_NOTE)
    report.heading("Does the error signal reach the first layer?")
    _gradient_norm_figures(report, results)
    _add_method_figures(report, results)
    report.heading("Details")
    _gradient_norm_tables(report, results)
    _table(report, "runs", _runs_table(results), caption="Every run", collapsed=True)
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


def _gradient_norm_tables(report: Report, results: Sequence[Mapping[str, Any]]) -> None:
    """Norms per layer and method, and per-layer statistics (collapsed: details)."""
    _table(
        report,
        "gradient_norms",
        _norm_rows(results, ("label",)),
        caption="||dL/dW|| per layer (the last layer is the output layer), mean over seeds",
        collapsed=True,
    )
    _table(
        report,
        "layer_statistics",
        _layer_stat_rows(results),
        caption="Per layer, mean over seeds: back-propagated error ||delta|| and saturated "
        "fraction (outputs within 0.01 of a sigmoid/tanh bound) in the first and last epoch, "
        "and the spread of the outputs in the last epoch (Glorot and Bengio 2010, figures 3-7)",
        collapsed=True,
    )


_QUESTIONS = {
    "start": "Does the gradient reach layer 1 when back-propagation starts?",
    "final": "Does the gradient reach layer 1 after training?",
}


def _gradient_norm_figures(report: Report, results: Sequence[Mapping[str, Any]]) -> None:
    """Bars of ||dL/dW|| per layer and method, when BP starts and after training."""
    from .plots import gradient_norm_bars

    for moment in ("start", "final"):
        series = {
            label: _as_float(_mean_curve([r[f"grad_norm_{moment}"] for r in runs]))
            for (label,), runs in group_runs(results, ("label",)).items()
        }
        n_layers = len(next(iter(series.values())))
        fig = gradient_norm_bars(series, title=_QUESTIONS[moment], layer_labels=layer_names(n_layers))
        fig.axes[0].set_xlabel("layer (1 = next to the input)")
        report.figure(
            f"grad_norms_{moment}",
            fig,
            caption=f"||dL/dW|| per layer {_MOMENTS[moment]}, mean over seeds (log scale); "
            "a bar far below the output layer's is a gradient that vanished on its way down.",
        )
