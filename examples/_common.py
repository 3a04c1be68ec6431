"""Shared plumbing of the example scripts: options, the MNIST split, the phases, figures.

The maths lives in the library: the MNIST scripts pre-train with :func:`weightwise.pretrain` and
fine-tune with :func:`weightwise.fit`; this module only splits MNIST, calls the two with their
checkpoint folders, and writes what happened to a JSON file.

Checkpoints (under ``--out``), each the library's own, resumed exactly with ``resume=True``:

- ``pretrain/``: :func:`weightwise.pretrain`'s checkpoint (the network's weights, every learner's
  visible bias, momentum increments or optimiser slots, random stream and history), written after
  every epoch, so an interrupted run goes on from the last finished epoch;
- ``finetune/`` (and ``retrain/``): :func:`weightwise.fit`'s checkpoint (weights, optimiser
  slots, random stream, early-stopping state);
- ``results.json``: configuration, per-phase wall times, histories and test errors.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MNIST = os.environ.get("WEIGHTWISE_MNIST", str(REPO.parent / "shared" / "data" / "mnist"))
# --monitor's choices, as fit's `monitor`: the validation error is watched as its complement, accuracy.
MONITORS = {"loss": "val_loss", "error": "val_metric"}


def parser(
    description: str, *, pretrain_epochs: int, finetune_epochs: int, out: str
) -> argparse.ArgumentParser:
    """The options every reproduction script takes; scripts add their own."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--mnist", default=DEFAULT_MNIST, help="folder with the four MNIST IDX files")
    p.add_argument("--epochs", type=int, default=pretrain_epochs, help="pre-training epochs per layer")
    p.add_argument(
        "--finetune-epochs", type=int, default=finetune_epochs, help="maximum BP fine-tuning epochs"
    )
    p.add_argument(
        "--patience",
        type=int,
        default=0,
        help="early-stopping patience, in epochs without improvement of the --monitor quantity "
        "on the validation split (the best epoch's weights are kept); 0 (default): no early "
        "stopping, keep the weights of the last epoch",
    )
    p.add_argument(
        "--monitor",
        choices=tuple(MONITORS),
        default="loss",
        help="what --patience watches: the validation loss (default) or the validation error. "
        "On these nets the loss rises from epoch ~4 while the error falls until epoch 10-13, "
        "so 'error' stops much later",
    )
    p.add_argument(
        "--retrain-full",
        action="store_true",
        help="after fine-tuning on 50,000 (validated on the last 10,000), fine-tune again from "
        "the pre-trained weights on all 60,000 training images for the same number of epochs "
        "(the best epoch with early stopping)",
    )
    p.add_argument("--out", default=out, help="folder for checkpoints and results.json")
    p.add_argument("--quick", action="store_true", help="small subset, few epochs: a smoke run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS threads (0: the library default). On a shared 2-core machine one thread is "
        "several times faster than two fighting other processes for the cores",
    )
    return p


def limit_threads(n: int) -> None:
    """Cap the BLAS thread pools (NumPy's OpenBLAS, PyTorch's) at ``n``; 0 leaves them alone."""
    if n > 0:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)


class Data:
    """MNIST split as the papers did: 50,000 to train, the last 10,000 training images to validate.

    Attributes
    ----------
    X_train, Y_train : arrays of shape (n_train, 784), (n_train, 10)
        Pixels in [0, 1] (float32) and one-hot labels.
    X_val, Y_val : arrays of shape (n_val, 784), (n_val, 10)
    X_all, Y_all : the train and validation rows together (for ``--retrain-full``).
    X_test : array of shape (n_test, 784)
    y_test : array of shape (n_test,), int
    """

    def __init__(self, path: str, quick: bool) -> None:
        from weightwise.datasets import load_mnist

        X, X_test, y, y_test = load_mnist(path, progress=False)
        if quick:
            # A few minutes end to end: 5,000 to train, 1,000 to validate, 2,000 to test.
            X, y, X_test, y_test = X[:6000], y[:6000], X_test[:2000], y_test[:2000]
        n_val = len(X) // 6
        Y = one_hot(y)
        self.X_all, self.Y_all = X, Y
        self.X_train, self.Y_train = X[:-n_val], Y[:-n_val]
        self.X_val, self.Y_val = X[-n_val:], Y[-n_val:]
        self.X_test, self.y_test = X_test, y_test

    def describe(self) -> str:
        return (
            f"train {len(self.X_train)}, validation {len(self.X_val)} (last training images), "
            f"test {len(self.X_test)}"
        )


