"""Greedy layer-wise pre-training inside the BP estimators: the ``pretrain=`` parameters.

``fit`` builds the network, then (with ``pretrain`` set) hands its hidden layers to
:func:`weightwise.layerwise.greedy.pretrain`, whose learners hold the layers' own ``W`` and ``b``;
back-propagation then fine-tunes those same arrays. This module turns the estimator's flat
parameters into the learners' keyword arguments, checks them up front, and rebuilds the learners
of a saved model so that a reloaded estimator can still reconstruct and sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import (
    check_cd_k,
    check_fraction,
    check_positive,
    check_positive_int,
    in_unit_interval,
    is_integer,
    is_number,
)
from ..errors import ConfigError, DataError, ModelFileError, unknown_name
from ..layerwise.autoencoder import AE_LOSSES
from ..layerwise.greedy import (
    LEARNERS,
    PretrainEpochInfo,
    PretrainResult,
    pretrain,
    resolve_batch_size,
    resolve_epochs,
)
from ..layerwise.loop import LayerDivergenceError
from ..net.backend import Array, Random, namespace
from ..net.network import Network
from ..net.validation import check_matrix, to_network

RBM_LEARNERS = ("rbm", "gaussian_rbm")
AE_LEARNERS = ("autoencoder", "denoising")

PRETRAIN_PARAM_DOC = """
    pretrain : {"rbm", "gaussian_rbm", "autoencoder", "denoising"} or None, default=None
        Greedy layer-wise pre-training of every hidden layer, first layer first, before BP
        (Hinton, Osindero and Teh 2006; Bengio et al. 2007; Vincent et al. 2010). ``"rbm"``
        (Bernoulli visible units: data in [0, 1]) and ``"gaussian_rbm"`` (layer 1 real-valued,
        standardised; Bernoulli above) need sigmoid hidden layers; the auto-encoders fit any
        elementwise activation. Runs on ``fit`` and on the first ``partial_fit``, not when
        ``warm_start`` continues a fitted network. Pre-training sees every row of ``X`` (with
        ``early_stopping``, the validation rows too: it reads no labels).
    pretrain_epochs : int or "auto", default="auto"
        Epochs per pre-trained layer. ``"auto"``: enough for about 5,000 updates of each learner,
        kept within 10 to 50 (:func:`~weightwise.layerwise.greedy.auto_epochs`): 50 on 10,000
        rows in batches of 100, 10 from 50,000 rows up (docs/defaults.md).
    pretrain_learning_rate : float, optional
        Step size of the learners; by default theirs: 0.1 (Bernoulli RBM, Hinton's guide;
        auto-encoders with momentum SGD on inputs in [0, 1]), 0.01 (Gaussian RBM). An
        auto-encoder whose input is real-valued (not in [0, 1]) uses a squared-error loss and
        Adam, 0.001 by default.
    pretrain_batch_size : int or "auto", default="auto"
        Mini-batch size of the learners. ``"auto"``: the number of pre-training rows // 100,
        kept within 10 to 100 (:func:`~weightwise.layerwise.greedy.auto_batch_size`): 11 on
        digits, 100 from 10,000 rows up. Hinton's guide suggests 10 to 100 cases; small data
        sets need the extra updates of small batches, larger ones learn better features with
        the quieter steps of 100 (docs/defaults.md: measured on MNIST subsets and variants).
    cd_k : int, default=1
        Gibbs steps per RBM update (CD-k, Hinton 2002); RBMs only.
    persistent : bool, default=False
        Persistent contrastive divergence (Tieleman 2008); RBMs only.
    corruption : float in [0, 1), optional
        Masking-noise level of ``"denoising"`` (default 0.25; Vincent et al. 2010 found 0.1 to 0.4
        best); ``"autoencoder"`` is the noise-free case and takes no corruption.
    weight_cost : float, optional
        L2 cost on the pre-trained weights: the RBMs' weight cost (default 2e-4, Hinton's guide)
        or the auto-encoders' weight decay (default 0, as in Vincent et al.).
    pretrain_callbacks : sequence of callables, optional
        Called after each pre-training epoch of each layer with a
        :class:`~weightwise.layerwise.greedy.PretrainEpochInfo` (a progress bar, say); returning
        True moves up to the next layer. Not saved by :meth:`save`.
    pseudo_labels : float, default=0.0
        Weight of the pseudo-label loss (Lee 2013; :mod:`weightwise.backpropagation.pseudo_labels`;
        0: off; Lee used 3). With ``fit(X, y, X_unlabelled)``, BP trains on the unlabelled rows
        too, each batch of labelled rows joined by 100 unlabelled ones whose targets are the
        classes the network predicts for them. Classifiers only.
    pseudo_label_start, pseudo_label_full : int, default=10, 60
        The pseudo-label weight is 0 before epoch ``pseudo_label_start`` and rises linearly to
        ``pseudo_labels`` at epoch ``pseudo_label_full`` (epochs of this ``fit``, from 1).
    callbacks : sequence of callables, optional
        :func:`weightwise.fit` epoch callbacks for the BP phase, each called with an
        :class:`~weightwise.backpropagation.training.EpochInfo`; returning True stops training. Not saved
        by :meth:`save`.
    checkpoint_dir : str or path, optional
        Back up the whole training state (pre-training and back-propagation) in this folder after
        every epoch, as Keras's ``BackupAndRestore`` does: when ``fit`` is interrupted (Ctrl-C, a
        crash), calling ``fit`` again with the same data and settings continues from the last
        finished epoch, with the result of an uninterrupted fit. A ``fit`` that finishes removes
        its backup. ``partial_fit`` ignores it.
