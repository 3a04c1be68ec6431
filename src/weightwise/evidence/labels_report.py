"""The report of ``weightwise study labels``: test error against the number of labelled images,
beside published figures, and the selection runs that chose each recipe.

It only reads run results (:class:`~.labels.LabelsStudy`): nothing here trains anything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .experiment_reports import HEADERS, _mean_std, _pct, group_runs
from .report import Report
from .report_text import literal

PUBLISHED: dict[str, dict[int, float]] = {
    "plain neural net (Kingma et al. 2014, Table 1)": {
        100: 0.258,
        600: 0.1144,
        1000: 0.107,
        3000: 0.0604,
    },
    "contractive auto-encoder (Rifai et al. 2011, via Kingma et al. 2014)": {
        100: 0.1347,
        600: 0.063,
        1000: 0.0477,
        3000: 0.0322,
    },
    "MLP with batch norm and noise (Rasmus et al. 2015)": {100: 0.2174, 1000: 0.0570},
}
"""Published MNIST test errors by number of labelled images (the anchors of the figure)."""

TARGETS = {100: 0.15, 1000: 0.055}
"""The issue's targets for the best pre-training method."""
PRETRAINED = ("rbm", "dae", "ae")
BASELINE = "bp"

_FORMATS = {
    "test_error": ".2%",
    "test_error_std": ".2%",
    "valid_error": ".2%",
    "published_test_error": ".2%",
    "seconds": ".1f",
    "pretrain_seconds": ".1f",
}
_HEADERS = {
    **HEADERS,
    "n_labels": "labels",
    "valid_error": "validation error",
    "recipe": "recipe (chosen on validation)",
    "chosen": "chosen",
    "best_epoch": "epoch kept",
    "epochs": "epochs run",
    "top_epochs": "softmax-alone epochs",
    "seconds": "fine-tuning s/run",
    "pretrain_seconds": "pre-training s",
    "source": "source",
}


