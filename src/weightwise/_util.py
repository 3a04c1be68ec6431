"""Small helpers shared across floors: atomic file writes, JSON-safe floats, the callbacks' stop rule."""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through a unique temporary file in the same folder.

    The temporary file comes from :func:`tempfile.mkstemp` (a fresh name, created with
    ``O_EXCL``, so a planted file or symbolic link is never followed or overwritten); it is
    flushed to disk and moved into place with :func:`os.replace`, and the folder is flushed too,
    so once this returns the new file survives a power cut. A crash mid-write leaves the previous
    file whole, and on any error the temporary file is removed.

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
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a file just moved into it) to disk; best effort."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
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


# reading files that may be hostile ----------------------------------------------------------------
def read_capped(path: str | os.PathLike[str], limit: int) -> bytes:
    """The bytes of the regular file ``path``, refusing anything larger than ``limit`` bytes.

    The size is taken from the open file (``fstat``), never trusted from a header, and the read
    stops one byte past it, so ``/dev/zero``, a FIFO or a file that grows while it is read cannot
    make it allocate more than ``limit`` + 1 bytes.

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    IsADirectoryError
        For a folder.
    OSError
        For another file than a regular one (``errno.EINVAL``; a device, a FIFO, a socket), one
        larger than ``limit`` (``errno.EFBIG``), or any other reading error.
    """
    # O_NONBLOCK: opening a FIFO with no writer must not hang; regular files ignore the flag.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "is not a regular file (a device, FIFO or socket?)", str(path))
        if st.st_size > limit:
            raise OSError(errno.EFBIG, f"is {st.st_size:,} bytes, over the {limit:,} allowed", str(path))
        data = fh.read(st.st_size + 1)
    if len(data) > st.st_size:
        raise OSError(errno.EFBIG, "grew while it was being read", str(path))
    return data


def json_depth(data: bytes | str, chunk: int = 1 << 18) -> int:
    """The deepest nesting of ``[`` and ``{`` in the JSON text ``data``, without parsing it.

    Linear in the length and never recursive, so a document nested 200,000 deep is measured in
    milliseconds instead of reaching :mod:`json`'s recursion. Brackets inside strings (an
    unescaped ``"`` opens and closes a string; ``\\"`` does not) are not counted. Text that is not
    valid JSON gets some number; the parser refuses it afterwards.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    depth = deepest = 0
    in_string = False
    backslashes = 0  # the run of backslashes that ends the previous chunk
    for start in range(0, len(raw), chunk):
        a = np.frombuffer(raw, np.uint8, count=min(chunk, len(raw) - start), offset=start)
        idx = np.arange(a.size)
        is_bs = a == 0x5C
        last = np.maximum.accumulate(np.where(is_bs, -1, idx))  # last non-backslash at or before i
        run = np.empty(a.size, np.int64)  # backslashes just before i
        run[0] = backslashes
        run[1:] = np.where(last[:-1] < 0, idx[1:] + backslashes, idx[1:] - 1 - last[:-1])
        quote = (a == 0x22) & (run % 2 == 0)
        outside = ((np.cumsum(quote) - quote) % 2 == 0) != in_string
        steps = (outside & ((a == 0x5B) | (a == 0x7B))).astype(np.int64)
        steps -= outside & ((a == 0x5D) | (a == 0x7D))
        levels = np.cumsum(steps) + depth
        deepest = max(deepest, int(levels.max()))
        depth = int(levels[-1])
        in_string = in_string != bool(int(quote.sum()) % 2)
        backslashes = a.size - 1 - int(last[-1]) if last[-1] >= 0 else backslashes + a.size
    return deepest


def loads_bounded(data: bytes | str, max_depth: int) -> Any:
    """``json.loads`` of ``data`` after checking its nesting is at most ``max_depth``.

    Raises
    ------
    ValueError
        For nesting deeper than ``max_depth`` (checked first, without recursion), text that is not
        JSON or not UTF-8, or numbers out of range (``1e999`` is read as a float infinity, which
        callers' schema checks then refuse).
    """
    depth = json_depth(data)
    if depth > max_depth:
        raise ValueError(f"JSON nested {depth} deep, deeper than the {max_depth} allowed")
    try:
        return json.loads(data)
    except RecursionError as exc:  # pragma: no cover - the depth check comes first
        raise ValueError("JSON nested too deep") from exc
