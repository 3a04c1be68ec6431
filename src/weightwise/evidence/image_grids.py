"""Image grids: first-layer features, reconstructions under their originals, model samples.

Like every figure of :mod:`weightwise.evidence.plots` (which re-exports these), each function
builds its own :class:`matplotlib.figure.Figure`, never touching pyplot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..errors import DataError
from .plot_base import MAX_WIDTH, wrap_title
from .plot_base import host as _host
from .plot_base import new_figure as _new_figure


def _image_shape(n_features: int, shape: tuple[int, int] | None) -> tuple[int, int]:
    if shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise DataError(
                f"cannot guess an image shape for {n_features} features; pass shape=(height, width)"
            )
        return side, side
    h, w = (int(s) for s in shape)
    if h * w != n_features:
        raise DataError(f"shape {shape} holds {h * w} pixels but there are {n_features} features")
    return h, w


def _image_grid(
    images: np.ndarray,
    shape: tuple[int, int],
    n_cols: int,
    *,
    row_labels: Sequence[str] | None = None,
    per_image_scale: bool,
    cmap: str,
    title: str | None,
) -> Figure:
    """Draw images (n, h*w) as a grid of n_cols columns; blank cells past the last image."""
    n = images.shape[0]
    n_rows = max(1, math.ceil(n / n_cols))
    # Tiles of 0.9 inch at most 9.6 inches across (the report's width), at least 4 inches so a
    # title fits in a few lines; each title line gets its own height.
    width = min(MAX_WIDTH, max(4.0, 0.9 * n_cols))
    tile = min(0.9, width / n_cols)
    fig = _new_figure(width, 1.0)
    title = wrap_title(title, fig) if title else None
    lines = title.count("\n") + 1 if title else 0
    fig.set_figheight(max(1.2, tile * n_rows + 0.3 * lines + 0.1))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    finite = images[np.isfinite(images)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.set_axis_off()
            continue
        img = images[i].reshape(shape)
        if per_image_scale:
            lo, hi = float(np.nanmin(img)), float(np.nanmax(img))
            ax.imshow(img, cmap=cmap, vmin=lo, vmax=hi if hi > lo else lo + 1.0, interpolation="nearest")
        else:
            ax.imshow(img, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    if row_labels is not None:
        for r, text in enumerate(row_labels):
            axes[r, 0].set_axis_on()
            axes[r, 0].set_ylabel(text, fontsize="small")
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig


def _square_grid(
    images: np.ndarray,
    shape: tuple[int, int] | None,
    n_max: int,
    n_cols: int | None,
    *,
    per_image_scale: bool,
    cmap: str,
    title: str | None,
) -> Figure:
    """The first ``n_max`` rows of ``images`` (n, h*w) in about as many columns as rows."""
    hw = _image_shape(images.shape[1], shape)
    shown = images[: max(1, int(n_max))]
    cols = int(n_cols) if n_cols else math.ceil(math.sqrt(shown.shape[0]))
    return _image_grid(shown, hw, cols, per_image_scale=per_image_scale, cmap=cmap, title=title)


def feature_grid(
    W: Any,
    shape: tuple[int, int] | None = None,
    *,
    n_max: int = 64,
    n_cols: int | None = None,
    title: str | None = None,
    cmap: str = "gray",
) -> Figure:
    """First-layer features: each column of W (the weights into one hidden unit) as an image.

    Parameters
    ----------
    W : array-like of shape (n_in, n_units)
        A ``Dense`` layer's weights; column j is drawn as an image of ``shape``.
    shape : (int, int), optional
        (height, width) of the input images, e.g. (8, 8) for digits or (28, 28) for MNIST; guessed
        for square inputs.
    n_max : int
        Draw at most the first ``n_max`` units.
    n_cols : int, optional
        Columns of the grid (default about the square root of the number drawn).

    Returns
    -------
    matplotlib.figure.Figure
    """
    w = _host(W, "W")
    if w.ndim != 2 or w.size == 0:
        raise DataError(f"W must have shape (n_in, n_units), got {w.shape}")
    # Each feature on its own scale: a weight vector's pattern matters, not its size.
    return _square_grid(w.T, shape, n_max, n_cols, per_image_scale=True, cmap=cmap, title=title)


def reconstruction_grid(
    originals: Any,
    reconstructions: Any,
    shape: tuple[int, int] | None = None,
    *,
    n_max: int = 10,
    title: str | None = None,
    cmap: str = "gray",
) -> Figure:
    """Originals (top row) above their reconstructions (bottom row), on one shared grey scale.

    Parameters
    ----------
    originals, reconstructions : array-like of shape (n_samples, n_features)
    shape : (int, int), optional
        (height, width) of one image; guessed for square inputs.
    n_max : int
        Draw at most the first ``n_max`` pairs.

    Returns
    -------
    matplotlib.figure.Figure
    """
    x, r = _host(originals, "originals"), _host(reconstructions, "reconstructions")
    if x.shape != r.shape or x.ndim != 2 or x.size == 0:
        raise DataError(
            "originals and reconstructions must share a shape (n_samples, n_features), "
            f"got {x.shape} and {r.shape}"
        )
    hw = _image_shape(x.shape[1], shape)
    n = min(x.shape[0], max(1, int(n_max)))
    images = np.concatenate([x[:n], r[:n]], axis=0)
    return _image_grid(
        images,
        hw,
        n,
        row_labels=("original", "reconstructed"),
        per_image_scale=False,
        cmap=cmap,
        title=title,
    )


def sample_grid(
    samples: Any,
    shape: tuple[int, int] | None = None,
    *,
    n_max: int = 64,
    n_cols: int | None = None,
    title: str | None = None,
    cmap: str = "gray",
) -> Figure:
    """Model samples (e.g. from an RBM's Gibbs chain) as an image grid on one shared scale.

    Parameters
    ----------
    samples : array-like of shape (n_samples, n_features)
    shape : (int, int), optional
        (height, width) of one image; guessed for square inputs.

    Returns
    -------
    matplotlib.figure.Figure
    """
    s = _host(samples, "samples")
    if s.ndim != 2 or s.size == 0:
        raise DataError(f"samples must have shape (n_samples, n_features), got {s.shape}")
    return _square_grid(s, shape, n_max, n_cols, per_image_scale=False, cmap=cmap, title=title)
