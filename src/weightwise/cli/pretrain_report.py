"""What greedy pre-training shows: its per-layer table and its figures.

Shared by ``weightwise pretrain`` and ``weightwise train --pretrain``; the figures themselves are
drawn by :mod:`weightwise.evidence.pretraining_figures`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table
from rich.text import Text

from .base import console, err_console
from .pretrain_options import pretrain_learner_names
from .progress import _fmt


def pretraining_table(result: Any, sizes: Sequence[int], title: str) -> Table:
    """Per layer: learner, sizes, epochs, final (held-out) reconstruction error, seconds.

    Parameters
    ----------
    result : PretrainResult or alike
        Its ``names``, ``histories`` (LayerHistory) and ``seconds``, one per layer, bottom first.
    sizes : sequence of int
        Layer sizes of the stack, input first (one more than the layers).
    title : str
    """
    table = Table(title=title)
    for col in ("layer", "learner", "units", "epochs", "recon. error", "held-out", "seconds"):
        table.add_column(col, justify="right")
    for k, (name, h, s) in enumerate(zip(result.names, result.histories, result.seconds, strict=True)):
        held = "-"
        val = getattr(h, "val_reconstruction_error", None)
        if val:
            held = _fmt(val[-1], ".4f")
        elif h.free_energy_gap and np.isfinite(h.free_energy_gap[-1]):
            held = f"F gap {h.free_energy_gap[-1]:+.3f}"
        table.add_row(
            str(k + 1),
            name,
            f"{sizes[k]}->{sizes[k + 1]}",
            str(h.n_epochs),
            _fmt(h.reconstruction_error[-1] if h.reconstruction_error else None, ".4f"),
            held,
            f"{s:.1f}",
        )
    return table


def pretraining_table_from_histories(est: Any, sizes: Sequence[int], title: str) -> Table:
    """:func:`pretraining_table` of a fitted estimator's ``pretrain_history_``."""
    from types import SimpleNamespace

    from ..layerwise.history import LayerHistory

    histories = [LayerHistory.from_dict(h) for h in est.pretrain_history_]
    result = SimpleNamespace(
        names=pretrain_learner_names(est.pretrain, len(histories)),
        histories=histories,
        seconds=[sum(h.seconds) for h in histories],
    )
    return pretraining_table(result, sizes, title)


def report_figures(figures: Any) -> None:
    """Say where each figure of a ``FigureSet`` was written, and why any was not drawn."""
    for name, path in figures.written.items():
        console.print(Text.assemble(f"figure {name}: ", (str(path), "bold")))
    for name, why in figures.skipped.items():
        err_console.print(
            f"note: no {name} figure: {why}", highlight=False, markup=False, soft_wrap=True
        )


class PretrainFigures:
    """A pre-training callback that draws the stack's figures as soon as its top layer is done.

    Inside ``fit`` of an estimator with ``pretrain`` set, back-propagation starts right after the
    top layer's last epoch and moves the weights the learners share, so the pre-training pictures
    are drawn here, at that moment, rather than after ``fit``.

    Parameters
    ----------
    out_dir : Path
    X_shown : ndarray of shape (n_samples, n_features)
        Images to reconstruct.
    image_shape : (int, int), optional
    gibbs_steps : int
    """

    def __init__(
        self, out_dir: Path, X_shown: Any, image_shape: tuple[int, int] | None, gibbs_steps: int
    ) -> None:
        self.out_dir = out_dir
        self.X_shown = X_shown
        self.image_shape = image_shape
        self.gibbs_steps = gibbs_steps
        self.layers: dict[int, tuple[Any, Any, str]] = {}
        self.figures: Any = None

    def __call__(self, info: Any) -> None:
        from ..evidence.pretraining_figures import write_pretraining_figures

        self.layers[info.layer] = (info.learner, info.history, info.learner_name)
        # A run resumed from a checkpoint skips the layers it restored: without every layer's
        # learner as pre-training left it, there is nothing faithful to draw.
        complete = sorted(self.layers) == list(range(1, info.n_layers + 1))
        if (
            info.layer == info.n_layers
            and info.epoch >= info.epochs
            and complete
            and self.figures is None
        ):
            learners, histories, names = zip(*(self.layers[k] for k in sorted(self.layers)), strict=True)
            self.figures = write_pretraining_figures(
                self.out_dir,
                learners,
                histories,
                names,
                self.X_shown,
                image_shape=self.image_shape,
                gibbs_steps=self.gibbs_steps,
            )
