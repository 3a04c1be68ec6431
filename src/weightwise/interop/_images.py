"""Pictures for TensorBoard: weight filters and samples tiled into one grey-scale image."""

from __future__ import annotations

import math

import numpy as np


def square_side(n_features: int) -> int | None:
    """The side ``s`` when ``n_features == s * s`` (s >= 2): inputs that are square images."""
    s = math.isqrt(n_features)
    return s if s >= 2 and s * s == n_features else None


def tile(rows: np.ndarray, side: int, columns: int | None = None) -> np.ndarray:
    """Tile image rows into one picture with values in [0, 1].

    Parameters
    ----------
    rows : array of shape (n_images, side * side)
        One flattened image per row (a filter ``W[:, j]``, a sample). Each is scaled to [0, 1] on
        its own (min to max), since filters of one layer differ in scale by orders of magnitude.
    side : int
    columns : int, optional
        Images per row of the grid; default about the square root of ``n_images``.

    Returns
    -------
    array of shape (height, width)
        One pixel of padding (0.5) between images.
    """
    rows = np.asarray(rows, dtype=np.float64)
    n = rows.shape[0]
    lo = rows.min(axis=1, keepdims=True)
    span = rows.max(axis=1, keepdims=True) - lo
    scaled = (rows - lo) / np.where(span > 0, span, 1.0)
    cols = columns or math.ceil(math.sqrt(n))
    grid_rows = math.ceil(n / cols)
    cell = side + 1
    out = np.full((grid_rows * cell + 1, cols * cell + 1), 0.5)
    for k in range(n):
        r, c = divmod(k, cols)
        out[1 + r * cell : 1 + r * cell + side, 1 + c * cell : 1 + c * cell + side] = scaled[k].reshape(
            side, side
        )
    return out.astype(np.float32)


def bernoulli_rbm_samples(
    W: np.ndarray, b_hidden: np.ndarray, b_visible: np.ndarray, n: int, steps: int, seed: int = 0
) -> np.ndarray:
    """Mean visible values after ``steps`` Gibbs steps of ``n`` chains of a Bernoulli RBM.

    Run on host copies with a generator of its own, so drawing pictures never moves the
    learner's random stream (a run with the callback trains exactly as one without).

    Parameters
    ----------
    W : array of shape (n_visible, n_hidden)
    b_hidden : array of shape (n_hidden,)
    b_visible : array of shape (n_visible,)

    Returns
    -------
    array of shape (n, n_visible)
        ``p(v = 1 | h)`` of the chains' last hidden states.
    """
    from scipy.special import expit

    rng = np.random.default_rng(seed)
    v = (rng.random((n, W.shape[0])) < expit(b_visible)).astype(W.dtype)
    v_mean = v
    for _ in range(steps):
        h = (rng.random((n, W.shape[1])) < expit(v @ W + b_hidden)).astype(W.dtype)
        v_mean = expit(h @ W.T + b_visible)
        v = (rng.random(v_mean.shape) < v_mean).astype(W.dtype)
    return v_mean
