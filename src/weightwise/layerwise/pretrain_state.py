"""What greedy pre-training has made, and how it is saved after every epoch and resumed.

:class:`PretrainResult` holds the learners (each sharing its layer's arrays) and their histories;
a checkpoint folder holds the network's weights, every learner's extras and training state
(momentum increments or optimiser slots, random stream, history) and how far the run got, so that
:func:`weightwise.layerwise.greedy.pretrain` with ``resume=True`` goes on where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..checkpoints import (
    check_keys,
    different_settings,
    has_checkpoint,
    load_checkpoint,
    read_checkpoint_meta,
    save_checkpoint,
)
from ..errors import ConfigError, ModelFileError, WeightwiseError
from ..net.network import Network
from .autoencoder import AutoEncoderHistory
from .history import LayerEpochInfo, LayerHistory

__all__ = [
    "EpochCheckpoint",
    "PretrainResult",
    "SavedPretrain",
    "checkpoint_progress",
    "load_pretrain_checkpoint",
    "save_pretrain_checkpoint",
]


@dataclass
class PretrainResult:
    """The learners and their per-layer, per-epoch histories.

    Attributes
    ----------
    learners : list
        ``learners[k]`` trained ``net.layers[k]`` and shares its arrays.
    histories : list of LayerHistory
        One per pre-trained layer.
    names : list of str
        The learner name used for each layer.
    seconds : list of float
        Wall time per layer (training and propagating the data up).
    propagate : str
        ``"mean"`` or ``"sample"``.
    """

    learners: list[Any]
    histories: list[LayerHistory]
    names: list[str]
    seconds: list[float]
    propagate: str = "mean"

    @property
    def n_layers(self) -> int:
        return len(self.learners)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: per layer, the learner name, seconds and history."""
        return {
            "propagate": self.propagate,
            "layers": [
                {"layer": k + 1, "learner": name, "seconds": s, "history": h.to_dict()}
                for k, (name, s, h) in enumerate(
                    zip(self.names, self.seconds, self.histories, strict=True)
                )
            ],
        }

    def extra_arrays(self) -> dict[str, np.ndarray]:
        """The learners' own arrays (visible biases, ...) keyed ``"layer{k}.{name}"``, 1-based."""
        return {
            f"layer{k + 1}.{key}": arr
            for k, learner in enumerate(self.learners)
            for key, arr in learner.extra_arrays().items()
        }

    def load_extra_arrays(self, arrays: Mapping[str, Any]) -> None:
        """Inverse of :meth:`extra_arrays`: copy each learner's extras back in place."""
        for k, learner in enumerate(self.learners):
            prefix = f"layer{k + 1}."
            learner.load_extra_arrays(
                {key[len(prefix) :]: v for key, v in arrays.items() if key.startswith(prefix)}
            )


def checkpoint_progress(folder: str | Path | None) -> list[int] | None:
    """Epochs finished per layer in the pre-training checkpoint in ``folder``; None if there is none.

    Raises
    ------
    ModelFileError
        When the folder holds an unreadable checkpoint.
    ConfigError
        When it holds a checkpoint of something else (a back-propagation run).
    """
    if not has_checkpoint(folder):
        return None
    assert folder is not None
    meta = read_checkpoint_meta(folder)  # the arrays are not needed to count epochs
    _check_pretrain_kind(meta, folder)
    return [len(h["epoch"]) for h in meta["histories"]]


def _check_pretrain_kind(meta: dict[str, Any], folder: str | Path) -> None:
    if meta.get("kind") != "pretrain":
        raise ConfigError(
            f"the checkpoint in {folder} is not a pre-training checkpoint; use another folder"
        )


_HISTORY_CLASSES: dict[str, type[LayerHistory]] = {
    "LayerHistory": LayerHistory,
    "AutoEncoderHistory": AutoEncoderHistory,
}


def save_pretrain_checkpoint(
    folder: str | Path,
    run: dict[str, Any],
    seeds: list[int],
    net: Network,
    result: PretrainResult,
    layers_done: int,
) -> None:
    """Write the whole pre-training state; ``result`` holds the learners and histories so far."""
    arrays = {f"param.{i}": w for i, w in enumerate(net.get_weights())}
    arrays.update({f"extra.{k}": v for k, v in result.extra_arrays().items()})
    states = []
    for k, learner in enumerate(result.learners):
        scalars, state_arrays = learner.training_state()
        arrays.update({f"state.layer{k + 1}.{name}": v for name, v in state_arrays.items()})
        states.append(scalars)
    meta = {
        **run,
        "seeds": seeds,
        "layers_done": layers_done,
        "histories": [h.to_dict() for h in result.histories],
        "history_classes": [type(h).__name__ for h in result.histories],
        "seconds": list(result.seconds),
        "states": states,
        "settings": [learner_settings(learner) for learner in result.learners],
    }
    save_checkpoint(folder, arrays, meta)


