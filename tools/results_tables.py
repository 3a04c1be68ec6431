"""The README's result tables, written from stored results: never typed by hand.

    python tools/results_tables.py compare   # run `weightwise compare`, store docs/results/compare.json
    python tools/results_tables.py depth     # `weightwise study depth`, into docs/results/depth.json
    python tools/results_tables.py store --name hinton2006 --report OUT --command "..."
                                             # a finished `weightwise reproduce`, into docs/results/
    python tools/results_tables.py write     # rewrite the generated blocks from docs/results/
    python tools/results_tables.py check     # exit 1 when a block differs from its stored file

A generated block sits between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->`` in README.md
(or in the document :data:`DOCUMENTS` names); ``tests/test_results_tables.py`` holds each block equal
to its stored file, and the stored compare results equal to a fresh `weightwise compare` run (see
docs/protocol.md). ``docs/results/defaults.jsonl`` (one run per line) is written by
``benchmarks/defaults_study.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results"
README = ROOT / "README.md"


# --------------------------------------------------------------------------------------------------
# running and storing


def machine() -> dict[str, Any]:
    """What a figure was measured on: enough to tell whether a rerun should agree to the last digit."""
    import numpy as np

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = ""
    try:
        blas = str(np.show_config(mode="dicts")["Build Dependencies"]["blas"].get("version", ""))  # type: ignore[func-returns-value,index]
    except Exception:  # noqa: BLE001 - an older NumPy without show_config(mode=...): no BLAS version
        pass
    return {
        "machine": platform.machine(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
    }


README_FIGURES = {
    "grad_norms_start": "compare_grad_norms_start.png",
    "learning_curves": "compare_learning_curves.png",
}
"""The compare report's figures that the README shows, by figure name: copied to docs/images/."""


def run_compare(seeds: int = 3, figures: Path | None = None) -> dict[str, Any]:
    """Run the default `weightwise compare` in a scratch folder; its summary as stored results.

    With ``figures``, the report's figures in :data:`README_FIGURES` are copied there.
    """
    from weightwise import __version__
    from weightwise.evidence.experiment_reports import summary_rows
    from weightwise.evidence.studies import compare, compare_configs

    settings = {k: v for k, v in compare_configs(seeds=1)[0].items() if k not in ("method", "seed")}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        _, _, results = compare(tmp, seeds=seeds, progress=False, command="weightwise compare")
        wall = time.perf_counter() - t0
        for name, target in README_FIGURES.items() if figures else ():
            assert figures is not None
            (figures / target).write_bytes((Path(tmp) / f"figure_{name}.png").read_bytes())
    rows = [
        {k: row[k] for k in ("label", "method", "runs", "test_accuracy", "test_accuracy_std")}
        | {k: row[k] for k in ("grad_ratio_start", "grad_ratio_final")}
        for row in summary_rows(results)
    ]
    return {
        "command": "weightwise compare",
        "weightwise": __version__,
        "date": dt.date.today().isoformat(),
        "wall_seconds": round(wall, 1),
        "machine": machine(),
        "settings": settings,
        "seeds": seeds,
        "n_classes": 10 if settings["data"] == "digits" else None,
        "rows": rows,
        "runs": [
            {"label": r["label"], "seed": r["seed"], "test_accuracy": r["test_accuracy"]}
            for r in results
        ],
    }


def run_depth(seeds: int = 2) -> dict[str, Any]:
    """Run the default `weightwise study depth` in a scratch folder; test errors per method and depth."""
    from weightwise import __version__
    from weightwise.evidence.experiment_reports import summary_rows
    from weightwise.evidence.studies import study_depth, study_depth_configs

    first = study_depth_configs(depths=(1,), seeds=1)[0]
    settings = {k: v for k, v in first.items() if k not in ("method", "seed", "hidden")}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        _, _, results = study_depth(tmp, seeds=seeds, progress=False, command="weightwise study depth")
        wall = time.perf_counter() - t0
    rows = [
        {k: row[k] for k in ("label", "method", "depth", "runs", "test_error", "test_error_std")}
        for row in summary_rows(results, by=("label", "depth"))
    ]
    return {
        "command": "weightwise study depth",
        "weightwise": __version__,
        "date": dt.date.today().isoformat(),
        "wall_seconds": round(wall, 1),
        "machine": machine(),
        "settings": settings | {"width": first["hidden"][0]},
        "seeds": seeds,
        "n_classes": 10 if settings["data"] == "digits" else None,
        "rows": rows,
    }


