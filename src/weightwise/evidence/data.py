"""The data of the experiments: a fixed train/test split of digits, MNIST or a user's ``.npz``."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError

DATASETS = ("digits", "mnist")
"""The built-in data sets; any other name must be a path to an ``.npz`` file holding X and y."""


def check_data_name(data: str) -> str:
    """``digits``, ``mnist`` or a path to an existing ``.npz`` file; else a ConfigError."""
    if data in DATASETS:
        return data
    path = Path(str(data))
    if path.suffix.lower() == ".npz":
        if not path.is_file():
            raise DataError(f"data file {str(path)!r} does not exist; give an existing .npz file")
        return data
    raise ConfigError(
        f"unknown data set {data!r}; valid data sets: 'digits', 'mnist', or a path to an .npz "
        "file holding arrays X and y"
    )


@dataclass
class Dataset:
    """A fixed train/test split: features in [0, 1] for the built-in sets, integer labels."""

    X_train: np.ndarray  # (n_train, n_features)
    X_test: np.ndarray  # (n_test, n_features)
    y_train: np.ndarray  # (n_train,) int
    y_test: np.ndarray  # (n_test,) int
    name: str
    image_shape: tuple[int, int] | None

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1


@functools.lru_cache(maxsize=4)
def _load_full(data: str, mnist_path: str | None) -> Dataset:
    from .. import datasets

    if data == "digits":
        Xtr, Xte, ytr, yte = datasets.load_digits()
        return Dataset(Xtr, Xte, ytr, yte, "digits", (8, 8))
    if data == "mnist":
        Xtr, Xte, ytr, yte = datasets.load_mnist(path=mnist_path, progress=False)
        return Dataset(Xtr, Xte, ytr, yte, "MNIST", (28, 28))
    from sklearn.model_selection import train_test_split

    X, y = datasets.load_npz(data)
    classes, y_int = np.unique(y, return_inverse=True)
    if classes.size < 2:
        raise DataError(f"{data}: y has a single class; a classifier needs at least two")
    X = np.asarray(X, dtype=np.float32)
    Xtr, Xte, ytr, yte = train_test_split(X, y_int, test_size=0.25, random_state=0, stratify=y_int)
    side = math.isqrt(X.shape[1])
    return Dataset(
        Xtr, Xte, ytr, yte, Path(data).name, (side, side) if side * side == X.shape[1] else None
    )


def load_dataset(
    data: str, n_train: int | None = None, n_test: int | None = None, mnist_path: str | None = None
) -> Dataset:
    """The split named by ``data``, optionally the first ``n`` samples of a fixed shuffle (seed 0)."""
    full = _load_full(check_data_name(data), mnist_path)

    def subset(X: np.ndarray, y: np.ndarray, n: int | None, salt: int) -> tuple[np.ndarray, np.ndarray]:
        if n is None or n >= X.shape[0]:
            return X, y
        idx = np.sort(np.random.default_rng(salt).permutation(X.shape[0])[:n])
        return X[idx], y[idx]

    Xtr, ytr = subset(full.X_train, full.y_train, n_train, 0)
    Xte, yte = subset(full.X_test, full.y_test, n_test, 1)
    return Dataset(Xtr, Xte, ytr, yte, full.name, full.image_shape)
