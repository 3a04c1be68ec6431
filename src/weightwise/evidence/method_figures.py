"""Figures that put several methods side by side, each on one shared scale.

A heat map per method with its own colour scale would make every method's brightest cell look
the same; here the gradient-flow panels share one log colour scale, the information planes share
one epoch scale (the epochs actually recorded), and the feature panels say when the weights were
taken. Every figure is at most :data:`~.plot_base.MAX_WIDTH` inches wide.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator

from ..errors import DataError
from .image_grids import _image_shape
from .plot_base import MAX_WIDTH, host, layer_labels, new_figure, wrap_title
from .plots import layer_heatmap, log_norm, plane_paths, set_min_span


def _short(label: str, width: int = 38) -> str:
    """A method label that fits a panel title (the report's tables give it in full)."""
    import textwrap

    return textwrap.shorten(str(label), width=width, placeholder="...")


def gradient_flow_panels(
    norms: Mapping[str, Any],
    *,
    title: str | None = None,
    layer_names: Sequence[str] | None = None,
    first_epoch: int = 1,
) -> Figure:
    """One gradient-flow heat map per method, stacked, on one shared log colour scale.

    Parameters
    ----------
    norms : mapping of str to array-like of shape (n_epochs, n_layers)
        ``method label -> ||dL/dW|| per epoch and layer`` (layer 1 is drawn at the bottom).
    layer_names : sequence of str, optional
        One name per layer of the deepest net (default ``"1"``, ``"2"``, ...).

    Returns
    -------
    matplotlib.figure.Figure
    """
    maps = {label: host(v, f"norms of {label!r}") for label, v in norms.items()}
    if not maps or any(m.ndim != 2 or m.size == 0 for m in maps.values()):
        raise DataError("give at least one (n_epochs, n_layers) array of norms per method")
    n_layers = max(m.shape[1] for m in maps.values())
    names = layer_labels(layer_names, n_layers) if layer_names else [str(i + 1) for i in range(n_layers)]
    masked = {k: np.ma.masked_where(~(np.isfinite(m) & (m > 0)), m).T for k, m in maps.items()}
    norm = log_norm(np.ma.concatenate([m.compressed() for m in masked.values()]))
    panel_height = 0.55 + 0.2 * n_layers
    fig = new_figure(MAX_WIDTH, 0.9 + panel_height * len(maps))
    axes = fig.subplots(len(maps), 1, squeeze=False, sharex=True)[:, 0]
    mesh = None
    for ax, (label, image) in zip(axes, masked.items(), strict=True):
        n = image.shape[0]
        mesh = layer_heatmap(ax, image, norm, first_epoch)
        ax.set_yticks(np.arange(1, n + 1), names[:n])
        ax.tick_params(axis="y", labelsize="small")
        ax.set_title(_short(label, 90), fontsize="medium", loc="left")
    axes[-1].set_xlabel("epoch")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    assert mesh is not None  # at least one panel
    fig.colorbar(mesh, ax=list(axes), label="||dL/dW|| (one scale for all)", shrink=0.9)
    fig.supylabel("layer (1 = next to the input)", fontsize="small")
    if title:
        fig.suptitle(wrap_title(title, fig))
    return fig


def information_plane_panels(
    planes: Mapping[str, Mapping[str, Any]],
    *,
    title: str | None = None,
    min_span: float = 0.5,
) -> Figure:
    """One information plane per method, in a grid, on one epoch colour scale.

    Parameters
    ----------
    planes : mapping of str to dict
        ``method label -> InformationPlane.to_dict()`` (``I_XT``, ``I_TY``, ``epochs``,
        ``layers``).
    min_span : float
        Each panel's axes span at least this many bits (see :func:`~.plots.information_plane`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not planes:
        raise DataError("no information planes to draw")
    all_epochs = sorted({int(e) for p in planes.values() for e in p["epochs"]})
    norm = Normalize(vmin=all_epochs[0], vmax=max(all_epochs[-1], all_epochs[0] + 1))
    n_cols = min(2, len(planes))
    n_rows = math.ceil(len(planes) / n_cols)
    fig = new_figure(MAX_WIDTH if n_cols > 1 else 6.4, 0.8 + 3.6 * n_rows)
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    points = None
    for ax, (label, p) in zip(axes.flat, planes.items(), strict=False):
        x, y = host(p["I_XT"], "I_XT"), host(p["I_TY"], "I_TY")
        names = [f"layer {n}" for n in p["layers"]]
        epochs = np.asarray(p["epochs"], dtype=float)
        points = plane_paths(ax, x, y, names, epochs, norm)
        set_min_span(ax, x, y, min_span)
        ax.grid(True, alpha=0.3)
        ax.set_title(_short(label), fontsize="medium")
        ax.set_xlabel("I(X;T): bits about the input", fontsize="small")
        ax.set_ylabel("I(T;Y): bits about the label", fontsize="small")
    for ax in list(axes.flat)[len(planes) :]:
        ax.set_axis_off()
    axes.flat[0].legend(fontsize="x-small", loc="lower right")
    assert points is not None  # at least one panel
    bar = fig.colorbar(points, ax=axes, label="epoch", shrink=0.8)
    ticks = all_epochs if len(all_epochs) <= 12 else all_epochs[:: math.ceil(len(all_epochs) / 10)]
    bar.locator = FixedLocator(ticks)
    bar.update_ticks()
    if title:
        fig.suptitle(wrap_title(title, fig))
    return fig


def feature_panels(
    features: Mapping[str, Any],
    shape: tuple[int, int] | None,
    *,
    title: str | None = None,
    n_max: int = 16,
) -> Figure:
    """The first ``n_max`` first-layer features of each method, one small grid per method.

    Parameters
    ----------
    features : mapping of str to array-like of shape (n_in, n_units)
        ``panel title -> W1 columns``; each feature is drawn on its own grey scale (its pattern
        matters, not its size).
    shape : (int, int), optional
        (height, width) of one input image; guessed for square inputs.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not features:
        raise DataError("no features to draw")
    side = math.ceil(math.sqrt(n_max))
    n_cols = min(3, len(features))
    n_rows = math.ceil(len(features) / n_cols)
    fig = new_figure(min(MAX_WIDTH, 3.2 * n_cols), 0.6 + 3.2 * n_rows)
    subs = np.atleast_1d(fig.subfigures(n_rows, n_cols, squeeze=False)).ravel()
    for sub, (label, W) in zip(subs, features.items(), strict=False):
        w = host(W, f"features of {label!r}").T[:n_max]
        hw = _image_shape(w.shape[1], shape)
        axes = sub.subplots(side, side, squeeze=False)
        for i, ax in enumerate(axes.flat):
            ax.set_xticks([])
            ax.set_yticks([])
            if i >= w.shape[0]:
                ax.set_axis_off()
                continue
            img = w[i].reshape(hw)
            lo, hi = float(np.nanmin(img)), float(np.nanmax(img))
            ax.imshow(img, cmap="gray", vmin=lo, vmax=hi if hi > lo else lo + 1.0)
        sub.suptitle(wrap_title(label, fig, 4.0), fontsize="small")
    if title:
        fig.suptitle(wrap_title(title, fig))
    return fig