def summary_rows(results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per method and label count: test error mean and std over seeds, and more."""
    rows = []
    for (method, n), runs in sorted(group_runs(results, ("method", "n_labels")).items(), key=_order):
        err, std = _mean_std([r["test_error"] for r in runs])
        val, _ = _mean_std([r["valid_error"] for r in runs])
        sec, _ = _mean_std([r["seconds"] for r in runs])
        rows.append(
            {
                "method": method,
                "label": runs[0]["label"],
                "n_labels": n,
                "runs": len(runs),
                "test_error": err,
                "test_error_std": std,
                "valid_error": val,
                "recipe": runs[0]["recipe"],
                "seconds": sec,
            }
        )
    return rows


_METHOD_ORDER = {"bp": 0, "relu_he": 1, "rbm": 2, "dae": 3}


def _order(item: tuple[tuple[Any, ...], Any]) -> tuple[int, str, int]:
    method, n = item[0]
    return (_METHOD_ORDER.get(method, 9), str(method), int(n))


def _beats(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[bool, float, float]:
    """Whether row ``a`` has a lower mean test error than ``b`` by more than 2 standard deviations
    of the difference (sqrt(std_a^2 + std_b^2)); the gap and that threshold."""
    gap = b["test_error"] - a["test_error"]
    spread = math.sqrt((a["test_error_std"] or 0.0) ** 2 + (b["test_error_std"] or 0.0) ** 2)
    return gap > 2 * spread, gap, 2 * spread


def labels_conclusion(rows: Sequence[Mapping[str, Any]]) -> str:
    """Per label count: does each pre-training method beat BP alone by more than 2 std? Then the
    issue's targets (<= 15% at 100 labels, <= 5.5% at 1,000) for the best pre-trained method."""
    by = {(r["method"], r["n_labels"]): r for r in rows}
    counts = sorted({r["n_labels"] for r in rows})
    lines = []
    for n in counts:
        base = by.get((BASELINE, n))
        parts = []
        for m in PRETRAINED:
            if (m, n) not in by or base is None:
                continue
            ok, gap, thr = _beats(by[(m, n)], base)
            if min(by[(m, n)]["runs"], base["runs"]) < 2:
                verdict, how = ("below" if gap > 0 else "not below"), "one seed: no spread to test"
            else:
                verdict = "beats" if ok else "does not beat"
                how = f"by more than 2 std: gap {gap * 100:.2f} points, 2 std {thr * 100:.2f}"
            parts.append(
                f"{m} {_pct(by[(m, n)]['test_error'])} {verdict} BP alone "
                f"{_pct(base['test_error'])} ({how})"
            )
        best = min((r for r in rows if r["n_labels"] == n), key=lambda r: r["test_error"])
        parts.append(f"best: {literal(best['label'])} {_pct(best['test_error'])}")
        lines.append(f"- {n} labels: " + "; ".join(parts) + ".")
    for n, target in TARGETS.items():
        pre = [by[(m, n)] for m in PRETRAINED if (m, n) in by]
        if pre:
            best = min(pre, key=lambda r: r["test_error"])
            met = "met" if best["test_error"] <= target else "missed"
            lines.append(
                f"- target at {n} labels, <= {target:.1%}: {met} ({best['method']} "
                f"{_pct(best['test_error'])})."
            )
    return "Test error (mean over seeds) against the number of labelled images:\n\n" + "\n".join(lines)


def published_rows() -> list[dict[str, Any]]:
    """The published anchors as table rows."""
    return [
        {"source": src, "n_labels": n, "published_test_error": e}
        for src, by_n in PUBLISHED.items()
        for n, e in by_n.items()
    ]


def labels_figure(rows: Sequence[Mapping[str, Any]], published: bool = True) -> Any:
    """Test error against labelled images (log x): ours with one-std bars, published dashed."""
    from .plot_base import finish_axes, new_figure

    fig = new_figure(7.2, 4.8)
    ax = fig.add_subplot()
    for _, group in sorted(
        group_runs(rows, ("method",)).items(), key=lambda kv: _METHOD_ORDER.get(kv[0][0], 9)
    ):
        ns = [r["n_labels"] for r in group]
        ax.errorbar(
            ns,
            [r["test_error"] for r in group],
            yerr=[r["test_error_std"] or 0.0 for r in group],
            marker="o",
            capsize=3,
            label=group[0]["label"],
        )
    if published:
        for (src, by_n), marker in zip(PUBLISHED.items(), ("s", "^", "D"), strict=False):
            ns = sorted(by_n)
            ax.plot(
                ns,
                [by_n[n] for n in ns],
                linestyle="--",
                marker=marker,
                color="0.45",
                markerfacecolor="none",
                linewidth=1,
                label=f"published: {src}",
            )
    ax.set_xscale("log")
    counts = sorted(
        {r["n_labels"] for r in rows} | (set().union(*PUBLISHED.values()) if published else set())
    )
    ax.set_xticks(counts, [str(n) for n in counts])
    ax.minorticks_off()
    ax.set_xlabel("labelled training images (log scale)")
    ax.set_ylabel("test error")
    ax.yaxis.set_major_formatter(_percent())
    finish_axes(ax, title="When does pre-training on unlabelled images still pay?")
    handles, names = ax.get_legend_handles_labels()
    ours = [i for i, n in enumerate(names) if not n.startswith("published")]
    theirs = [i for i, n in enumerate(names) if n.startswith("published")]
    ax.legend([handles[i] for i in ours + theirs], [names[i] for i in ours + theirs], fontsize="x-small")
    return fig


def _table(
    report: Report,
    name: str,
    rows: Sequence[Mapping[str, Any]],
    caption: str,
    columns: Sequence[str] | None = None,
    collapsed: bool | None = None,
) -> None:
    """A table with this report's number formats and headers for the columns it has."""
    cols = list(columns) if columns is not None else list(rows[0]) if rows else []
    fmts = {c: f for c, f in _FORMATS.items() if c in cols}
    report.table(
        name, rows, columns=cols, formats=fmts, caption=caption, headers=_HEADERS, collapsed=collapsed
    )


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)


def selection_rows(study: Any) -> list[dict[str, Any]]:
    """Every selection run: method, labels, recipe, validation error, and whether it was chosen."""
    rows = []
    for r in sorted(study.selection, key=lambda r: (_METHOD_ORDER.get(r["method"], 9), r["n_labels"])):
        key = f"{r['method']}@{r['n_labels']}"
        rows.append(
            {
                "method": r["method"],
                "n_labels": r["n_labels"],
                "recipe": r["recipe"],
                "valid_error": r["valid_error"],
                "best_epoch": r["best_epoch"],
                "top_epochs": r["top_epochs"],
                "chosen": study.chosen.get(key) == r["recipe"],
            }
        )
    return rows


