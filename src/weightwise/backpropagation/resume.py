"""Checkpoint and resume a back-propagation run.

A checkpoint holds the whole state of a run: weights, optimiser slots, random stream, history and
early-stopping state, so the resumed run ends with exactly the weights of an uninterrupted one.
On Ctrl-C the state at the *start* of the interrupted epoch is written (a :class:`Snapshot`), so at
most one epoch is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..checkpoints import load_checkpoint, save_checkpoint
from ..errors import DataError
from ..net.backend import Array, Random, to_numpy
from ..net.network import Network
from .history import History
from .optimizers import Optimizer
from .stopping import EarlyStopping


@dataclass
class Snapshot:
    """The run's state at the start of an epoch.

    ``weights`` are what a diverging epoch falls back to; with checkpoints, the rest is what
    Ctrl-C saves (the early-stopping state too: the interrupted epoch may already have moved it).
    """

    weights: list[Array]
    rng: Any = None
    opt: tuple[dict[str, Any], dict[str, np.ndarray]] | None = None
    stopping: EarlyStopping | None = None

    @classmethod
    def take(
        cls, net: Network, opt: Optimizer, rng: Random, stopping: EarlyStopping, full: bool
    ) -> Snapshot:
        """Copy the weights; with ``full`` (checkpoints on) also the random, optimiser and stop state."""
        weights = [net.xp.asarray(p, copy=True) for p in net.parameters()]
        if not full:
            return cls(weights)
        return cls(weights, rng.get_state(), opt.state_dict(), stopping.copy())


def save_run(
    folder: str | Path,
    epoch_done: int,
    net: Network,
    opt: Optimizer,
    rng: Random,
    history: History,
    stopping: EarlyStopping,
    snapshot: Snapshot | None = None,
) -> None:
    """Write the run's state after ``epoch_done`` epochs; ``snapshot`` overrides the live state."""
    if snapshot is None:
        weights = net.get_weights()
        rng_state = rng.get_state()
        opt_scalars, opt_arrays = opt.state_dict()
    else:
        assert snapshot.opt is not None and snapshot.stopping is not None
        weights = [np.array(to_numpy(w)) for w in snapshot.weights]
        rng_state = snapshot.rng
        opt_scalars, opt_arrays = snapshot.opt
        stopping = snapshot.stopping
        history = History.from_dict(
            {k: v[:epoch_done] if isinstance(v, list) else v for k, v in history.to_dict().items()}
        )
    best_meta, best_arrays = stopping.state_dict()
    arrays = {f"param.{i}": w for i, w in enumerate(weights)}
    arrays.update({f"opt.{k}": v for k, v in opt_arrays.items()})
    arrays.update(best_arrays)
    meta: dict[str, Any] = {
        "epoch": epoch_done,
        "sizes": net.sizes,
        "activations": net.activation_names,
        "rng": rng_state,
        "optimizer": opt_scalars,
        "history": history.to_dict(),
        "best": best_meta,
    }
    save_checkpoint(folder, arrays, meta)


def restore_run(
    folder: str | Path,
    net: Network,
    opt: Optimizer,
    rng: Random,
    history: History,
    stopping: EarlyStopping,
) -> int:
    """Load the checkpoint in ``folder`` into the run's objects; return the epochs it had done.

    Raises
    ------
    DataError
        When the checkpoint is for another network, or monitored another quantity.
    """
    arrays, meta = load_checkpoint(folder)
    if meta.get("sizes") != net.sizes or meta.get("activations") != net.activation_names:
        raise DataError(
            f"the checkpoint in {folder} is for a {meta.get('sizes')} network with activations "
            f"{meta.get('activations')}, not this {net.sizes} one; use another checkpoint_dir"
        )
    n_params = len(net.parameters())
    stopping.load_state_dict(meta["best"], arrays, n_params, folder)
    net.set_weights([arrays[f"param.{i}"] for i in range(n_params)])
    opt.load_state_dict(
        meta["optimizer"],
        {k[4:]: v for k, v in arrays.items() if k.startswith("opt.")},
        net.parameters(),
    )
    rng.set_state(meta["rng"])
    restored = History.from_dict(meta["history"])
    for k in History.__dataclass_fields__:
        setattr(history, k, getattr(restored, k))
    history.stop_reason = history.failure = ""
    return int(meta["epoch"])