def learner_settings(learner: Any) -> dict[str, Any]:
    """What a resumed layer must share with the checkpoint's: its optimiser, initial learning
    rate and batch size."""
    opt = getattr(learner, "optimizer", None)
    rate = getattr(learner, "learning_rate", None) if opt is None else opt.learning_rate0
    return {
        "optimizer": "cd" if opt is None else opt.name,
        "learning_rate": None if rate is None else float(rate),
        "batch_size": int(getattr(learner, "batch_size", 0)),
    }


# What a pre-training checkpoint's JSON must hold, and in which type.
_SCHEMA: dict[str, type] = {
    "seeds": list,
    "layers_done": int,
    "histories": list,
    "history_classes": list,
    "seconds": list,
    "states": list,
    "settings": list,
}


class SavedPretrain(NamedTuple):
    """A pre-training checkpoint read back (the network's weights are already restored)."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    def restore_learner(self, k: int, learner: Any) -> tuple[LayerHistory, float]:
        """Give learner ``k`` (0-based) its extras and training state; its history and seconds.

        Raises
        ------
        ConfigError
            When the layer was trained with another optimiser, learning rate or batch size.
        ModelFileError
            When the checkpoint's record of the layer does not fit the learner.
        """
        settings = self.meta["settings"]
        saved = settings[k] if k < len(settings) else None
        differ = different_settings(saved, learner_settings(learner))
        if differ:
            raise ConfigError(
                f"the pre-training checkpoint was written with other settings for layer {k + 1} "
                f"({'; '.join(differ)}); resume with the same settings, or use another checkpoint_dir"
            )
        try:
            return self._restore_learner(k, learner)
        except WeightwiseError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise ModelFileError(
                f"the pre-training checkpoint's layer {k + 1} is damaged ({type(exc).__name__}: "
                f"{exc}); delete the folder to start afresh"
            ) from exc

    def _restore_learner(self, k: int, learner: Any) -> tuple[LayerHistory, float]:
        extra, state = f"extra.layer{k + 1}.", f"state.layer{k + 1}."
        learner.load_extra_arrays(
            {key[len(extra) :]: v for key, v in self.arrays.items() if key.startswith(extra)}
        )
        learner.load_training_state(
            self.meta["states"][k],
            {key[len(state) :]: v for key, v in self.arrays.items() if key.startswith(state)},
        )
        cls = _HISTORY_CLASSES[self.meta["history_classes"][k]]
        return cls.from_dict(self.meta["histories"][k]), float(self.meta["seconds"][k])


def load_pretrain_checkpoint(folder: str | Path, run: dict[str, Any], net: Network) -> SavedPretrain:
    arrays, meta = load_checkpoint(folder)
    _check_pretrain_kind(meta, folder)
    check_keys(folder, meta, _SCHEMA)
    different = [key for key, value in run.items() if meta.get(key) != value]
    if different:
        said = "; ".join(f"{key} {meta.get(key)!r} there, {run[key]!r} here" for key in different)
        raise ConfigError(
            f"the checkpoint in {folder} is from a different pre-training run ({said}); resume "
            "with the same network, learners, epochs and data, or use another checkpoint_dir"
        )
    try:
        net.set_weights([arrays[f"param.{i}"] for i in range(len(net.parameters()))])
    except (KeyError, WeightwiseError) as exc:
        raise ModelFileError(
            f"the pre-training checkpoint in {folder} is damaged: its weights do not fit the "
            f"network ({exc}); delete the folder to start afresh"
        ) from exc
    return SavedPretrain(arrays, meta)


class EpochCheckpoint:
    """A learner callback that checkpoints after every epoch of the layer under way."""

    def __init__(
        self,
        folder: str | Path,
        run: dict[str, Any],
        seeds: list[int],
        net: Network,
        result: PretrainResult,
        before: LayerHistory | None,
        seconds_before: float,
        t0: float,
    ) -> None:
        self.folder, self.run, self.seeds, self.net, self.result = folder, run, seeds, net, result
        self.before, self.seconds_before, self.t0 = before, seconds_before, t0

    def __call__(self, info: LayerEpochInfo) -> None:
        # This layer's history: the epochs before a resume, then this fit call's.
        history = type(info.history).from_dict((self.before or info.history).to_dict())
        if self.before is not None:
            history.extend(info.history)
        so_far = PretrainResult(
            self.result.learners,
            [*self.result.histories, history],
            self.result.names,
            [*self.result.seconds, self.seconds_before + time.perf_counter() - self.t0],
            self.result.propagate,
        )
        save_pretrain_checkpoint(
            self.folder, self.run, self.seeds, self.net, so_far, len(self.result.histories)
        )
