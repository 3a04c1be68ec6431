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

from ..checkpoints import check_keys, different_settings, load_checkpoint, save_checkpoint
from ..errors import ConfigError, DataError, ModelFileError, WeightwiseError
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
    settings: dict[str, Any] | None = None,
) -> None:
    """Write the run's state after ``epoch_done`` epochs; ``snapshot`` overrides the live state.

    ``settings`` (the batch size and seed :func:`~.training.fit` ran with) are recorded beside the
    optimiser's, and a resumed run must share them (:func:`run_settings`).
    """
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
        "settings": run_settings(opt, settings),
    }
    save_checkpoint(folder, arrays, meta)


def run_settings(opt: Optimizer, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings a resumed run must share with the checkpoint's: the optimiser and its initial
    learning rate, the run's ``settings`` (batch size and seed, from :func:`~.training.fit`), and
    what the caller put in ``opt.run_settings`` (the estimators add their ``random_state``)."""
    return {
        "optimizer": opt.name,
        "learning_rate": float(getattr(opt, "learning_rate0", opt.learning_rate)),
        **(settings or {}),
        **dict(getattr(opt, "run_settings", None) or {}),
    }


# What a back-propagation checkpoint's JSON must hold, and in which type.
_SCHEMA: dict[str, type] = {
    "epoch": int,
    "sizes": list,
    "activations": list,
    "rng": dict,
    "optimizer": dict,
    "history": dict,
    "best": dict,
    "settings": dict,
}


def restore_run(
    folder: str | Path,
    net: Network,
    opt: Optimizer,
    rng: Random,
    history: History,
    stopping: EarlyStopping,
    settings: dict[str, Any] | None = None,
) -> int:
    """Load the checkpoint in ``folder`` into the run's objects; return the epochs it had done.

    Raises
    ------
    DataError
        When the checkpoint is for another network, or monitored another quantity.
    ConfigError
        When it was written with other settings (optimiser, learning rate, batch size, seed).
    ModelFileError
        When it is damaged: a checksum, a missing entry, or arrays that do not fit.
    """
    arrays, meta = load_checkpoint(folder)
    check_keys(folder, meta, _SCHEMA)
    differ = different_settings(meta["settings"], run_settings(opt, settings))
    if differ:
        raise ConfigError(
            f"the checkpoint in {folder} was written with other settings ({'; '.join(differ)}); "
            "resume with the same settings, or use another checkpoint_dir"
        )
    try:
        return _restore(folder, arrays, meta, net, opt, rng, history, stopping)
    except WeightwiseError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ModelFileError(
            f"the checkpoint in {folder} is damaged ({type(exc).__name__}: {exc}); delete the "
            "folder to start afresh"
        ) from exc


def _restore(
    folder: str | Path,
    arrays: dict[str, np.ndarray],
    meta: dict[str, Any],
    net: Network,
    opt: Optimizer,
    rng: Random,
    history: History,
    stopping: EarlyStopping,
) -> int:
    """The body of :func:`restore_run`, once the checkpoint's keys and settings are checked."""
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