def _run_rows(results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    keep = ("method", "n_labels", "seed", "recipe", "valid_error", "test_error", "best_epoch")
    rows = [
        {k: r[k] for k in keep} | {"seconds": r["seconds"], "pretrain_seconds": r["pretrain_seconds"]}
        for r in results
    ]
    return sorted(rows, key=lambda r: (_METHOD_ORDER.get(r["method"], 9), r["n_labels"], r["seed"]))


LABELS_COLUMNS = [
    "method",
    "label",
    "n_labels",
    "runs",
    "test_error",
    "test_error_std",
    "valid_error",
    "recipe",
    "seconds",
]
TABLE_CAPTION = "Test error over seeds; each recipe chosen on validation error (seed 0)"


def labels_report(study: Any, command: str | None = None) -> Report:
    """The ``study labels`` report from a :class:`~.labels.LabelsStudy`."""
    from .labels import RECIPES

    recipes = study.recipes or RECIPES
    rows = summary_rows(study.results)
    settings = study.settings.keyed()
    report = Report(
        "Labels study: when does pre-training on unlabelled images still pay?",
        command=command,
        config={
            "settings": settings,
            "methods": sorted({r["method"] for r in study.results}),
            "label_counts": sorted({r["n_labels"] for r in study.results}),
            "seeds": {
                str(n): sorted({r["seed"] for r in g})
                for (n,), g in group_runs(study.results, ("n_labels",)).items()
            },
            "recipes": {k: v.as_dict() for k, v in recipes.items()},
            "chosen": study.chosen,
        },
        metadata={"seconds": study.seconds},
    )
    for r in rows:
        if r["n_labels"] in TARGETS or r["n_labels"] == min(x["n_labels"] for x in rows):
            name = f"error_{r['method']}_{r['n_labels']}"
            if name not in report.numbers:
                report.number(
                    name,
                    r["test_error"],
                    label=f"test error, {r['method']}, {r['n_labels']} labels",
                    fmt=".2%",
                )
    report.heading("Conclusion")
    report.paragraph(labels_conclusion(rows))
    report.key_numbers()
    report.figure(
        "error_vs_labels",
        labels_figure(rows),
        caption="Test error against the number of labelled training images (log scale), mean over "
        "seeds, bars one standard deviation; grey dashed lines are published figures (other "
        "networks and recipes: anchors, not reproductions).",
    )
    report.heading("Per method and label count")
    _table(report, "labels", rows, TABLE_CAPTION, columns=LABELS_COLUMNS)
    _table(report, "published", published_rows(), "Published MNIST test errors", collapsed=False)
    report.heading("How each recipe was chosen")
    report.paragraph(_protocol_text(study))
    _table(
        report,
        "selection",
        selection_rows(study),
        "Selection runs (seed 0, validation error only)",
        collapsed=True,
    )
    report.heading("Details")
    _table(report, "runs", _run_rows(study.results), "Every final run", collapsed=True)
    return report


def _protocol_text(study: Any) -> str:
    s = study.settings
    pre = [r["pretrain_seconds"] for r in study.results if r["pretrain_seconds"]]
    when = f" One pre-training took {np.mean(pre):.1f} s on average." if pre else ""
    return (
        f"Pre-training used {'all' if s.n_unlabelled is None else s.n_unlabelled} training images "
        f"without labels, {s.pretrain_epochs} epochs per hidden layer, once per method and seed; "
        "its stack served every label count." + when + " Each method tried the same "
        f"{len(study.chosen) and len({r['recipe'] for r in study.selection})} fine-tuning recipes "
        f"at every label count on seed 0, scored on {s.n_valid} validation images drawn from the "
        "training set (disjoint from the labelled images); the lowest validation error chose "
        "the recipe. Every run kept the epoch of its lowest validation error. The test set was "
        "read once per final run, never during selection. This call took "
        f"{study.seconds / 60:.1f} min of wall time (runs reused from the sweep folder cost "
        "nothing)."
    )
