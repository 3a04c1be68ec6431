"""Figures of greedy pre-training and of training curves, written as PNG files.

:mod:`weightwise.evidence.plots` draws image grids and curves; :mod:`weightwise.layerwise.stack`
maps data through a stack of learners. This module chains the two and writes:

- ``filters.png``: the first layer's weights into each hidden unit, as images;
- ``reconstructions.png``: held-out images (top) and the stack's reconstructions (bottom): up
  through every pre-trained layer and back down;
- ``samples.png``: fantasies of a stack whose top learner is an RBM (an RBM or a DBN): a Gibbs
  chain in the top RBM, then one deterministic pass down through the layers below (Hinton,
  Osindero and Teh 2006, section 5: the top two layers form an associative memory whose samples
  are shown through the directed layers below);
- ``pretraining_curves.png``: reconstruction error per layer and epoch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..layerwise.history import LayerHistory
from ..layerwise.stack import can_sample, reconstruct, sample_stack
from .plots import (
    feature_grid,
    learning_curve_panels,
    learning_curves,
    reconstruction_grid,
    sample_grid,
    save_figure,
)

FIGURES = ("filters", "reconstructions", "samples", "pretraining_curves")


def guess_image_shape(n_features: int, shape: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """``shape`` if given (checked), else a square ``(side, side)``, else None (not an image).

    Raises
    ------
    ConfigError
        When ``shape`` does not hold ``n_features`` pixels.
    """
    if shape is not None:
        h, w = (int(s) for s in shape)
        if h * w != n_features:
            raise ConfigError(
                f"an image shape of {h}x{w} holds {h * w} pixels but the data has {n_features} "
                f"features; give HEIGHTxWIDTH with HEIGHT*WIDTH = {n_features}"
            )
        return h, w
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else None


@dataclass
class FigureSet:
    """The PNG files written by :func:`write_pretraining_figures`, and those skipped with why."""

    written: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def write_pretraining_figures(
    out_dir: str | Path,
    learners: Sequence[Any],
    histories: Sequence[LayerHistory],
    names: Sequence[str],
    X_shown: Any,
    *,
    image_shape: tuple[int, int] | None = None,
    n_images: int = 10,
    n_samples: int = 64,
    gibbs_steps: int = 500,
) -> FigureSet:
    """Write the pre-training figures of a stack as PNG files in ``out_dir``.

    Parameters
    ----------
    out_dir : str or Path
        Created if missing.
    learners, histories, names : sequences
        One per pre-trained layer, bottom first (a
        :class:`~weightwise.layerwise.greedy.PretrainResult`'s fields).
    X_shown : array of shape (n_samples, n_features)
        Images to reconstruct (held-out data is the honest choice); the first ``n_images`` are
        drawn.
    image_shape : (int, int), optional
        (height, width) of one input; guessed for square inputs. Without one, the image figures
        are skipped and only the curves are drawn.
    n_images : int
        Reconstruction pairs drawn.
    n_samples : int
        Model samples drawn (RBM or DBN stacks).
    gibbs_steps : int
        Gibbs steps of each sampling chain.

    Returns
    -------
    FigureSet
        ``written``: figure name -> path; ``skipped``: figure name -> reason.
    """
    out = Path(out_dir)
    result = FigureSet()
    n_features = int(learners[0].n_visible)
    shape = guess_image_shape(n_features, image_shape)
    sizes = "-".join(map(str, [n_features, *(int(learner.n_hidden) for learner in learners)]))
    if shape is None:
        why = f"{n_features} features are not a square image; give the image shape (HxW)"
        for name in ("filters", "reconstructions", "samples"):
            result.skipped[name] = why
    else:
        fig = feature_grid(
            learners[0].W,
            shape,
            n_max=100,
            title=f"What did layer 1 learn? Its filters after pre-training, before any "
            f"fine-tuning ({names[0]}, {sizes})",
        )
        result.written["filters"] = save_figure(fig, out / "filters.png")
        shown = X_shown[: max(1, int(n_images))]
        fig = reconstruction_grid(
            shown,
            reconstruct(learners, shown),
            shape,
            n_max=n_images,
            title=f"Does the stack keep what matters? Held-out images (top) and their "
            f"reconstructions through {len(learners)} pre-trained layer(s) (bottom)",
        )
        result.written["reconstructions"] = save_figure(fig, out / "reconstructions.png")
        if can_sample(learners):
            path = _samples_figure(out, learners, shape, n_samples, gibbs_steps)
            result.written["samples"] = path
        else:
            result.skipped["samples"] = "the top learner is an auto-encoder, which has no samples"
    curves = {
        f"layer {k + 1} ({name})": h.reconstruction_error
        for k, (name, h) in enumerate(zip(names, histories, strict=True))
    }
    title = (
        f"Has each layer finished learning? Reconstruction error per epoch of pre-training, "
        f"{sizes} ({', '.join(dict.fromkeys(names))})"
    )
    fig = learning_curves(curves, ylabel="reconstruction error", title=title, band="none", log_y=True)
    _mark_points(fig)
    result.written["pretraining_curves"] = save_figure(fig, out / "pretraining_curves.png")
    return result


def _samples_figure(
    out: Path, learners: Sequence[Any], shape: tuple[int, int], n_samples: int, gibbs_steps: int
) -> Path:
    """``samples.png``: ``n_samples`` draws of the RBM (or DBN) stack after ``gibbs_steps`` steps."""
    what = "RBM" if len(learners) == 1 else f"DBN ({len(learners)} layers)"
    fig = sample_grid(
        sample_stack(learners, n_samples, gibbs_steps),
        shape,
        n_max=n_samples,
        title=f"What has the {what} learnt to imagine? Samples after {gibbs_steps} Gibbs steps",
    )
    return save_figure(fig, out / "samples.png")


def write_training_curves(out_dir: str | Path, history: Any, label: str = "back-propagation") -> Path:
    """Per-epoch training loss (and accuracy, and validation score, when recorded) as a PNG.

    Parameters
    ----------
    out_dir : str or Path
    history : History
        A :func:`~weightwise.backpropagation.training.fit` history (``loss``, ``metric``,
        ``val_metric`` per epoch).
    label : str
        Legend label of the run.

    Returns
    -------
    Path
        ``out_dir / "training_curves.png"``.
    """
    panels: dict[str, dict[str, Any]] = {"training loss": {label: list(history.loss)}}
    extra = (("training accuracy", history.metric), ("validation score", history.val_metric))
    for ylabel, values in extra:
        if any(math.isfinite(float(v)) for v in values):
            panels[ylabel] = {label: list(values)}
    n = len(history.loss)
    fig = learning_curve_panels(
        panels, band="none", title=f"Is {label} still improving? {n} epoch{'s' if n != 1 else ''}"
    )
    _mark_points(fig)
    return save_figure(fig, Path(out_dir) / "training_curves.png")


def _mark_points(fig: Any, max_points: int = 50) -> None:
    """Dots on the curves of short runs: a one-epoch curve is a single point, no line."""
    for ax in fig.axes:
        for line in ax.get_lines():
            if len(line.get_xdata()) <= max_points:
                line.set_marker("o")
                line.set_markersize(3)
