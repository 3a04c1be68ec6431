"""What :class:`BPClassifier` and :class:`BPRegressor` share: :class:`_BaseBP` (validation, the
three steps of ``fit``, save/load) and the optimisers with scikit-learn's L2 penalty."""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import array_api_compat
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from .._util import atomic_write_bytes
from ..backpropagation.optimizers import SCHEDULES, SGD, Adam, Optimizer, Schedule
from ..backpropagation.training import EpochInfo, History
from ..backpropagation.training import fit as train
from ..checkpoints import has_checkpoint, read_checkpoint_meta, remove_checkpoint
from ..errors import ConfigError, DataError, ModelFileError, TrainingFailedWarning
from ..layerwise.greedy import PretrainResult
from ..net.backend import DTYPES, Array, Random, asarray, to_numpy
from ..net.losses import get_loss
from ..net.network import Network
from ..net.validation import check_matrix, to_network
from ._pretrain import (
    PRETRAIN_ATTR_DOC,
    PRETRAIN_PARAM_DOC,
    UNSAVED_PARAMS,
    check_checkpoint_dir,
    check_pretrain_params,
    pretrain_metadata,
    pretraining_data,
    restore_learners,
    run_pretraining,
)

# --------------------------------------------------------------------------------------------------
# optimisers with a schedule clock that survives partial_fit (the L2 penalty is their weight_decay)


# Validation scores of a backed-up fit (the engine's checkpoint keeps the rest).
_SCORES_FILE = "validation_scores.json"


class _EstimatorOptimizer(Optimizer):
    """Offsets the schedule's epoch: ``epochs_done`` counts the epochs of earlier ``partial_fit``
    calls, so a decaying learning rate keeps decaying across calls.

    scikit-learn's L2 penalty is the optimiser's own ``weight_decay`` with ``decay_bias=False``
    (set by ``_backprop``), so every step path, the fused SGD one included, applies it.
    """

    epochs_done: int = 0

    def set_epoch(self, epoch: int) -> None:
        super().set_epoch(self.epochs_done + epoch)


class _EstimatorSGD(_EstimatorOptimizer, SGD):
    pass


class _EstimatorAdam(_EstimatorOptimizer, Adam):
    pass


_NO_Y = object()  # "predicting": no target to validate (None is a missing target)


def _is_torch(x: Any) -> bool:
    return bool(array_api_compat.is_torch_array(x))


def _extend(history: History, new: History) -> None:
    """Append ``new`` to ``history`` in place, epochs renumbered to continue (warm start,
    partial_fit); in place so that many partial_fit calls stay linear in time."""
    offset = history.n_epochs
    history.epoch.extend(e + offset for e in new.epoch)
    for name in ("loss", "metric", "val_loss", "val_metric", "grad_norm", "seconds", "learning_rate"):
        getattr(history, name).extend(getattr(new, name))
    history.stop_reason = new.stop_reason
    history.failure = new.failure
    if history.initial_loss is None:
        history.initial_loss = new.initial_loss
    history.best_epoch = None if new.best_epoch is None else new.best_epoch + offset


