"""``weightwise predict`` and ``weightwise info``: using and describing a saved model."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from .. import __version__
from ..errors import ConfigError, DataError
from .base import _user_errors_exit_1, app, console, err_console
from .data import read_features, read_labels
from .options import DownloadOption, MnistPathOption
from .progress import _fmt
from .stack import PRETRAINED, load_stack, stack_kind
from .train import _loss_name, stop_reason


def load_model(path: Path) -> tuple[Any, Any, dict[str, Any]]:
    """An estimator (or None for a bare network), the network and the metadata of a model file.

    The estimator class is the one named in the file (``BPClassifier``, ``BPRegressor``, ...);
    nothing is unpickled.
    """
    from .. import estimators
    from ..errors import ModelFileError
    from ..io import load_network

    net, meta, _ = load_network(path)
    kind = meta.get("estimator")
    if kind is None:
        return None, net, meta
    cls = getattr(estimators, str(kind), None)
    if cls is None or not callable(getattr(cls, "load", None)):
        raise ModelFileError(
            f"{path} holds a {kind} model, which this version of weightwise cannot read; upgrade "
            "weightwise or train the model again"
        )
    est = cls.load(path)
    return est, est.network_, meta


@app.command()
@_user_errors_exit_1
def predict(
    model: Annotated[
        Path, typer.Argument(metavar="MODEL", help="Model file written by weightwise train.")
    ],
    data: Annotated[
        str,
        typer.Argument(
            metavar="DATA",
            help="A .csv with a header (features only, or name the label column with --target), "
            "an .npz with array X, or digits/mnist (their test sets).",
        ),
    ],
    target: Annotated[
        str | None, typer.Option(help="Column of the CSV to drop (the labels), if any.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write a CSV here instead of printing to stdout.")
    ] = None,
    proba: Annotated[
        bool, typer.Option("--proba", help="Also give class probabilities (classifiers).")
    ] = False,
    mnist_path: MnistPathOption = None,
    download: DownloadOption = False,
) -> None:
    """Predict with a saved model: one prediction per line on stdout, or a CSV file with --out.

    Classifiers give labels (with --proba, then one probability per class); regressors give
    values (comma-separated for several targets). A bare network file gives its output units; a
    stack from weightwise pretrain (after the input scaling it was trained with) and an RBM, DBN
    or StackedAutoEncoder give their top-layer features. Where DATA has labels (digits, mnist, a
    CSV with --target, an NPZ with y), the accuracy (or R^2) is printed on stderr.
    """
    est, net, meta = load_model(model)
    X = read_features(data, target, mnist_path, download)
    _check_finite(X, data)
    n_in = int(net.sizes[0])
    if X.shape[1] != n_in:
        raise DataError(
            f"{data} has {X.shape[1]} feature columns but the model expects {n_in}; give the same "
            "columns as in training (name the label column with --target to drop it)"
        )
    if proba and not hasattr(est, "predict_proba"):
        what = "a bare network" if est is None else f"a {type(est).__name__}"
        raise ConfigError(f"--proba needs a classifier; {model} holds {what}")
    header: list[str]
    if est is None:
        X = _scaled_like_training(model, meta, X)
        with np.errstate(over="ignore"):  # an overflow becomes inf, refused just below
            X = np.asarray(X, dtype=np.dtype(meta["_file"]["dtype"]))
        _check_finite(X, data, f"a value too large for the model's {X.dtype}")
        values = np.asarray(net.predict(X))
        header = [f"output_{j}" for j in range(values.shape[1])]
        columns = [values[:, j] for j in range(values.shape[1])]
    elif not callable(getattr(est, "predict", None)):
        # An unsupervised estimator (RBM, DBN, StackedAutoEncoder): its features.
        values = np.asarray(est.transform(X))
        header = [f"feature_{j}" for j in range(values.shape[1])]
        columns = [values[:, j] for j in range(values.shape[1])]
    else:
        pred = np.asarray(est.predict(X))
        pred2 = pred.reshape(len(pred), -1)
        k = pred2.shape[1]
        header = ["prediction"] if pred2.shape[1] == 1 else [f"prediction_{j}" for j in range(k)]
        columns = [pred2[:, j] for j in range(pred2.shape[1])]
        if proba:
            p = np.asarray(est.predict_proba(X))
            header += [f"proba_{c}" for c in est.classes_]
            columns += [p[:, j] for j in range(p.shape[1])]
    lines = [",".join(_cell(col[i]) for col in columns) for i in range(X.shape[0])]
    if out is None:
        sys.stdout.write("\n".join(lines) + "\n")
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(",".join(header) + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
        err_console.print(f"{len(lines)} predictions written to {out}", highlight=False)
    if est is not None and callable(getattr(est, "predict", None)):
        _print_score(est, X, read_labels(data, target, mnist_path))


def _check_finite(X: np.ndarray, data: str, infinite: str = "an infinite value") -> None:
    """Refuse NaN and infinite values (one line naming the first), which no model can predict.

    ``infinite`` names what an infinity is (after a cast: a value too large for the dtype).
    """
    if X.dtype.kind != "f":
        return
    bad = ~np.isfinite(X)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        what = "NaN" if np.isnan(X[i, j]) else infinite
        more = f" ({int(bad.sum())} such values in all)" if bad.sum() > 1 else ""
        raise DataError(
            f"{data} holds {what} at row {i + 1}, column {j + 1}{more}; predictions need finite "
            "numbers: fill or drop those rows first"
        )


def _print_score(est: Any, X: np.ndarray, y: np.ndarray | None) -> None:
    """The accuracy (classifiers) or R^2 (regressors) on stderr, where the data has labels."""
    if y is None or len(y) != X.shape[0]:
        return
    try:
        score = float(est.score(X, y))
    except (ValueError, TypeError):
        return  # labels of another kind than the model's (e.g. text for a regressor)
    name = "accuracy" if hasattr(est, "predict_proba") else "R^2"
    err_console.print(f"{name} {score:.4f} on {X.shape[0]:,} labelled samples", highlight=False)


def _scaled_like_training(model: Path, meta: dict[str, Any], X: np.ndarray) -> np.ndarray:
    """``X`` with the ``--scale`` a stack was pre-trained with (``(X - offset) / scale``), if any."""
    record = meta.get(PRETRAINED)
    if not isinstance(record, dict) or record.get("scale", "none") == "none":
        return X
    from .data import apply_scaling

    stack = load_stack(model)
    if stack.offset is None or stack.scale is None:
        return X
    return apply_scaling(X, (stack.offset, stack.scale), str(record["scale"]))


def _cell(value: Any) -> str:
    """A CSV cell: integers as integers, floats with full precision, labels as text."""
    if isinstance(value, np.floating):
        return str(value)  # the shortest text that reads back to the same float32/float64
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (np.integer, np.bool_)):
        return str(int(value))
    return str(value)


@app.command()
@_user_errors_exit_1
def info(
    model: Annotated[
        Path, typer.Argument(metavar="MODEL", help="Model file written by weightwise train.")
    ],
) -> None:
    """Describe a saved model: architecture, parameter count, dtype, training history, versions."""
    est, net, meta = load_model(model)
    file_meta = meta["_file"]
    record = meta.get(PRETRAINED)
    stack = record if isinstance(record, dict) and record.get("learners") else None
    layerwise = layerwise_record(meta)
    kind = meta.get("estimator", "Network")
    if stack is not None:
        kind = f"pre-trained {stack_kind(stack['learners'])}"
    table = Table(title=f"{model}: {kind} {'-'.join(map(str, net.sizes))}")
    for col in ("layer", "inputs", "outputs", "activation", "parameters"):
        table.add_column(col, justify="right")
    for l, layer in enumerate(net.layers, 1):
        n = layer.n_in * layer.n_out + layer.n_out
        table.add_row(str(l), str(layer.n_in), str(layer.n_out), layer.activation.name, f"{n:,}")
    table.add_row("total", "", "", "", f"{net.n_params:,}", style="bold")
    console.print(table)
    if layerwise is not None:
        console.print(pretraining_record_table(layerwise))

    summary = Table(show_header=False, title="summary")
    summary.add_column("key")
    summary.add_column("value")
    summary.add_row("parameters", f"{net.n_params:,}")
    summary.add_row("dtype", str(file_meta["dtype"]))
    params = meta.get("params") or {}
    history = meta.get("history")
    # A BP estimator records a fit History (a dict); an unsupervised one per-layer histories.
    bp = isinstance(history, dict)
    if est is not None and bp:
        summary.add_row("loss", _loss_name(est, params.get("loss")))
        for key in ("solver", "learning_rate", "batch_size", "alpha"):
            if key in params:
                summary.add_row(key, str(params[key]))
    if meta.get("classes") is not None:
        summary.add_row("classes", ", ".join(map(str, meta["classes"])))
    if bp and history:
        from ..backpropagation.training import History

        h = History.from_dict(history)
        summary.add_row("epochs", str(h.n_epochs))
        if h.loss:
            summary.add_row("final training loss", _fmt(h.loss[-1], ".6g"))
        if h.metric and not math.isnan(h.metric[-1]):
            summary.add_row("final training accuracy", _fmt(h.metric[-1], ".4f"))
        best = _best_validation(meta, h)
        summary.add_row("best validation score", best)
        summary.add_row("stop reason", stop_reason(h.stop_reason))
        summary.add_row("training time", f"{sum(h.seconds):.1f} s")
    elif layerwise is None:
        summary.add_row("history", "none recorded")
    if stack is not None:
        summary.add_row("pre-trained on", str(stack.get("data", "-")))
        summary.add_row("input scaling", str(stack.get("scale", "none")))
        summary.add_row("propagation up the stack", str(stack.get("propagate", "mean")))
    summary.add_row("saved by weightwise", str(file_meta.get("library_version")))
    summary.add_row("file format version", str(file_meta.get("format_version")))
    summary.add_row("this weightwise", __version__)
    console.print(summary)


PRETRAIN_SETTINGS = (
    "pretrain_epochs",
    "pretrain_learning_rate",
    "pretrain_batch_size",
    "n_iter",
    "learning_rate",
    "batch_size",
    "cd_k",
    "persistent",
    "corruption",
    "weight_cost",
)


def layerwise_record(meta: dict[str, Any]) -> dict[str, Any] | None:
    """The layer-wise training a model file records, in the shape of a stack's record; or None.

    Three kinds of file carry one: a stack from ``weightwise pretrain`` (``meta["pretrained"]``),
    a BP estimator fitted with ``pretrain=`` (``meta["pretrain"]``), and an unsupervised
    estimator (RBM, DBN, StackedAutoEncoder: ``meta["learners"]`` with a per-layer history).
    """
    stack = meta.get(PRETRAINED)
    if isinstance(stack, dict) and stack.get("learners"):
        return stack
    if meta.get("estimator") is None:
        return None
    params = meta.get("params") or {}
    saved = meta.get("pretrain")
    if isinstance(saved, dict) and saved.get("learners"):
        keys = [k for k in PRETRAIN_SETTINGS if k.startswith("pretrain_") or k in ("cd_k", "persistent")]
        keys += ["corruption", "weight_cost"]
    elif isinstance(meta.get("history"), list) and meta.get("learners"):
        saved, keys = meta, list(PRETRAIN_SETTINGS)
    else:
        return None
    shared = {k: params[k] for k in keys if params.get(k) is not None}
    histories = [h for h in saved.get("history") or [] if isinstance(h, dict)]
    states = list(saved.get("states") or [])
    layers = []
    for h in histories:
        seconds = [s for s in (h.get("seconds") or []) if s is not None]
        layers.append({"history": h, "seconds": sum(seconds)})
    settings = [{**shared, **(states[k] if k < len(states) else {})} for k in range(len(layers))]
    return {"learners": list(saved["learners"]), "layers": layers, "learner_params": settings}


def pretraining_record_table(record: dict[str, Any]) -> Table:
    """Per pre-trained layer: learner, its settings, epochs, final reconstruction error, seconds."""
    table = Table(title="greedy layer-wise pre-training")
    for col in ("layer", "learner", "settings", "epochs", "recon. error", "seconds"):
        table.add_column(col, justify="right")
    layers = record.get("layers") or []
    params = record.get("learner_params") or []
    for k, name in enumerate(record["learners"]):
        entry = layers[k] if k < len(layers) else {}
        hist = entry.get("history") or {}
        errors = hist.get("reconstruction_error") or []
        settings = params[k] if k < len(params) else {}
        table.add_row(
            str(k + 1),
            str(name),
            ", ".join(f"{key}={value}" for key, value in settings.items()) or "defaults",
            str(len(hist.get("epoch") or [])),
            _fmt(errors[-1] if errors else None, ".4f"),
            _fmt(entry.get("seconds"), ".1f"),
        )
    return table


def _best_validation(meta: dict[str, Any], h: Any) -> str:
    """The best validation score recorded (the estimator's, else the loop's), with its epoch."""
    scores = meta.get("validation_scores")
    if scores:
        clean = [np.nan if s is None else float(s) for s in scores]
        e = int(np.nanargmax(clean))
        return f"{clean[e]:.4f} (epoch {e + 1})"
    vals = [v for v in h.val_metric if not math.isnan(v)]
    if vals:
        e = int(np.nanargmax(h.val_metric))
        return f"{h.val_metric[e]:.4f} (epoch {e + 1})"
    return "- (no validation set)"
