"""Loading ``--data``: digits, MNIST, CSV and NPZ files, and their train/test split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..checks import check_fraction
from ..errors import ConfigError, DataError
from .base import one_line

DEFAULT_MODEL = "weightwise-model.safetensors"


@dataclass
class Split:
    """Training and test data of one ``--data`` source.

    Attributes
    ----------
    X_train : ndarray of shape (n_train, n_features)
    X_test : ndarray of shape (n_test, n_features) or None
    y_train : ndarray of shape (n_train,) or (n_train, n_outputs)
    y_test : ndarray or None
    name : str
        What the data is, for the tables.
    """

    X_train: np.ndarray
    X_test: np.ndarray | None
    y_train: np.ndarray
    y_test: np.ndarray | None
    name: str


def load_split(
    data: str,
    target: str | None = None,
    test_size: float = 0.25,
    seed: int | None = 0,
    mnist_path: Path | None = None,
    download: bool = False,
    stratify: bool = True,
) -> Split:
    """Load ``--data``: ``digits``, ``mnist``, a ``.csv`` (with ``target``) or an ``.npz`` (X, y).

    digits and MNIST come with their fixed test sets; a CSV or NPZ is split here,
    ``test_size`` of it held out (stratified by label when ``stratify`` and every class has two
    samples); ``test_size=0`` keeps everything for training.
    """
    from .. import datasets

    if data == "digits":
        X_train, X_test, y_train, y_test = datasets.load_digits()
        return Split(X_train, X_test, y_train, y_test, "digits")
    if data == "mnist":
        ensure_mnist(mnist_path, download)
        X_train, X_test, y_train, y_test = datasets.load_mnist(path=mnist_path)
        return Split(X_train, X_test, y_train, y_test, "MNIST")
    path = Path(data)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npz"):
        raise DataError(
            f"--data {data!r}: give 'digits', 'mnist', a .csv file (with --target COLUMN) or an "
            ".npz file holding arrays X and y"
        )
    if suffix == ".csv":
        if target is None:
            raise DataError(f"--data {data}: a CSV needs --target COLUMN, the name of the label column")
        X, y, _ = datasets.load_csv(path, target)
    else:
        X, y = datasets.load_npz(path)
    check_fraction(test_size, "--test-size")
    if test_size == 0.0:
        return Split(X, None, y, None, path.name)
    from sklearn.model_selection import train_test_split

    strata = None
    if stratify and y.ndim == 1:
        _, counts = np.unique(y, return_counts=True)
        strata = y if counts.min() >= 2 else None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=strata
    )
    return Split(X_train, X_test, y_train, y_test, path.name)


def ensure_mnist(path: Path | None, download: bool) -> None:
    """Check that the four MNIST files are where ``--mnist`` (or the environment) says, fetching
    the missing ones with ``--download``; otherwise one line saying how to get them.

    Done before any run starts, so a sweep never begins (nor claims its folder) without its data.
    """
    from .. import datasets

    folders, missing = datasets.find_mnist(path)
    if not missing:
        return
    if download:
        datasets.load_mnist(path=path, download=True)
        return
    names = ", ".join(f"{m}[.gz]" for m in missing)
    raise DataError(
        f"MNIST file(s) {names} not found in {folders[0]} (nor in its mnist/ subfolder): give "
        "the folder that holds the four IDX files with --mnist FOLDER (or set WEIGHTWISE_MNIST), "
        f"or add --download to fetch them (about 11 MB) from {datasets.MNIST_URL}"
    )


def read_features(
    data: str, target: str | None = None, mnist_path: Path | None = None, download: bool = False
) -> np.ndarray:
    """Features to predict from: ``digits``/``mnist`` test images, a CSV or an NPZ's ``X``.

    A CSV has a header row; with ``target`` that column is dropped, otherwise every column is a
    feature. Nothing is unpickled.
    """
    from .. import datasets

    if data in ("digits", "mnist"):
        return load_split(data, mnist_path=mnist_path, download=download).X_test  # type: ignore[return-value]
    path = Path(data)
    suffix = path.suffix.lower()
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                if "X" not in getattr(archive, "files", ()):
                    raise DataError(f"{path} has no array 'X'; save it with np.savez(path, X=X)")
                X = archive["X"]
        except FileNotFoundError as exc:
            raise DataError(f"no NPZ file at {path}") from exc
        except (ValueError, OSError, EOFError) as exc:
            raise DataError(f"{path} is not a NumPy .npz file of numbers: {one_line(exc)}") from exc
    elif suffix == ".csv":
        if target is not None:
            X, _, _ = datasets.load_csv(path, target)
        else:
            X = _read_csv_features(path)
    else:
        raise DataError(f"DATA {data!r}: give a .csv file, an .npz file with array X, or digits/mnist")
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        raise DataError(f"{path}: X must be a numeric 2-D array, got shape {X.shape} dtype {X.dtype}")
    return X


def read_labels(data: str, target: str | None, mnist_path: Path | None = None) -> np.ndarray | None:
    """The labels that go with :func:`read_features`' rows, where ``data`` has them: the test
    labels of digits and MNIST, a CSV's ``target`` column, an NPZ's ``y``; else None."""
    from .. import datasets

    if data in ("digits", "mnist"):
        return load_split(data, mnist_path=mnist_path).y_test
    path = Path(data)
    if path.suffix.lower() == ".csv" and target is not None:
        return datasets.load_csv(path, target)[1]
    if path.suffix.lower() == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            return np.asarray(archive["y"]) if "y" in archive.files else None
    return None


def _read_csv_features(path: Path) -> np.ndarray:
    """Every column of a CSV with a header row, as float64 features (clear errors otherwise)."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [row for row in csv.reader(fh) if any(cell.strip() for cell in row)]
    except FileNotFoundError as exc:
        raise DataError(f"no CSV file at {path}") from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path} cannot be read as CSV text: {one_line(exc)}") from exc
    if len(rows) < 2:
        raise DataError(f"{path} needs a header row and at least one data row")
    header = rows[0]
    X = np.empty((len(rows) - 1, len(header)))
    for i, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise DataError(
                f"{path} data row {i + 1} has {len(row)} fields but the header has {len(header)}; "
                "fix that row"
            )
        for j, cell in enumerate(row):
            try:
                X[i, j] = float(cell)
            except ValueError:
                raise DataError(
                    f"{path} data row {i + 1}, column {header[j]!r}: {cell.strip()!r} is not a number; "
                    "if it is the label column, name it with --target"
                ) from None
    return X