_PARAM_DOC = """
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Width of each hidden layer, input side first; ``()`` for none.
    activation : str or tuple of str, default="relu"
        Hidden activation (``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"``, ``"softplus"``,
        ``"identity"``), one for all hidden layers or one per hidden layer.
    output_activation : str, optional
        See the class description for the default.
    loss : {"squared_error", "cross_entropy", "binary_cross_entropy"}, optional
        Must fit the output activation; see the class description for the default.
    init : str, default="xavier_uniform"
        Weight initialiser (see :mod:`weightwise.net.initializers`); ``"normal"`` is the textbook's
        N(0, 1).
    solver : {"adam", "sgd"}, default="adam"
    learning_rate : float, default=0.001
        Initial step size.
    learning_rate_schedule : {"constant", "step", "inverse_scaling", "exponential"}, default="constant"
        Per-epoch decay; ``lr_step_size`` and ``lr_gamma`` (step, exponential) and ``power_t``
        (inverse scaling) set it.
    lr_step_size : int, default=10
    lr_gamma : float, default=0.5
    power_t : float, default=0.5
    momentum : float, default=0.9
        SGD momentum in [0, 1); ``0`` for the textbook's plain gradient descent.
    nesterov : bool, default=False
        Nesterov momentum (SGD).
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's moment decay rates and denominator guard.
    alpha : float, default=1e-4
        L2 penalty on the weights (scikit-learn's convention, see the module notes).
    batch_size : int, "auto" or "full", default="auto"
        ``"auto"`` is ``min(200, n_samples)``; ``"full"`` is the whole training set per update.
    reduction : {"mean", "sum"}, default="mean"
        Average or add the per-sample gradients of a batch; the textbook adds.
    shuffle : bool, default=True
        Shuffle the samples each epoch.
    max_epochs : int, default=200
    tol : float or None, default=1e-4
        Minimum improvement counted by the stopping rules (of the training loss, or with
        ``early_stopping`` of the monitored validation score); ``None`` disables the training-loss
        rule (the run then lasts ``max_epochs`` unless ``threshold`` or early stopping ends it).
    threshold : float, optional
        Stop once an epoch's training loss is below this value.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when its score has not improved by
        ``tol`` for ``n_iter_no_change`` epochs, restoring the best epoch's weights. As in
        scikit-learn's MLP, a classifier watches the validation accuracy (higher is better); a
        regressor watches the validation loss (for squared error on one output, the same ranking
        as R^2). One exception: a classifier with one ``"sigmoid"`` unit per class of
        single-label targets watches the loss, as the engine's accuracy there is multi-label.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
        Patience of the stopping rules, in epochs.
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the shuffling and the validation split.
    verbose : bool, default=False
        Print the loss after every epoch.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the network's weights and arithmetic.
    warm_start : bool, default=False
        ``fit`` continues from the current weights instead of starting again.
    backend : {"auto", "numpy", "torch"}, default="auto"
        ``"auto"`` trains on the input's library (PyTorch tensors, or a ``device``, train in
        PyTorch).
    device : str, optional
        PyTorch device (``"cuda"``, ``"cpu"``); setting it trains in PyTorch. By default the input
        tensor's device.
""" + PRETRAIN_PARAM_DOC.lstrip("\n")

_ATTR_DOC = """
    network_ : Network
        The trained network (its arrays are live: ``coefs_`` and ``intercepts_`` are views of it).
    coefs_ : list of arrays
        ``coefs_[l]`` of shape (n_in_l, n_out_l).
    intercepts_ : list of arrays
        ``intercepts_[l]`` of shape (n_out_l,).
    history_ : History
        The engine's per-epoch record (loss, accuracy, gradient norm per layer, time, ...).
    loss_curve_ : list of float
        Training loss per epoch (without the L2 penalty).
    validation_scores_ : list of float or None
        Validation accuracy (classifier) or R^2 (regressor) per epoch with ``early_stopping``.
    n_iter_ : int
        Epochs run, over all ``fit``/``partial_fit`` calls that continued the network.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had string column names.
    n_outputs_ : int
        Units of the output layer.
    out_activation_ : str
        The output layer's activation.
""" + PRETRAIN_ATTR_DOC.lstrip("\n")