"""

PRETRAIN_ATTR_DOC = """
    pretrain_learners_ : list
        The layer-wise learners (:class:`~weightwise.layerwise.rbm.BernoulliRBM`,
        :class:`~weightwise.layerwise.autoencoder.AutoEncoder`, ...), ``pretrain_learners_[k]``
        holding ``network_.layers[k]``'s own ``W`` and ``b`` plus its visible bias; empty without
        ``pretrain``.
    pretrain_history_ : list of dict
        Per pre-trained layer, its :class:`~weightwise.layerwise.history.LayerHistory` as a dict
        (``"reconstruction_error"`` per epoch, ...); empty without ``pretrain``. The RBMs'
        pseudo-likelihood monitor is off here (on small data it costs more than an epoch of CD);
        :class:`DBN` and :func:`weightwise.layerwise.greedy.pretrain` record it.
"""


def check_pretrain_params(est: Any) -> None:
    """Validate the pre-training settings, naming the fix; a no-op when ``pretrain`` is None."""
    if est.pretrain is None:
        return
    if not isinstance(est.pretrain, str) or est.pretrain not in LEARNERS:
        raise unknown_name("pretrain", est.pretrain, LEARNERS)
    if est.pretrain_epochs != "auto":
        check_positive_int(est.pretrain_epochs, "pretrain_epochs")
    if est.pretrain_batch_size != "auto":
        check_positive_int(est.pretrain_batch_size, "pretrain_batch_size")
    check_cd_k(est.cd_k)
    if est.pretrain_learning_rate is not None:
        check_positive(est.pretrain_learning_rate, "pretrain_learning_rate")
    if est.corruption is not None:
        check_fraction(est.corruption, "corruption")
    cost = est.weight_cost
    if cost is not None and not (is_number(cost) and 0 <= cost < np.inf):
        raise ConfigError(f"weight_cost must be >= 0 or None, got {cost!r}")
    if est.pretrain == "autoencoder" and est.corruption:
        raise ConfigError(
            f"corruption={est.corruption!r} makes a denoising auto-encoder: use "
            "pretrain='denoising' (or leave corruption=None for a plain auto-encoder)"
        )
    if est.pretrain == "denoising" and est.corruption == 0:
        raise ConfigError(
            "pretrain='denoising' with corruption=0 is a plain auto-encoder: use "
            "pretrain='autoencoder', or a corruption in (0, 1) such as 0.25"
        )


def learner_params(est: Any, name: str) -> dict[str, Any]:
    """The keyword arguments of learner ``name`` from the estimator's parameters.

    Values left at None keep the learner's own defaults. RBMs get ``monitor_size=0``: their
    per-epoch pseudo-likelihood costs more than an epoch of CD on small data, and the estimator
    keeps only the reconstruction error.
    """
    params: dict[str, Any] = {}
    if est.pretrain_learning_rate is not None:
        params["learning_rate"] = float(est.pretrain_learning_rate)
    if name in RBM_LEARNERS:
        params.update(cd_k=int(est.cd_k), persistent=bool(est.persistent), monitor_size=0)
        if est.weight_cost is not None:
            params["weight_cost"] = float(est.weight_cost)
    else:
        if est.corruption is not None:
            params["corruption"] = float(est.corruption)
        if est.weight_cost is not None:
            params["weight_decay"] = float(est.weight_cost)
    return params


def pretraining_data(X: Array, X_unlabelled: Any, net: Network) -> Array:
    """``X`` stacked on the extra unlabelled rows, in the network's namespace, dtype and device.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        The (validated) labelled inputs.
    X_unlabelled : array-like of shape (n_unlabelled, n_features) or None
    net : Network

    Returns
    -------
    array of shape (n_samples + n_unlabelled, n_features)
    """
    V = to_network(X, net.xp, net.dtype, net.device)
    if X_unlabelled is None:
        return V
    return namespace(V).concat([V, unlabelled_rows(X_unlabelled, int(V.shape[1]), net)], axis=0)


def unlabelled_rows(X_unlabelled: Any, n_features: int, net: Network) -> Array:
    """``X_unlabelled`` checked (a finite numeric matrix with ``n_features`` columns, as ``X``)
    and moved to the network's namespace, dtype and device."""
    if hasattr(X_unlabelled, "detach"):
        X_unlabelled = X_unlabelled.detach()
    U = check_matrix(X_unlabelled, "X_unlabelled")
    if int(U.shape[1]) != n_features:
        raise DataError(
            f"X_unlabelled has {U.shape[1]} features but X has {n_features}; give unlabelled rows "
            "with the same features as X"
        )
    return to_network(U, net.xp, net.dtype, net.device)