def store(name: str, results: Mapping[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return path


def load(name: str) -> dict[str, Any]:
    """``docs/results/NAME.json``, or ``NAME.jsonl`` (one run per line) as ``{"runs": [...]}``."""
    lines = RESULTS / f"{name}.jsonl"
    if lines.exists():
        text = lines.read_text(encoding="utf-8")
        return {"runs": [json.loads(line) for line in text.splitlines() if line.strip()]}
    return dict(json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8")))


# --------------------------------------------------------------------------------------------------
# rendering


def ratio_text(r: float | None) -> str:
    """A gradient ratio as a reader compares it: ``1/2,576`` below one half, ``1.5×`` above."""
    if r is None:
        return "n/a"
    return f"1/{1 / r:,.0f}" if r < 0.5 else f"{r:.2g}×"


def at_chance(accuracy: float, n_classes: int | None) -> bool:
    """The dead-run rule's chance level (weightwise.backpropagation.health), for balanced classes."""
    if not n_classes:
        return False
    c = 1.0 / n_classes
    return accuracy <= c + 0.1 * (1.0 - c)


def compare_table(results: Mapping[str, Any]) -> str:
    """The table of methods and the sentence on plain BP: what a rerun must reproduce."""
    n = results["seeds"]
    lines = [
        f"| method | test accuracy (mean ± std over {n} seeds) "
        "| gradient of layer 1 / last hidden layer when BP starts | after training |",
        "|---|---|---|---|",
    ]
    for row in results["rows"]:
        acc = f"{100 * row['test_accuracy']:.2f}% ± {100 * row['test_accuracy_std']:.2f}%"
        if at_chance(row["test_accuracy"], results["n_classes"]):
            acc += " (chance)"
        lines.append(
            f"| {row['label']} | {acc} | {ratio_text(row['grad_ratio_start'])} | "
            f"{ratio_text(row['grad_ratio_final'])} |"
        )
    bp = next((r for r in results["rows"] if r["method"] == "bp"), None)
    if bp is not None and bp["grad_ratio_start"] and bp["grad_ratio_start"] < 0.5:
        chance = at_chance(bp["test_accuracy"], results["n_classes"])
        lines += [
            "",
            f"Under plain BP the error signal that reaches the first layer is "
            f"{1 / bp['grad_ratio_start']:,.0f} times weaker than at the last hidden layer"
            + (", and the network never leaves chance level." if chance else "."),
        ]
    return "\n".join(lines)


def compare_block(results: Mapping[str, Any]) -> str:
    s = results["settings"]
    depth, width = len(s["hidden"]), s["hidden"][0]
    m = results["machine"]
    intro = (
        f"Measured with `{results['command']}` on {m['cores']} cores ({m['cpu']}), "
        f"{results['date']}: {s['data']}, {depth} hidden layers of {width} units, {s['epochs']} epochs "
        f"of SGD with batch {s['batch_size']}, learning rate {s['learning_rate']:g}, momentum "
        f"{s['momentum']:g}, softmax cross-entropy, {results['seeds']} seeds; "
        f"{results['wall_seconds']:.0f} s wall. Stored in "
        "[docs/results/compare.json](docs/results/compare.json), written here by "
        "`python tools/results_tables.py write`."
    )
    return intro + "\n\n" + compare_table(results)


def _depth_summary(label: str, errors: dict[int, float], n_classes: int | None) -> str:
    """How deep ``label`` still trains: within 2 points of its best, and where it falls to chance."""
    depths = sorted(errors)
    best = min(errors.values())
    holds = max(d for d in depths if all(errors[e] <= best + 0.02 for e in depths if e <= d))
    chance_from = next(
        (d for d in depths if all(at_chance(1 - errors[e], n_classes) for e in depths if e >= d)), None
    )
    text = f"{label} stays within 2 points of its best ({100 * best:.1f}% error) up to {holds} hidden "
    text += "layer" if holds == 1 else "layers"
    if chance_from is not None:
        text += f" and is at chance from {chance_from} on"
    return text + f" ({100 * errors[depths[-1]]:.1f}% error at {depths[-1]})"


def depth_block(results: Mapping[str, Any]) -> str:
    """Test error against depth per method, and a sentence per method on how deep it still trains."""
    labels: dict[str, dict[int, float]] = {}
    for row in results["rows"]:
        labels.setdefault(row["label"], {})[row["depth"]] = row["test_error"]
    depths = sorted({d for errors in labels.values() for d in errors})
    s, m = results["settings"], results["machine"]
    lines = [
        f"Measured with `{results['command']}` on {m['cores']} cores, {results['date']}: {s['data']}, "
        f"{depths[0]}-{depths[-1]} hidden layers of {s['width']} units, {s['epochs']} epochs, "
        f"{results['seeds']} seeds; {results['wall_seconds']:.0f} s wall "
        "([docs/results/depth.json](docs/results/depth.json)). Test error, mean over seeds:",
        "",
        "| hidden layers | " + " | ".join(labels) + " |",
        "|---:|" + "---:|" * len(labels),
    ]
    for d in depths:
        cells = [f"{100 * errors[d]:.1f}%" if d in errors else "" for errors in labels.values()]
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    sentences = [_depth_summary(label, errors, results["n_classes"]) for label, errors in labels.items()]
    return "\n".join(lines) + "\n\n" + "; ".join(sentences) + "."


DEFAULTS_DATA = {
    "digits": ("scikit-learn digits (1,347 / 450), 100-100-100", "tuning"),
    "mnist12k": ("MNIST, 12,000 training images", "tuning"),
    "mnist12k-invert": ("MNIST-12k inverted (1 - x)", "tuning"),
    "mnist12k-rot": ("MNIST-12k rotated (0-360°)", "tuning"),
    "mnist12k-noise": ("MNIST-12k, background noise U(0, 0.5)", "confirmation"),
    "mnist12k-rand": ("MNIST-12k, random background U(0, 1)", "confirmation"),
}
"""The defaults study's data sets: what the table calls them, and what they were used for."""

DEFAULTS_RECIPES = {
    "default": 'defaults: `BPClassifier(pretrain="rbm")`',
    "default_auto": 'batch `"auto"`, 10 epochs',
    "default_b100_e50": "batch 100, 50 epochs (what `auto` gives 10,000 rows)",
    "default_b100": "batch 100, 10 epochs",
    "default_b20": "earlier defaults (pre-training batch 20)",
    "default_b20_es": "earlier defaults + early stopping",
    "default_b100_e30_es": "batch 100, 30 epochs, early stopping",
    "textbook": "textbook recipe (tuned)",
    "bp": "plain BP (same net, no pre-training)",
}


def _mean_std(values: list[float]) -> str:
    import statistics

    mean = 100 * statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.2f}%"
    return f"{mean:.2f}% ± {100 * statistics.stdev(values):.2f}%"


def defaults_block(results: Mapping[str, Any]) -> str:
    """Validation and test error per data set and recipe, mean ± std (sample std) over seeds."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for run in results["runs"]:
        groups.setdefault((run["data"], run["recipe"]), []).append(run)
    order = {name: i for i, name in enumerate(DEFAULTS_DATA)}
    recipes = {name: i for i, name in enumerate(DEFAULTS_RECIPES)}
    lines = [
        "| data set (used for) | recipe | pre-training batch × epochs | seeds | validation error "
        "| test error | wall s (mean) |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for data, recipe in sorted(groups, key=lambda k: (order.get(k[0], 99), recipes.get(k[1], 99), k)):
        runs = sorted(groups[data, recipe], key=lambda r: r["seed"])
        name, use = DEFAULTS_DATA.get(data, (data, "?"))
        wall = sum(r["wall_seconds"] for r in runs) / len(runs)
        first = runs[0]
        pre = "" if first.get("pretrain_batch_size") is None else (
            f"{first['pretrain_batch_size']} × {first['pretrain_epochs']}"
        )  # fmt: skip
        lines.append(
            f"| {name} ({use}) | {DEFAULTS_RECIPES.get(recipe, recipe)} | {pre} | {len(runs)} | "
            f"{_mean_std([r['validation_error'] for r in runs])} | "
            f"{_mean_std([r['test_error'] for r in runs])} | {wall:.0f} |"
        )
    return "\n".join(lines)


LABELS_METHODS = {
    "bp": "BP alone (sigmoid)",
    "relu_he": "ReLU + He + BP",
    "rbm": "DBN: RBM pre-training + BP",
    "dae": "SdA: denoising pre-training + BP",
}


def _labels_cells(results: Mapping[str, Any]) -> tuple[list[int], dict[tuple[str, int], Any]]:
    cells = {(r["method"], r["n_labels"]): r for r in results["rows"]}
    return sorted({r["n_labels"] for r in results["rows"]}), cells


def _pm(row: Mapping[str, Any]) -> str:
    return f"{100 * row['test_error']:.2f} ± {100 * row['test_error_std']:.2f}%"


def _gap(pre: Mapping[str, Any], bp: Mapping[str, Any]) -> tuple[float, float]:
    """Points by which ``pre`` beats ``bp``, and 2 std of the difference (sqrt of summed variances)."""
    gap = 100 * (bp["test_error"] - pre["test_error"])
    return gap, 200 * (pre["test_error_std"] ** 2 + bp["test_error_std"] ** 2) ** 0.5


def labels_block(results: Mapping[str, Any]) -> str:
    """docs/labels.md: how it was measured, test error per method and label count beside the
    published figures, whether each pre-training beats BP alone by 2 std, and the chosen recipes."""
    counts, cells = _labels_cells(results)
    seeds = results["config"]["seeds"]
    m = results["machine"]
    lines = [
        f"Measured with `{results['command']}` on {m['cores']} cores ({m['cpu']}; {m.get('note', '')}), "
        f"{results['date']}: {results['wall_seconds'] / 60:.1f} minutes wall. Test error, mean ± "
        "standard deviation over seeds ("
        + ", ".join(f"{len(seeds[str(n)])} at {n:,}" for n in counts)
        + "), each method with the recipe its seed-0 validation error chose. Stored in "
        "[results/labels.json](results/labels.json), written here by "
        "`python tools/results_tables.py write`.",
        "",
        "| method | " + " | ".join(f"{n:,} labels" for n in counts) + " |",
        "|---|" + "---:|" * len(counts),
    ]
    for method, label in LABELS_METHODS.items():
        row = [_pm(cells[method, n]) if (method, n) in cells else "" for n in counts]
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    sources: dict[str, dict[int, float]] = {}
    for p in results["published"]:
        sources.setdefault(p["source"], {})[p["n_labels"]] = p["published_test_error"]
    for source, errors in sources.items():
        row = [f"{100 * errors[n]:.2f}%" if n in errors else "" for n in counts]
        lines.append(f"| *published:* {source} | " + " | ".join(row) + " |")
    lines += [
        "",
        "Does pre-training beat BP alone by more than 2 standard deviations of the difference?",
        "",
    ]
    for n in counts:
        parts = []
        for method in ("rbm", "dae"):
            gap, two_std = _gap(cells[method, n], cells["bp", n])
            verdict = "yes" if gap > two_std else "no"
            parts.append(f"{method} by {gap:.2f} points (2 std {two_std:.2f}): {verdict}")
        lines.append(f"- {n:,} labels: " + "; ".join(parts) + ".")
    chosen = results["config"]["chosen"]
    lines += ["", "Chosen recipes (validation error of seed 0; every selection run in "
              "[results/labels_selection.json](results/labels_selection.json)):", "",
              "| method | " + " | ".join(f"{n:,}" for n in counts) + " |",
              "|---|" + "---|" * len(counts)]  # fmt: skip
    for method in LABELS_METHODS:
        lines.append(
            f"| {method} | " + " | ".join(f"`{chosen[f'{method}@{n}']}`" for n in counts) + " |"
        )
    return "\n".join(lines)


def labels_summary_block(results: Mapping[str, Any]) -> str:
    """The README's sentence on the labels study: the fewest labels, and 1,000."""
    counts, cells = _labels_cells(results)
    parts = []
    for n in (counts[0], 1000) if 1000 in counts else (counts[0],):
        best = min(("rbm", "dae"), key=lambda k: cells[k, n]["test_error"])
        parts.append(
            f"with {n:,} labels, {'a DBN' if best == 'rbm' else 'an SdA'} pre-trained on the 60,000 "
            f"images without labels reaches {_pm(cells[best, n])} test error against "
            f"{_pm(cells['bp', n])} for BP alone and {_pm(cells['relu_he', n])} for ReLU + He"
        )
    return (
        f"Measured with `weightwise study labels` ({results['wall_seconds'] / 60:.0f} minutes on "
        f"{results['machine']['cores']} cores): "
        + "; ".join(parts)
        + " ([docs/labels.md](docs/labels.md))."
    )


# --------------------------------------------------------------------------------------------------
# protocol reproductions (weightwise reproduce hinton2006 | vincent2010)


def report_tables(folder: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    """A report folder's ``results.json`` and its tables as lists of row dicts."""
    rep = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    tables = {
        k: [dict(zip(t["columns"], row, strict=True)) for row in t["rows"]]
        for k, t in rep["tables"].items()
    }
    return rep, tables


def store_reproduction(
    name: str, folder: Path, command: str, note: str = "", wall_seconds: float | None = None
) -> dict[str, Any]:
    """The stored results of a finished protocol reproduction (``weightwise reproduce NAME
    --out FOLDER``): the published table, every selection run with its validation curve (read
    from ``FOLDER/sweep/select``), every final run, the chosen recipes and grid, the machine.

    ``wall_seconds`` defaults to the report's own (the wall time of the call that wrote it: give
    the total when the run was resumed). ``run_seconds`` adds up what every stored run took.
    """
    from weightwise import __version__

    rep, tables = report_tables(folder)
    meta = rep["metadata"]
    curves = {}
    for path in sorted((folder / "sweep" / "select" / "runs").glob("*.json")):
        run = json.loads(path.read_text(encoding="utf-8"))["result"]
        curves[run["method"], run["recipe"]] = run["valid_curve"]
    selection = [r | {"valid_curve": curves[r["method"], r["recipe"]]} for r in tables["selection"]]
    pretrain = {(r["method"], r["seed"]): r["pretrain_seconds"] for r in tables["runs"]}
    run_seconds = (
        sum(pretrain.values())
        + sum(r["seconds"] for r in tables["selection"])
        + sum(r["seconds"] for r in tables["runs"])
    )
    return {
        "name": name,
        "command": command,
        "weightwise": __version__,
        "date": meta["timestamp"][:10],
        "wall_seconds": round(float(wall_seconds if wall_seconds is not None else meta["seconds"]), 1),
        "run_seconds": round(run_seconds, 1),
        "machine": {**machine(), "note": note} if note else machine(),
        "config": meta["config"],
        "published": [{k: v for k, v in r.items() if k != "measured"} for r in tables["published"]],
        "summary": tables["summary"],
        "selection": selection,
        "runs": tables["runs"],
    }


MNIST_TRAIN = 60_000


def reproduction_problems(results: Mapping[str, Any]) -> list[str]:
    """What in a stored protocol reproduction breaks the protocol or disagrees with itself (empty:
    nothing): every summary is the population mean ± std of its final runs; at least 3 seeds per
    method; each method's recipe is the lowest validation error among its selection runs (ties:
    grid order), and every final run used it; a run's validation error is the best of its curve;
    seed 0's final run is its selection run again (same validation error)."""
    import statistics

    problems: list[str] = []
    grid = list(results["config"]["recipes"])
    for row in results["summary"]:
        method = row["method"]
        runs = [r for r in results["runs"] if r["method"] == method]
        errors = [r["test_error"] for r in runs]
        if len({r["seed"] for r in runs}) < 3:
            problems.append(f"{method}: {len(runs)} final seeds, the protocol asks for 3 or more")
        if not errors or abs(statistics.fmean(errors) - row["test_error"]) > 1e-12:
            problems.append(f"{method}: the mean test error is not the mean of its runs")
        elif abs(statistics.pstdev(errors) - row["test_error_std"]) > 1e-12:
            problems.append(f"{method}: the std is not the population std of its runs")
        selection = [r for r in results["selection"] if r["method"] == method]
        if not selection:
            problems.append(f"{method}: no selection runs")
            continue
        best = min(selection, key=lambda r: (r["valid_error"], grid.index(r["recipe"])))
        chosen = [r["recipe"] for r in selection if r["chosen"]]
        if chosen != [best["recipe"]] or results["config"]["chosen"][f"{method}@all"] != best["recipe"]:
            problems.append(f"{method}: chose {chosen}, the lowest validation error is {best['recipe']}")
        if any(r["recipe"] != best["recipe"] for r in runs):
            problems.append(f"{method}: a final run did not use the chosen recipe")
        for r in selection:
            if abs(min(r["valid_curve"]) - r["valid_error"]) > 5e-5:
                problems.append(f"{method} {r['recipe']}: the epoch kept is not the best one")
        seed0 = [r for r in runs if r["seed"] == 0]
        if seed0 and abs(seed0[0]["valid_error"] - best["valid_error"]) > 1e-12:
            problems.append(f"{method}: seed 0's final run differs from its selection run")
    return problems


def _pct_pm(mean: float, std: float) -> str:
    return f"{100 * mean:.2f}% ± {100 * std:.2f}%"


def reproduction_block(results: Mapping[str, Any]) -> str:
    """The README's table of one protocol reproduction: published beside measured (population
    std over seeds), the recipe each method's seed-0 validation error chose, the wall time."""
    m, cfg = results["machine"], results["config"]
    s = cfg["settings"]
    summary = {r["method"]: r for r in results["summary"]}
    seeds = cfg["seeds"]
    hours = results["wall_seconds"] / 3600
    n_train = s.get("n_train") or MNIST_TRAIN
    unlabelled = "all 60,000" if s["n_unlabelled"] is None else f"{s['n_unlabelled']:,}"
    n_fit = n_train - s["n_valid"]
    n_test = "all 10,000 images" if s["n_test"] is None else f"{s['n_test']:,} images"
    lines = [
        f"Measured with `{results['command']}` on {m['cores']} cores ({m['cpu']}"
        + (f"; {m['note']}" if m.get("note") else "")
        + f"), {results['date']}: {hours:.1f} h wall ({results['run_seconds'] / 3600:.1f} h of "
        f"one-thread runs). {len(seeds)} seeds; pre-training {s['pretrain_epochs']} epochs per layer "
        f"on {unlabelled} training images without labels; every method tried the same "
        f"{len(cfg['recipes'])} fine-tuning recipes on seed 0, fitted on {n_fit:,} images and scored "
        f"on the next {s['n_valid']:,}; the test set ({n_test}) was read once per final run. Stored in "
        f"[docs/results/{results['name']}.json](docs/results/{results['name']}.json); every "
        "selection and final run in [docs/reproductions.md](docs/reproductions.md).",
        "",
        "| system | published test error; source | measured test error (mean ± std) | recipe "
        "chosen on validation | validation error (seed 0) |",
        "|---|---|---:|---|---:|",
    ]
    for p in results["published"]:
        r = summary.get(p["method"])
        published = p["published_note"]
        if p["published_test_error"] is not None:
            published = f"{100 * p['published_test_error']:.2f}%; {published}"
        if r is None:
            lines.append(f"| {p['system']} | {published} | not run | | |")
            continue
        chosen = cfg["chosen"][f"{p['method']}@all"]
        valid = next(x for x in results["selection"] if x["method"] == p["method"] and x["chosen"])
        lines.append(
            f"| {p['system']} | {published} | **{_pct_pm(r['test_error'], r['test_error_std'])}** | "
            f"`{chosen}` | {100 * valid['valid_error']:.2f}% |"
        )
    return "\n".join(lines) + "\n\n" + _reproduction_verdict(results, summary)


PRETRAINED = {"rbm": "the DBN", "dae": "the SdA"}
SHORT_NAMES = {**PRETRAINED, "bp": "BP alone", "relu_he": "ReLU + He"}


def _reproduction_verdict(results: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    """Sentences on the pre-trained net: against its published figure and against BP alone."""
    sentences = []
    for method, name in PRETRAINED.items():
        if method not in summary:
            continue
        r = summary[method]
        published = next(
            (p["published_test_error"] for p in results["published"] if p["method"] == method), None
        )
        if published is not None:
            verdict = "at or below" if r["test_error"] <= published else "above"
            sentences.append(
                f"The mean test error of {name}, {100 * r['test_error']:.2f}%, is {verdict} the "
                f"published {100 * published:.2f}%."
            )
        if "bp" in summary:
            gap, two_std = _gap(r, summary["bp"])
            sentences.append(
                f"Pre-training lowers the test error of the same network by {gap:.2f} points against "
                f"BP alone with the same fine-tuning budget ({'more' if gap > two_std else 'not more'} "
                f"than 2 standard deviations of the difference, {two_std:.2f})."
            )
    bound = _budget_bound(results)
    if bound:
        limit = results["config"]["settings"]["max_epochs"]
        sentences.append(
            f"The {limit}-epoch budget (the same for every method) bound {' and '.join(bound)}: "
            f"{'each' if len(bound) > 1 else 'its'} chosen selection run kept its last or next-to-last "
            "epoch, so a longer budget might lower "
            + ("their errors." if len(bound) > 1 else "its error.")
        )
    if "relu_he" in summary:
        r = summary["relu_he"]
        sentences.append(
            f"ReLU + He, with the same budget and no pre-training, reaches "
            f"{_pct_pm(r['test_error'], r['test_error_std'])}."
        )
    return " ".join(sentences)


def _budget_bound(results: Mapping[str, Any]) -> list[str]:
    """Methods whose chosen selection run kept one of its last two allowed epochs."""
    limit = results["config"]["settings"]["max_epochs"]
    return [
        SHORT_NAMES.get(r["method"], r["method"])
        for r in results["selection"]
        if r["chosen"] and r["best_epoch"] is not None and r["best_epoch"] >= limit - 1
    ]


def reproduction_runs_block(results: Mapping[str, Any]) -> str:
    """docs/reproductions.md: the grid, every selection run (validation only) and every final run."""
    recipes = results["config"]["recipes"]
    lines = [
        f"`{results['command']}`, {results['date']}, {results['machine']['cores']} cores "
        f"({results['machine']['cpu']}); stored in [results/{results['name']}.json]"
        f"(results/{results['name']}.json).",
        "",
        "The grid, written down before any run:",
        "",
        "| recipe | optimiser | learning rate | × per epoch | softmax layer alone first |",
        "|---|---|---:|---:|---|",
    ]
    for name, r in recipes.items():
        lines.append(
            f"| `{name}` | {r['optimizer']} | {r['learning_rate']:g} | {r.get('lr_decay', 1.0):g} | "
            f"{'yes' if r['top_first'] else 'no'} |"
        )
    lines += [
        "",
        "Selection runs (seed 0; validation error of the epoch kept; the test set was not read):",
        "",
        "| method | recipe | validation error | best epoch | epochs run | minutes | chosen |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in results["selection"]:
        lines.append(
            f"| {r['method']} | `{r['recipe']}` | {100 * r['valid_error']:.2f}% | {r['best_epoch']} | "
            f"{len(r['valid_curve'])} | {r['seconds'] / 60:.1f} | {'**yes**' if r['chosen'] else ''} |"
        )
    lines += [
        "",
        "Final runs (the chosen recipe; the test set read once, at the end):",
        "",
        "| method | seed | recipe | validation error | test error | best epoch "
        "| minutes (pre-training) |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in results["runs"]:
        pre = f" ({r['pretrain_seconds'] / 60:.1f})" if r["pretrain_seconds"] else ""
        fit = "its selection run" if r.get("selection_run") else f"{r['seconds'] / 60:.1f}"
        lines.append(
            f"| {r['method']} | {r['seed']} | `{r['recipe']}` | {100 * r['valid_error']:.2f}% | "
            f"{100 * r['test_error']:.2f}% | {r['best_epoch']} | {fit}{pre} |"
        )
    return "\n".join(lines)


BLOCKS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "compare": compare_block,
    "hinton2006": reproduction_block,
    "hinton2006-runs": reproduction_runs_block,
    "vincent2010": reproduction_block,
    "vincent2010-runs": reproduction_runs_block,
    "depth": depth_block,
    "defaults": defaults_block,
    "labels": labels_block,
    "labels-summary": labels_summary_block,
}
"""Each generated block by name: its stored file is ``docs/results/NAME.json`` (or ``.jsonl``)
unless :data:`STORED` names another."""

DOCUMENTS: dict[str, Path] = {
    "defaults": ROOT / "docs" / "defaults.md",
    "labels": ROOT / "docs" / "labels.md",
    "hinton2006-runs": ROOT / "docs" / "reproductions.md",
    "vincent2010-runs": ROOT / "docs" / "reproductions.md",
}
"""Blocks that live outside README.md, by name."""

STORED: dict[str, str] = {
    "labels-summary": "labels",
    "hinton2006-runs": "hinton2006",
    "vincent2010-runs": "vincent2010",
}
"""Blocks rendered from another block's stored file."""


def stored(name: str) -> dict[str, Any]:
    """The stored results block ``name`` is rendered from."""
    return load(STORED.get(name, name))


def document(name: str) -> Path:
    return DOCUMENTS.get(name, README)


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- results:{name} -->\n)(.*?)(\n<!-- /results:{name} -->)", re.S)


def readme_block(name: str, text: str | None = None) -> str:
    """The current text of block ``name`` in its document (README.md unless :data:`DOCUMENTS`)."""
    text = document(name).read_text(encoding="utf-8") if text is None else text
    match = _pattern(name).search(text)
    if match is None:
        raise SystemExit(f"{document(name).name} has no block <!-- results:{name} -->")
    return match.group(2)


def write() -> list[str]:
    """Rewrite every block from its stored file; the names of the blocks that changed."""
    changed = []
    for name, render in BLOCKS.items():
        path = document(name)
        text = path.read_text(encoding="utf-8")
        new = render(stored(name))
        if readme_block(name, text) != new:
            changed.append(name)
            text = _pattern(name).sub(lambda m, new=new: m.group(1) + new + m.group(3), text)
            path.write_text(text, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("what", choices=["compare", "depth", "store", "write", "check"])
    parser.add_argument("--seeds", type=int, help="default: 3 for compare, 2 for depth")
    parser.add_argument("--name", help="store: the reproduction (hinton2006, vincent2010)")
    parser.add_argument("--report", type=Path, help="store: its finished --out folder")
    parser.add_argument("--command", help="store: the command that made it, as run")
    parser.add_argument("--note", default="", help="store: how the machine was shared")
    parser.add_argument("--wall", type=float, help="store: total wall seconds (a resumed run)")
    args = parser.parse_args(argv)
    if args.what == "store":
        if not (args.name and args.report and args.command):
            parser.error("store needs --name, --report and --command")
        results = store_reproduction(args.name, args.report, args.command, args.note, args.wall)
        print(f"stored {store(args.name, results)}")
        return 0
    if args.what == "compare":
        print(f"stored {store('compare', run_compare(args.seeds or 3, ROOT / 'docs' / 'images'))}")
        return 0
    if args.what == "depth":
        print(f"stored {store('depth', run_depth(args.seeds or 2))}")
        return 0
    if args.what == "write":
        print("rewrote: " + (", ".join(write()) or "nothing (up to date)"))
        return 0
    stale = [n for n, render in BLOCKS.items() if readme_block(n) != render(stored(n))]
    for name in stale:
        print(f"block {name!r} differs from docs/results/{name}: run write", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
