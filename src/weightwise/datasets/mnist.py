"""MNIST from the IDX files of LeCun, Cortes and Burges (raw or ``.gz``), with checksums.

:func:`load_mnist` reads the four IDX files from a folder: the ``path`` argument, else the
``WEIGHTWISE_MNIST`` environment variable (the folder of the files), else ``WEIGHTWISE_DATA``,
else ``~/.cache/weightwise``; in each case the folder itself or its ``mnist/`` subfolder.
Images stay ``uint8`` until they are scaled, in one step, into a single float32 array (a float64
copy of the training images alone would take 376 MB).
``download=True`` fetches missing files from ``base_url`` and refuses any whose MD5 differs from the
published one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..checks import check_allocation
from ..errors import DataError
from ._errors import MissingDataError

MNIST_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"
"""Default mirror for :func:`download_mnist` (the files are served gzip-compressed)."""

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
"""File names (without ``.gz``) of the four MNIST IDX files."""

MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
"""MD5 of each *uncompressed* MNIST file, as published with the data."""

IDX_IMAGES = 0x00000803  # unsigned bytes, 3 dimensions
IDX_LABELS = 0x00000801  # unsigned bytes, 1 dimension

# IDX type codes (third byte of the magic number) -> big-endian dtype.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


# IDX files --------------------------------------------------------------------------------------
def _open(path: Path) -> io.BufferedIOBase:
    """Open raw or gzip-compressed bytes, told apart by gzip's magic ``1f 8b`` (not the name)."""
    with open(path, "rb") as fh:
        is_gzip = fh.read(2) == b"\x1f\x8b"
    if is_gzip:
        return gzip.GzipFile(path, "rb")
    return open(path, "rb")  # noqa: SIM115 - closed by the caller's with-block


def _read_idx(path: Path) -> tuple[np.ndarray, int, str]:
    """Read an IDX file; return (array, magic number, MD5 of the uncompressed bytes)."""
    md5 = hashlib.md5(usedforsecurity=False)
    try:
        with _open(path) as fh:
            head = fh.read(4)
            if len(head) < 4:
                raise DataError(f"{path} is truncated: it ends inside the IDX header")
            magic = int.from_bytes(head, "big")
            code, ndim = head[2], head[3]
            if head[:2] != b"\x00\x00" or code not in _IDX_DTYPES or ndim == 0:
                raise DataError(
                    f"{path} is not an IDX file: magic number 0x{magic:08x} (IDX files start with "
                    "0x0000, a type code and the number of dimensions, e.g. 0x00000803 for MNIST "
                    "images)"
                )
            dims_raw = fh.read(4 * ndim)
            if len(dims_raw) < 4 * ndim:
                raise DataError(f"{path} is truncated: it ends inside the IDX header")
            dims = tuple(int.from_bytes(dims_raw[4 * i : 4 * i + 4], "big") for i in range(ndim))
            dtype = np.dtype(_IDX_DTYPES[code])
            _check_declared_size(path, dims, dtype)
            # Read straight into the final array: one copy, writable, no intermediate bytes object.
            body = np.empty(int(np.prod(dims, dtype=np.int64)), dtype=dtype)
            n_read = fh.readinto(body.view(np.uint8).data)
            if n_read < body.nbytes:
                raise DataError(
                    f"{path} is truncated: the header declares shape {dims} ({body.nbytes:,} bytes "
                    f"of data) but the file holds {n_read:,}; download it again"
                )
            if fh.read(1):
                raise DataError(
                    f"{path} has more data than its header's shape {dims} declares; the file is "
                    "damaged or not IDX"
                )
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        if isinstance(exc, FileNotFoundError):
            raise MissingDataError(f"no IDX file at {path}") from exc
        raise DataError(f"{path} cannot be read as (gzip-compressed) IDX: {exc}") from exc
    md5.update(head)
    md5.update(dims_raw)
    md5.update(body.view(np.uint8).data)
    if dtype.byteorder == ">" and dtype.itemsize > 1:
        body = body.astype(dtype.newbyteorder("="))  # native order for fast arithmetic
    try:
        return body.reshape(dims), magic, md5.hexdigest()
    except ValueError as exc:  # an empty body with dims like (0, 2**32 - 1, 2**32 - 1)
        raise DataError(f"{path} declares shape {dims}, which NumPy cannot hold: {exc}") from exc


# Deflate expands at most about 1032:1, so a gzip file of n bytes holds at most this many times n.
_GZIP_RATIO = 1032


