"""A pre-trained stack in one model file: the network, the learners' extras, how to rebuild them.

``weightwise pretrain`` writes an ordinary model file (:mod:`weightwise.io`): the network's
layers hold the learners' shared ``W`` and ``b``; the learners' own arrays (visible biases, a
Gaussian RBM's log-variances) go in ``extra_arrays`` as ``layer{k}.{name}``; the metadata key
``"pretrained"`` records, per layer, the learner's registry name and the keyword arguments that
rebuild it (:data:`weightwise.layerwise.greedy.LEARNERS`), plus the per-epoch histories. So a
reloaded DBN can still be sampled and a reloaded auto-encoder stack can still reconstruct.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFileError
from ..layerwise.stack import INPUT_OFFSET, INPUT_SCALE, PRETRAINED

RBM_LEARNERS = ("rbm", "gaussian_rbm")
AE_LEARNERS = ("autoencoder", "denoising")


@dataclass
class Stack:
    """A reloaded pre-trained stack.

    Attributes
    ----------
    network : Network
    learners : list
        ``learners[k]`` shares ``network.layers[k]``'s arrays and holds its reloaded extras.
    names : list of str
        Learner registry names, bottom first.
    histories : list of LayerHistory
    metadata : dict
        Everything stored with the file.
    offset, scale : ndarray of shape (n_features,) or None
        The input scaling the stack was trained with, if any.
    """

    network: Any
    learners: list[Any]
    names: list[str]
    histories: list[Any]
    metadata: dict[str, Any]
    offset: np.ndarray | None = None
    scale: np.ndarray | None = None


def stack_metadata(
    result: Any,
    build_params: Sequence[Mapping[str, Any]],
    data: str,
    scaling: str,
    seed: int,
) -> dict[str, Any]:
    """The ``"pretrained"`` metadata of a :class:`~weightwise.layerwise.greedy.PretrainResult`."""
    return {
        PRETRAINED: {
            "learners": list(result.names),
            "learner_params": [dict(p) for p in build_params],
            "propagate": result.propagate,
            "layers": result.to_dict()["layers"],
            "data": data,
            "scale": scaling,
            "seed": seed,
        }
    }


def load_stack(path: str | Path, backend: str = "numpy", device: Any = None) -> Stack:
    """Read a file written by ``weightwise pretrain`` and rebuild its learners.

    Raises
    ------
    ModelFileError
        When the file holds no pre-trained stack, or its learner records are incomplete.
    """
    from ..io import load_network
    from ..layerwise.greedy import LEARNERS, PretrainResult
    from ..layerwise.history import LayerHistory

    net, meta, extras = load_network(path, backend=backend, device=device)
    record = meta.get(PRETRAINED)
    if not isinstance(record, dict):
        raise ModelFileError(
            f"{path} holds no pre-trained stack (no learners to rebuild); write one with "
            "weightwise pretrain"
        )
    names = list(record.get("learners") or [])
    params = list(record.get("learner_params") or [])
    layers = list(record.get("layers") or [])
    if not names or len(params) != len(names) or len(names) > len(net.layers):
        raise ModelFileError(
            f"{path}: its pre-training record names {len(names)} learner(s) with {len(params)} "
            f"parameter set(s) for {len(net.layers)} layer(s); write the stack again with "
            "weightwise pretrain"
        )
    learners = []
    for k, (name, p) in enumerate(zip(names, params, strict=True)):
        if name not in LEARNERS:
            raise ModelFileError(
                f"{path}: layer {k + 1}'s learner {name!r} is unknown to this weightwise "
                f"(known: {', '.join(LEARNERS)}); upgrade weightwise"
            )
        learners.append(LEARNERS[name].build(net.layers[k], **dict(p)))
    histories = [LayerHistory.from_dict(layer.get("history") or {}) for layer in layers]
    result = PretrainResult(learners, histories, names, [0.0] * len(names))
    layer_extras = {k: v for k, v in extras.items() if k.startswith("layer")}
    try:
        result.load_extra_arrays(layer_extras)
    except Exception as exc:  # a learner's own DataError: the arrays do not fit
        raise ModelFileError(f"{path}: the learners' extra arrays do not fit: {exc}") from exc
    return Stack(
        net,
        learners,
        names,
        histories,
        meta,
        extras.get(INPUT_OFFSET),
        extras.get(INPUT_SCALE),
    )


def stack_kind(names: Sequence[str]) -> str:
    """RBM, DBN, auto-encoder, stacked (denoising) auto-encoder, or a mixed stack."""
    kinds = set(names)
    if kinds <= set(RBM_LEARNERS):
        return "RBM" if len(names) == 1 else "DBN"
    if kinds == {"denoising"}:
        return "denoising auto-encoder" if len(names) == 1 else "stacked denoising auto-encoder"
    if kinds <= set(AE_LEARNERS):
        return "auto-encoder" if len(names) == 1 else "stacked auto-encoder"
    return "stack"
