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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import ConfigError, DataError, ModelFileError, unknown_name
from ..layerwise.greedy import LEARNERS, PROPAGATIONS, PretrainResult, _bind, pretrain
from ..layerwise.history import LayerHistory
from ..net.backend import DTYPES, Array, Random, namespace
from ..net.network import Network
from ..net.validation import check_matrix, to_network
from ._base import _BaseBP, _is_torch
from ._pretrain import UNSAVED_PARAMS, check_callbacks, learner_state

__all__ = ["DBN", "RBM", "StackedAutoEncoder"]

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
        )
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


_RBM_PARAM_DOC = """
    learning_rate : float, optional
        Step size per mini-batch; by default 0.1 (Bernoulli visible units) or 0.01 (Gaussian).
    batch_size : int, default=10
        Mini-batch size (scikit-learn's BernoulliRBM uses 10; Hinton's guide 10 to 100).
    n_iter : int, default=10
        Epochs (per layer, for a DBN).
    cd_k : int, default=1
        Gibbs steps per update (CD-k, Hinton 2002).
    persistent : bool, default=False
        Persistent contrastive divergence (Tieleman 2008).
    momentum, final_momentum : float, default=0.5, 0.9
        Momentum for the first 5 epochs and after (Hinton's guide, section 9).
    weight_cost : float, default=2e-4
        L2 cost on the weights (Hinton's guide, section 10).
    visible : {"bernoulli", "gaussian"}, default="bernoulli"
        Bernoulli visible units need data in [0, 1] (binary, or probabilities such as grey
        levels); data outside raises a DataError, never silently clipped. Gaussian units (unit
        variance) take real-valued, standardised data.
    monitor_size : int, default=256
        Training rows on which each epoch's pseudo-likelihood (and free-energy gap) is recorded
        in ``history_``; 0 switches that monitoring off (it can cost more than an epoch on
        small data).
    random_state : int, RandomState or None, default=None
        Seeds the weights, the Gibbs sampling and the shuffling.
    dtype : {"float32", "float64"}, default="float32"
    backend : {"auto", "numpy", "torch"}, default="auto"
        ``"auto"`` follows the input (PyTorch tensors train in PyTorch).
    device : str, optional
        PyTorch device.
    callbacks : sequence of callables, optional
        Called after each epoch of each layer with a
        :class:`~weightwise.layerwise.greedy.PretrainEpochInfo` (a progress bar, say); returning
        True moves up to the next layer. Not saved by :meth:`save`.
"""


class _RBMStack(_LayerwiseTransformer):
    """What RBM and DBN share: RBM learners and their settings."""

    visible_kinds = ("bernoulli", "gaussian")

    def _rbm_params(self) -> dict[str, Any]:
        params: dict[str, Any] = dict(
            cd_k=self.cd_k,
            persistent=self.persistent,
            momentum=self.momentum,
            final_momentum=self.final_momentum,
            weight_cost=self.weight_cost,
            monitor_size=self.monitor_size,
        )
        if self.learning_rate is not None:
            params["learning_rate"] = float(self.learning_rate)
        return params

    def _plan(self, net: Network, V: Array | None) -> tuple[list[str], list[dict[str, Any]]]:
        n = len(net.layers)
        if V is not None:
            self._check_range(V)
        first = "rbm" if self.visible == "bernoulli" else "gaussian_rbm"
        # Above the first layer the visible units are the sigmoid means of the layer below.
        return [first] + ["rbm"] * (n - 1), [self._rbm_params() for _ in range(n)]

    def _check_range(self, V: Array) -> None:
        if self.visible == "bernoulli" and not _in_unit_interval(V):
            xp = namespace(V)
            raise DataError(
                f"X has values in [{float(xp.min(V)):g}, {float(xp.max(V)):g}] but Bernoulli "
                "visible units take values in [0, 1] (binary, or probabilities); scale the data "
                "(e.g. pixels / 255), or standardise it and use visible='gaussian'"
            )

    def _check_own_params(self) -> None:
        if self.visible not in self.visible_kinds:
            raise unknown_name("visible unit kind", self.visible, self.visible_kinds)
        cd_k = self.cd_k
        if isinstance(cd_k, bool) or not isinstance(cd_k, (int, np.integer)) or cd_k < 1:
            raise ConfigError(f"cd_k must be an integer >= 1 (Gibbs steps per update), got {cd_k!r}")


