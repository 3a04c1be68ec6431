"""Figures of what happened during training, as matplotlib ``Figure`` objects.

Every function builds its own :class:`matplotlib.figure.Figure` (never ``pyplot``), so nothing is
left in pyplot's global list of open figures, no display is needed, and figures made in parallel
do not share state. Inputs may be NumPy arrays, nested lists or PyTorch tensors; they are copied to
the host first. :func:`save_figure` writes a PNG, :func:`figure_png` gives the PNG bytes (what the
HTML report embeds).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..errors import DataError
from ..net.backend import to_numpy

# Re-exported: the image grids live in their own module but are plots like the others.
from .image_grids import feature_grid, reconstruction_grid, sample_grid
from .plot_base import DPI, MAX_WIDTH, wrap_title
from .plot_base import finish_axes as _finish_axes
from .plot_base import host as _host
from .plot_base import layer_labels as _layer_labels
from .plot_base import new_figure as _new_figure

__all__ = [
    "DPI",
    "depth_plot",
    "feature_grid",
    "figure_png",
    "gradient_flow_heatmap",
    "gradient_norm_bars",
    "information_plane",
    "learning_curve_panels",
    "learning_curves",
    "reconstruction_grid",
    "sample_grid",
    "save_figure",
]


_BANDS = ("std", "minmax", "none")


def _seed_matrix(curves: Any, label: str) -> np.ndarray:
    """Curves of one label as a (n_seeds, n_epochs) array, NaN-padded where a run stopped early.

    Parameters
    ----------
    curves : sequence of float, or sequence of sequences of float
        One curve (n_epochs,) or one curve per seed; curves may have different lengths (early
        stopping), and the missing epochs count as absent, not as zero.
    """
    if hasattr(curves, "__array_namespace__") or hasattr(curves, "detach"):
        curves = to_numpy(curves)
    rows = list(curves)
    if not rows:
        raise DataError(f"the curves of {label!r} are empty; give at least one value per run")
    if np.ndim(rows[0]) == 0:
        rows = [rows]
    arrays = [_host(r, f"curve of {label!r}").ravel() for r in rows]
    n_epochs = max(a.size for a in arrays)
    out = np.full((len(arrays), n_epochs), np.nan)
    for i, a in enumerate(arrays):
        out[i, : a.size] = a
    return out


def _plot_curves(
    ax: Axes, curves: Mapping[str, Any], *, ylabel: str, band: str, log_y: bool, first_epoch: int
) -> None:
    if band not in _BANDS:
        raise DataError(f"unknown band {band!r}; valid bands: {', '.join(_BANDS)}")
    if not curves:
        raise DataError("no curves to plot; give a mapping of label -> curves")
    for label, runs in curves.items():
        m = _seed_matrix(runs, label)  # (n_seeds, n_epochs)
        epochs = np.arange(first_epoch, first_epoch + m.shape[1])
        with np.errstate(invalid="ignore"):
            counts = np.sum(np.isfinite(m), axis=0)
            mean = np.nansum(m, axis=0) / np.maximum(counts, 1)
            mean[counts == 0] = np.nan
        (line,) = ax.plot(epochs, mean, label=f"{label} (n={m.shape[0]})" if m.shape[0] > 1 else label)
        if m.shape[0] > 1 and band != "none":
            finite = counts > 0
            filled = np.where(np.isfinite(m), m, mean)  # a stopped run adds no spread
            if band == "std":
                spread = np.sqrt(np.mean((filled - mean) ** 2, axis=0))
                lo, hi = mean - spread, mean + spread
            else:
                lo, hi = np.min(filled, axis=0), np.max(filled, axis=0)
            ax.fill_between(epochs[finite], lo[finite], hi[finite], color=line.get_color(), alpha=0.2)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    _finish_axes(ax, log_y=log_y)


def learning_curves(
    curves: Mapping[str, Any],
    *,
    ylabel: str = "loss",
    title: str | None = None,
    band: str = "std",
    log_y: bool = False,
    first_epoch: int = 1,
) -> Figure:
    """Per-epoch curves of several labelled runs: the mean over seeds with a band.

    Parameters
    ----------
    curves : mapping of str to array-like
        ``label -> curves``, where curves is one curve (n_epochs,) or one per seed
        (n_seeds, n_epochs); seeds that stopped early may be shorter.
    ylabel : str
        What the curves measure, e.g. ``"training loss"`` or ``"test accuracy"``.
    title : str, optional
    band : {"std", "minmax", "none"}
        The band around the mean: one standard deviation over seeds, or the range.
    log_y : bool
        A log-scale y axis (losses that fall by orders of magnitude).
    first_epoch : int
        Number of the first value (1 for per-epoch records, 0 if the first value is before training).

    Returns
    -------
    matplotlib.figure.Figure
    """
    return learning_curve_panels(
        {ylabel: curves}, title=title, band=band, log_y=log_y, first_epoch=first_epoch
    )


def learning_curve_panels(
    panels: Mapping[str, Mapping[str, Any]],
    *,
    title: str | None = None,
    band: str = "std",
    log_y: bool | Sequence[bool] = False,
    first_epoch: int = 1,
) -> Figure:
    """Several :func:`learning_curves` side by side, e.g. ``{"loss": ..., "accuracy": ...}``.

    Parameters
    ----------
    panels : mapping of str to mapping of str to array-like
        ``ylabel -> (label -> curves)``; one panel per entry, the same labels keep the same colours
        when given in the same order.
    log_y : bool or sequence of bool
        One flag for all panels or one per panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not panels:
        raise DataError("no panels to plot; give a mapping of ylabel -> (label -> curves)")
    flags = [log_y] * len(panels) if isinstance(log_y, bool) else list(log_y)
    if len(flags) != len(panels):
        raise DataError(f"log_y has {len(flags)} flags for {len(panels)} panels; give one per panel")
    fig = _new_figure(min(MAX_WIDTH, 4.8 * len(panels)), 4.0)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (ylabel, curves), flag in zip(axes, panels.items(), flags, strict=True):
        _plot_curves(ax, curves, ylabel=ylabel, band=band, log_y=flag, first_epoch=first_epoch)
    if title:
        fig.suptitle(wrap_title(title, fig))
    return fig


