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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ..checkpoints import remove_checkpoint
from ..checks import check_positive, check_positive_int
from ..errors import ConfigError
from ..layerwise.greedy import LEARNERS, PretrainResult, pretrain
from ..layerwise.history import LayerHistory
from ..layerwise.loop import LayerDivergenceError
from ..net.backend import Array, Random
from ..net.network import Network
from ..net.validation import to_network
from . import _constraints as constraints
from ._inputs import placement, returned, validate_input
from ._params import check_common
from ._persistence import _SavedEstimator
from ._pretrain import check_saved_learners, learner_state


# scikit-learn's contract is an __init__ that stores its arguments under their own names; the
# dataclass writes exactly that __init__, and a subclass adds its own settings to it. eq and repr
# stay scikit-learn's (identity, and the repr of the changed settings).
@dataclass(eq=False, repr=False)
class _LayerwiseTransformer(_SavedEstimator, TransformerMixin, BaseEstimator):
    """Shared machinery: the settings every stack has, validation, the greedy fit, transform, and
    the model file's contents.

    Subclasses say which learner trains each layer (:meth:`_plan`), the layers' sizes, activation
    and initialiser, and add their own settings as dataclass fields (keyword-only, after these).
    """

    _: KW_ONLY
    learning_rate: float | None = None
    batch_size: int = 10
    n_iter: int = 10
    random_state: Any = None
    dtype: str = "float32"
    backend: str = "auto"
    device: Any = None
    callbacks: Sequence[Any] | None = None
    checkpoint_dir: str | os.PathLike[str] | None = None

    _parameter_constraints: ClassVar[dict[str, Any]] = constraints.LAYERWISE
    _init = "small_normal"  # N(0, 0.01**2): Hinton's guide, section 8

    # hooks ------------------------------------------------------------------------------------
    def _hidden_sizes(self) -> list[int]:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def _activation(self) -> str:
        return "sigmoid"

    def _plan(self, net: Network, V: Array | None) -> tuple[list[str], list[dict[str, Any]]]:
        """Learner name and keyword arguments per layer (``V`` is None when loading)."""
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
        X, _ = validate_input(self, X, reset=True)
        self._rng = Random(check_random_state(self.random_state))
        sizes = [int(X.shape[1]), *self._hidden_sizes()]
        act = self._activation()
        backend, device = placement(self.backend, self.device, X)
        net = Network.create(sizes, act, act, self._init, self._rng, self.dtype, backend, device)
        V = to_network(X, net.xp, net.dtype, net.device)
        names, params = self._plan(net, V)
        folder = None if self.checkpoint_dir is None else Path(self.checkpoint_dir)
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
                checkpoint_dir=folder,
                resume=folder is not None,
            )
        if folder is not None:
            self._backup_finished()  # finished: the next fit starts afresh
        self.network_ = net
        self.learners_ = result.learners
        self._names = result.names
        self._set_history(result.histories)
        return self

    def _remove_backup(self) -> None:
        remove_checkpoint(Path(self.checkpoint_dir))  # type: ignore[arg-type]

    def _set_history(self, histories: list[LayerHistory]) -> None:
        self.history_: Any = histories

    def _histories(self) -> list[LayerHistory]:
        return list(self.history_)

    def _check_params(self, devices: bool = True) -> None:
        sizes = self._hidden_sizes()
        if not sizes:
            raise ConfigError(f"{type(self).__name__} needs at least one hidden layer")
        check_positive_int(self.n_iter, "n_iter")
        check_positive_int(self.batch_size, "batch_size")
        if self.learning_rate is not None:
            check_positive(self.learning_rate, "learning_rate")
        check_common(self, devices)
        self._check_own_params()
        constraints.validate_constraints(self)

    def _check_settings(self, devices: bool = True) -> None:
        self._check_params(devices)

    def _input(self, X: Any) -> tuple[Array, Any]:
        """Validated ``X`` in the network's namespace, dtype and device, and how to return."""
        check_is_fitted(self, "network_")
        X, like = validate_input(self, X, reset=False)
        net = self.network_
        V = to_network(X, net.xp, net.dtype, net.device)
        self._check_range(V)
        return V, like

    def _check_range(self, V: Array) -> None:
        return None

    # using the stack --------------------------------------------------------------------------
    def transform(self, X: Any) -> Any:
        """The top layer's mean activations, shape (n_samples, hidden_sizes[-1])."""
        V, like = self._input(X)
        return returned(self.network_.predict(V), like)

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

    # model files (see _persistence) ------------------------------------------------------------
    def _model_metadata(self, meta: dict[str, Any]) -> dict[str, np.ndarray]:
        meta.update(
            learners=list(self._names),
            states=[learner_state(learner) for learner in self.learners_],
            history=[h.to_dict() for h in self._histories()],
        )
        return PretrainResult(self.learners_, [], [], []).extra_arrays()

    def _restore(self, meta: dict[str, Any], extras: dict[str, np.ndarray]) -> None:
        net = self.network_
        _, params_per_layer = self._plan(net, None)
        names = check_saved_learners(meta, len(net.layers), exact=True)
        learners = []
        for k, (name, state) in enumerate(zip(names, meta["states"], strict=True)):
            spec = LEARNERS[name]
            kwargs = {**spec.defaults, **params_per_layer[k], **state, "batch_size": self.batch_size}
            learners.append(spec.build(net.layers[k], seed=self._rng, **kwargs))
        PretrainResult(learners, [], names, []).load_extra_arrays(extras)
        histories = [LayerHistory.from_dict(h) for h in meta["history"]]
        for learner, history in zip(learners, histories, strict=True):
            if hasattr(learner, "history_"):
                learner.history_ = history
        self.learners_ = learners
        self._names = names
        self._set_history(histories)


@contextmanager
def _naming_learning_rate() -> Iterator[None]:
    """Re-raise a learner's divergence with the transformers' parameter, ``learning_rate``."""
    try:
        yield
    except LayerDivergenceError as exc:
        raise exc.with_setting("learning_rate").with_traceback(exc.__traceback__) from None