class RBM(_RBMStack):
    __doc__ = f"""Restricted Boltzmann machine as a scikit-learn transformer (CD-k or PCD).

    A wrapper around :class:`~weightwise.layerwise.rbm.BernoulliRBM` (or ``GaussianRBM``) whose
    weights are the one sigmoid layer of ``network_``. Hinton's recipe by default: weights from
    N(0, 0.01**2), momentum 0.5 then 0.9, weight cost 2e-4 (Hinton 2010, "A Practical Guide to
    Training Restricted Boltzmann Machines").

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.{_RBM_PARAM_DOC}
    Attributes
    ----------
    components_ : array of shape (n_components, n_features)
        Weights (``network_.layers[0].W.T``, a live view).
    intercept_hidden_ : array of shape (n_components,)
    intercept_visible_ : array of shape (n_features,)
    history_ : LayerHistory
        Per epoch, over all ``fit``/``partial_fit`` calls: reconstruction error, pseudo-likelihood
        per unit, seconds, learning rate.
    rbm_ : BernoulliRBM or GaussianRBM
        The learner (``learners_[0]``).
    network_ : Network
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from weightwise.estimators import RBM
    >>> X = (np.random.default_rng(0).random((100, 6)) < 0.3).astype("float32")
    >>> rbm = RBM(n_components=4, n_iter=2, random_state=0).fit(X)
    >>> rbm.transform(X).shape
    (100, 4)
    """

    def __init__(
        self,
        n_components: int = 256,
        *,
        learning_rate: float | None = None,
        batch_size: int = 10,
        n_iter: int = 10,
        cd_k: int = 1,
        persistent: bool = False,
        momentum: float = 0.5,
        final_momentum: float = 0.9,
        weight_cost: float = 2e-4,
        visible: str = "bernoulli",
        monitor_size: int = 256,
        random_state: Any = None,
        dtype: str = "float32",
        backend: str = "auto",
        device: Any = None,
        callbacks: Sequence[Any] | None = None,
    ) -> None:
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.cd_k = cd_k
        self.persistent = persistent
        self.momentum = momentum
        self.final_momentum = final_momentum
        self.weight_cost = weight_cost
        self.visible = visible
        self.monitor_size = monitor_size
        self.random_state = random_state
        self.dtype = dtype
        self.backend = backend
        self.device = device
        self.callbacks = callbacks

    def _hidden_sizes(self) -> list[int]:
        n = self.n_components
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ConfigError(f"n_components must be a positive integer, got {n!r}")
        return [int(n)]

    def _set_history(self, histories: list[LayerHistory]) -> None:
        # The learner's own record spans every fit and partial_fit call.
        self.rbm_ = self.learners_[0]
        self.history_ = self.rbm_.history_

    def _histories(self) -> list[LayerHistory]:
        return [self.history_]

    @property
    def components_(self) -> Array:
        check_is_fitted(self, "network_")
        return self.network_.layers[0].W.T

    @property
    def intercept_hidden_(self) -> Array:
        check_is_fitted(self, "network_")
        return self.network_.layers[0].b

    @property
    def intercept_visible_(self) -> Array:
        check_is_fitted(self, "network_")
        return self.rbm_.b_visible

    def partial_fit(self, X: Any, y: Any = None) -> RBM:
        """One epoch of CD over ``X`` (in mini-batches), continuing from the current weights.

        The first call builds the RBM. Momentum and learning-rate schedules count these epochs.
        """
        if not hasattr(self, "network_"):
            return self._fit(X, 1)  # type: ignore[no-any-return]
        V, _ = self._input(X)
        callbacks = [_bind(cb, 1, 1, self._names[0]) for cb in self.callbacks or ()]
        self.rbm_.fit(V, epochs=1, callbacks=callbacks)
        return self

    def score_samples(self, X: Any) -> Any:
        """Per-sample fit: the exact log pseudo-likelihood (Bernoulli visible units), shape (n,).

        ``sum_i log p(v_i | v_-i)`` over *all* visible units (scikit-learn's BernoulliRBM
        estimates it from one random unit). For Gaussian visible units the pseudo-likelihood is
        not computed; the score is then ``-F(v)``, the log-density up to the constant ``log Z``.
        """
        V, like = self._input(X)
        if self.visible == "gaussian":
            return _returned(-self.rbm_.free_energy(V), like)
        return _returned(self.rbm_.score_samples(V), like)

    def gibbs(self, X: Any) -> Any:
        """One Gibbs step ``v -> h -> v'`` from each row: the visible samples, shape (n, n_features)."""
        V, like = self._input(X)
        return _returned(self.rbm_.gibbs_vhv(V)[3], like)

    def reconstruct(self, X: Any) -> Any:
        """Mean-field reconstruction ``E[v | p(h | v)]``, shape (n_samples, n_features)."""
        V, like = self._input(X)
        return _returned(self.rbm_.propdown(self.rbm_.propup(V)), like)

    def sample(self, n_samples: int, gibbs_steps: int = 1000) -> Any:
        """``n_samples`` visible samples after ``gibbs_steps`` steps of independent Gibbs chains.

        Returns an array of the network's library, shape (n_samples, n_features).
        """
        check_is_fitted(self, "network_")
        return _returned(self.rbm_.sample(n_samples, gibbs_steps), self._like_network())