def gradient_flow_heatmap(
    norms: Any,
    *,
    title: str | None = None,
    layer_labels: Sequence[str] | None = None,
    colorbar_label: str = "gradient norm ||dL/dW||",
    first_epoch: int = 1,
    value_range: tuple[float, float] | None = None,
) -> Figure:
    """Heat map of a per-layer quantity over training: layers up, epochs across, log colour scale.

    Vanishing gradients show as the lower layers' rows being orders of magnitude darker than the
    top layer's row.

    Parameters
    ----------
    norms : array-like of shape (n_epochs, n_layers)
        E.g. ``History.grad_norm``; layer 1 (next to the input) is drawn at the bottom. Values that
        are zero or not finite are drawn blank (a log scale has no place for them).
    layer_labels : sequence of str, optional
        One label per layer (default ``"layer 1"``, ...).
    value_range : (low, high), optional
        The colour scale's range; give the same one to heat maps that are compared (default:
        this map's smallest and largest positive values).

    Returns
    -------
    matplotlib.figure.Figure
    """
    g = _host(norms, "norms")
    if g.ndim != 2 or g.size == 0:
        raise DataError(f"norms must have shape (n_epochs, n_layers), got {g.shape}")
    n_epochs, n_layers = g.shape
    labels = _layer_labels(layer_labels, n_layers)
    image = np.ma.masked_where(~(np.isfinite(g) & (g > 0)), g).T  # (n_layers, n_epochs)
    fig = _new_figure(max(5.0, min(MAX_WIDTH, 3.0 + 0.1 * n_epochs)), max(3.0, 1.0 + 0.45 * n_layers))
    ax = fig.add_subplot()
    norm = log_norm(image, value_range)
    mesh = layer_heatmap(ax, image, norm, first_epoch)
    ax.set_yticks(np.arange(1, n_layers + 1), labels)
    ax.set_xlabel("epoch")
    fig.colorbar(mesh, ax=ax, label=colorbar_label)
    if title:
        ax.set_title(wrap_title(title, fig))
    return fig


def layer_heatmap(ax: Any, image: np.ndarray, norm: Any, first_epoch: int) -> Any:
    """Draw ``image`` (n_layers, n_epochs) on ``ax``: layer 1 at the bottom, one cell per epoch
    centred on its epoch number; return the image for a colour bar."""
    n_layers, n_epochs = image.shape
    return ax.imshow(
        image,
        aspect="auto",
        origin="lower",
        interpolation="nearest",
        norm=norm,
        cmap="magma",
        extent=(first_epoch - 0.5, first_epoch + n_epochs - 0.5, 0.5, n_layers + 0.5),
    )


