"""Pictures of greedy pre-training: glue between the layer-wise learners and the figures.

Nothing here is new maths. The learners (RBMs, auto-encoders) already know how to map data up
(``transform``: the mean hidden activations) and down (an RBM's ``propdown``, an auto-encoder's
``decode``) and how to Gibbs-sample (``sample``); :mod:`weightwise.evidence.plots` already draws
image grids and curves. This module chains the two for a stack of learners and writes PNG files:

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

from .errors import ConfigError
from .evidence.plots import (
    feature_grid,
    learning_curve_panels,
    learning_curves,
    reconstruction_grid,
    sample_grid,
    save_figure,
)
from .layerwise.history import LayerHistory
from .net.backend import Array

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


def is_rbm(learner: Any) -> bool:
    """True for an RBM learner (it can be Gibbs-sampled), False for an auto-encoder."""
    return callable(getattr(learner, "propdown", None)) and callable(getattr(learner, "sample", None))


def down(learner: Any, H: Array) -> Array:
    """Map hidden values of one learner back to its visible space.

    An RBM's mean visible values given ``H`` (``propdown``); an auto-encoder's decoder output.

    Parameters
    ----------
    learner : RBM or AutoEncoder
    H : array of shape (n_samples, learner.n_hidden)

    Returns
    -------
    array of shape (n_samples, learner.n_visible)
    """
    if callable(getattr(learner, "propdown", None)):
        return learner.propdown(H)
    return learner.decode(H)


def up(learner: Any, V: Array) -> Array:
    """The hidden means of one learner given its visible values (``transform``).

    Parameters
    ----------
    learner : RBM or AutoEncoder
    V : array of shape (n_samples, learner.n_visible)

    Returns
    -------
    array of shape (n_samples, learner.n_hidden)
    """
    return learner.transform(V)


def reconstruct(learners: Sequence[Any], V: Array) -> Array:
    """Up through every learner of a stack (hidden means), then back down to the data.

    Parameters
    ----------
    learners : sequence
        One learner per pre-trained layer, bottom first (learner ``k`` shares layer ``k``).
    V : array of shape (n_samples, learners[0].n_visible)

    Returns
    -------
    array of shape (n_samples, learners[0].n_visible)
    """
    H = V
    for learner in learners:
        H = up(learner, H)
    for learner in reversed(learners):
        H = down(learner, H)
    return H


def can_sample(learners: Sequence[Any]) -> bool:
    """True when the top learner is an RBM, so the stack has a generative top to sample from."""
    return bool(learners) and is_rbm(learners[-1])


def sample_stack(learners: Sequence[Any], n: int, gibbs_steps: int = 500) -> Array:
    """Samples of an RBM or a DBN in the data space.

    ``n`` independent Gibbs chains run ``gibbs_steps`` steps in the top RBM; its visible states
    then go down through the learners below, each giving its mean visible values.

    Parameters
    ----------
    learners : sequence
        Bottom first; the last must be an RBM.
    n : int
        Number of samples.
    gibbs_steps : int
        Steps of each chain (the top RBM's ``sample``).

    Returns
    -------
    array of shape (n, learners[0].n_visible)

    Raises
    ------
    ConfigError
        When the top learner is not an RBM (an auto-encoder stack has no model to sample).
    """
    if not can_sample(learners):
        raise ConfigError(
            "only a stack whose top learner is an RBM (an RBM or a DBN) can be sampled; this one "
            "ends in an auto-encoder"
        )
    V = learners[-1].sample(int(n), gibbs_steps=int(gibbs_steps))
    for learner in reversed(learners[:-1]):
        V = down(learner, V)
    return V


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
    kinds = ", ".join(dict.fromkeys(names))
    sizes = "-".join(map(str, [n_features, *(int(learner.n_hidden) for learner in learners)]))
    if shape is None:
        why = f"{n_features} features are not a square image; give the image shape (HxW)"
        for name in ("filters", "reconstructions", "samples"):
            result.skipped[name] = why
    else:
        fig = feature_grid(
            learners[0].W, shape, n_max=100, title=f"layer 1 filters ({names[0]}, {sizes})"
        )
        result.written["filters"] = save_figure(fig, out / "filters.png")
        shown = X_shown[: max(1, int(n_images))]
        fig = reconstruction_grid(
            shown,
            reconstruct(learners, shown),
            shape,
            n_max=n_images,
            title=f"held-out images and their reconstructions through {len(learners)} layer(s)",
        )
        result.written["reconstructions"] = save_figure(fig, out / "reconstructions.png")
        if can_sample(learners):
            what = "RBM" if len(learners) == 1 else f"DBN ({len(learners)} layers)"
            fig = sample_grid(
                sample_stack(learners, n_samples, gibbs_steps),
                shape,
                n_max=n_samples,
                title=f"samples of the {what}, {gibbs_steps} Gibbs steps",
            )
            result.written["samples"] = save_figure(fig, out / "samples.png")
        else:
            result.skipped["samples"] = "the top learner is an auto-encoder, which has no samples"
    curves = {
        f"layer {k + 1} ({name})": h.reconstruction_error
        for k, (name, h) in enumerate(zip(names, histories, strict=True))
    }
    fig = learning_curves(
        curves,
        ylabel="reconstruction error",
        title=f"pre-training {sizes} ({kinds})",
        band="none",
        log_y=True,
    )
    _mark_points(fig)
    result.written["pretraining_curves"] = save_figure(fig, out / "pretraining_curves.png")
    return result


def write_training_curves(out_dir: str | Path, history: Any, label: str = "back-propagation") -> Path:
    """Per-epoch training loss (and accuracy, and validation score, when recorded) as a PNG.

    Parameters
    ----------
    out_dir : str or Path
    history : History
        A :func:`~weightwise.backprop.training.fit` history (``loss``, ``metric``,
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
    fig = learning_curve_panels(panels, band="none", title=f"{label}: {len(history.loss)} epoch(s)")
    _mark_points(fig)
    return save_figure(fig, Path(out_dir) / "training_curves.png")


def _mark_points(fig: Any, max_points: int = 50) -> None:
    """Dots on the curves of short runs: a one-epoch curve is a single point, no line."""
    for ax in fig.axes:
        for line in ax.get_lines():
            if len(line.get_xdata()) <= max_points:
                line.set_marker("o")
                line.set_markersize(3)
