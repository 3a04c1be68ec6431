"""The stacked (denoising) auto-encoder transformer, :class:`StackedAutoEncoder`."""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Any, ClassVar

from sklearn.utils.validation import check_is_fitted

from ..checks import check_fraction
from ..errors import ConfigError, unknown_name
from ..net.backend import Array
from ..net.network import Network
from ..net.validation import check_matrix, to_network
from . import _constraints as constraints
from ._inputs import is_torch, returned
from ._params import check_hidden_sizes
from ._pretrain import unit_input
from ._transformer import _LayerwiseTransformer

__all__ = ["StackedAutoEncoder"]


@dataclass(eq=False, repr=False)
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
    checkpoint_dir : str or path, optional
        Back up the training state in this folder after every epoch of every layer; when ``fit``
        is interrupted (Ctrl-C, a crash), calling ``fit`` again with the same data and settings
        continues from the last finished epoch, as Keras's ``BackupAndRestore`` does. A ``fit``
        that finishes removes its backup. ``partial_fit`` ignores it.

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
    _parameter_constraints: ClassVar[dict[str, Any]] = constraints.SAE

    hidden_layer_sizes: tuple[int, ...] = (256, 256)
    _: KW_ONLY
    activation: str = "sigmoid"
    corruption: float = 0.0
    loss: str | None = None
    weight_decay: float = 0.0

    def _hidden_sizes(self) -> list[int]:
        return check_hidden_sizes(self.hidden_layer_sizes, allow_empty=False)

    def _activation(self) -> str:
        return str(self.activation)

    def _check_own_params(self) -> None:
        check_fraction(self.corruption, "corruption")
        if self.loss not in (None, "cross_entropy", "squared_error"):
            raise unknown_name("loss", self.loss, ("cross_entropy", "squared_error"))

    def _plan(self, net: Network, V: Array | None) -> tuple[list[str], list[dict[str, Any]]]:
        name = "denoising" if self.corruption > 0 else "autoencoder"
        names, params = [], []
        for k in range(len(net.layers)):
            loss = self.loss or ("cross_entropy" if unit_input(net, V, k) else "squared_error")
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
        if is_torch(H):
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
        return returned(H, like)

    def reconstruct(self, X: Any) -> Any:
        """``inverse_transform(transform(X))``: encode up, decode down, shape of ``X``."""
        V, like = self._input(X)
        H = self.network_.predict(V)
        for learner in reversed(self.learners_):
            H = learner.decode(H)
        return returned(H, like)