def log_norm(values: Any, value_range: tuple[float, float] | None = None) -> Normalize:
    """A log colour scale over ``value_range`` or the positive finite ``values`` (linear 0-1 if none)."""
    if value_range is None:
        v = np.asarray(np.ma.filled(values, np.nan), dtype=float)
        v = v[np.isfinite(v) & (v > 0)]
        if not v.size:
            return Normalize(vmin=0.0, vmax=1.0)
        value_range = (float(v.min()), float(v.max()))
    lo, hi = value_range
    return LogNorm(vmin=lo, vmax=hi if hi > lo else lo * 10.0)


def depth_plot(
    results: Mapping[str, Mapping[int, Any]],
    *,
    ylabel: str = "test error",
    title: str | None = None,
    log_y: bool = False,
    reference: tuple[float, str] | None = None,
) -> Figure:
    """A measure against depth, one line per method, with error bars over seeds.

    Parameters
    ----------
    results : mapping of str to mapping of int to array-like
        ``method -> (depth -> values over seeds)``; the point is the mean, the bar one standard
        deviation (none for a single seed).
    reference : (float, str), optional
        A horizontal dashed line and its legend label, e.g. ``(0.9, "chance (10 classes)")``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not results:
        raise DataError("no results to plot; give a mapping of method -> (depth -> values)")
    fig = _new_figure()
    ax = fig.add_subplot()
    for method, by_depth in results.items():
        depths = sorted(by_depth)
        if not depths:
            raise DataError(f"method {method!r} has no depths; give at least one")
        values = [_host(by_depth[d], f"{method!r} at depth {d}").ravel() for d in depths]
        mean = np.array([np.nanmean(v) if np.isfinite(v).any() else np.nan for v in values])
        std = np.array([np.nanstd(v) if np.isfinite(v).sum() > 1 else 0.0 for v in values])
        ax.errorbar(depths, mean, yerr=std, marker="o", capsize=3, label=method)
    if reference is not None:
        ax.axhline(reference[0], color="0.4", linestyle="--", linewidth=1, label=reference[1])
    ax.set_xlabel("hidden layers")
    ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _finish_axes(ax, log_y=log_y, title=title)
    return fig


_LAYER_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def information_plane(
    I_XT: Any,
    I_TY: Any,
    *,
    title: str | None = None,
    layer_labels: Sequence[str] | None = None,
    first_epoch: int = 1,
    epochs: Sequence[int] | None = None,
    min_span: float = 0.5,
) -> Figure:
    """The information plane of Shwartz-Ziv and Tishby (2017): I(X;T) across, I(T;Y) up.

    Each hidden layer T is a path through training: one line colour and marker per layer, and the
    points coloured by epoch (dark = early, light = late), so compression shows as paths that turn
    left late in training.

    Parameters
    ----------
    I_XT, I_TY : array-like of shape (n_epochs, n_layers)
        Mutual information in bits per recorded epoch and hidden layer.
    epochs : sequence of int, optional
        The epoch of each record (e.g. 1, 3, 6, ...); default ``first_epoch``, ``first_epoch + 1``...
    min_span : float
        Each axis spans at least this many bits, so that noise in a flat path is not magnified.

    Returns
    -------
    matplotlib.figure.Figure
    """
    x, y = _host(I_XT, "I_XT"), _host(I_TY, "I_TY")
    if x.shape != y.shape or x.ndim != 2 or x.size == 0:
        raise DataError(
            f"I_XT and I_TY must share a shape (n_epochs, n_layers), got {x.shape}, {y.shape}"
        )
    n_epochs, n_layers = x.shape
    labels = _layer_labels(layer_labels, n_layers)
    fig = _new_figure(7.0, 5.0)
    ax = fig.add_subplot()
    points = plane_paths(ax, x, y, labels, _record_epochs(epochs, first_epoch, n_epochs))
    if points is not None:
        bar = fig.colorbar(points, ax=ax, label="epoch")
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
    ax.set_xlabel("I(X;T) [bits]")
    ax.set_ylabel("I(T;Y) [bits]")
    set_min_span(ax, x, y, min_span)
    _finish_axes(ax, title=title)
    return fig


def _record_epochs(epochs: Sequence[int] | None, first: int, n: int) -> np.ndarray:
    if epochs is None:
        return np.arange(first, first + n)
    out = np.asarray(list(epochs), dtype=float)
    if out.shape != (n,):
        raise DataError(f"{out.size} epochs for {n} records; give one epoch per record")
    return out


def set_min_span(ax: Axes, x: np.ndarray, y: np.ndarray, min_span: float) -> None:
    """Widen each axis about its data to at least ``min_span`` (a flat path stays flat)."""
    for values, setter in ((x, ax.set_xlim), (y, ax.set_ylim)):
        v = values[np.isfinite(values)]
        if v.size and float(v.max() - v.min()) < min_span:
            mid = float(v.max() + v.min()) / 2
            setter(mid - min_span / 2 - 0.05 * min_span, mid + min_span / 2 + 0.05 * min_span)


def plane_paths(
    ax: Axes,
    x: np.ndarray,
    y: np.ndarray,
    labels: Sequence[str],
    epochs: np.ndarray,
    norm: Normalize | None = None,
) -> Any:
    """One path per layer (colour and marker), its points coloured by epoch; the last scatter."""
    norm = norm or Normalize(vmin=epochs[0], vmax=max(epochs[-1], epochs[0] + 1))
    points = None
    for layer in range(x.shape[1]):
        colour = f"C{layer % 10}"
        marker = _LAYER_MARKERS[layer % len(_LAYER_MARKERS)]
        # The line carries the layer's marker only so that the legend shows it; the scatter
        # drawn on top gives each point its epoch colour.
        ax.plot(
            x[:, layer],
            y[:, layer],
            color=colour,
            alpha=0.6,
            linewidth=1,
            marker=marker,
            markersize=5,
            markerfacecolor="white",
            label=labels[layer],
        )
        points = ax.scatter(
            x[:, layer],
            y[:, layer],
            c=epochs,
            cmap="viridis",
            norm=norm,
            marker=marker,
            edgecolors=colour,
            linewidths=0.8,
            s=28,
            zorder=3,
        )
    return points


def gradient_norm_bars(
    norms: Mapping[str, Any],
    *,
    ylabel: str = "gradient norm ||dL/dW||",
    title: str | None = None,
    log_y: bool = True,
    layer_labels: Sequence[str] | None = None,
) -> Figure:
    """Per-layer bars of gradient norms for several moments, e.g. at initialisation and trained.

    Parameters
    ----------
    norms : mapping of str to array-like of shape (n_layers,)
        ``label -> norm per layer``, e.g. ``{"init": [...], "trained": [...]}``; all the same length.
    log_y : bool
        Log scale (vanishing gradients differ by orders of magnitude); non-positive bars are left out.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not norms:
        raise DataError("no norms to plot; give a mapping of label -> norm per layer")
    series = {label: _host(v, f"norms of {label!r}").ravel() for label, v in norms.items()}
    sizes = {v.size for v in series.values()}
    if len(sizes) != 1 or 0 in sizes:
        raise DataError(f"every label needs one norm per layer; got lengths {sorted(sizes)}")
    n_layers = sizes.pop()
    labels = _layer_labels(layer_labels, n_layers)
    rows = math.ceil(len(series) / 3)
    fig = _new_figure(min(MAX_WIDTH, max(6.4, 2.0 + 0.35 * n_layers * len(series))), 4.0 + 0.2 * rows)
    ax = fig.add_subplot()
    width = 0.8 / len(series)
    positions = np.arange(n_layers)
    for i, (label, values) in enumerate(series.items()):
        shown = np.where(values > 0, values, np.nan) if log_y else values
        ax.bar(positions + (i - (len(series) - 1) / 2) * width, shown, width, label=label)
    ax.set_xticks(positions, labels)
    ax.set_ylabel(ylabel)
    if log_y:
        ax.set_yscale("log")
    ax.grid(True, axis="y", alpha=0.3)
    # Below the bars, in as many columns as fit: a legend inside would hide the lower layers.
    fig.legend(fontsize="small", loc="outside lower center", ncol=min(3, len(series)))
    if title:
        ax.set_title(wrap_title(title, fig))
    return fig


def figure_png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes (what the HTML report embeds as a data URI)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save_figure(fig: Figure, path: str | Path, dpi: int = DPI) -> Path:
    """Write the figure as a PNG file and return its path (parent folders are created)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(figure_png(fig, dpi=dpi))
    return out