class DBN(_RBMStack):
    __doc__ = f"""Deep belief net: a stack of RBMs trained greedily (Hinton, Osindero and Teh 2006).

    Layer 1 is an RBM on the data (Bernoulli or Gaussian visible units), each layer above a
    Bernoulli RBM on the sigmoid means (or samples) of the layer below. The stack is a
    :class:`Network` of sigmoid Dense layers (``network_``, :meth:`to_network`) whose arrays the
    RBMs share, so it can start a network that BP fine-tunes; ``BPClassifier(pretrain="rbm")``
    runs that whole pipeline.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 256)
        Hidden units per layer, input side first.
    propagate : {{"mean", "sample"}}, default="mean"
        What each trained layer passes up: mean activations, or their Bernoulli samples.{_RBM_PARAM_DOC}
    Attributes
    ----------
    learners_ : list of BernoulliRBM or GaussianRBM
        ``learners_[k]`` holds ``network_.layers[k]``'s ``W`` and ``b``.
    history_ : list of LayerHistory
        Per layer, per epoch.
    network_ : Network
    n_features_in_ : int
    """

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] = (256, 256),
        *,
        learning_rate: float | None = None,
        batch_size: int = 10,
        n_iter: int = 10,
        cd_k: int = 1,
        persistent: bool = False,
        momentum: float = 0.5,
        final_momentum: float = 0.9,
        weight_cost: float = 2e-4,
        visible: str = "bernoulli",
        propagate: str = "mean",
        monitor_size: int = 256,
        random_state: Any = None,
        dtype: str = "float32",
        backend: str = "auto",
        device: Any = None,
        callbacks: Sequence[Any] | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.cd_k = cd_k
        self.persistent = persistent
        self.momentum = momentum
        self.final_momentum = final_momentum
        self.weight_cost = weight_cost
        self.visible = visible
        self.propagate = propagate
        self.monitor_size = monitor_size
        self.random_state = random_state
        self.dtype = dtype
        self.backend = backend
        self.device = device
        self.callbacks = callbacks

    def _hidden_sizes(self) -> list[int]:
        return _check_sizes(self.hidden_layer_sizes)

    def _propagate(self) -> str:
        if self.propagate not in PROPAGATIONS:
            raise unknown_name("propagation", self.propagate, PROPAGATIONS)
        return str(self.propagate)

    def sample(self, n_samples: int, gibbs_steps: int = 1000) -> Any:
        """Draw from the DBN: Gibbs sampling in the top RBM, then one pass down.

        The top RBM's chains run ``gibbs_steps`` steps; its hidden states are then sampled once
        more and passed down through the lower RBMs' ``p(v | h)``, with binary samples between
        layers (the DBN's directed generative model).

        Returns
        -------
        array of shape (n_samples, n_features)
            The bottom layer's conditional means (pixel probabilities, or Gaussian means), in the
            network's library.
        """
        check_is_fitted(self, "network_")
        learners = self.learners_
        v_top = learners[-1].sample(n_samples, gibbs_steps)
        h = learners[-1].sample_h_given_v(v_top)[1]
        for k in range(len(learners) - 1, -1, -1):
            mean, v = learners[k].sample_v_given_h(h)
            h = mean if k == 0 else v
        return _returned(h, self._like_network())