def run_pretraining(
    est: Any, net: Network, V: Array, rng: Random, checkpoint_dir: Path | None = None
) -> PretrainResult:
    """Pre-train ``net``'s hidden layers in place on ``V`` with the estimator's settings.

    With ``checkpoint_dir``, the state is saved there after every epoch and a saved state is
    resumed.

    Raises
    ------
    LayerDivergenceError
        When a learner diverges; the message names ``pretrain_learning_rate`` as the fix.
    """
    name = est.pretrain
    n_hidden = len(net.layers) - 1
    if n_hidden < 1:
        raise ConfigError(
            f"pretrain={name!r} needs at least one hidden layer to pre-train; give "
            "hidden_layer_sizes, or set pretrain=None"
        )
    # Layer 1 of "gaussian_rbm" sees real-valued data; the layers above see the sigmoid means of
    # the layer below, which lie in [0, 1]: Bernoulli RBMs, as in Hinton and Salakhutdinov 2006.
    names = [name] + ["rbm" if name == "gaussian_rbm" else name] * (n_hidden - 1)
    params = [learner_params(est, n) for n in names]
    if name in AE_LEARNERS:
        for k, p in enumerate(params):
            if not unit_input(net, V, k):
                # Real-valued input (standardised features, or far from it: the estimator checks
                # feed values near 100) gets a squared-error auto-encoder trained by Adam, whose
                # steps do not grow with the input's scale as momentum SGD's do.
                p.update(loss="squared_error", optimizer="adam")
                p.setdefault("learning_rate", 0.001)
    batch = resolve_batch_size(est.pretrain_batch_size, int(V.shape[0]))
    epochs = resolve_epochs(est.pretrain_epochs, batch, int(V.shape[0]))
    try:
        return pretrain(
            net,
            V,
            names,
            epochs=epochs,
            batch_size=batch,
            learner_params=params,
            callbacks=[*(est.pretrain_callbacks or ()), *([_report] if est.verbose else [])],
            seed=rng,
            checkpoint_dir=checkpoint_dir,
            resume=checkpoint_dir is not None,
        )
    except LayerDivergenceError as exc:
        # The estimator's own name for the learners' step size, not the BP learning_rate.
        raise exc.with_setting("pretrain_learning_rate").with_traceback(exc.__traceback__) from None


def _report(info: PretrainEpochInfo) -> None:
    """``verbose``: one line per pre-training epoch."""
    error = info.logs["reconstruction_error"]
    print(
        f"Pre-training layer {info.layer}/{info.n_layers} ({info.learner_name}), epoch "
        f"{info.epoch}/{info.epochs}, reconstruction error = {error:.8f}"
    )


