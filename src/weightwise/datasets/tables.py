"""A user's own data: a CSV table with a header row, or an NPZ archive holding ``X`` and ``y``."""

from __future__ import annotations

import csv
import math
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import check_allocation
from ..errors import DataError
from ._errors import MissingDataError


# CSV and NPZ ------------------------------------------------------------------------------------
def load_csv(
    path: str | os.PathLike[str], target: str, delimiter: str = ",", dtype: Any = "float32"
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A table with a header row: every column but ``target`` is a numeric feature.

    Parameters
    ----------
    path : str or path-like
    target : str
        Name of the label column (in the header).
    delimiter : str
    dtype : {"float32", "float64"}
        Dtype of the features.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        int64 when every label is an integer, float64 when numeric, else str.
    feature_names : list of str

    Raises
    ------
    DataError
        For a missing file, an empty file, a missing target column (the columns are listed), a
        row whose length differs from the header (the line is named) or a non-numeric or empty
        feature value (the column and line are named).
    """
    path = Path(path)
    dt = np.dtype(dtype)
    blocks: list[np.ndarray] = []
    labels: list[str] = []
    header: list[str] | None = None
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            block: list[list[str]] = []
            lines: list[int] = []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue  # blank lines carry no sample
                if header is None:
                    header, t, feature_names = _csv_header(path, row, target)
                    continue
                if len(row) != len(header):
                    raise DataError(
                        f"{path} line {reader.line_num} has {len(row)} fields but the header has "
                        f"{len(header)}; fix that row (a missing or extra delimiter?)"
                    )
                labels.append(row[t].strip())
                block.append(row[:t] + row[t + 1 :])
                lines.append(reader.line_num)
                if len(block) == _CSV_BLOCK:
                    blocks.append(_csv_block(path, block, lines, feature_names, dt))
                    block, lines = [], []
            if block:
                blocks.append(_csv_block(path, block, lines, feature_names, dt))
    except FileNotFoundError as exc:
        raise MissingDataError(f"no CSV file at {path}") from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path} cannot be read as CSV text: {exc}") from exc
    if header is None:
        raise DataError(f"{path} is empty; a CSV needs a header row and at least one data row")
    if not blocks:
        raise DataError(f"{path} has a header but no data rows")
    X = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    return X, _labels(labels), feature_names


_CSV_BLOCK = 4096  # rows converted at a time: bounded string memory, vectorised parsing


def _csv_header(path: Path, row: list[str], target: str) -> tuple[list[str], int, list[str]]:
    header = [h.strip() for h in row]
    if target not in header:
        raise DataError(
            f"{path} has no column {target!r}; its columns are {header}. Pass one of them as target"
        )
    t = header.index(target)
    feature_names = [h for i, h in enumerate(header) if i != t]
    if not feature_names:
        raise DataError(f"{path} has only the target column {target!r}; there are no features")
    return header, t, feature_names


def _csv_block(
    path: Path, rows: list[list[str]], lines: list[int], feature_names: list[str], dtype: np.dtype
) -> np.ndarray:
    """Parse a block of feature rows at once; on failure, find and name the first bad cell."""
    try:
        X = np.array(rows, dtype=str).astype(dtype)
        if np.isfinite(X).all():
            return X
    except ValueError:
        pass
    for row, line in zip(rows, lines, strict=True):
        for name, cell in zip(feature_names, row, strict=True):
            try:
                ok = np.isfinite(float(cell))
            except ValueError:
                ok = False
            if not ok:
                shown = cell.strip() or "an empty value"
                raise DataError(
                    f"{path} line {line}, column {name!r}: {shown!r} is not a finite number; "
                    "features must be numeric (encode categories, impute or drop the column)"
                )
    # Every cell is a number Python reads but NumPy's parser did not (e.g. "1_000"): go cell by cell.
    return np.array([[float(cell) for cell in row] for row in rows], dtype=dtype)


def _labels(values: list[str]) -> np.ndarray:
    """Integer labels when all are integers, floats when all are numbers, else strings."""
    for kind in (int, float):
        try:
            return np.array([kind(v) for v in values])
        except ValueError:
            continue
    return np.array(values, dtype=str)


def load_npz(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Arrays ``X`` and ``y`` from a NumPy ``.npz`` file (never unpickled).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)

    Raises
    ------
    DataError
        For a missing file, a file that is not ``.npz``, missing keys (the keys present are
        listed), object arrays (which would need pickle), or ``X`` and ``y`` of different lengths.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except FileNotFoundError as exc:
        raise MissingDataError(f"no NPZ file at {path}") from exc
    if magic[:1] == b"\x80":
        raise DataError(
            f"{path} is a Python pickle; weightwise never unpickles. Save the arrays with "
            "np.savez(path, X=X, y=y)"
        )
    if magic == b"\x93NUMPY":
        raise DataError(f"{path} is a single .npy array; save X and y with np.savez(path, X=X, y=y)")
    if magic[:4] != b"PK\x03\x04":
        raise DataError(f"{path} is not a NumPy .npz file; save one with np.savez(path, X=X, y=y)")
    _check_npz_sizes(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in ("X", "y") if k not in archive.files]
            if missing:
                raise DataError(
                    f"{path} lacks array(s) {missing}; it holds {archive.files}. Save it with "
                    "np.savez(path, X=X, y=y)"
                )
            X, y = archive["X"], archive["y"]
    except DataError:
        raise
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "pickle" in str(exc):
            raise DataError(
                f"{path} holds object arrays, which need pickle; weightwise never unpickles. Save "
                "numeric or string arrays with np.savez(path, X=X, y=y)"
            ) from exc
        raise DataError(f"{path} is not a NumPy .npz file: {exc}") from exc
    except (OSError, EOFError) as exc:
        raise DataError(f"{path} is not a NumPy .npz file: {exc}") from exc
    if X.ndim != 2:
        raise DataError(f"{path}: X must be 2-D (n_samples, n_features), got shape {X.shape}")
    if y.ndim not in (1, 2):
        raise DataError(f"{path}: y must be 1-D or 2-D, got shape {y.shape}")
    if X.shape[0] != y.shape[0]:
        raise DataError(f"{path}: X has {X.shape[0]} rows but y has {y.shape[0]}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"{path}: X is empty (shape {X.shape}); it needs samples and features")
    if X.dtype.kind not in "biuf":
        raise DataError(f"{path}: X has dtype {X.dtype}; features must be numeric")
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise DataError(f"{path}: X holds NaN or infinite values; remove or impute them first")
    if y.dtype.kind not in "biufUS":
        raise DataError(f"{path}: y has dtype {y.dtype}; labels must be numbers or strings")
    return X, y


def _check_npz_sizes(path: Path) -> None:
    """Refuse members whose .npy headers declare more bytes than they hold, before NumPy
    allocates them (``np.load`` allocates the declared shape first, then fills it)."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():  # np.load reads "X" as well as "X.npy"
                check_allocation(info.file_size, f"{path} member {info.filename}", DataError)
                with archive.open(info) as fh:
                    if fh.read(6) != b"\x93NUMPY":
                        continue  # not an array: np.load refuses it
                    version = (fh.read(1)[0], fh.read(1)[0])
                    read_header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read_header(fh, max_header_size=10_000)
                    if dtype.hasobject:
                        continue  # refused by np.load without pickle
                    n_bytes = math.prod(shape) * dtype.itemsize
                    if n_bytes > info.file_size:
                        raise DataError(
                            f"{path} is damaged: member {info.filename} declares shape {shape} "
                            f"({n_bytes:,} bytes) but holds {info.file_size:,}"
                        )
    except DataError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, TypeError, KeyError) as exc:
        raise DataError(f"{path} is not a NumPy .npz file: {str(exc).splitlines()[0]}") from exc