def _check_declared_size(path: Path, dims: tuple[int, ...], dtype: np.dtype) -> None:
    """Refuse a header whose shape needs more bytes than the file can hold, before allocating.

    A raw file must hold exactly the declared bytes after its header; a gzip file at most
    1032 times its compressed size. Both are also checked against the machine's memory.
    """
    n_bytes = math.prod(dims) * dtype.itemsize
    size = path.stat().st_size
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    room = size * _GZIP_RATIO if gz else size - 4 - 4 * len(dims)
    if n_bytes > room:
        raise DataError(
            f"{path} is truncated: the header declares shape {dims} "
            f"({n_bytes:,} bytes of data) but the file {'can hold at most' if gz else 'holds'} "
            f"{max(room, 0):,}; download it again"
        )
    check_allocation(n_bytes, f"{path}'s declared shape {dims}", DataError)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one IDX file (raw, or gzip when the name ends in ``.gz``).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ndarray
        Shape as declared in the header, e.g. (60000, 28, 28) for MNIST training images; dtype from
        the type code (``uint8`` for MNIST), in native byte order.

    Raises
    ------
    DataError
        For a bad magic number, a truncated body, or trailing data.
    """
    return _read_idx(Path(path))[0]


# MNIST ------------------------------------------------------------------------------------------
def data_home() -> Path:
    """The default data folder: ``$WEIGHTWISE_DATA``, else ``~/.cache/weightwise``."""
    env = os.environ.get("WEIGHTWISE_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "weightwise"


def _find_file(folders: Sequence[Path], name: str) -> Path | None:
    for folder in folders:
        for candidate in (folder / name, folder / (name + ".gz")):
            if candidate.is_file():
                return candidate
    return None


def _given_folder(path: str | os.PathLike[str] | None) -> str | os.PathLike[str] | None:
    """``path``, else ``$WEIGHTWISE_MNIST`` (a folder named for MNIST alone), else None."""
    return path if path is not None else (os.environ.get("WEIGHTWISE_MNIST") or None)


def _mnist_folders(path: str | os.PathLike[str] | None) -> list[Path]:
    given = _given_folder(path)
    root = Path(given).expanduser() if given is not None else data_home()
    return [root, root / "mnist"]


def find_mnist(path: str | os.PathLike[str] | None = None) -> tuple[list[Path], list[str]]:
    """The folders :func:`load_mnist` searches (``path`` or the defaults, then its ``mnist/``
    subfolder) and the names of the four files missing from them (empty when all are there)."""
    folders = _mnist_folders(path)
    return folders, [name for name in MNIST_FILES.values() if _find_file(folders, name) is None]


def _missing_message(folders: Sequence[Path], missing: Sequence[str]) -> str:
    names = ", ".join(f"{m}[.gz]" for m in missing)
    return (
        f"MNIST file(s) {names} not found in {folders[0]} or {folders[1]}. Get them with "
        "load_mnist(download=True) or `weightwise train --data mnist --download`, or download the "
        f"four files from {MNIST_URL} (or http://yann.lecun.com/exdb/mnist/) into a folder and "
        "pass it as path=... or set WEIGHTWISE_MNIST (or WEIGHTWISE_DATA) to it"
    )


def load_mnist(
    path: str | os.PathLike[str] | None = None,
    download: bool = False,
    base_url: str = MNIST_URL,
    dtype: Any = "float32",
    scale: bool = True,
    verify: bool = True,
    checksums: Mapping[str, str] | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST's 60,000 training and 10,000 test digits from the four IDX files.

    Parameters
    ----------
    path : str or path-like, optional
        Folder holding the files (or an ``mnist/`` subfolder holding them); defaults to
        ``$WEIGHTWISE_MNIST``, else :func:`data_home`.
    download : bool
        Fetch missing files from ``base_url`` into the folder first (see :func:`download_mnist`).
    base_url : str
        Mirror to download from.
    dtype : {"float32", "float64", "uint8"}
        Dtype of the images; ``"uint8"`` keeps the raw pixels (no scaling).
    scale : bool
        Divide pixels by 255 into [0, 1] (float dtypes only).
    verify : bool
        Check each file's MD5 against ``checksums``; turn off for custom IDX files.
    checksums : mapping of file name to MD5, optional
        Expected MD5 of each uncompressed file; defaults to :data:`MNIST_MD5`.
    progress : bool
        Show a progress bar while downloading.

    Returns
    -------
    X_train : ndarray of shape (60000, 784)
    X_test : ndarray of shape (10000, 784)
    y_train : ndarray of shape (60000,), int64
    y_test : ndarray of shape (10000,), int64

    Raises
    ------
    MissingDataError
        When files are missing and ``download`` is False; the message says how to get them.
    DataError
        For a wrong magic number, dimensions, truncated body or checksum.
    """
    path = _given_folder(path)
    folders = _mnist_folders(path)
    found = {key: _find_file(folders, name) for key, name in MNIST_FILES.items()}
    if download and None in found.values():
        target = folders[0] if path is not None else folders[1]
        download_mnist(target, base_url=base_url, checksums=checksums, verify=verify, progress=progress)
        found = {key: _find_file([target, *folders], name) for key, name in MNIST_FILES.items()}
    missing = [MNIST_FILES[k] for k, p in found.items() if p is None]
    if missing:
        raise MissingDataError(_missing_message(folders, missing))
    expected = dict(MNIST_MD5 if checksums is None else checksums)

    def read(key: str, magic: int) -> np.ndarray:
        file = found[key]
        assert file is not None
        arr, got, md5 = _read_idx(file)
        if got != magic:
            what = "images" if magic == IDX_IMAGES else "labels"
            raise DataError(
                f"{file} has magic number 0x{got:08x}, but MNIST {what} files have 0x{magic:08x}; "
                "is it the right file?"
            )
        name = MNIST_FILES[key]
        if verify and name in expected and md5 != expected[name]:
            raise DataError(
                f"{file} has MD5 {md5}, not the published {expected[name]}: the file is damaged or "
                "different; download it again, or pass verify=False for custom IDX files"
            )
        return arr

    X_train, X_test = read("train_images", IDX_IMAGES), read("test_images", IDX_IMAGES)
    y_train, y_test = read("train_labels", IDX_LABELS), read("test_labels", IDX_LABELS)
    for split, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
        if X.shape[0] != y.shape[0]:
            raise DataError(
                f"MNIST {split} images and labels disagree: {X.shape[0]} images, {y.shape[0]} labels"
            )
        if y.size and int(y.max()) > 9:
            raise DataError(f"MNIST {split} labels go up to {int(y.max())}; digit labels are 0-9")
    if X_train.shape[1:] != X_test.shape[1:]:
        raise DataError(
            f"MNIST train and test images differ in size: {X_train.shape[1:]} and {X_test.shape[1:]}"
        )
    return (
        _to_features(X_train, dtype, scale),
        _to_features(X_test, dtype, scale),
        y_train.astype(np.int64),
        y_test.astype(np.int64),
    )