def _n_outputs(split: Split, task: str, output_activation: str | None) -> list[int]:
    """Output sizes that fit the data: classes (1 or 2 for two classes), or target columns."""
    y = split.y_train
    if task == "regress":
        return [1 if y.ndim == 1 else int(y.shape[1])]
    if y.ndim == 2:  # a 0/1 indicator matrix: one sigmoid unit per label
        return [int(y.shape[1])]
    labels = np.unique(y if split.y_test is None else np.concatenate([y, split.y_test]))
    if len(labels) == 2:
        return {"softmax": [2], "sigmoid": [1]}.get(output_activation or "", [1, 2])
    return [len(labels)]


def _check_task(split: Split, task: str) -> None:
    y = split.y_train
    if task == "classify" and y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
        raise DataError(
            "the target holds non-integer numbers, so it cannot be class labels; use --task regress "
            "for real-valued targets"
        )
    if task == "regress" and y.dtype.kind not in "biuf":
        raise DataError(
            f"the target holds non-numeric labels ({y[0]!r}, ...); use --task classify for labels"
        )


# --------------------------------------------------------------------------------------------------
# unlabelled data (pre-training)

SCALINGS = ("none", "minmax", "standard")


def load_unlabelled(
    data: str,
    target: str | None,
    held_out: float,
    seed: int,
    mnist_path: Path | None,
    download: bool,
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Features to pre-train on and held-out features (for monitoring and figures), and a name.

    digits and MNIST keep their fixed test sets as held-out data; a CSV (every column a feature
    unless ``target`` names a label column to drop) or an NPZ (array ``X``) is split here.
    """
    if data in ("digits", "mnist"):
        split = load_split(data, mnist_path=mnist_path, download=download)
        return split.X_train, split.X_test, split.name
    X = read_features(data, target)
    check_fraction(held_out, "--test-size")
    name = Path(data).name
    n_held = int(round(held_out * X.shape[0]))
    if n_held == 0 or n_held == X.shape[0]:
        return X, None, name
    order = np.random.default_rng(seed).permutation(X.shape[0])
    return X[order[n_held:]], X[order[:n_held]], name


def fit_scaling(X: np.ndarray, how: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``(offset, scale)`` per feature so that ``(X - offset) / scale`` is what ``how`` asks.

    ``minmax`` maps the training range to [0, 1]; ``standard`` gives mean 0 and variance 1.
    Constant features get scale 1.
    """
    if how not in SCALINGS:
        raise ConfigError(f"--scale {how!r}: valid scalings are {', '.join(SCALINGS)}")
    if how == "none":
        return None
    X64 = np.asarray(X, dtype=np.float64)
    if how == "minmax":
        offset, spread = X64.min(axis=0), X64.max(axis=0) - X64.min(axis=0)
    else:
        offset, spread = X64.mean(axis=0), X64.std(axis=0)
    return offset, np.where(spread > 0, spread, 1.0)


def apply_scaling(X: np.ndarray, scaling: tuple[np.ndarray, np.ndarray], how: str) -> np.ndarray:
    """Scale ``X`` with the training data's ``(offset, scale)``.

    After ``minmax``, held-out rows beyond the training range are clipped to [0, 1]: Bernoulli
    units cannot take them, and only the training data set the range.
    """
    offset, scale = scaling
    out = (np.asarray(X, dtype=np.float64) - offset) / scale
    if how == "minmax":
        out = np.clip(out, 0.0, 1.0)
    return out.astype(np.float32)
