"""The two back-propagation estimators, :class:`BPClassifier` and :class:`BPRegressor`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ..datasets import one_hot
from ..errors import ConfigError, DataError, ModelFileError
from ..net.activations import get_activation
from ..net.backend import Array, to_numpy
from ._base import _BaseBP
from ._bp_docs import ATTR_DOC, PARAM_DOC
from ._inputs import is_torch, returned

__all__ = ["BPClassifier", "BPRegressor"]


class BPClassifier(ClassifierMixin, _BaseBP):
    __doc__ = f"""A multi-layer perceptron classifier trained by back-propagation.

    Labels may be integers or strings; ``y`` may also be a 2-D 0/1 indicator matrix (multi-label).
    Output layer and loss by default:

    - two classes: one sigmoid unit, binary cross-entropy (as :class:`sklearn.neural_network.
      MLPClassifier`); ``output_activation="softmax"`` gives two softmax units instead;
    - three or more classes: softmax units, cross-entropy;
    - multi-label: one sigmoid unit per label, binary cross-entropy; ``predict`` thresholds at 0.5.

    The textbook's choice, sigmoid outputs with squared error, is ``output_activation="sigmoid",
    loss="squared_error"``; several sigmoid units are then one-per-class, ``predict`` takes the
    largest and ``predict_proba`` normalises them to sum to one. Only ``"sigmoid"`` and
    ``"softmax"`` outputs are accepted. See :mod:`weightwise.estimators` for the conventions on
    arrays, devices, ``alpha`` and the stopping rules.

    Parameters
    ----------{PARAM_DOC}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (``arange(n_labels)`` for multi-label targets).{ATTR_DOC}
    Examples
    --------
    >>> from weightwise.estimators import BPClassifier
    >>> clf = BPClassifier(hidden_layer_sizes=(16,), max_epochs=50, tol=None, random_state=0)
    >>> X = [[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]]
    >>> clf.fit(X, ["a", "a", "b", "b"]).classes_.tolist()
    ['a', 'b']
    >>> clf.predict_proba([[0.0, 0.0]]).shape
    (1, 2)
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        assert tags.classifier_tags is not None
        tags.classifier_tags.multi_label = True
        return tags

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> BPClassifier:
        """One epoch of training on ``(X, y)``, continuing from the current weights.

        Parameters
        ----------
        X : array-like or tensor of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like of shape (n_classes,), optional
            Every label the estimator will see; required on the first call (not for multi-label
            indicator targets).

        Returns
        -------
        self
        """
        result: BPClassifier = self._fit(X, y, incremental=True, classes=classes)
        return result

    def predict(self, X: Any) -> Any:
        """Predicted labels, shape (n_samples,) or (n_samples, n_labels) for multi-label targets.

        A tensor input gives a tensor (on its device) when the labels are numbers; string labels
        come back as a NumPy array.
        """
        out, like = self._output(X)
        xp = self.network_.xp
        if self._target_type == "multilabel-indicator":
            return returned(xp.astype(out > 0.5, xp.int64), like)
        if out.shape[1] == 1:
            idx = xp.astype(out[:, 0] > 0.5, xp.int64)
        else:
            idx = xp.argmax(out, axis=1)
        if like[0] == "torch" and self.classes_.dtype.kind in "biuf":
            import torch

            classes = torch.as_tensor(self.classes_, device=like[1])
            return classes[returned(idx, like)]
        return self.classes_[to_numpy(idx)]

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities, shape (n_samples, n_classes); per-label for multi-label targets."""
        out, like = self._output(X)
        xp = self.network_.xp
        if self._target_type != "multilabel-indicator":
            if out.shape[1] == 1:
                out = xp.concat([1.0 - out, out], axis=1)
            elif self.out_activation_ != "softmax":
                out = out / xp.sum(out, axis=1, keepdims=True)
        return returned(out, like)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy (subset accuracy for multi-label targets)."""
        pred = self.predict(X)
        y = to_numpy(y) if is_torch(y) else y
        return float(accuracy_score(y, to_numpy(pred), sample_weight=sample_weight))

    # targets --------------------------------------------------------------------------------------
    def _output_activation(self) -> str:
        multilabel = self._target_type == "multilabel-indicator"
        if self.output_activation is None:
            return "sigmoid" if multilabel or len(self.classes_) == 2 else "softmax"
        name = get_activation(self.output_activation).name
        if name not in ("sigmoid", "softmax"):
            raise ConfigError(
                f"BPClassifier needs a 'sigmoid' or 'softmax' output layer, got {name!r}; use "
                "BPRegressor for other outputs"
            )
        if multilabel and name == "softmax":
            raise ConfigError(
                "multi-label targets need independent 'sigmoid' outputs, not 'softmax' (whose "
                "outputs compete); leave output_activation=None"
            )
        return name

    def _encode_targets(self, y: Any, first: bool, incremental: bool, classes: Any) -> np.ndarray:
        check_classification_targets(y)
        target_type = type_of_target(y, input_name="y")
        if target_type == "multiclass-multioutput":
            raise DataError(
                "multi-output multiclass targets are not supported; give one label per sample or "
                "a 0/1 indicator matrix (multi-label)"
            )
        if first:
            self._target_type = "multilabel-indicator" if y.ndim == 2 else "multiclass"
            if self._target_type == "multilabel-indicator":
                self.classes_ = np.arange(y.shape[1])
            else:
                if classes is None and incremental:
                    # Later batches may lack some labels; the output layer must know them all now.
                    raise ValueError("classes must be passed on the first call to partial_fit")
                labels = np.unique(y) if classes is None else np.unique(np.asarray(classes))
                if len(labels) < 2:
                    raise DataError(
                        f"BPClassifier needs samples of at least 2 classes, but y has one class "
                        f"only ({labels[0]!r}); a classifier cannot learn from one class"
                    )
                self.classes_ = labels
        if self._target_type == "multilabel-indicator":
            if y.ndim != 2 or y.shape[1] != len(self.classes_):
                raise DataError(
                    f"y must be a 0/1 indicator matrix with {len(self.classes_)} columns, as in the "
                    f"first fit; got shape {y.shape}"
                )
            return np.asarray(y, dtype=np.float64)
        if y.ndim != 1:
            raise DataError(f"y must be 1-D labels, as in the first fit; got shape {y.shape}")
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise DataError(
                f"y has labels {unseen.tolist()} not in classes_ {self.classes_.tolist()}; pass "
                "every label as classes= on the first partial_fit, or fit a new estimator"
            )
        idx = np.searchsorted(self.classes_, y)
        onehot = one_hot(idx, len(self.classes_), dtype=np.float64)
        if len(self.classes_) == 2 and self._output_activation() != "softmax":
            return onehot[:, 1:]  # one sigmoid unit: the probability of classes_[1]
        return onehot

    def _stratify(self, Y_host: np.ndarray) -> np.ndarray | None:
        if self._target_type == "multilabel-indicator":
            return None
        labels = np.argmax(Y_host, axis=1) if Y_host.shape[1] > 1 else Y_host[:, 0]
        return labels

    def _history_has_accuracy(self) -> bool:
        # The engine counts several sigmoid units as multi-label (every unit right); for one
        # sigmoid unit per class that is not the accuracy that predict and score use.
        return not (
            self.out_activation_ == "sigmoid"
            and self.n_outputs_ > 1
            and self._target_type != "multilabel-indicator"
        )

    def _early_stopping_monitor(self) -> str:
        # The validation accuracy, as MLPClassifier; where the engine's accuracy is not the one
        # `score` gives (one sigmoid unit per class), the validation loss instead.
        return "val_metric" if self._history_has_accuracy() else "val_loss"

    def _network_score(self, output: Array, Y: Array) -> float:
        xp = self.network_.xp
        if self._target_type == "multilabel-indicator" or output.shape[1] == 1:
            hit = xp.all((output > 0.5) == (Y > 0.5), axis=1)
        else:
            hit = xp.argmax(output, axis=1) == xp.argmax(Y, axis=1)
        return float(xp.mean(xp.astype(hit, output.dtype)))

    def _target_metadata(self) -> dict[str, Any]:
        return {"classes": self.classes_.tolist(), "target_type": self._target_type}

    def _restore_target_metadata(self, meta: dict[str, Any]) -> None:
        classes, target_type = meta["classes"], meta["target_type"]
        n_out = self.network_.sizes[-1]
        fits = isinstance(classes, list) and (
            len(classes) == n_out or (n_out == 1 and len(classes) == 2)
        )
        if (
            not fits
            or target_type not in ("binary", "multiclass", "multilabel-indicator")
            or not all(isinstance(c, (str, int, float)) for c in classes)
        ):
            raise ModelFileError(
                f"classes {str(classes)[:80]} ({target_type!r}) do not match {n_out} output unit(s)"
            )
        self.classes_ = np.asarray(classes)
        self._target_type = target_type