def _to_features(images: np.ndarray, dtype: Any, scale: bool) -> np.ndarray:
    """(n, rows, cols) uint8 -> (n, rows * cols) in ``dtype``, one output array and no other copy."""
    flat = images.reshape(images.shape[0], -1)
    dt = np.dtype(dtype)
    if dt == np.uint8:
        return flat
    if dt.kind != "f":
        raise DataError(f"dtype must be float32, float64 or uint8, got {dtype!r}")
    out = flat.astype(dt)
    if scale:
        out /= dt.type(255.0)  # in place, in dt (no float64 temporary), correctly rounded k/255
    return out


def download_mnist(
    folder: str | os.PathLike[str] | None = None,
    base_url: str = MNIST_URL,
    checksums: Mapping[str, str] | None = None,
    verify: bool = True,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Fetch the four gzip-compressed MNIST files into ``folder`` and verify their MD5s.

    Files already present (raw or ``.gz``) with the right checksum are kept. Each download goes to
    a temporary file and is moved into place only after its checksum matches.

    Parameters
    ----------
    folder : str or path-like, optional
        Destination; defaults to ``data_home() / "mnist"``.
    base_url : str
        URL prefix; ``base_url + name + ".gz"`` is fetched for each file.
    checksums, verify, progress
        As in :func:`load_mnist`.
    timeout : float
        Seconds to wait on the server.

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    DataError
        When a download fails or a file's checksum does not match (the file is not kept).
    """
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    target = Path(folder).expanduser() if folder is not None else data_home() / "mnist"
    target.mkdir(parents=True, exist_ok=True)
    expected = dict(MNIST_MD5 if checksums is None else checksums)
    base = base_url if base_url.endswith("/") else base_url + "/"
    with Progress(
        *Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(), disable=not progress
    ) as bar:
        for name in MNIST_FILES.values():
            present = _find_file([target], name)
            if present is not None:
                if verify and name in expected and _read_idx(present)[2] != expected[name]:
                    # Downloads only ever land under their final name whole and verified, so
                    # a bad file here was put by hand: tell the user rather than delete it.
                    raise DataError(
                        f"{present} is already there but its MD5 is not the expected "
                        f"{expected[name]}; delete it and download again"
                    )
                continue
            url = base + name + ".gz"
            fd, tmp_name = tempfile.mkstemp(prefix=name, suffix=".gz.part", dir=target)
            tmp = Path(tmp_name)
            try:
                with os.fdopen(fd, "wb") as out:
                    _fetch(url, out, bar, timeout)
                _, _, md5 = _read_idx(tmp)
                if verify and name in expected and md5 != expected[name]:
                    raise DataError(
                        f"{url} has MD5 {md5} once uncompressed, not the published {expected[name]}; "
                        "refusing it. Try another mirror (base_url=...) or pass checksums=... for "
                        "custom files"
                    )
                os.replace(tmp, target / (name + ".gz"))
            finally:
                tmp.unlink(missing_ok=True)
    return target


def _fetch(url: str, out: IO[bytes], bar: Any, timeout: float) -> None:
    """Stream ``url`` into ``out`` with a progress-bar task."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - URL is the user's
            total = response.headers.get("Content-Length")
            task = bar.add_task(url.rsplit("/", 1)[-1], total=int(total) if total else None)
            while chunk := response.read(1 << 16):
                out.write(chunk)
                bar.update(task, advance=len(chunk))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DataError(
            f"could not download {url}: {exc}. Check the network or base_url, or copy the files by "
            "hand into the data folder"
        ) from exc
