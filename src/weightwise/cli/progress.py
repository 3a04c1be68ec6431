"""Rich progress bars driven as training callbacks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .base import err_console

B = TypeVar("B", bound="_Bars")


class _Bars:
    """A rich ``Progress`` drawn while the instance is used as a context manager."""

    progress: Progress

    def __enter__(self: B) -> B:
        self.progress.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.progress.stop()


def count_bar(label: str, console: Console | None = None, enabled: bool = True) -> Progress:
    """A plain bar over counted work (``label``, done of total, elapsed and time left)."""
    return Progress(
        TextColumn(label),
        MofNCompleteColumn(),
        BarColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=err_console if console is None else console,
        disable=not enabled,
    )


class EpochProgress(_Bars):
    """A rich progress bar driven as a ``fit`` callback: epoch, loss, accuracy and time left.

    Use it as a context manager and pass the instance in ``callbacks``; it never stops training
    (returns ``None``). The bar's total is the epoch limit, so the time left assumes no early stop.

    Parameters
    ----------
    epochs : int
        The epoch limit.
    accuracy : bool
        Show the training accuracy (classifiers).
    validation : bool
        Show the validation score (early stopping).
    console : rich Console, optional
        Where to draw (stderr by default, so stdout stays clean for tables and pipes).
    enabled : bool
        ``False`` draws nothing (``--no-progress``).
    """

    def __init__(
        self,
        epochs: int,
        accuracy: bool = True,
        validation: bool = False,
        console: Console | None = None,
        enabled: bool = True,
    ) -> None:
        columns: list[Any] = [
            TextColumn("[bold]epoch"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("loss {task.fields[loss]}"),
        ]
        if accuracy:
            columns.append(TextColumn("acc {task.fields[acc]}"))
        if validation:
            columns.append(TextColumn("val {task.fields[val]}"))
        columns += [TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn()]
        self.progress = Progress(
            *columns, console=console if console is not None else err_console, disable=not enabled
        )
        self.task = self.progress.add_task("train", total=epochs, loss="-", acc="-", val="-")
        self.last_epoch = 0

    def __call__(self, info: Any) -> None:
        """Advance to ``info.epoch``; ``info.logs`` holds ``loss``, ``metric``, ``val_metric``."""
        logs = info.logs
        self.last_epoch = info.epoch
        self.progress.update(
            self.task,
            completed=info.epoch,
            total=info.epochs,
            loss=_fmt(logs.get("loss"), ".4f"),
            acc=_fmt(logs.get("metric"), ".3f"),
            val=_fmt(logs.get("val_metric", logs.get("val_loss")), ".3f"),
        )


def _fmt(value: Any, spec: str) -> str:
    """A number for a table or bar; '-' for missing or NaN values."""
    if value is None:
        return "-"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "-" if math.isnan(v) else format(v, spec)


class LayerProgress(_Bars):
    """Rich progress bars for greedy pre-training: one row per layer, advanced every epoch.

    Pass the instance to :func:`~weightwise.layerwise.greedy.pretrain` in ``callbacks``; it never
    stops training. Each row shows ``layer k/K``, the learner, the layer's sizes, the epoch, the
    latest reconstruction error and, with held-out data, the held-out reconstruction error (an
    auto-encoder) or the free-energy gap (an RBM: held-out minus training; a growing gap means
    over-fitting).

    Parameters
    ----------
    layers : sequence of (str, int, int)
        Per pre-trained layer, bottom first: learner name, inputs, outputs.
    epochs : int or sequence of int
        Epochs per layer.
    console : rich Console, optional
        Where to draw (stderr by default).
    enabled : bool
        ``False`` draws nothing (``--no-progress``).
    """

    def __init__(
        self,
        layers: Sequence[tuple[str, int, int]],
        epochs: int | Sequence[int],
        console: Console | None = None,
        enabled: bool = True,
    ) -> None:
        per_layer = [int(epochs)] * len(layers) if isinstance(epochs, int) else [int(e) for e in epochs]
        self.progress = Progress(
            TextColumn("[bold]layer {task.fields[layer]}"),
            TextColumn("{task.description}"),
            TextColumn("epoch"),
            MofNCompleteColumn(),
            BarColumn(),
            TextColumn("recon. error {task.fields[err]}"),
            TextColumn("{task.fields[val]}"),
            TimeElapsedColumn(),
            console=console if console is not None else err_console,
            disable=not enabled,
        )
        n = len(layers)
        self.sizes = [(n_in, n_out) for _, n_in, n_out in layers]
        self.tasks = [
            self.progress.add_task(
                f"{name} {n_in}->{n_out}", total=e, layer=f"{k + 1}/{n}", err="-", val=""
            )
            for k, ((name, n_in, n_out), e) in enumerate(zip(layers, per_layer, strict=True))
        ]

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:
            # An error (a bad setting found before training, a divergence): rows of layers that
            # never started would only push the one-line error down, so they go.
            for task in self.progress.tasks:
                if not task.completed:
                    self.progress.update(task.id, visible=False)
        super().__exit__(exc_type, *exc)

    def restore(self, epochs_done: Sequence[int]) -> None:
        """Show the epochs a resumed run had already finished, per layer from the bottom."""
        for task, done in zip(self.tasks, epochs_done, strict=False):
            self.progress.update(task, completed=done)

    def __call__(self, info: Any) -> None:
        """Advance layer ``info.layer`` to ``info.epoch`` (a ``PretrainEpochInfo``)."""
        logs = info.logs
        val = ""
        if _finite(logs.get("val_reconstruction_error")):
            val = f"held-out {_fmt(logs['val_reconstruction_error'], '.4f')}"
        elif _finite(logs.get("free_energy_gap")):
            val = f"F gap {_fmt(logs['free_energy_gap'], '+.3f')}"
        n_in, n_out = self.sizes[info.layer - 1]
        self.progress.update(
            self.tasks[info.layer - 1],
            description=f"{info.learner_name} {n_in}->{n_out}",
            completed=info.epoch,
            total=info.epochs,
            err=_fmt(logs.get("reconstruction_error"), ".4f"),
            val=val,
        )


def _finite(value: Any) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


class PipelineProgress:
    """Progress of pre-training then fine-tuning: the layer rows, then the epoch bar.

    rich draws one live display at a time, so the fine-tuning bar is started when the first
    back-propagation epoch ends, after the layer rows have stopped. Pass :meth:`pretrain_callback`
    in the estimator's ``pretrain_callbacks`` and the instance itself in its ``callbacks``.

    Parameters
    ----------
    layers : LayerProgress
        The rows of the pre-trained layers.
    fine_tuning : EpochProgress
        The bar of back-propagation, not yet started.
    """

    def __init__(self, layers: LayerProgress, fine_tuning: EpochProgress) -> None:
        self.layers = layers
        self.bp = fine_tuning
        self.bp_started = False

    def __enter__(self) -> PipelineProgress:
        self.layers.__enter__()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.layers.__exit__(exc_type, *exc)
        if self.bp_started:
            self.bp.__exit__(exc_type, *exc)

    def pretrain_callback(self, info: Any) -> None:
        """Advance the row of layer ``info.layer`` (a ``PretrainEpochInfo``)."""
        self.layers(info)

    def __call__(self, info: Any) -> None:
        """Advance the fine-tuning bar (an ``EpochInfo``), starting it on the first call."""
        if not self.bp_started:
            self.layers.progress.stop()
            self.bp.__enter__()
            self.bp_started = True
        self.bp(info)
