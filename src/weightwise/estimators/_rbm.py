"""The RBM transformers: :class:`RBM` (one layer) and :class:`DBN` (a greedy stack of RBMs)."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar

from sklearn.utils.validation import check_is_fitted

from ..checks import check_cd_k, check_positive_int, in_unit_interval
from ..errors import DataError, unknown_name
from ..layerwise.greedy import PROPAGATIONS, _bind
from ..layerwise.history import LayerHistory
from ..net.backend import Array, namespace
from ..net.network import Network
from . import _constraints as constraints
from ._inputs import like_network, returned
from ._params import check_hidden_sizes
from ._transformer import _LayerwiseTransformer, _naming_learning_rate

__all__ = ["DBN", "RBM"]


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
    checkpoint_dir : str or path, optional
        Back up the training state in this folder after every epoch of every layer; when ``fit``
        is interrupted (Ctrl-C, a crash), calling ``fit`` again with the same data and settings
        continues from the last finished epoch, as Keras's ``BackupAndRestore`` does. A ``fit``
        that finishes removes its backup. ``partial_fit`` ignores it.
"""


@dataclass(eq=False, repr=False)
class _RBMStack(_LayerwiseTransformer):
    """What RBM and DBN share: RBM learners and their settings."""

    _parameter_constraints: ClassVar[dict[str, Any]] = constraints.RBM_STACK

    _: KW_ONLY
    cd_k: int = 1
    persistent: bool = False
    momentum: float = 0.5
    final_momentum: float = 0.9
    weight_cost: float = 2e-4
    visible: str = "bernoulli"
    monitor_size: int = 256

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
        if self.visible == "bernoulli" and not in_unit_interval(V):
            xp = namespace(V)
            raise DataError(
                f"X has values in [{float(xp.min(V)):g}, {float(xp.max(V)):g}] but Bernoulli "
                "visible units take values in [0, 1] (binary, or probabilities); scale the data "
                "(e.g. pixels / 255; after scikit-learn's MinMaxScaler, new data beyond the "
                "training range leaves [0, 1]: use MinMaxScaler(clip=True)), or standardise it "
                "and use visible='gaussian'"
            )

    def _check_own_params(self) -> None:
        if self.visible not in self.visible_kinds:
            raise unknown_name("visible unit kind", self.visible, self.visible_kinds)
        check_cd_k(self.cd_k)


@dataclass(eq=False, repr=False)
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

    n_components: int = 256

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **constraints.RBM_STACK,
        "n_components": [constraints.Interval(constraints.Integral, 1, None, closed="left")],
    }

    def _hidden_sizes(self) -> list[int]:
        return [check_positive_int(self.n_components, "n_components")]

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
        callbacks = [_bind(cb, 1, 1, self._names[0], 1) for cb in self.callbacks or ()]
        with _naming_learning_rate():
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
            return returned(-self.rbm_.free_energy(V), like)
        return returned(self.rbm_.score_samples(V), like)

    def gibbs(self, X: Any) -> Any:
        """One Gibbs step ``v -> h -> v'`` from each row: the visible samples, shape (n, n_features)."""
        V, like = self._input(X)
        return returned(self.rbm_.gibbs_vhv(V)[3], like)

    def reconstruct(self, X: Any) -> Any:
        """Mean-field reconstruction ``E[v | p(h | v)]``, shape (n_samples, n_features)."""
        V, like = self._input(X)
        return returned(self.rbm_.propdown(self.rbm_.propup(V)), like)

    def sample(self, n_samples: int, gibbs_steps: int = 1000) -> Any:
        """``n_samples`` visible samples after ``gibbs_steps`` steps of independent Gibbs chains.

        Returns an array of the network's library, shape (n_samples, n_features).
        """
        check_is_fitted(self, "network_")
        return returned(self.rbm_.sample(n_samples, gibbs_steps), like_network(self.network_))


@dataclass(eq=False, repr=False)
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

    hidden_layer_sizes: tuple[int, ...] = (256, 256)
    _: KW_ONLY
    propagate: str = "mean"

    _parameter_constraints: ClassVar[dict[str, Any]] = {
        **constraints.RBM_STACK,
        "hidden_layer_sizes": constraints.SIZES,
        "propagate": [str],
    }

    def _hidden_sizes(self) -> list[int]:
        return check_hidden_sizes(self.hidden_layer_sizes, allow_empty=False)

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
        return returned(h, like_network(self.network_))
