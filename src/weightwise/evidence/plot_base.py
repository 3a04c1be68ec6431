"""What every figure shares: host arrays, a pyplot-free figure, layer labels, finished axes.

Figures are drawn at most :data:`MAX_WIDTH` inches wide at :data:`DPI`, so that the HTML report
(about 960 px of content) shows them at their own size: nothing shrinks below legibility.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..errors import DataError
from ..net.backend import to_numpy

DPI = 100
"""Resolution of saved figures: a 6.4 x 4.8 inch figure becomes 640 x 480 pixels."""
MAX_WIDTH = 9.6
"""The widest figure, in inches (960 px at :data:`DPI`): the report's width."""


def host(x: Any, name: str) -> np.ndarray:
    """``x`` as a float64 NumPy array; nested lists and tensors are accepted."""
    try:
        if hasattr(x, "__array_namespace__") or hasattr(x, "detach"):
            x = to_numpy(x)
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be numbers in a rectangular array: {exc}") from exc


def new_figure(width: float = 6.4, height: float = 4.8) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    # An Agg canvas makes the figure drawable and savable without pyplot or a display.
    FigureCanvasAgg(fig)
    return fig


def layer_labels(layer_labels: Sequence[str] | None, n_layers: int) -> list[str]:
    """The given labels, one per layer, or ``"layer 1"``, ``"layer 2"``, ..."""
    if layer_labels is None:
        return [f"layer {i + 1}" for i in range(n_layers)]
    labels = list(layer_labels)
    if len(labels) != n_layers:
        raise DataError(f"{len(labels)} layer labels for {n_layers} layers; give one per layer")
    return labels


def finish_axes(
    ax: Axes, *, log_y: bool = False, title: str | None = None, grid: Literal["both", "y"] = "both"
) -> None:
    """What every line and bar chart ends with: a log scale if asked, a light grid, a legend."""
    if log_y:
        ax.set_yscale("log")
    ax.grid(True, axis=grid, alpha=0.3)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(wrap_title(title, ax.figure))  # type: ignore[arg-type]


def wrap_title(title: str, fig: Figure, chars_per_inch: float = 11.0) -> str:
    """``title`` broken into lines that fit the figure's width (a long title is never clipped)."""
    import textwrap

    width = max(20, int(fig.get_figwidth() * chars_per_inch))
    return "\n".join(textwrap.fill(line, width) for line in str(title).splitlines())