def one_hot(y: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Labels of shape (n,) as one-hot rows of shape (n, n_classes), float32."""
    return np.eye(n_classes, dtype=np.float32)[y]


def test_error(net: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of ``X``'s rows whose most probable class is not ``y``."""
    from weightwise.net.backend import to_numpy

    return float(np.mean(to_numpy(net.predict(X)).argmax(axis=1) != y))


def pretrain(
    net: Any,
    X: np.ndarray,
    learner: str,
    learner_params: list[dict[str, Any]],
    epochs: int,
    seed: int,
    ckpt_dir: Path,
    log: Callable[[str], None] = print,
) -> Any:
    """Greedy layer-wise pre-training of ``net``'s first ``len(learner_params)`` layers, in place.

    :func:`weightwise.pretrain` with a checkpoint after every epoch in ``ckpt_dir`` (resumed when
    there is one) and a log line per epoch.

    Returns
    -------
    PretrainResult
    """
    import weightwise as ww

    def progress(info: Any) -> None:
        shown = ", ".join(
            f"{key} {v:.4g}" for key, v in info.logs.items() if key != "epoch" and math.isfinite(v)
        )
        log(f"layer {info.layer} epoch {info.epoch}/{info.epochs}: {shown}")

    return ww.pretrain(
        net,
        X,
        learner,
        n_layers=len(learner_params),
        epochs=epochs,
        learner_params=learner_params,
        callbacks=[progress],
        seed=seed,
        checkpoint_dir=ckpt_dir,
        resume=True,
    )


def visible_bias(X: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    """Visible biases ``log(p / (1 - p))`` from the data's unit means (Hinton's guide, 8.1):
    :func:`weightwise.layerwise.rbm.visible_bias`, in the data's dtype."""
    from weightwise.layerwise.rbm import visible_bias as library_visible_bias

    return np.asarray(library_visible_bias(X, eps)).astype(X.dtype)


@contextmanager
def figure(path: str) -> Iterator[Any]:
    """The examples' figure: a 5.5 x 3.2 inch axes to draw on, saved to ``path`` on leaving."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.2), dpi=100)
    yield ax
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def finetune(
    net: Any,
    data: Data,
    optimizer: Any,
    epochs: int,
    patience: int | None,
    ckpt_dir: Path,
    seed: int,
    full: bool = False,
    log: Callable[[str], None] = print,
    monitor: str = "loss",
) -> Any:
    """Fine-tune all of ``net`` by back-propagation (softmax output, cross-entropy).

    With ``full=False``: train on the 50,000 and, with ``patience``, early-stop on the validation
    loss (``monitor="loss"``) or error (``monitor="error"``); the best epoch's weights are kept.
    With ``full=True``: train on all 60,000 for exactly ``epochs`` (no validation, so
    ``monitor`` is not used). Either way the run checkpoints every epoch and resumes from
    ``ckpt_dir``; a checkpoint made with another ``monitor`` is refused.

    Returns
    -------
    History
    """
    from weightwise.backpropagation.training import fit

    def progress(info: Any) -> None:
        logs = info.logs
        val = (
            f", val loss {logs['val_loss']:.4f}, val error {100 * (1 - logs['val_metric']):.2f}%"
            if "val_loss" in logs
            else ""
        )
        log(
            f"fine-tune epoch {info.epoch}/{info.epochs}: loss {logs['loss']:.4f}, "
            f"train error {100 * (1 - logs['metric']):.2f}%{val}, {logs['seconds']:.1f} s"
        )

    X, Y = (data.X_all, data.Y_all) if full else (data.X_train, data.Y_train)
    return fit(
        net,
        X,
        Y,
        loss="cross_entropy",
        optimizer=optimizer,
        epochs=epochs,
        batch_size=100,
        validation_data=None if full else (data.X_val, data.Y_val),
        patience=None if full else patience,
        monitor="val_loss" if full else MONITORS[monitor],
        seed=seed,
        callbacks=[progress],
        checkpoint_dir=ckpt_dir,
        resume=True,
        record_grad_norm=False,
    )


def train_top_layer(net: Any, data: Data, epochs: int, seed: int, full: bool = False) -> None:
    """Train only ``net``'s output layer, on the features of the layers below it, in place.

    The softmax layer starts from small random weights; trained alone first, it sends errors into
    the pre-trained layers that are already meaningful, instead of noise, when BP then adjusts
    every layer (Hinton & Salakhutdinov 2006, supporting material: 6 such epochs).
    """
    from weightwise.backpropagation.training import fit
    from weightwise.net.network import Network

    X, Y = (data.X_all, data.Y_all) if full else (data.X_train, data.Y_train)
    below = len(net.layers) - 1
    # A one-layer network holding the output layer's own arrays: fitting it moves net's weights.
    top = Network([net.layers[-1]])
    H = net.transform(X, below)  # (n_samples, n_top_hidden)
    history = fit(
        top,
        H,
        Y,
        loss="cross_entropy",
        optimizer="adam",
        learning_rate=1e-3,
        epochs=epochs,
        batch_size=100,
        seed=seed,
        record_grad_norm=False,
    )
    log(f"softmax layer alone, {epochs} epochs: loss {history.loss[-1]:.4f}")


class Results:
    """``results.json`` under ``out``: rewritten after every phase, so a partial run is on disk."""

    def __init__(self, out: Path, script: str, args: Any) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / "results.json"
        self.data: dict[str, Any] = (
            json.loads(self.path.read_text()) if self.path.exists() else {"phases": {}}
        )
        self.data.update(script=script, config=vars(args))

    def phase(self, name: str) -> dict[str, Any] | None:
        """A finished phase's record, or None."""
        return self.data["phases"].get(name)

    def record(self, name: str, **values: Any) -> None:
        self.data["phases"][name] = values
        self.write()

    def set(self, **values: Any) -> None:
        self.data.update(values)
        self.write()

    def write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(_finite_or_null(self.data), indent=1, default=float))
        os.replace(tmp, self.path)


def _finite_or_null(value: Any) -> Any:
    """NaN and inf as JSON null (strict JSON has no NaN), recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v) for v in value]
    return value


def log(message: str) -> None:
    """Progress lines with a UTC time stamp, flushed (the scripts run under nohup)."""
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}] {message}", flush=True)


def add_finetune_options(p: argparse.ArgumentParser, learning_rate: float) -> None:
    """Options of the BP fine-tuning optimiser."""
    p.add_argument("--finetune-optimizer", choices=("adam", "sgd"), default="adam")
    p.add_argument("--finetune-lr", type=float, default=learning_rate, help="BP learning rate")
    p.add_argument("--finetune-momentum", type=float, default=0.9, help="SGD momentum")
    p.add_argument("--finetune-decay", type=float, default=0.9, help="learning-rate factor per epoch")
    p.add_argument("--finetune-weight-decay", type=float, default=0.0, help="L2 weight decay of BP")
    p.add_argument(
        "--top-first",
        type=int,
        default=0,
        help="epochs of training the softmax layer alone on the pre-trained features before BP "
        "adjusts every layer (Hinton & Salakhutdinov's classifier fine-tuning did 6)",
    )


def optimizer(args: Any) -> Any:
    """The fine-tuning optimiser from the options: Adam or SGD with momentum, decaying per epoch.

    Plain SGD is touchy on these deep sigmoid nets: the softmax layer sees 2000 positive inputs,
    so a step that suits the lower layers throws its logits far (measured here: from random
    weights, SGD with momentum 0.9 stalls at loss 2.30 with learning rate 0.002 or 0.01 and
    diverges at 0.05, where Adam at 1e-3 reaches 90% training accuracy in 3 epochs on 10,000).
    """
    from weightwise.backpropagation.optimizers import SGD, Adam, Schedule

    schedule = Schedule("exponential", gamma=args.finetune_decay)
    if args.finetune_optimizer == "adam":
        return Adam(args.finetune_lr, weight_decay=args.finetune_weight_decay, schedule=schedule)
    return SGD(
        args.finetune_lr,
        momentum=args.finetune_momentum,
        weight_decay=args.finetune_weight_decay,
        schedule=schedule,
    )


def run(
    args: Any,
    script: str,
    title: str,
    build: Callable[[], Any],
    learner: str | None = None,
    learner_params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The whole reproduction: pre-train (if ``learner``), fine-tune, test, write results.

    Phases, each resumable from its checkpoints under ``args.out``:

    1. ``pretrain``: :func:`weightwise.pretrain` with ``learner`` on the first
       ``len(learner_params)`` layers (one dict of learner settings per layer), on all 60,000
       training images (no labels used, as the papers did);
    2. ``finetune``: BP on the first 50,000, with ``--patience`` early stopping on the validation
       loss or error (``--monitor``) of the last 10,000 (the best epoch's weights are kept), then
       the test error;
    3. ``retrain_full`` (``--retrain-full``): from the same starting weights, BP on all 60,000 for
       the best epoch count of phase 2, then the test error.

    Returns
    -------
    dict
        The contents of ``results.json``.
    """
    limit_threads(args.threads)
    out = Path(args.out)
    results = Results(out, script, args)
    data = Data(args.mnist, args.quick)
    log(f"{title}; MNIST: {data.describe()}")

    def start(full: bool = False) -> Any:
        net = build()
        if learner is not None and learner_params:
            result = pretrain(
                net, data.X_all, learner, learner_params, args.epochs, args.seed, out / "pretrain", log
            )
            if results.phase("pretrain") is None:
                layers = result.to_dict()["layers"]
                results.record("pretrain", seconds=sum(result.seconds), layers=layers)
        if args.top_first > 0:
            train_top_layer(net, data, args.top_first, args.seed, full)
        return net

    net = start()
    done = results.phase("finetune")
    # A finished run is replayed from its checkpoint (0 epochs to go, best weights restored).
    epochs = len(done["history"]["epoch"]) if done else args.finetune_epochs
    history = finetune(
        net,
        data,
        optimizer(args),
        epochs,
        args.patience or None,
        out / "finetune",
        args.seed,
        log=log,
        monitor=args.monitor,
    )
    best_epoch = history.best_epoch or len(history.epoch)
    error = test_error(net, data.X_test, data.y_test)
    if done is None:
        results.record(
            "finetune",
            seconds=sum(history.seconds),
            best_epoch=best_epoch,
            test_error=error,
            history=history.to_dict(),
        )
    results.set(test_error=error, final="finetune")
    log(f"fine-tuned on the training split: best epoch {best_epoch}, test error {100 * error:.2f}%")

    if args.retrain_full:
        net = start(full=True)
        history = finetune(
            net, data, optimizer(args), best_epoch, None, out / "retrain", args.seed, True, log
        )
        error = test_error(net, data.X_test, data.y_test)
        results.record("retrain_full", seconds=sum(history.seconds), epochs=best_epoch, test_error=error)
        results.set(test_error=error, final="retrain_full")

    phases = results.data["phases"]
    wall = ", ".join(f"{name} {rec['seconds'] / 60:.1f} min" for name, rec in phases.items())
    log(f"{title}: test error {100 * error:.2f}%; time per phase: {wall}")
    return results.data
