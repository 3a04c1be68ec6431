"""What :class:`BPClassifier` and :class:`BPRegressor` share: :class:`_BaseBP`, its settings and
the steps of ``fit`` (validate and encode, build, pre-train, back-propagate).

Its neighbours hold the rest: the settings' documentation (``_bp_docs``) and checks
(``_params``), the optimisers (``_optimizers``), pre-training (``_pretrain``), arrays in and out
(``_inputs``) and save/load (``_persistence``).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import array_api_compat
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from .._util import atomic_write_bytes
from ..backpropagation.optimizers import Optimizer
from ..backpropagation.pseudo_labels import PseudoLabels
from ..backpropagation.training import EpochInfo, History
from ..backpropagation.training import fit as train
from ..checkpoints import (
    has_checkpoint,
    read_checkpoint_meta,
    remove_checkpoint,
    remove_stale_temporaries,
)
from ..errors import ConfigError, DataError, ModelFileError, TrainingFailedWarning
from ..layerwise.greedy import PretrainResult
from ..net.backend import Array, Random, asarray, to_numpy
from ..net.losses import get_loss
from ..net.network import Network
from ..net.validation import to_network
from . import _constraints as constraints
from ._inputs import float_dtypes, is_torch, placement, validate_input
from ._optimizers import _EstimatorOptimizer, make_optimizer
from ._params import check_bp_params, check_hidden_sizes
from ._persistence import _SavedEstimator
from ._pretrain import (
    pretrain_metadata,
    pretraining_data,
    restore_learners,
    run_pretraining,
    unlabelled_rows,
)

# Validation scores of a backed-up fit (the engine's checkpoint keeps the rest).
_SCORES_FILE = "validation_scores.json"


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


def _resumed_scores(ckpt: Path | None, scores_file: Path | None) -> list[float]:
    """The validation scores of the epochs before an interrupted fit, from its backup; [] when
    there is none.

    The backup is written after the scores, so it may hold one epoch fewer than the scores file:
    the scores are cut to the epochs the backup holds.
    """
    if ckpt is None or scores_file is None or not has_checkpoint(ckpt) or not scores_file.is_file():
        return []
    done = len(read_checkpoint_meta(ckpt)["history"]["epoch"])
    return list(json.loads(scores_file.read_text())[:done])


def _finished_backup(ckpt: Path | None) -> tuple[int, str] | None:
    """(epochs, stop reason) of a backup written at the end of a fit; None for an unfinished one."""
    if ckpt is None or not has_checkpoint(ckpt):
        return None
    history = read_checkpoint_meta(ckpt).get("history")
    reason = history.get("stop_reason") if isinstance(history, dict) else None
    epochs = history.get("epoch") if isinstance(history, dict) else None
    if not reason or not isinstance(epochs, list):
        return None
    return len(epochs), str(reason)


# scikit-learn's contract is an __init__ that stores its arguments under their own names; the
# dataclass writes exactly that __init__. eq and repr stay scikit-learn's (identity, and the repr
# of the changed settings).
@dataclass(eq=False, repr=False)
class _BaseBP(_SavedEstimator, BaseEstimator):
    """Shared machinery; see :class:`BPClassifier` and :class:`BPRegressor` (and ``_bp_docs``
    for what each setting means)."""

    hidden_layer_sizes: int | tuple[int, ...] = (100,)
    activation: str | tuple[str, ...] = "relu"
    output_activation: str | None = None
    loss: str | None = None
    init: str = "xavier_uniform"
    solver: str = "adam"
    learning_rate: float = 0.001
    learning_rate_schedule: str = "constant"
    lr_step_size: int = 10
    lr_gamma: float = 0.5
    power_t: float = 0.5
    momentum: float = 0.9
    nesterov: bool = False
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    alpha: float = 1e-4
    batch_size: int | str = "auto"
    reduction: str = "mean"
    shuffle: bool = True
    max_epochs: int = 200
    tol: float | None = 1e-4
    threshold: float | None = None
    early_stopping: bool = False
    validation_fraction: float = 0.1
    n_iter_no_change: int = 10
    random_state: Any = None
    verbose: bool = False
    dtype: str = "float32"
    warm_start: bool = False
    backend: str = "auto"
    device: Any = None
    pretrain: str | None = None
    pretrain_epochs: int | str = "auto"
    pretrain_learning_rate: float | None = None
    pretrain_batch_size: int | str = "auto"
    cd_k: int = 1
    persistent: bool = False
    corruption: float | None = None
    weight_cost: float | None = None
    pretrain_callbacks: Sequence[Any] | None = None
    pseudo_labels: float = 0.0
    pseudo_label_start: int = 10
    pseudo_label_full: int = 60
    callbacks: Sequence[Any] | None = None
    checkpoint_dir: str | os.PathLike[str] | None = None

    _parameter_constraints: ClassVar[dict[str, Any]] = constraints.BP
    _default_output = "identity"
    _y_numeric = False

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
            Extra inputs without labels: pre-training learns from ``X`` and these rows together
            (unused when ``warm_start`` continues a fitted network: no pre-training runs then);
            with ``pseudo_labels > 0`` BP also trains on them with the network's own classes as
            targets. Needs ``pretrain`` or ``pseudo_labels``.

        Returns
        -------
        self
        """
        if X_unlabelled is not None and self.pretrain is None and not self.pseudo_labels:
            raise ConfigError(
                "X_unlabelled is used by pre-training and pseudo-labels; set pretrain='rbm', "
                "'autoencoder', ... or pseudo_labels=3.0 (a classifier), or leave X_unlabelled out"
            )
        return self._fit(X, y, incremental=False, X_unlabelled=X_unlabelled)

    def _check_settings(self, devices: bool = True) -> None:
        """Every setting: the friendly checks first, then scikit-learn's constraints."""
        check_bp_params(self, devices)
        constraints.validate_constraints(self)

    # model files (see _persistence) ------------------------------------------------------------
    def _model_metadata(self, meta: dict[str, Any]) -> dict[str, np.ndarray]:
        meta.update(
            n_outputs=self.n_outputs_,
            n_iter=self.n_iter_,
            validation_scores=self.validation_scores_,
            history=self.history_.to_dict(),
            **self._target_metadata(),
        )
        if not self.pretrain_learners_:
            return {}
        meta["pretrain"] = pretrain_metadata(self)
        return PretrainResult(self.pretrain_learners_, [], [], []).extra_arrays()

    def _restore(self, meta: dict[str, Any], extras: dict[str, np.ndarray]) -> None:
        sizes = self.network_.sizes
        if check_hidden_sizes(self.hidden_layer_sizes, True) != sizes[1:-1]:
            raise ModelFileError(
                f"hidden_layer_sizes {self.hidden_layer_sizes!r} do not match the network {sizes}"
            )
        if meta.get("n_outputs") != sizes[-1] or not isinstance(meta.get("n_iter"), int):
            raise ModelFileError(f"n_outputs or n_iter do not match the network {sizes}")
        self.n_outputs_ = int(meta["n_outputs"])
        self.out_activation_ = self.network_.activation_names[-1]
        self.n_iter_ = int(meta["n_iter"])
        self.history_ = History.from_dict(meta["history"])
        self.loss_curve_ = self.history_.loss
        self.validation_scores_: list[float] | None = meta.get("validation_scores")
        self._restore_target_metadata(meta)
        restore_learners(self, self.network_, meta.get("pretrain"), extras)

    # the steps of fit ---------------------------------------------------------------------------
    def _fit(
        self, X: Any, y: Any, incremental: bool, classes: Any = None, X_unlabelled: Any = None
    ) -> Any:
        self._check_settings()
        first = not hasattr(self, "network_") or not (incremental or self.warm_start)
        X, y = self._validate_Xy(X, y, reset=first)
        Y = self._encode_targets(y, first, incremental, classes)  # (n_samples, n_outputs), host float64
        if first:
            rs = check_random_state(self.random_state)
            self._rng = Random(rs)
            self.network_ = self._build_network(X, Y.shape[1])
            self.n_outputs_ = Y.shape[1]
            self.out_activation_ = self.network_.activation_names[-1]
            self.n_iter_ = 0
            self.history_ = History()
            self.validation_scores_ = None
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
        self._backprop(X, Y, incremental, X_unlabelled)
        if self.checkpoint_dir is not None and not incremental:
            # Finished: the backup is no longer needed (Keras's BackupAndRestore does the same), and
            # the next fit starts afresh; or, when told so, once the model file is saved.
            self._backup_finished()
        return self

    def _remove_backup(self) -> None:
        """Delete this fit's backup in ``checkpoint_dir`` (every phase's, and the scores)."""
        root = Path(self.checkpoint_dir)  # type: ignore[arg-type]
        remove_checkpoint(root / "backprop")
        remove_checkpoint(root / "pretrain")
        (root / _SCORES_FILE).unlink(missing_ok=True)
        remove_stale_temporaries(root, _SCORES_FILE)
        remove_checkpoint(root)

    def _checkpoint_folder(self, part: str, incremental: bool) -> Path | None:
        """Where ``fit`` backs up phase ``part``; None without ``checkpoint_dir`` or in partial_fit."""
        if self.checkpoint_dir is None or incremental:
            return None
        return Path(self.checkpoint_dir) / part

    def _build_network(self, X: Array, n_outputs: int) -> Network:
        """A freshly initialised network for ``X``'s features and ``n_outputs`` output units."""
        sizes = [int(X.shape[1]), *check_hidden_sizes(self.hidden_layer_sizes, True), n_outputs]
        activation = self.activation if isinstance(self.activation, str) else list(self.activation)
        backend, device = placement(self.backend, self.device, X)
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

    def _backprop(
        self, X: Array, Y_host: np.ndarray, incremental: bool, X_unlabelled: Any = None
    ) -> None:
        """Adjust ``network_`` back to front with the engine's loop and record the history."""
        net = self.network_
        pseudo = None
        if self.pseudo_labels and X_unlabelled is not None and not incremental:
            U = unlabelled_rows(X_unlabelled, int(X.shape[1]), net)
            start, full = self.pseudo_label_start, self.pseudo_label_full
            pseudo = PseudoLabels(U, float(self.pseudo_labels), start, full)
        X = to_network(X, net.xp, net.dtype, net.device)
        Y = asarray(Y_host, net.xp, net.dtype, net.device)
        n = int(X.shape[0])
        validation = None
        if self.early_stopping and not incremental:
            X, Y, validation = self._split_validation(X, Y, Y_host)
            n = int(X.shape[0])
        batch = self._batch_size(n)
        opt = self._step_optimizer(batch or n, incremental)
        # Recorded in a backup, and compared on resuming (with the solver and learning rate).
        seed = self.random_state
        opt.run_settings = {
            "batch_size": batch or n,
            "random_state": int(seed) if isinstance(seed, (int, np.integer)) else None,
        }
        ckpt = self._checkpoint_folder("backprop", incremental)
        scores_file = None if ckpt is None else ckpt.parent / _SCORES_FILE
        scores = [] if validation is None else _resumed_scores(ckpt, scores_file)
        callbacks = self._callbacks(validation, scores, incremental, scores_file)
        # A backup of a fit that had finished (kept for a save that never came): restore it
        # without training further, so it ends exactly as the finished fit did.
        finished = _finished_backup(ckpt)
        epochs = 1 if incremental else self.max_epochs if finished is None else finished[0]
        with warnings.catch_warnings():
            # Warned again below, pointing at the user's fit call rather than at this line.
            warnings.simplefilter("ignore", TrainingFailedWarning)
            history = train(
                net,
                X,
                Y,
                loss=self._loss_name(),
                optimizer=opt,
                epochs=epochs,
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
                pseudo_labels=pseudo,
            )
        if finished is not None:
            history.stop_reason = finished[1]
        opt.epochs_done += history.n_epochs
        _extend(self.history_, history)
        self.n_iter_ += history.n_epochs
        self.loss_curve_ = self.history_.loss  # the same list, not a copy
        if not incremental:
            self.validation_scores_ = scores or None  # this fit's; partial_fit keeps them
        self._warn_if_unfinished(history, incremental)

    def _step_optimizer(self, batch: int, incremental: bool) -> _EstimatorOptimizer:
        """The optimiser for this call: a fresh one, or partial_fit's running one, with
        scikit-learn's L2 penalty for batches of ``batch`` rows as its weight decay."""
        if getattr(self, "_optimizer", None) is None or not incremental:
            self._optimizer = make_optimizer(self)
        opt = self._optimizer
        assert isinstance(opt, _EstimatorOptimizer)
        # With the mean reduction the data gradient is a batch average, so sklearn's penalty
        # alpha/2 ||W||^2 / batch_size contributes alpha / batch_size * W (set on every call, as
        # partial_fit's batches may differ in size); weights only, never the biases.
        alpha = float(self.alpha)
        opt.weight_decay = alpha / batch if self.reduction == "mean" else alpha
        opt.decay_bias = False
        return opt

    def _warn_if_unfinished(self, history: History, incremental: bool) -> None:
        """Warn, at the user's fit call, of a failed run or of one that no stopping rule ended."""
        if history.failed:
            # The engine's rule and words; "raise max_epochs or learning_rate" would point the
            # wrong way for a dead run.
            warnings.warn(history.failure, TrainingFailedWarning, stacklevel=5)
            return
        stoppable = self.tol is not None or self.threshold is not None or self.early_stopping
        if not incremental and stoppable and history.stop_reason == "max_epochs":
            warnings.warn(
                f"{type(self).__name__} reached max_epochs={self.max_epochs} before a stopping rule "
                "held; raise max_epochs or learning_rate if the loss is still falling",
                ConvergenceWarning,
                stacklevel=5,  # the user's fit call
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

    # data in and out ------------------------------------------------------------------------------
    def _validate_Xy(self, X: Any, y: Any, reset: bool) -> tuple[Array, Any]:
        """Checked ``X`` (NumPy or tensor, see :func:`validate_input`) and ``y`` as a host array.

        A NumPy ``X`` goes through ``validate_data`` together with ``y``, whose messages the
        estimator checks expect; ``y=None`` is refused.
        """
        if y is None:
            raise ValueError(
                f"This {type(self).__name__} estimator requires y to be passed, but the target y "
                "is None."
            )
        if is_torch(y):
            y = to_numpy(y)
        if is_torch(X):
            X, _ = validate_input(self, X, reset)
            dtype = "numeric" if self._y_numeric else None
            y = check_array(y, ensure_2d=False, dtype=dtype, input_name="y", estimator=self)
            if y.shape[0] != X.shape[0]:
                raise DataError(
                    f"X and y have different numbers of samples: {X.shape[0]} and {y.shape[0]}"
                )
        else:
            X, y = validate_data(
                self,
                X,
                y,
                reset=reset,
                dtype=float_dtypes(self.dtype),
                multi_output=True,
                y_numeric=self._y_numeric,
            )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _output(self, X: Any) -> tuple[Array, Any]:
        """The network's output for ``X`` and how to return results."""
        check_is_fitted(self, "network_")
        X, like = validate_input(self, X, reset=False)
        net = self.network_
        return net.predict(to_network(X, net.xp, net.dtype, net.device)), like

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