def unit_input(net: Network, V: Array | None, k: int) -> bool:
    """Whether layer ``k``'s input lies in [0, 1]: the data's range for layer 0, else the
    output range of the activation below; True when there is no data (a model being loaded,
    whose saved state says the rest)."""
    if V is None:
        return True
    if k == 0:
        return in_unit_interval(V)
    bounds = net.layers[k - 1].activation.bounds
    return bounds is not None and bounds[0] >= 0.0 and bounds[1] <= 1.0


def learner_state(learner: Any) -> dict[str, Any]:
    """Settings of a trained learner that its estimator's parameters do not fix (JSON-able).

    An auto-encoder's loss is chosen from its input's range when pre-training starts, and the
    batch size of ``pretrain_batch_size="auto"`` from the data's size, so both are recorded;
    everything else follows from the estimator's parameters.
    """
    loss = getattr(learner, "loss", None)
    state: dict[str, Any] = {"loss": loss} if isinstance(loss, str) else {}
    return state | {"batch_size": int(learner.batch_size)}


def pretrain_metadata(est: Any) -> dict[str, Any]:
    """What :meth:`save` writes about pre-training, beside the learners' extra arrays."""
    return {
        "learners": list(est._pretrain_names),
        "states": [learner_state(learner) for learner in est.pretrain_learners_],
        "history": est.pretrain_history_,
    }


def restore_learners(
    est: Any, net: Network, meta: Mapping[str, Any] | None, arrays: Mapping[str, Any]
) -> None:
    """Rebuild the learners of a saved estimator on ``net``'s layers and load their extra arrays."""
    est.pretrain_learners_ = []
    est.pretrain_history_ = []
    est._pretrain_names = []
    if not meta:
        return
    names = check_saved_learners(meta, len(net.layers))
    learners = []
    for k, (name, state) in enumerate(zip(names, meta["states"], strict=True)):
        spec = LEARNERS[name]
        params = {**spec.defaults, **learner_params(est, name), **_saved_state(est, state)}
        learners.append(spec.build(net.layers[k], seed=est._rng, **params))
    result = PretrainResult(learners, [], names, [])
    result.load_extra_arrays(arrays)
    est.pretrain_learners_ = learners
    est.pretrain_history_ = list(meta["history"])
    est._pretrain_names = names


def _saved_state(est: Any, state: Mapping[str, Any]) -> dict[str, Any]:
    """The recorded settings of one saved learner (:func:`learner_state`), checked: a file names
    its loss and batch size, and nothing else reaches the learner's constructor."""
    out: dict[str, Any] = {}
    if "loss" in state:
        if state["loss"] not in AE_LOSSES:
            raise ModelFileError(f"unknown auto-encoder loss {state['loss']!r}")
        out["loss"] = state["loss"]
    # Files written before the batch size was recorded hold an int pretrain_batch_size.
    batch = state.get("batch_size", est.pretrain_batch_size)
    if not is_integer(batch) or not 0 < int(batch) <= 2**31:
        raise ModelFileError(f"a learner's batch size is {batch!r}, not a positive int")
    return out | {"batch_size": int(batch)}


def check_saved_learners(meta: Mapping[str, Any], n_layers: int, exact: bool = False) -> list[str]:
    """The learner names of a saved model, after checking its record: known learners, one state
    (a dict) and one history per learner, no more learners than layers (``exact``: as many).

    Raises
    ------
    ModelFileError
        Naming what does not fit.
    """
    names, states, history = meta.get("learners"), meta.get("states"), meta.get("history")
    if not (isinstance(names, list) and isinstance(states, list) and isinstance(history, list)):
        raise ModelFileError("its learners, states and history are not lists")
    unknown = [n for n in names if not isinstance(n, str) or n not in LEARNERS]
    if unknown:
        raise ModelFileError(f"unknown learner(s) {unknown}; valid: {sorted(LEARNERS)}")
    if len(states) != len(names) or len(history) != len(names) or len(names) > n_layers:
        raise ModelFileError(f"{len(names)} learners, {len(states)} states for {n_layers} layers")
    if exact and len(names) != n_layers:
        raise ModelFileError(f"{len(names)} learners for {n_layers} layers")
    if not all(isinstance(s, dict) for s in states):
        raise ModelFileError("its learners' states are not dicts")
    return list(names)
