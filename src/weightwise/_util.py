"""Small helpers shared across floors: atomic file writes, JSON-safe floats, the callbacks' stop rule."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``.

    A crash mid-write leaves the previous file whole, never a truncated one.
    """
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def nan_to_none(value: Any) -> Any:
    """Replace non-finite floats (recursively in lists) by None, which JSON can hold."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [nan_to_none(v) for v in value]
    return value


def none_to_nan(value: Any) -> Any:
    """Inverse of :func:`nan_to_none`: None (recursively in lists) becomes NaN."""
    if value is None:
        return math.nan
    if isinstance(value, list):
        return [none_to_nan(v) for v in value]
    return value


def callbacks_stop(callbacks: Iterable[Callable[[Any], Any]], info: Any) -> bool:
    """Call every callback with ``info``; whether one of them asked to stop by returning ``True``.

    The one stopping rule of every epoch loop (:func:`weightwise.backpropagation.training.fit` and the
    layer-wise learners' :func:`weightwise.layerwise.loop.run_epochs`):

    - every callback is called, in order, even after an earlier one asked to stop, so a progress
      bar or a checkpoint placed after a stopping rule still sees the last epoch;
    - only ``True`` itself stops (``is True``): another truthy value (``1``, ``"yes"``, a logged
      line returned by accident) does not.
    """
    # A list, not a generator: any() on a generator would skip the callbacks after the first True.
    return any([cb(info) is True for cb in callbacks])