class BPRegressor(RegressorMixin, _BaseBP):
    __doc__ = f"""A multi-layer perceptron regressor trained by back-propagation.

    Identity output units and squared error by default; ``y`` of shape (n_samples, n_outputs) gives
    one output unit per target. The textbook's sigmoid output with squared error is
    ``output_activation="sigmoid"`` (targets then belong in [0, 1]). ``predict`` returns shape
    (n_samples,) for a single target, as :class:`sklearn.neural_network.MLPRegressor` does. See
    :mod:`weightwise.estimators` for the conventions on arrays, devices, ``alpha`` and stopping.

    Parameters
    ----------{PARAM_DOC}
    Attributes
    ----------{ATTR_DOC}
    """

    _y_numeric = True

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def partial_fit(self, X: Any, y: Any) -> BPRegressor:
        """One epoch of training on ``(X, y)``, continuing from the current weights.

        Returns
        -------
        self
        """
        result: BPRegressor = self._fit(X, y, incremental=True)
        return result

    def predict(self, X: Any) -> Any:
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs)."""
        out, like = self._output(X)
        if out.shape[1] == 1:
            out = out[:, 0]
        return returned(out, like)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Coefficient of determination R^2 (averaged uniformly over outputs)."""
        pred = to_numpy(self.predict(X))
        y = to_numpy(y) if is_torch(y) else y
        return float(r2_score(y, pred, sample_weight=sample_weight))

    def _encode_targets(self, y: Any, first: bool, incremental: bool, classes: Any) -> np.ndarray:
        Y = np.asarray(y, dtype=np.float64)
        return Y.reshape(-1, 1) if Y.ndim == 1 else Y

    def _network_score(self, output: Array, Y: Array) -> float:
        return float(r2_score(to_numpy(Y), to_numpy(output)))
