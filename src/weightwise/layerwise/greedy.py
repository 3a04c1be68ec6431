"""Greedy layer-wise pre-training of a network's hidden layers, first layer first, then BP.

Hinton, Osindero and Teh (2006) and Bengio et al. (2007): train layer 1 as an unsupervised learner
(an RBM or an auto-encoder) on the data; push the data through layer 1; train layer 2 on that
representation; and so on up. Learner ``k`` is built with ``from_layer(net.layers[k])`` and holds
the layer's ``W`` and ``b`` themselves (no copy) plus extras of its own (a visible or decoder bias,
which the network never uses), so when pre-training ends the network already holds the pre-trained
weights and back-propagation (:func:`~weightwise.backpropagation.training.fit`) fine-tunes the *same*
arrays.

Which learner fits which layer:

=================  ========================================  ======================================
learner            layer activations it trains               its input
=================  ========================================  ======================================
``rbm``            sigmoid (Bernoulli hidden units)          in [0, 1] (Bernoulli visible units)
``gaussian_rbm``   sigmoid                                   real-valued, standardised (layer 1)
``autoencoder``    sigmoid, tanh, relu, leaky_relu,          in [0, 1] with the cross-entropy loss,
                   softplus, identity                        any real with squared error
``denoising``      as ``autoencoder``; masking noise 0.25    as ``autoencoder``
=================  ========================================  ======================================

An auto-encoder whose ``loss`` is not given gets ``"cross_entropy"`` when its input lies in
[0, 1] (data scaled to [0, 1], or a sigmoid layer below) and ``"squared_error"`` otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..backpropagation.training import History, fit
from ..checkpoints import has_checkpoint
from ..checks import check_positive_int, in_unit_interval, is_integer
from ..errors import ConfigError, DataError, WeightwiseError, unknown_name
from ..net.backend import Array, Random, check_random, namespace
from ..net.network import Dense, Network
from ..net.validation import check_matrix, to_network
from .autoencoder import AE_ACTIVATIONS, AutoEncoder
from .history import LayerEpochInfo, LayerHistory, PretrainEpochInfo
from .pretrain_state import (
    EpochCheckpoint,
    PretrainResult,
    SavedPretrain,
    checkpoint_progress,
    load_pretrain_checkpoint,
    save_pretrain_checkpoint,
)
from .rbm import BernoulliRBM, GaussianRBM

__all__ = [
    "LEARNERS",
    "PROPAGATIONS",
    "LearnerSpec",
    "PretrainCallback",
    "PretrainEpochInfo",
    "PretrainFinetuneResult",
    "PretrainResult",
    "auto_batch_size",
    "auto_epochs",
    "checkpoint_progress",
    "pretrain",
    "pretrain_then_finetune",
    "propagate_up",
]

PROPAGATIONS = ("mean", "sample")


def auto_batch_size(n_samples: int) -> int:
    """The mini-batch size that ``batch_size="auto"`` gives the learners: ``n_samples // 100``,
    kept within 10 to 100.

    Hinton's guide suggests mini-batches of 10 to 100 cases. At a fixed learning rate a smaller
    batch takes more, noisier steps per epoch: small data sets (digits' 1,347 images) need the
    extra steps, larger ones (12,000 images and up) learn better features with the quieter steps
    of batch 100 (docs/defaults.md gives the measurements).
    """
    return int(min(100, max(10, int(n_samples) // 100)))


@dataclass(frozen=True)
class LearnerSpec:
    """How to build one kind of layer-wise learner.

    Attributes
    ----------
    name : str
        Registry key.
    build : callable
        ``build(layer, **params) -> learner``; the learner must share ``layer.W`` and ``layer.b``.
    activations : tuple of str
        Layer activations the learner can train.
    binary_input : bool or None
        True: needs inputs in [0, 1] (Bernoulli visible units); False: real-valued input;
        None: decided by the learner's ``loss`` (auto-encoders).
    defaults : mapping
        Parameters used unless the caller gives them.
    """

    name: str
    build: Callable[..., Any]
    activations: tuple[str, ...]
    binary_input: bool | None
    defaults: Mapping[str, Any] = field(default_factory=dict)


LEARNERS: dict[str, LearnerSpec] = {
    "rbm": LearnerSpec("rbm", BernoulliRBM.from_layer, ("sigmoid",), True),
    "gaussian_rbm": LearnerSpec("gaussian_rbm", GaussianRBM.from_layer, ("sigmoid",), False),
    "autoencoder": LearnerSpec(
        "autoencoder", AutoEncoder.from_layer, AE_ACTIVATIONS, None, {"corruption": 0.0}
    ),
    # Vincent et al. 2010 found masking levels of 0.1-0.4 best on MNIST-like data.
    "denoising": LearnerSpec(
        "denoising", AutoEncoder.from_layer, AE_ACTIVATIONS, None, {"corruption": 0.25}
    ),
}


def _fits_table() -> str:
    groups: dict[tuple[str, ...], list[str]] = {}
    for spec in LEARNERS.values():
        groups.setdefault(spec.activations, []).append(repr(spec.name))
    return "; ".join(f"{', '.join(names)}: {', '.join(acts)} layers" for acts, names in groups.items())


PretrainCallback = Callable[[PretrainEpochInfo], "bool | None"]


def _per_layer(value: Any, n_layers: int, what: str) -> list[Any]:
    """Broadcast one value to every layer, or check a per-layer list has the right length."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_layers:
            raise ConfigError(
                f"{len(value)} {what} given for {n_layers} layers to pre-train; give one for all "
                "layers or exactly one per layer"
            )
        return list(value)
    return [value] * n_layers


def _output_in_unit_interval(layer: Dense) -> bool:
    bounds = layer.activation.bounds
    return bounds is not None and bounds[0] >= 0.0 and bounds[1] <= 1.0


def _plan(
    net: Network,
    X: Array,
    names: list[str],
    params: list[dict[str, Any]],
    propagate: str,
) -> list[LearnerSpec]:
    """Check every layer's learner before training anything; fill in auto-encoder losses."""
    specs = []
    for k, (name, p) in enumerate(zip(names, params, strict=True)):
        if not isinstance(name, str) or name not in LEARNERS:
            raise unknown_name("learner", name, LEARNERS)
        spec = LEARNERS[name]
        layer = net.layers[k]
        act = layer.activation.name
        if act not in spec.activations:
            raise ConfigError(
                f"learner {name!r} cannot pre-train layer {k + 1}, whose activation is {act!r}. "
                f"Which learners fit which activations: {_fits_table()}"
            )
        if k == 0:
            unit_input = in_unit_interval(X)
            source = "the data X"
        else:
            below = net.layers[k - 1]
            unit_input = propagate == "sample" or _output_in_unit_interval(below)
            source = f"layer {k}'s {below.activation.name!r} output"
        if spec.binary_input is None and "loss" not in p:
            p["loss"] = "cross_entropy" if unit_input else "squared_error"
        needs_unit = spec.binary_input or (spec.binary_input is None and p["loss"] == "cross_entropy")
        if needs_unit and not unit_input:
            fix = (
                "scale the data to [0, 1], or use 'gaussian_rbm' (standardised data) or an "
                "auto-encoder with loss='squared_error' for layer 1"
                if k == 0
                else f"use 'gaussian_rbm' or an auto-encoder with loss='squared_error' for layer {k + 1}"
            )
            what = "Bernoulli visible units" if spec.binary_input else "a cross-entropy loss"
            err = DataError if k == 0 else ConfigError
            raise err(
                f"learner {name!r} on layer {k + 1} needs inputs in [0, 1] ({what}), but "
                f"{source} has values outside [0, 1]: {fix}"
            )
        specs.append(spec)
    if propagate == "sample":
        for k in range(len(names) - 1):
            if net.layers[k].activation.name != "sigmoid":
                raise ConfigError(
                    f"propagate='sample' draws Bernoulli samples of each layer's output, but layer "
                    f"{k + 1} is {net.layers[k].activation.name!r}, not sigmoid; use propagate='mean'"
                )
    return specs


def propagate_up(layer: Dense, V: Array, mode: str = "mean", rng: Random | None = None) -> Array:
    """The representation the next layer trains on.

    Parameters
    ----------
    layer : Dense
        The layer just trained.
    V : array of shape (n_samples, layer.n_in)
    mode : {"mean", "sample"}
        ``"mean"``: the layer's activations (mean-field values for a sigmoid layer);
        ``"sample"``: Bernoulli samples with those means (binary states, as in a DBN's
        generative model).
    rng : Random, optional
        Source of the samples.

    Returns
    -------
    array of shape (n_samples, layer.n_out)
    """
    H = layer(V)
    if mode == "mean":
        return H
    if mode != "sample":
        raise unknown_name("propagation", mode, PROPAGATIONS)
    xp = namespace(H)
    u = check_random(rng).random(tuple(H.shape), like=H)
    return xp.astype(u < H, H.dtype)


def pretrain(
    net: Network,
    X: Any,
    learner: str | Sequence[str] = "rbm",
    *,
    n_layers: int | None = None,
    epochs: int | Sequence[int] = 10,
    batch_size: int | str = 100,
    propagate: str = "mean",
    learner_params: Mapping[str, Any] | Sequence[Mapping[str, Any] | None] | None = None,
    callbacks: Sequence[PretrainCallback] = (),
    validation: Any = None,
    seed: int | Random | np.random.Generator | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
) -> PretrainResult:
    """Greedy layer-wise pre-training of ``net``'s first ``n_layers`` layers, in place.

    Parameters
    ----------
    net : Network
        Its layers' ``W`` and ``b`` are trained in place (the learners share them).
    X : array of shape (n_samples, n_in)
        Training data; labels are not needed (unlabelled data is fine).
    learner : str or sequence of str
        A name from :data:`LEARNERS` for all layers, or one per layer (e.g.
        ``["gaussian_rbm", "rbm", "rbm"]`` for real-valued input).
    n_layers : int, optional
        Layers to pre-train, from the input up; default all hidden layers (every layer but the
        output layer).
    epochs : int or sequence of int
        Epochs per layer, one for all or one per layer.
    batch_size : int or "auto"
        Mini-batch size of every learner (unless ``learner_params`` says otherwise); ``"auto"``:
        :func:`auto_batch_size` of the number of rows of ``X``.
    propagate : {"mean", "sample"}
        How the data moves up a trained layer: mean activations (default) or Bernoulli samples
        (sigmoid layers only).
    learner_params : dict or sequence of dict, optional
        Keyword arguments of the learners, one dict for all or one per layer
        (``learning_rate``, ``cd_k``, ``corruption``, ...).
    callbacks : sequence of callables
        Called with a :class:`PretrainEpochInfo` after each epoch of each layer; returning True
        stops the current layer and moves up.
    validation : array of shape (n_val, n_in), optional
        Held-out data, propagated like ``X``, for the learners' monitoring (an RBM's free-energy
        gap, an auto-encoder's validation loss).
    seed : int, Random, Generator or None
        One seed fixes every learner's noise and shuffling.
    checkpoint_dir : path, optional
        Folder where the whole state (the network's weights, every learner's extras, momentum or
        optimiser slots, random stream and history, and how far training got) is written after
        every epoch, so an interrupted run (Ctrl-C, a crash) loses at most the epoch under way.
    resume : bool
        Continue from the checkpoint in ``checkpoint_dir`` when there is one: finished layers are
        restored, the layer under way continues from its last epoch. On NumPy arrays the result
        is bit-identical to an uninterrupted run. The call must describe the same run (network,
        learners, epochs, data size); anything else is refused.

    Returns
    -------
    PretrainResult

    Raises
    ------
    ConfigError
        Unknown learner name, a learner that does not fit a layer's activation, per-layer lists
        of the wrong length, bad ``n_layers`` or ``propagate``, ``resume`` without
        ``checkpoint_dir``, a checkpoint made by a different run.
    DataError
        NaN or infinite data, wrong width, data outside [0, 1] for a learner with Bernoulli
        visible units (or a cross-entropy loss) on layer 1.
    ModelFileError
        An unreadable checkpoint.
    LayerDivergenceError
        A :class:`~weightwise.errors.DivergenceError` from a learner whose training stopped being
        finite, naming it, its layer (``"layer 2 of 3"``), the epoch and its learning rate. The
        layers keep their last finite weights, and a checkpoint in ``checkpoint_dir`` holds the
        last finite epoch, so a run resumed with a smaller learning rate goes on from there.
    """
    if resume and checkpoint_dir is None:
        raise ConfigError("resume=True needs a checkpoint_dir")
    if propagate not in PROPAGATIONS:
        raise unknown_name("propagation", propagate, PROPAGATIONS)
    n_layers = _check_n_layers(net, n_layers)
    names = _per_layer(learner, n_layers, "learners")
    layer_epochs = [
        check_positive_int(e, "epochs", "or one per layer")
        for e in _per_layer(epochs, n_layers, "epoch counts")
    ]
    if learner_params is None or isinstance(learner_params, Mapping):
        raw_params: list[Any] = [learner_params] * n_layers
    else:
        raw_params = _per_layer(list(learner_params), n_layers, "learner_params dicts")
    params = [dict(p or {}) for p in raw_params]
    V = _input(net, X, "X")
    V_val = None if validation is None else _input(net, validation, "validation")
    specs = _plan(net, V, names, params, propagate)
    batch_size = resolve_batch_size(batch_size, int(V.shape[0]))

    rng = check_random(seed)
    # One seed per layer, drawn up front, so layer k's noise does not depend on how many random
    # numbers the learners below it consumed.
    seeds = [int(s) for s in rng.numpy.integers(0, 2**31 - 1, size=n_layers)]
    run = {
        "kind": "pretrain",
        "sizes": net.sizes,
        "activations": net.activation_names,
        "learners": list(names),
        "epochs": layer_epochs,
        "propagate": propagate,
        "n_samples": int(V.shape[0]),
    }
    saved: SavedPretrain | None = None
    if resume and has_checkpoint(checkpoint_dir):
        assert checkpoint_dir is not None
        saved = load_pretrain_checkpoint(checkpoint_dir, run, net)
        # Without a seed the run takes the checkpoint's; with one, it must be the same stream.
        if seed is not None and saved.meta["seeds"] != seeds:
            raise ConfigError(
                f"the pre-training checkpoint in {checkpoint_dir} was written with another seed; "
                "resume with the same seed (or none), or use another checkpoint_dir"
            )
        seeds = saved.meta["seeds"]
    result = PretrainResult([], [], list(names), [], propagate)
    for k, spec in enumerate(specs):
        t0 = time.perf_counter()
        learner_k = _build(spec, net.layers[k], k, n_layers, batch_size, seeds[k], params[k])
        result.learners.append(learner_k)
        history: LayerHistory | None = None
        seconds_before, to_go = 0.0, layer_epochs[k]
        if saved is not None and k < len(saved.meta["histories"]):
            history, seconds_before = saved.restore_learner(k, learner_k)
            to_go = 0 if k < saved.meta["layers_done"] else to_go - history.n_epochs
        if to_go > 0:
            layer_callbacks: list[Callable[[LayerEpochInfo], Any]] = [
                _bind(cb, k + 1, n_layers, spec.name, layer_epochs[k]) for cb in callbacks
            ]
            if checkpoint_dir is not None:
                layer_callbacks.append(
                    EpochCheckpoint(checkpoint_dir, run, seeds, net, result, history, seconds_before, t0)
                )
            new = learner_k.fit(V, epochs=to_go, callbacks=layer_callbacks, validation=V_val)
            if history is None:
                history = new
            else:
                history.extend(new)
        assert history is not None
        result.histories.append(history)
        result.seconds.append(seconds_before + time.perf_counter() - t0)
        if checkpoint_dir is not None and to_go > 0:
            # The layer is finished (all its epochs, or a callback moved up): say so, so that a
            # resumed run does not train it further.
            save_pretrain_checkpoint(checkpoint_dir, run, seeds, net, result, k + 1)
        if k + 1 < n_layers:
            up_rng = Random(seeds[k] + 1)
            V = propagate_up(net.layers[k], V, propagate, up_rng)
            if V_val is not None:
                V_val = propagate_up(net.layers[k], V_val, propagate, up_rng)
    return result


AUTO_UPDATES = 5000
"""Updates per learner that ``pretrain_epochs="auto"`` aims for (Hinton and Salakhutdinov's
MNIST recipe makes about 30,000; on 10,000-row data sets 5,000 were enough, docs/defaults.md)."""


def auto_epochs(n_samples: int, batch_size: int) -> int:
    """Epochs per layer of ``pretrain_epochs="auto"``: enough epochs of ``batch_size`` for about
    :data:`AUTO_UPDATES` updates of each learner, kept within 10 to 50 (50 on 10,000 rows in
    batches of 100, 10 from 50,000 rows up)."""
    batches = -(-int(n_samples) // int(batch_size))
    return int(min(50, max(10, -(-AUTO_UPDATES // batches))))


def resolve_batch_size(batch_size: int | str, n_samples: int) -> int:
    """``batch_size`` as an int: ``"auto"`` becomes :func:`auto_batch_size` of ``n_samples``."""
    if isinstance(batch_size, str):
        if batch_size != "auto":
            raise ConfigError(f"batch_size must be a positive int or 'auto', got {batch_size!r}")
        return auto_batch_size(n_samples)
    return batch_size


def resolve_epochs(epochs: int | str, batch_size: int | str, n_samples: int) -> int:
    """Epochs per layer as an int: ``"auto"`` becomes :func:`auto_epochs` of ``n_samples`` in
    batches of ``batch_size`` (itself resolved by :func:`resolve_batch_size`)."""
    if epochs == "auto":
        return auto_epochs(n_samples, resolve_batch_size(batch_size, n_samples))
    return int(epochs)


def _check_n_layers(net: Network, n_layers: Any) -> int:
    """The layers to pre-train: by default every layer but the output layer."""
    n_max = len(net.layers)
    if n_layers is None:
        n_layers = n_max - 1
        if n_layers < 1:
            raise ConfigError(
                "the network has no hidden layer to pre-train; pass n_layers=1 to pre-train its "
                "only layer"
            )
    if not is_integer(n_layers):
        raise ConfigError(f"n_layers must be an integer, got {n_layers!r}")
    if not 1 <= n_layers <= n_max:
        raise ConfigError(
            f"n_layers must be between 1 and {n_max} (the network's layers), got {n_layers}"
        )
    return int(n_layers)


def _input(net: Network, X: Any, name: str) -> Array:
    """``X`` checked against the network's input width, in its namespace, dtype and device."""
    X = check_matrix(X, name)
    if X.shape[1] != net.sizes[0]:
        raise DataError(
            f"{name} has {X.shape[1]} features but the network's input layer has {net.sizes[0]} units"
        )
    return to_network(X, net.xp, net.dtype, net.device)


def _build(
    spec: LearnerSpec,
    layer: Dense,
    k: int,
    n_layers: int,
    batch_size: int,
    seed: int,
    params: dict[str, Any],
) -> Any:
    """Learner ``k`` (0-based) on ``layer``, sharing its arrays and named for its messages."""
    learner = spec.build(layer, **{**spec.defaults, "batch_size": batch_size, "seed": seed, **params})
    if learner.W is not layer.W or learner.b_hidden is not layer.b:
        raise WeightwiseError(
            f"learner {spec.name!r} copied layer {k + 1}'s arrays instead of sharing them; "
            "its from_layer must use layer.W and layer.b as given"
        )
    # A diverging learner's error names its layer.
    learner.layer_label = f"layer {k + 1} of {n_layers}"
    return learner


def _bind(
    cb: PretrainCallback, layer: int, n_layers: int, name: str, epochs: int
) -> Callable[[LayerEpochInfo], Any]:
    """Adapt a pre-training callback to a learner's per-epoch callback.

    ``epochs`` is the layer's whole count: a resumed layer's fit call runs only the rest.
    """

    def layer_callback(info: LayerEpochInfo) -> Any:
        return cb(
            PretrainEpochInfo(
                layer=layer,
                n_layers=n_layers,
                learner_name=name,
                epoch=info.epoch,
                epochs=epochs,
                learner=info.learner,
                history=info.history,
                logs=info.logs,
            )
        )

    return layer_callback


class PretrainFinetuneResult(NamedTuple):
    """Both halves of the pipeline: the pre-training result and the fine-tuning history."""

    pretrain: PretrainResult
    finetune: History


def pretrain_then_finetune(
    net: Network,
    X_unlabelled: Any,
    X: Any,
    Y: Any,
    pretrain_kwargs: Mapping[str, Any] | None = None,
    fit_kwargs: Mapping[str, Any] | None = None,
) -> PretrainFinetuneResult:
    """Pre-train ``net`` greedily on unlabelled data, then fine-tune all of it by back-propagation.

    Parameters
    ----------
    net : Network
        Trained in place; fine-tuning adjusts the same arrays the learners pre-trained.
    X_unlabelled : array of shape (n_unlabelled, n_in) or None
        Data for pre-training (labels not needed); ``None`` uses ``X``.
    X : array of shape (n_samples, n_in)
        Labelled inputs for fine-tuning (may be a small subset of the unlabelled data).
    Y : array of shape (n_samples, n_out) or (n_samples,)
        Targets (one-hot rows for a softmax output).
    pretrain_kwargs : dict, optional
        Keyword arguments of :func:`pretrain` (``learner``, ``epochs``, ...).
    fit_kwargs : dict, optional
        Keyword arguments of :func:`~weightwise.backpropagation.training.fit` (``loss``,
        ``optimizer``, ``learning_rate``, ``epochs``, ...).

    Returns
    -------
    PretrainFinetuneResult
        ``(pretrain, finetune)``: a :class:`PretrainResult` and the fine-tuning ``History``.
    """
    pre = pretrain(net, X if X_unlabelled is None else X_unlabelled, **dict(pretrain_kwargs or {}))
    history = fit(net, X, Y, **dict(fit_kwargs or {}))
    return PretrainFinetuneResult(pre, history)
