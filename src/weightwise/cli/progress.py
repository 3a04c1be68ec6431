"""Rich progress bars driven as training callbacks."""

from __future__ import annotations

import math
from typing import Any

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


class EpochProgress:
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

    def __enter__(self) -> EpochProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

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
