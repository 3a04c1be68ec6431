"""Data sets: XOR (the textbook example), scikit-learn's digits, MNIST from IDX files, CSV and NPZ.

Every loader returns NumPy arrays with samples in rows, ``(n_samples, n_features)``, and raises a
:class:`~weightwise.errors.DataError` whose message names the problem and the fix.

- :func:`load_xor`, :func:`load_digits`: built in (this module).
- :mod:`weightwise.datasets.mnist`: MNIST's IDX files, read and downloaded.
- :mod:`weightwise.datasets.tables`: a user's own data, CSV with a header row or NPZ with X and y.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError
from ._errors import MissingDataError
from .mnist import (
    MNIST_FILES,
    MNIST_MD5,
    MNIST_URL,
    data_home,
    download_mnist,
    find_mnist,
    load_mnist,
    read_idx,
)
from .tables import load_csv, load_npz

__all__ = [
    "one_hot",
    "MNIST_FILES",
    "MNIST_MD5",
    "MNIST_URL",
    "MissingDataError",
    "data_home",
    "download_mnist",
    "find_mnist",
    "load_csv",
    "load_digits",
    "load_mnist",
    "load_npz",
    "load_xor",
    "read_idx",
]


# XOR and digits: built in
def one_hot(y: Any, n_classes: int, dtype: Any = np.float32) -> np.ndarray:
    """Integer labels as one-hot rows.

    Parameters
    ----------
    y : array of int, shape (n,)
        Labels in ``0 .. n_classes - 1``.
    n_classes : int
    dtype : NumPy dtype, default float32

    Returns
    -------
    Y : ndarray, shape (n, n_classes)
        ``Y[i, y[i]] = 1``, every other entry 0.
    """
    y = np.asarray(y)
    if y.ndim != 1 or (y.size and (y.min() < 0 or y.max() >= n_classes)):
        raise DataError(f"one_hot needs 1-D labels in 0..{n_classes - 1}, got shape {y.shape}")
    Y = np.zeros((y.shape[0], n_classes), dtype=dtype)
    Y[np.arange(y.shape[0]), y] = 1
    return Y


def load_xor() -> tuple[np.ndarray, np.ndarray]:
    """The four XOR samples.

    Returns
    -------
    X : ndarray of shape (4, 2), float64
    y : ndarray of shape (4,), float64
        ``y = x1 XOR x2``.
    """
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    return X, y


def load_digits(
    test_size: float = 0.25, random_state: int = 0, dtype: Any = "float32"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 handwritten digits, scaled to [0, 1], split train/test.

    The split is stratified and fixed (``random_state=0``), so every run, and every method
    compared on it, sees the same test set.

    Parameters
    ----------
    test_size : float in (0, 1)
        Fraction of samples held out for testing.
    random_state : int
        Seed of the split.
    dtype : {"float32", "float64"}
        Dtype of the features.

    Returns
    -------
    X_train : ndarray of shape (n_train, 64)
    X_test : ndarray of shape (n_test, 64)
        Pixel intensities divided by 16 (the data's maximum).
    y_train : ndarray of shape (n_train,), int64
    y_test : ndarray of shape (n_test,), int64
        Digit labels 0-9.
    """
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_size < 1.0:
        raise DataError(f"test_size must be in (0, 1), got {test_size}")
    bunch = sk_load_digits()
    X = np.asarray(bunch.data / 16.0, dtype=np.dtype(dtype))
    y = np.asarray(bunch.target, dtype=np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=random_state, stratify=y
    )
    return X_train, X_test, y_train, y_test
