"""Small helpers shared across floors: atomic file writes, JSON-safe floats, the callbacks' stop rule."""

from __future__ import annotations

import contextlib
import errno
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a unique temporary file in the same folder.

    The temporary file comes from :func:`tempfile.mkstemp` (a fresh name, created with
    ``O_EXCL``, so a planted file or symbolic link is never followed or overwritten); it is
    flushed to disk and moved into place with :func:`os.replace`. A crash mid-write leaves the
    previous file whole, and on any error the temporary file is removed.

    Raises
    ------
    IsADirectoryError
        When ``path`` is a folder (nothing is written and nothing is left behind).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file name", str(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Flush ``path``'s data, and its folder's entry, to disk (best effort on the folder)."""
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())
    with contextlib.suppress(OSError):
        fd = os.open(Path(path).parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _read_umask() -> int:
    """The process's umask (mkstemp creates files 0600; a saved model gets the usual mode)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, at import: os.umask is process-wide, not thread-safe


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
