"""Unsupervised scikit-learn transformers: :class:`RBM`, :class:`DBN`, :class:`StackedAutoEncoder`.

Each is a stack of :class:`~weightwise.net.network.Dense` layers (``network_``) trained greedily,
first layer first, by :func:`weightwise.layerwise.greedy.pretrain`: learner ``k`` (an RBM or an
auto-encoder, in ``learners_``) holds layer ``k``'s own ``W`` and ``b`` plus its visible bias. An
:class:`RBM` is the one-layer case. ``transform`` is the stack's forward pass (the top layer's
mean activations); the learners reconstruct and sample. Saved with :mod:`weightwise.io`
(safetensors + JSON, never pickle), the learners' extra arrays included, so a reloaded DBN can
still be sampled.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ..checkpoints import remove_checkpoint
from ..errors import ConfigError, ModelFileError, unknown_name
from ..layerwise.greedy import LEARNERS, PretrainResult, pretrain
from ..layerwise.history import LayerHistory
from ..layerwise.loop import LayerDivergenceError
from ..net.backend import DTYPES, Array, Random, namespace
from ..net.network import Network
from ..net.validation import check_matrix, to_network
from ._base import _BaseBP, _is_torch
from ._pretrain import UNSAVED_PARAMS, check_callbacks, check_checkpoint_dir, learner_state

_returned = _BaseBP._returned  # an array in the caller's library (tensor in, tensor out)
_jsonable = _BaseBP._jsonable_param


def _in_unit_interval(V: Array) -> bool:
    xp = namespace(V)
    return float(xp.min(V)) >= 0.0 and float(xp.max(V)) <= 1.0


class _LayerwiseTransformer(TransformerMixin, BaseEstimator):
    """Shared machinery: validation, the greedy fit, transform, save and load.

    Subclasses say which learner trains each layer (:meth:`_plan`), the layers' sizes, activation
    and initialiser.
    """

    _init = "small_normal"  # N(0, 0.01**2): Hinton's guide, section 8

    # hooks ------------------------------------------------------------------------------------
    def _hidden_sizes(self) -> list[int]:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _activation(self) -> str:
        return "sigmoid"

    def _plan(self, net: Network, V: Array) -> tuple[list[str], list[dict[str, Any]]]:
        """Learner name and keyword arguments per layer."""
        raise NotImplementedError  # pragma: no cover

    def _propagate(self) -> str:
        return "mean"

    def _check_own_params(self) -> None:
        return None

    # fitting ----------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> Any:
        """Train the stack greedily on ``X``, first layer first.

        Parameters
        ----------
        X : array-like or tensor of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        LayerDivergenceError
            A :class:`~weightwise.errors.DivergenceError` when a layer's learner diverges; the
            message names the learner, its layer, the epoch and ``learning_rate`` as the fix.
        """
        return self._fit(X, self.n_iter)

    def _fit(self, X: Any, epochs: Any) -> Any:
        self._check_params()
        X, _ = self._validate(X, reset=True)
        self._rng = Random(check_random_state(self.random_state))
        sizes = [int(X.shape[1]), *self._hidden_sizes()]
        act = self._activation()
        backend = self.backend
        if backend == "auto":
            backend = "torch" if _is_torch(X) or self.device is not None else "numpy"
        device = self.device
        if device is None and backend == "torch":
            device = X.device if _is_torch(X) else "cpu"
        net = Network.create(sizes, act, act, self._init, self._rng, self.dtype, backend, device)
        V = to_network(X, net.xp, net.dtype, net.device)
        names, params = self._plan(net, V)
        with _naming_learning_rate():
            result = pretrain(
                net,
                V,
                names,
                n_layers=len(net.layers),
                epochs=epochs,
                batch_size=self.batch_size,
                propagate=self._propagate(),
                learner_params=params,
                callbacks=list(self.callbacks or ()),
                seed=self._rng,
                checkpoint_dir=self.checkpoint_dir,
                resume=self.checkpoint_dir is not None,
            )
        if self.checkpoint_dir is not None:
            remove_checkpoint(self.checkpoint_dir)  # finished: the next fit starts afresh
        self.network_ = net
        self.learners_ = result.learners
        self._names = result.names
        self._set_history(result.histories)
        return self

    def _set_history(self, histories: list[LayerHistory]) -> None:
        self.history_: Any = histories

    def _check_params(self) -> None:
        sizes = self._hidden_sizes()
        if not sizes:
            raise ConfigError(f"{type(self).__name__} needs at least one hidden layer")
        for name in ("n_iter", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        lr = self.learning_rate
        if lr is not None and (
            isinstance(lr, bool) or not isinstance(lr, (int, float, np.number)) or not lr > 0
        ):
            raise ConfigError(f"learning_rate must be > 0 or None (the learner's default), got {lr!r}")
        if self.dtype not in DTYPES:
            raise unknown_name("dtype", self.dtype, DTYPES)
        if self.backend not in ("auto", "numpy", "torch"):
            raise unknown_name("backend", self.backend, ("auto", "numpy", "torch"))
        check_callbacks(self)
        check_checkpoint_dir(self)
        self._check_own_params()

    def _validate(self, X: Any, reset: bool) -> tuple[Array, Any]:
        """Checked ``X`` (NumPy or tensor) and how to return results (as the BP estimators)."""
        if _is_torch(X):
            X = check_matrix(X.detach(), "X")
            validate_data(self, X, skip_check_array=True, reset=reset)
            return X, ("torch", X.device)
        dtypes = [np.float32, np.float64] if self.dtype == "float32" else [np.float64, np.float32]
        X = validate_data(self, X, reset=reset, dtype=dtypes)
        return X, ("numpy", X.dtype)

    def _input(self, X: Any) -> tuple[Array, Any]:
        """Validated ``X`` in the network's namespace, dtype and device, and how to return."""
        check_is_fitted(self, "network_")
        X, like = self._validate(X, reset=False)
        net = self.network_
        V = to_network(X, net.xp, net.dtype, net.device)
        self._check_range(V)
        return V, like

    def _check_range(self, V: Array) -> None:
        return None

    def _like_network(self) -> Any:
        net = self.network_
        return ("torch", net.device) if _is_torch(net.layers[0].W) else ("numpy", None)

    # using the stack --------------------------------------------------------------------------
    def transform(self, X: Any) -> Any:
        """The top layer's mean activations, shape (n_samples, hidden_sizes[-1])."""
        V, like = self._input(X)
        return _returned(self.network_.predict(V), like)

    def to_network(self) -> Network:
        """A copy of the stack as a :class:`Network` of Dense layers (input first).

        Its layers can start a deeper network that BP fine-tunes, e.g.
        ``Network([*dbn.to_network().layers, Dense(W_out, b_out, "softmax")])``.
        """
        check_is_fitted(self, "network_")
        return self.network_.copy()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        assert tags.transformer_tags is not None
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    # saving -----------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted stack to a safetensors model file (see :mod:`weightwise.io`).

        The file holds the layers, the learners' own arrays (visible biases, Gaussian variances)
        and JSON metadata: ``get_params()``, the learner per layer, the pre-training history.
        """
        from ..io import save_network

        check_is_fitted(self, "network_")
        names = getattr(self, "feature_names_in_", None)
        meta = {
            "estimator": type(self).__name__,
            "params": {k: _jsonable(v) for k, v in self.get_params().items() if k not in UNSAVED_PARAMS},
            "n_features_in": self.n_features_in_,
            "feature_names_in": None if names is None else [str(n) for n in names],
            "learners": list(self._names),
            "states": [learner_state(learner) for learner in self.learners_],
            "history": [h.to_dict() for h in self._histories()],
        }
        extras = PretrainResult(self.learners_, [], [], []).extra_arrays()
        return save_network(self.network_, path, metadata=meta, extra_arrays=extras)

    def _histories(self) -> list[LayerHistory]:
        return list(self.history_)

    @classmethod
    def load(cls, path: str | os.PathLike[str], backend: str = "numpy", device: Any = None) -> Any:
        """Read a stack written by :meth:`save`; its learners can reconstruct and sample again.

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
        if isinstance(params.get("hidden_layer_sizes"), list):
            params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
        est = cls(**params)
        est.network_ = net
        est.n_features_in_ = int(meta["n_features_in"])
        if meta.get("feature_names_in") is not None:
            est.feature_names_in_ = np.asarray(meta["feature_names_in"], dtype=object)
        est._rng = Random(check_random_state(est.random_state))
        names, params_per_layer = est._plan(net, None)
        names = list(meta["learners"])
        learners = []
        for k, (name, state) in enumerate(zip(names, meta["states"], strict=True)):
            spec = LEARNERS[name]
            kwargs = {**spec.defaults, **params_per_layer[k], **state, "batch_size": est.batch_size}
            learners.append(spec.build(net.layers[k], seed=est._rng, **kwargs))
        PretrainResult(learners, [], names, []).load_extra_arrays(extras)
        histories = [LayerHistory.from_dict(h) for h in meta["history"]]
        for learner, history in zip(learners, histories, strict=True):
            if hasattr(learner, "history_"):
                learner.history_ = history
        est.learners_ = learners
        est._names = names
        est._set_history(histories)
        return est


@contextmanager
def _naming_learning_rate() -> Iterator[None]:
    """Re-raise a learner's divergence with the transformers' parameter, ``learning_rate``."""
    try:
        yield
    except LayerDivergenceError as exc:
        raise exc.with_setting("learning_rate").with_traceback(exc.__traceback__) from None


def _check_sizes(sizes: Any) -> list[int]:
    seq = [sizes] if isinstance(sizes, (int, np.integer)) else sizes
    if (
        isinstance(seq, str)
        or not hasattr(seq, "__len__")
        or len(seq) == 0
        or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in seq)
    ):
        raise ConfigError(
            f"hidden_layer_sizes must be a non-empty tuple of positive ints such as (256, 256), "
            f"got {sizes!r}"
        )
    return [int(s) for s in seq]