class StackedAutoEncoder(_LayerwiseTransformer):
    """Stacked (denoising) auto-encoders with tied weights (Bengio et al. 2007; Vincent et al. 2010).

    Each layer is an :class:`~weightwise.layerwise.autoencoder.AutoEncoder` trained on the codes
    of the layer below. Inputs in [0, 1] get a cross-entropy loss (sigmoid decoder) and momentum
    SGD; real-valued inputs a squared error (linear decoder) and Adam.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 256)
    activation : str, default="sigmoid"
        Hidden activation of every layer (any elementwise activation).
    corruption : float in [0, 1), default=0.0
        Masking-noise level; above 0 each layer is a denoising auto-encoder (Vincent et al. 2010
        found 0.1 to 0.4 best on MNIST-like data).
    loss : {"cross_entropy", "squared_error"}, optional
        Reconstruction loss of every layer; by default chosen per layer from its input's range.
    learning_rate : float, optional
        By default 0.1 (momentum SGD, inputs in [0, 1]) or 0.001 (Adam, real-valued inputs).
    batch_size : int, default=10
    n_iter : int, default=10
        Epochs per layer.
    weight_decay : float, default=0.0
        L2 penalty on the weights.
    random_state : int, RandomState or None
    dtype : {"float32", "float64"}, default="float32"
    backend : {"auto", "numpy", "torch"}, default="auto"
    device : str, optional
    callbacks : sequence of callables, optional
        Per-epoch callbacks, as for :class:`DBN`.

    Attributes
    ----------
    learners_ : list of AutoEncoder
        ``learners_[k]`` holds ``network_.layers[k]``'s ``W`` and ``b`` plus its decoder bias.
    history_ : list of LayerHistory
        Per layer, per epoch: the training reconstruction loss.
    network_ : Network
    n_features_in_ : int
    """

    _init = "xavier_uniform"

    def __init__(
        self,
        hidden_layer_sizes: tuple[int, ...] = (256, 256),
        *,
        activation: str = "sigmoid",
        corruption: float = 0.0,
        loss: str | None = None,
        learning_rate: float | None = None,
        batch_size: int = 10,
        n_iter: int = 10,
        weight_decay: float = 0.0,
        random_state: Any = None,
        dtype: str = "float32",
        backend: str = "auto",
        device: Any = None,
        callbacks: Sequence[Any] | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.corruption = corruption
        self.loss = loss
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.weight_decay = weight_decay
        self.random_state = random_state
        self.dtype = dtype
        self.backend = backend
        self.device = device
        self.callbacks = callbacks

    def _hidden_sizes(self) -> list[int]:
        return _check_sizes(self.hidden_layer_sizes)

    def _activation(self) -> str:
        return str(self.activation)

    def _check_own_params(self) -> None:
        c = self.corruption
        if isinstance(c, bool) or not isinstance(c, (int, float, np.number)) or not 0 <= c < 1:
            raise ConfigError(f"corruption must be in [0, 1), got {c!r}")
        if self.loss not in (None, "cross_entropy", "squared_error"):
            raise unknown_name("loss", self.loss, ("cross_entropy", "squared_error"))

    def _plan(self, net: Network, V: Array | None) -> tuple[list[str], list[dict[str, Any]]]:
        name = "denoising" if self.corruption > 0 else "autoencoder"
        names, params = [], []
        for k in range(len(net.layers)):
            if V is None:  # loading: the saved state says the loss
                unit = True
            elif k == 0:
                unit = _in_unit_interval(V)
            else:
                bounds = net.layers[k - 1].activation.bounds
                unit = bounds is not None and bounds[0] >= 0.0 and bounds[1] <= 1.0
            loss = self.loss or ("cross_entropy" if unit else "squared_error")
            # Cross-entropy on [0, 1] inputs trains well by momentum SGD; squared error on
            # unbounded inputs needs Adam, whose step does not grow with the input's scale.
            p: dict[str, Any] = dict(
                corruption=float(self.corruption),
                loss=loss,
                optimizer="sgd" if loss == "cross_entropy" else "adam",
                weight_decay=float(self.weight_decay),
            )
            p["learning_rate"] = (
                float(self.learning_rate)
                if self.learning_rate is not None
                else (0.1 if loss == "cross_entropy" else 0.001)
            )
            names.append(name)
            params.append(p)
        return names, params

    def inverse_transform(self, H: Any) -> Any:
        """Decode top-layer codes down through every layer, shape (n_samples, n_features)."""
        check_is_fitted(self, "network_")
        net = self.network_
        like: Any
        if _is_torch(H):
            H = check_matrix(H.detach(), "H")
            like = ("torch", H.device)
        else:
            H = check_matrix(H, "H")
            like = ("numpy", H.dtype if H.dtype.kind == "f" else net.dtype)
        if int(H.shape[1]) != net.sizes[-1]:
            raise ConfigError(
                f"H has {H.shape[1]} columns but the top layer has {net.sizes[-1]} units; pass "
                "codes from transform"
            )
        H = to_network(H, net.xp, net.dtype, net.device)
        for learner in reversed(self.learners_):
            H = learner.decode(H)
        return _returned(H, like)

    def reconstruct(self, X: Any) -> Any:
        """``inverse_transform(transform(X))``: encode up, decode down, shape of ``X``."""
        V, like = self._input(X)
        H = self.network_.predict(V)
        for learner in reversed(self.learners_):
            H = learner.decode(H)
        return _returned(H, like)


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
