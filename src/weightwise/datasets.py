"""Data sets: XOR (the textbook example)."""

from __future__ import annotations

import numpy as np


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
