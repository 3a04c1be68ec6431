"""What an exported model is: its :class:`Network` and what its outputs mean.

Every exporter takes the same things: a :class:`Network`, a fitted estimator (:class:`BPClassifier`,
:class:`BPRegressor`, :class:`RBM`, :class:`DBN`, :class:`StackedAutoEncoder`) or the path of a
model file written by :func:`weightwise.save_network`, an estimator's ``save`` or ``weightwise
train``/``pretrain``. :func:`resolve` turns each into one :class:`Exportable`, so the exporters (and
the command line's ``weightwise export``) never ask what they were given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..layerwise.stack import INPUT_OFFSET, INPUT_SCALE, PRETRAINED
from ..net.network import Network

KINDS = ("network", "classifier", "regressor", "transformer")


@dataclass(frozen=True)
class InputScaling:
    """The scaling a stack was pre-trained with: the model sees ``(X - offset) / scale``.

    Attributes
    ----------
    offset, scale : ndarray of shape (n_features,)
    clip : bool
        Clip the scaled values to [0, 1] (``--scale minmax``: rows beyond the training range).
    """

    offset: np.ndarray
    scale: np.ndarray
    clip: bool = False


@dataclass(frozen=True)
class Exportable:
    """A model reduced to what an exporter needs.

    Attributes
    ----------
    network : Network
        The estimator's own network (not a copy): exporters only read it.
    kind : {"network", "classifier", "regressor", "transformer"}
    name : str
        What the user gave, for messages (``"BPClassifier"``, ``"Network"``).
    classes : ndarray or None
        A classifier's labels, ``classes_``.
    head : {"none", "binary", "normalize"}
        How a classifier's ``predict_proba`` is formed from the network's output: as it is; from
        one sigmoid unit ``p`` as ``[1 - p, p]``; or independent sigmoid units divided by their
        row sum.
    multilabel : bool
        A multi-label classifier: ``predict`` gives the indicator matrix ``output > 0.5``.
    scaling : InputScaling or None
        Input scaling recorded in a pre-trained stack's model file.
    """

    network: Network
    kind: str
    name: str
    classes: np.ndarray | None = None
    head: str = "none"
    multilabel: bool = False
    scaling: InputScaling | None = None


def resolve(model: Any) -> Exportable:
    """An :class:`Exportable` from a Network, a fitted estimator or a model file's path.

    Raises
    ------
    ConfigError
        An unfitted estimator, or something that is none of these.
    ModelFileError
        A model file that cannot be read.
    """
    if isinstance(model, Network):
        return Exportable(model, "network", "Network")
    if isinstance(model, (str, os.PathLike)):
        return _from_file(Path(model))
    from ..estimators import DBN, RBM, BPClassifier, BPRegressor, StackedAutoEncoder

    name = type(model).__name__
    if not isinstance(model, (BPClassifier, BPRegressor, RBM, DBN, StackedAutoEncoder)):
        raise ConfigError(
            f"cannot export a {name}: give a Network, a fitted BPClassifier, BPRegressor, RBM, DBN "
            "or StackedAutoEncoder, or the path of a weightwise model file"
        )
    net = getattr(model, "network_", None)
    if not isinstance(net, Network):
        raise ConfigError(f"this {name} is not fitted yet: call fit before exporting it")
    if isinstance(model, BPRegressor):
        return Exportable(net, "regressor", name)
    if not isinstance(model, BPClassifier):
        return Exportable(net, "transformer", name)
    multilabel = model._target_type == "multilabel-indicator"
    head = "none"
    if not multilabel and net.sizes[-1] == 1:
        head = "binary"
    elif not multilabel and model.out_activation_ != "softmax":
        head = "normalize"
    return Exportable(net, "classifier", name, np.asarray(model.classes_), head, multilabel)


def _from_file(path: Path) -> Exportable:
    """The model in a weightwise model file: an estimator when the file names one."""
    from .. import estimators
    from ..errors import ModelFileError
    from ..io import load_network

    net, meta, extras = load_network(path)
    kind = meta.get("estimator")
    if kind is not None:
        cls = getattr(estimators, str(kind), None)
        if cls is None or not callable(getattr(cls, "load", None)):
            raise ModelFileError(
                f"{path} holds a {kind} model, which this version of weightwise cannot read"
            )
        return resolve(cls.load(path))
    record = meta.get(PRETRAINED)
    how = record.get("scale", "none") if isinstance(record, dict) else "none"
    scaling = None
    if how != "none" and INPUT_OFFSET in extras and INPUT_SCALE in extras:
        scaling = InputScaling(
            np.asarray(extras[INPUT_OFFSET], np.float64),
            np.asarray(extras[INPUT_SCALE], np.float64),
            clip=how == "minmax",
        )
    return Exportable(net, "network", path.name, scaling=scaling)


def host_arrays(net: Network) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(W, b)`` per layer as NumPy arrays in the network's dtype, copied off any device.

    ``W`` has shape (n_in, n_out) and ``b`` (n_out,). Always copies, so the caller may keep them
    while the network trains on.
    """
    from ..net.backend import to_numpy

    return [
        (np.array(to_numpy(layer.W), copy=True), np.array(to_numpy(layer.b), copy=True))
        for layer in net.layers
    ]