class _BaseBP(BaseEstimator):
    """Shared machinery; see :class:`BPClassifier` and :class:`BPRegressor`."""

    _default_output = "identity"

    def __init__(
        self,
        hidden_layer_sizes: int | tuple[int, ...] = (100,),
        activation: str | tuple[str, ...] = "relu",
        output_activation: str | None = None,
        loss: str | None = None,
        init: str = "xavier_uniform",
        solver: str = "adam",
        learning_rate: float = 0.001,
        learning_rate_schedule: str = "constant",
        lr_step_size: int = 10,
        lr_gamma: float = 0.5,
        power_t: float = 0.5,
        momentum: float = 0.9,
        nesterov: bool = False,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        alpha: float = 1e-4,
        batch_size: int | str = "auto",
        reduction: str = "mean",
        shuffle: bool = True,
        max_epochs: int = 200,
        tol: float | None = 1e-4,
        threshold: float | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        random_state: Any = None,
        verbose: bool = False,
        dtype: str = "float32",
        warm_start: bool = False,
        backend: str = "auto",
        device: Any = None,
        pretrain: str | None = None,
        pretrain_epochs: int = 10,
        pretrain_learning_rate: float | None = None,
        pretrain_batch_size: int = 20,
        cd_k: int = 1,
        persistent: bool = False,
        corruption: float | None = None,
        weight_cost: float | None = None,
        pretrain_callbacks: Sequence[Any] | None = None,
        callbacks: Sequence[Any] | None = None,
        checkpoint_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss
        self.init = init
        self.solver = solver
        self.learning_rate = learning_rate
        self.learning_rate_schedule = learning_rate_schedule
        self.lr_step_size = lr_step_size
        self.lr_gamma = lr_gamma
        self.power_t = power_t
        self.momentum = momentum
        self.nesterov = nesterov
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.alpha = alpha
        self.batch_size = batch_size
        self.reduction = reduction
        self.shuffle = shuffle
        self.max_epochs = max_epochs
        self.tol = tol
        self.threshold = threshold
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype
        self.warm_start = warm_start
        self.backend = backend
        self.device = device
        self.pretrain = pretrain
        self.pretrain_epochs = pretrain_epochs
        self.pretrain_learning_rate = pretrain_learning_rate
        self.pretrain_batch_size = pretrain_batch_size
        self.cd_k = cd_k
        self.persistent = persistent
        self.corruption = corruption
        self.weight_cost = weight_cost
        self.pretrain_callbacks = pretrain_callbacks
        self.callbacks = callbacks
        self.checkpoint_dir = checkpoint_dir

    # learned arrays, straight from the network ---------------------------------------------------
    @property
    def coefs_(self) -> list[Array]:
        check_is_fitted(self, "network_")
        return [layer.W for layer in self.network_.layers]

    @property
    def intercepts_(self) -> list[Array]:
        check_is_fitted(self, "network_")
        return [layer.b for layer in self.network_.layers]

    # public API -----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, X_unlabelled: Any = None) -> Any:
        """Train the network on ``(X, y)``: pre-training first when ``pretrain`` is set, then BP.

        Parameters
        ----------
        X : array-like or tensor of shape (n_samples, n_features)
        y : array-like or tensor of shape (n_samples,) or (n_samples, n_outputs)
        X_unlabelled : array-like or tensor of shape (n_unlabelled, n_features), optional
            Extra inputs without labels: pre-training learns from ``X`` and these rows together,
            BP from ``(X, y)`` alone. Needs ``pretrain``; unused when ``warm_start`` continues a
            fitted network (no pre-training runs then).

        Returns
        -------
        self
        """
        if X_unlabelled is not None and self.pretrain is None:
            raise ConfigError(
                "X_unlabelled is used only by pre-training; set pretrain='rbm', 'autoencoder', ... "
                "or leave X_unlabelled out"
            )
        return self._fit(X, y, incremental=False, X_unlabelled=X_unlabelled)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted estimator to a safetensors model file (see :mod:`weightwise.io`).

        The file holds the weights plus JSON metadata: ``get_params()``, classes, feature names,
        ``n_features_in_`` and the training history. Nothing is pickled. The optimiser's state is
        not kept: ``partial_fit`` after :meth:`load` starts a fresh optimiser.
        """
        from ..io import save_network

        check_is_fitted(self, "network_")
        params = {
            k: self._jsonable_param(v) for k, v in self.get_params().items() if k not in UNSAVED_PARAMS
        }
        names = getattr(self, "feature_names_in_", None)
        meta = {
            "estimator": type(self).__name__,
            "params": params,
            "n_features_in": self.n_features_in_,
            "feature_names_in": None if names is None else [str(n) for n in names],
            "n_outputs": self.n_outputs_,
            "n_iter": self.n_iter_,
            "validation_scores": self.validation_scores_,
            "history": self.history_.to_dict(),
            **self._target_metadata(),
        }
        extras: dict[str, np.ndarray] = {}
        if self.pretrain_learners_:
            meta["pretrain"] = pretrain_metadata(self)
            extras = PretrainResult(self.pretrain_learners_, [], [], []).extra_arrays()
        return save_network(self.network_, path, metadata=meta, extra_arrays=extras)

    @classmethod
    def load(cls, path: str | os.PathLike[str], backend: str = "numpy", device: Any = None) -> Any:
        """Read an estimator written by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
        backend : {"numpy", "torch"}
            Library of the loaded network's arrays.
        device : str, optional
            PyTorch device.

        Raises
        ------
        ModelFileError
            For a damaged or altered file, or one that holds another kind of model.
        """
        from ..io import load_network

        net, meta, extras = load_network(path, backend=backend, device=device)
        kind = meta.get("estimator")
        if kind != cls.__name__:
            what = f"a {kind}" if kind else "a bare Network, not an estimator"
            fix = f"{kind}.load" if kind else "weightwise.io.load_network"
            raise ModelFileError(f"{path} holds {what}; read it with {fix}")
        params = dict(meta["params"])
        for key in ("hidden_layer_sizes", "activation"):
            if isinstance(params.get(key), list):
                params[key] = tuple(params[key])
        est = cls(**params)
        est.network_ = net
        est.n_features_in_ = int(meta["n_features_in"])
        if meta.get("feature_names_in") is not None:
            est.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
        est.n_outputs_ = int(meta["n_outputs"])
        est.out_activation_ = net.activation_names[-1]
        est.n_iter_ = int(meta["n_iter"])
        est.history_ = History.from_dict(meta["history"])
        est.loss_curve_ = est.history_.loss
        est.validation_scores_ = meta.get("validation_scores")
        est._restore_target_metadata(meta)
        est._rng = Random(check_random_state(est.random_state))
        restore_learners(est, net, meta.get("pretrain"), extras)
        return est

    # the steps of fit ---------------------------------------------------------------------------
    def _fit(
        self, X: Any, y: Any, incremental: bool, classes: Any = None, X_unlabelled: Any = None
    ) -> Any:
        self._check_params()
        first = not hasattr(self, "network_") or not (incremental or self.warm_start)
        X, y, _ = self._validate_X(X, y, reset=first)
        Y = self._encode_targets(y, first, incremental, classes)  # (n_samples, n_outputs), host float64
        if first:
            rs = check_random_state(self.random_state)
            self._rng = Random(rs)
            self.network_ = self._build_network(X, Y.shape[1])
            self.n_outputs_ = Y.shape[1]
            self.out_activation_ = self.network_.activation_names[-1]
            self.n_iter_ = 0
            self.history_ = History()
            self.validation_scores_: list[float] | None = None
            self._optimizer: Optimizer | None = None
            self.pretrain_learners_: list[Any] = []
            self.pretrain_history_: list[dict[str, Any]] = []
            self._pretrain_names: list[str] = []
            if self.pretrain is not None:
                # Front to back on the fresh network: the learners adjust network_'s own arrays,
                # which back-propagation then fine-tunes.
                net = self.network_
                result = run_pretraining(
                    self,
                    net,
                    pretraining_data(X, X_unlabelled, net),
                    self._rng,
                    self._checkpoint_folder("pretrain", incremental),
                )
                self.pretrain_learners_ = result.learners
                self.pretrain_history_ = [h.to_dict() for h in result.histories]
                self._pretrain_names = result.names
        elif Y.shape[1] != self.n_outputs_:
            raise DataError(
                f"y has {Y.shape[1]} outputs but the network was built for {self.n_outputs_}; "
                "fit a new estimator (warm_start=False) for a different target"
            )
        self._backprop(X, Y, incremental)
        if self.checkpoint_dir is not None and not incremental:
            # Finished: the backup is no longer needed (Keras's BackupAndRestore does the same), and
            # the next fit starts afresh.
            root = Path(self.checkpoint_dir)
            remove_checkpoint(root / "backprop")
            remove_checkpoint(root / "pretrain")
            (root / _SCORES_FILE).unlink(missing_ok=True)
            remove_checkpoint(root)
        return self

    def _checkpoint_folder(self, part: str, incremental: bool) -> Path | None:
        """Where ``fit`` backs up phase ``part``; None without ``checkpoint_dir`` or in partial_fit."""
        if self.checkpoint_dir is None or incremental:
            return None
        return Path(self.checkpoint_dir) / part

    def _build_network(self, X: Array, n_outputs: int) -> Network:
        """A freshly initialised network for ``X``'s features and ``n_outputs`` output units."""
        sizes = [int(X.shape[1]), *self._hidden_sizes(), n_outputs]
        activation = self.activation if isinstance(self.activation, str) else list(self.activation)
        if self.backend == "auto":
            backend = "torch" if _is_torch(X) or self.device is not None else "numpy"
        else:
            backend = self.backend
        device = self.device
        if device is None and backend == "torch":
            device = X.device if _is_torch(X) else "cpu"
        return Network.create(
            sizes,
            activation,
            self._output_activation(),
            self.init,
            self._rng,
            self.dtype,
            backend,
            device,
        )

    def _backprop(self, X: Array, Y_host: np.ndarray, incremental: bool) -> None:
        """Adjust ``network_`` back to front with the engine's loop and record the history."""
        net = self.network_
        X = to_network(X, net.xp, net.dtype, net.device)
        Y = asarray(Y_host, net.xp, net.dtype, net.device)
        n = int(X.shape[0])
        validation = None
        if self.early_stopping and not incremental:
            X, Y, validation = self._split_validation(X, Y, Y_host)
            n = int(X.shape[0])
        batch = self._batch_size(n)
        if getattr(self, "_optimizer", None) is None or not incremental:
            self._optimizer = self._make_optimizer()
        opt = self._optimizer
        assert isinstance(opt, _EstimatorOptimizer)
        # With the mean reduction the data gradient is a batch average, so sklearn's penalty
        # alpha/2 ||W||^2 / batch_size contributes alpha / batch_size * W (set on every call, as
        # partial_fit's batches may differ in size); weights only, never the biases.
        alpha = float(self.alpha)
        opt.weight_decay = alpha / (batch or n) if self.reduction == "mean" else alpha
        opt.decay_bias = False
        scores: list[float] = []
        ckpt = self._checkpoint_folder("backprop", incremental)
        scores_file = None if ckpt is None else ckpt.parent / _SCORES_FILE
        if ckpt is not None and scores_file is not None and has_checkpoint(ckpt):
            # The validation scores of the epochs before the interruption (the backup is written
            # after the scores, so it may hold one epoch fewer than the scores file).
            done = len(read_checkpoint_meta(ckpt)["history"]["epoch"])
            if validation is not None and scores_file.is_file():
                scores.extend(json.loads(scores_file.read_text())[:done])
        callbacks = self._callbacks(validation, scores, incremental, scores_file)
        with warnings.catch_warnings():
            # Warned again below, pointing at the user's fit call rather than at this line.
            warnings.simplefilter("ignore", TrainingFailedWarning)
            history = train(
                net,
                X,
                Y,
                loss=self._loss_name(),
                optimizer=opt,
                epochs=1 if incremental else self.max_epochs,
                batch_size=batch,
                shuffle=self.shuffle,
                reduction=self.reduction,
                threshold=None if incremental else self.threshold,
                validation_data=validation,
                patience=self.n_iter_no_change if validation is not None else None,
                min_delta=self.tol or 0.0,
                monitor=self._early_stopping_monitor() if validation is not None else "val_loss",
                metric="accuracy" if self._history_has_accuracy() else None,
                callbacks=callbacks,
                seed=self._rng,
                checkpoint_dir=ckpt,
                resume=ckpt is not None,
            )
        opt.epochs_done += history.n_epochs
        _extend(self.history_, history)
        self.n_iter_ += history.n_epochs
        self.loss_curve_ = self.history_.loss  # the same list, not a copy
        if not incremental:
            self.validation_scores_ = scores or None  # this fit's; partial_fit keeps them
        if history.failed:
            # The engine's rule and words; "raise max_epochs or learning_rate" would point the
            # wrong way for a dead run.
            warnings.warn(history.failure, TrainingFailedWarning, stacklevel=4)
            return
        stoppable = self.tol is not None or self.threshold is not None or self.early_stopping
        if not incremental and stoppable and history.stop_reason == "max_epochs":
            warnings.warn(
                f"{type(self).__name__} reached max_epochs={self.max_epochs} before a stopping rule "
                "held; raise max_epochs or learning_rate if the loss is still falling",
                ConvergenceWarning,
                stacklevel=4,  # the user's fit call
            )

    # training pieces ------------------------------------------------------------------------------
    def _split_validation(
        self, X: Array, Y: Array, Y_host: np.ndarray
    ) -> tuple[Array, Array, tuple[Array, Array]]:
        n = int(X.shape[0])
        seed = int(self._rng.numpy.integers(2**31 - 1))
        stratify = self._stratify(Y_host)
        try:
            idx_train, idx_val = train_test_split(
                np.arange(n), test_size=self.validation_fraction, random_state=seed, stratify=stratify
            )
        except ValueError:
            # Too few samples per class for a stratified split: fall back to a plain random one.
            idx_train, idx_val = train_test_split(
                np.arange(n), test_size=self.validation_fraction, random_state=seed
            )
        xp = self.network_.xp
        if not array_api_compat.is_numpy_namespace(xp):
            idx_train = asarray(idx_train, xp, None, self.network_.device)
            idx_val = asarray(idx_val, xp, None, self.network_.device)
        take = xp.take
        val = (take(X, idx_val, axis=0), take(Y, idx_val, axis=0))
        return take(X, idx_train, axis=0), take(Y, idx_train, axis=0), val

    def _stratify(self, Y_host: np.ndarray) -> np.ndarray | None:
        return None

    def _history_has_accuracy(self) -> bool:
        return False

    def _early_stopping_monitor(self) -> str:
        """What ``early_stopping`` watches: the engine's ``monitor`` (the validation loss here)."""
        return "val_loss"

    def _make_optimizer(self) -> _EstimatorOptimizer:
        schedule = Schedule(self.learning_rate_schedule, self.lr_step_size, self.lr_gamma, self.power_t)
        opt: _EstimatorOptimizer
        if self.solver == "sgd":
            opt = _EstimatorSGD(self.learning_rate, self.momentum, self.nesterov, 0.0, schedule)
        else:
            opt = _EstimatorAdam(
                self.learning_rate, self.beta_1, self.beta_2, self.epsilon, 0.0, schedule
            )
        return opt

    def _callbacks(
        self,
        validation: tuple[Array, Array] | None,
        scores: list[float],
        incremental: bool,
        scores_file: Path | None = None,
    ) -> list[Any]:
        callbacks: list[Any] = []
        if validation is not None:
            Xv, Yv = validation

            def record_score(info: EpochInfo) -> None:
                scores.append(self._network_score(info.network.predict(Xv), Yv))
                if scores_file is not None:
                    scores_file.parent.mkdir(parents=True, exist_ok=True)
                    atomic_write_bytes(scores_file, json.dumps(scores).encode())

            callbacks.append(record_score)
        elif self.tol is not None and not incremental:
            tol = self.tol

            def no_improvement(info: EpochInfo) -> bool:
                # scikit-learn's rule: stop when the training loss has not improved by tol for
                # n_iter_no_change consecutive epochs. Recomputed from the whole history, so a
                # fit resumed from a backup stops where an uninterrupted one would.
                best, wait = math.inf, 0
                for loss in info.history.loss:
                    wait = wait + 1 if loss > best - tol else 0
                    best = min(best, loss)
                return wait >= self.n_iter_no_change

            callbacks.append(no_improvement)
        if self.verbose:

            def report(info: EpochInfo) -> None:
                print(f"Iteration {self.n_iter_ + info.epoch}, loss = {info.logs['loss']:.8f}")

            callbacks.append(report)
        callbacks.extend(self.callbacks or ())
        return callbacks

    def _batch_size(self, n: int) -> int | None:
        if self.batch_size == "full":
            return None
        if self.batch_size == "auto":
            return min(200, n)
        return min(int(self.batch_size), n)

    def _hidden_sizes(self) -> list[int]:
        h = self.hidden_layer_sizes
        return [int(h)] if isinstance(h, (int, np.integer)) else [int(s) for s in h]

    # checks ---------------------------------------------------------------------------------------
    def _check_params(self) -> None:
        """Validate the settings that the engine would only meet later, with a fix in the message."""
        check_checkpoint_dir(self)
        sizes = self.hidden_layer_sizes
        seq = [sizes] if isinstance(sizes, (int, np.integer)) else sizes
        if (
            isinstance(seq, str)
            or not isinstance(seq, Sequence)
            or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in seq)
        ):
            raise ConfigError(
                f"hidden_layer_sizes must be a tuple of positive ints such as (100,) or (64, 32), "
                f"got {sizes!r}"
            )
        choices: dict[str, tuple[Any, tuple[str, ...]]] = {
            "solver": (self.solver, ("adam", "sgd")),
            "learning_rate_schedule": (self.learning_rate_schedule, tuple(SCHEDULES)),
            "reduction": (self.reduction, ("mean", "sum")),
            "dtype": (self.dtype, DTYPES),
            "backend": (self.backend, ("auto", "numpy", "torch")),
        }
        for name, (value, valid) in choices.items():
            if value not in valid:
                raise ConfigError(f"{name}={value!r} is not one of {', '.join(map(repr, valid))}")
        positive_ints: dict[str, Any] = {
            "max_epochs": self.max_epochs,
            "n_iter_no_change": self.n_iter_no_change,
            "lr_step_size": self.lr_step_size,
        }
        if self.batch_size not in ("auto", "full"):
            positive_ints["batch_size"] = self.batch_size
        for name, value in positive_ints.items():
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                extra = ', "auto" or "full"' if name == "batch_size" else ""
                raise ConfigError(f"{name} must be a positive integer{extra}, got {value!r}")
        in_range: dict[str, tuple[Any, Any, str]] = {
            "learning_rate": (self.learning_rate, lambda v: v > 0, "> 0"),
            "alpha": (self.alpha, lambda v: v >= 0, ">= 0"),
            "momentum": (self.momentum, lambda v: 0 <= v < 1, "in [0, 1)"),
            "validation_fraction": (self.validation_fraction, lambda v: 0 < v < 1, "in (0, 1)"),
            "tol": (self.tol, lambda v: v >= 0, ">= 0 or None"),
            "threshold": (self.threshold, lambda v: v > 0, "> 0 or None"),
        }
        for name, (value, ok, text) in in_range.items():
            number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
            optional = value is None and name in ("tol", "threshold")
            if not (optional or (number and ok(value))):
                raise ConfigError(f"{name} must be {text}, got {value!r}")
        if self.backend == "torch" or self.device is not None:
            try:
                import torch  # noqa: F401
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ConfigError(
                    "backend 'torch' needs PyTorch: pip install 'weightwise[torch]'"
                ) from exc
        check_pretrain_params(self)

    def _validate_X(self, X: Any, y: Any = _NO_Y, reset: bool = False) -> tuple[Array, Any, Any]:
        """Checked ``X`` (NumPy or tensor), ``y`` as a host array, and how to return results.

        Tensors keep their library and device (only their shape, names and values are checked);
        everything else goes through scikit-learn's ``validate_data``, whose messages the
        estimator checks expect. ``y`` is left out when predicting; ``None`` is refused.
        """
        fitting = y is not _NO_Y
        if fitting and y is None:
            raise ValueError(
                f"This {type(self).__name__} estimator requires y to be passed, but the target y "
                "is None."
            )
        if _is_torch(y):
            y = to_numpy(y)
        if _is_torch(X):
            # detach: the engine computes its own gradients; autograd history would only grow.
            X = check_matrix(X.detach(), "X")
            validate_data(self, X, skip_check_array=True, reset=reset)
            like = ("torch", X.device)
            if fitting:
                y = check_array(
                    y,
                    ensure_2d=False,
                    dtype="numeric" if self._y_numeric else None,
                    input_name="y",
                    estimator=self,
                )
                if y.shape[0] != X.shape[0]:
                    raise DataError(
                        f"X and y have different numbers of samples: {X.shape[0]} and {y.shape[0]}"
                    )
        else:
            # Float input keeps its dtype; integer input (uint8 images) goes straight to the
            # network's dtype, never through a float64 copy.
            dtypes = [np.float32, np.float64] if self.dtype == "float32" else [np.float64, np.float32]
            if not fitting:
                X = validate_data(self, X, reset=reset, dtype=dtypes)
            else:
                X, y = validate_data(
                    self, X, y, reset=reset, dtype=dtypes, multi_output=True, y_numeric=self._y_numeric
                )
            like = ("numpy", X.dtype)
        if fitting and y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y, like

    _y_numeric = False

    def _output(self, X: Any) -> tuple[Array, Any]:
        """The network's output for ``X`` and how to return results."""
        check_is_fitted(self, "network_")
        X, _, like = self._validate_X(X, reset=False)
        net = self.network_
        return net.predict(to_network(X, net.xp, net.dtype, net.device)), like

    @staticmethod
    def _returned(a: Array, like: Any) -> Any:
        """``a`` in the caller's library: a tensor on the input's device, or NumPy in X's dtype."""
        if like[0] == "torch":
            import torch

            return a.to(like[1]) if _is_torch(a) else torch.as_tensor(a, device=like[1])
        out = to_numpy(a)
        return out.astype(like[1], copy=False) if out.dtype.kind == "f" else out

    @staticmethod
    def _jsonable_param(value: Any) -> Any:
        if isinstance(value, (np.random.RandomState, np.random.Generator)):
            return None  # a generator's state is not a setting; the saved weights are what count
        if isinstance(value, tuple):
            return list(value)
        if value is not None and not isinstance(value, (bool, int, float, str, list)):
            return str(value)  # e.g. torch.device
        return value

    # hooks the two estimators fill in --------------------------------------------------------------
    def _output_activation(self) -> str:
        return self.output_activation or self._default_output

    def _loss_name(self) -> str:
        if self.loss is not None:
            return get_loss(self.loss).name
        return {"softmax": "cross_entropy", "sigmoid": "binary_cross_entropy"}.get(
            self.out_activation_, "squared_error"
        )

    def _encode_targets(
        self, y: Any, first: bool, incremental: bool, classes: Any
    ) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _network_score(self, output: Array, Y: Array) -> float:  # pragma: no cover
        raise NotImplementedError

    def _target_metadata(self) -> dict[str, Any]:
        return {}

    def _restore_target_metadata(self, meta: dict[str, Any]) -> None:
        return None
