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
from typing import Any, Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..errors import DataError
from ..net.backend import to_numpy

DPI = 100
"""Resolution of saved figures: a 6.4 x 4.8 inch figure becomes 640 x 480 pixels."""

_BANDS = ("std", "minmax", "none")


def _host(x: Any, name: str) -> np.ndarray:
    """``x`` as a float64 NumPy array; nested lists and tensors are accepted."""
    try:
        if hasattr(x, "__array_namespace__") or hasattr(x, "detach"):
            x = to_numpy(x)
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be numbers in a rectangular array: {exc}") from exc


def _new_figure(width: float = 6.4, height: float = 4.8) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    # An Agg canvas makes the figure drawable and savable without pyplot or a display.
    FigureCanvasAgg(fig)
    return fig


def _layer_labels(layer_labels: Sequence[str] | None, n_layers: int) -> list[str]:
    """The given labels, one per layer, or ``"layer 1"``, ``"layer 2"``, ..."""
    if layer_labels is None:
        return [f"layer {i + 1}" for i in range(n_layers)]
    labels = list(layer_labels)
    if len(labels) != n_layers:
        raise DataError(f"{len(labels)} layer labels for {n_layers} layers; give one per layer")
    return labels


def _finish_axes(
    ax: Axes, *, log_y: bool = False, title: str | None = None, grid: Literal["both", "y"] = "both"
) -> None:
    """What every line and bar chart ends with: a log scale if asked, a light grid, a legend."""
    if log_y:
        ax.set_yscale("log")
    ax.grid(True, axis=grid, alpha=0.3)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)


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
    fig = _new_figure(5.0 * len(panels), 4.0)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (ylabel, curves), flag in zip(axes, panels.items(), flags, strict=True):
        _plot_curves(ax, curves, ylabel=ylabel, band=band, log_y=flag, first_epoch=first_epoch)
    if title:
        fig.suptitle(title)
    return fig


def gradient_flow_heatmap(
    norms: Any,
    *,
    title: str | None = None,
    layer_labels: Sequence[str] | None = None,
    colorbar_label: str = "gradient norm ||dL/dW||",
    first_epoch: int = 1,
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
    fig = _new_figure(max(5.0, min(12.0, 3.0 + 0.1 * n_epochs)), max(3.0, 1.0 + 0.45 * n_layers))
    ax = fig.add_subplot()
    if image.count():
        lo, hi = float(image.min()), float(image.max())
        norm: Normalize = LogNorm(vmin=lo, vmax=hi if hi > lo else lo * 10.0)
    else:
        norm = Normalize(vmin=0.0, vmax=1.0)
    mesh = ax.imshow(
        image,
        aspect="auto",
        origin="lower",
        interpolation="nearest",
        norm=norm,
        cmap="magma",
        extent=(first_epoch - 0.5, first_epoch + n_epochs - 0.5, 0.5, n_layers + 0.5),
    )
    ax.set_yticks(np.arange(1, n_layers + 1), labels)
    ax.set_xlabel("epoch")
    fig.colorbar(mesh, ax=ax, label=colorbar_label)
    if title:
        ax.set_title(title)
    return fig


def depth_plot(
    results: Mapping[str, Mapping[int, Any]],
    *,
    ylabel: str = "test error",
    title: str | None = None,
    log_y: bool = False,
) -> Figure:
    """A measure against depth, one line per method, with error bars over seeds.

    Parameters
    ----------
    results : mapping of str to mapping of int to array-like
        ``method -> (depth -> values over seeds)``; the point is the mean, the bar one standard
        deviation (none for a single seed).

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
) -> Figure:
    """The information plane of Shwartz-Ziv and Tishby (2017): I(X;T) across, I(T;Y) up.

    Each hidden layer T is a path through training: one line colour and marker per layer, and the
    points coloured by epoch (dark = early, light = late), so compression shows as paths that turn
    left late in training.

    Parameters
    ----------
    I_XT, I_TY : array-like of shape (n_epochs, n_layers)
        Mutual information in bits per epoch and hidden layer.

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
    epochs = np.arange(first_epoch, first_epoch + n_epochs)
    norm = Normalize(vmin=epochs[0], vmax=max(epochs[-1], epochs[0] + 1))
    points = None
    for layer in range(n_layers):
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
    if points is not None:
        bar = fig.colorbar(points, ax=ax, label="epoch")
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
    ax.set_xlabel("I(X;T) [bits]")
    ax.set_ylabel("I(T;Y) [bits]")
    _finish_axes(ax, title=title)
    return fig


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
    fig = _new_figure(max(2.0, 0.9 * n_cols), max(1.2, 0.9 * n_rows + (0.4 if title else 0.0)))
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
        fig.suptitle(title)
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
    fig = _new_figure(max(5.0, 1.0 + 0.7 * n_layers * len(series)), 4.0)
    ax = fig.add_subplot()
    width = 0.8 / len(series)
    positions = np.arange(n_layers)
    for i, (label, values) in enumerate(series.items()):
        shown = np.where(values > 0, values, np.nan) if log_y else values
        ax.bar(positions + (i - (len(series) - 1) / 2) * width, shown, width, label=label)
    ax.set_xticks(positions, labels)
    ax.set_ylabel(ylabel)
    _finish_axes(ax, log_y=log_y, title=title, grid="y")
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
