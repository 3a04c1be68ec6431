"""The weights both methods adjust: :class:`Dense` layers in a :class:`Network`.

Back-propagation adjusts these arrays back to front; greedy pre-training fills them front to back
with learners that hold references to the *same* arrays (no copies). Every update is therefore made
in place, and :meth:`Network.set_weights` copies into the existing arrays rather than replacing them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import check_network_size
from ..errors import ConfigError, DataError
from .activations import Activation, get_activation
from .backend import (
    Array,
    Random,
    asarray,
    check_device,
    check_random,
    dtype_name,
    namespace,
    resolve_backend,
    resolve_dtype,
    to_numpy,
)
from .backend import device as array_device
from .initializers import Init, get_initializer
from .inplace import affine
from .validation import check_matrix, check_shapes


class Dense:
    """A fully connected layer ``a = f(x @ W + b)``.

    Parameters
    ----------
    W : array of shape (n_in, n_out)
        Weights; row ``i`` holds the outgoing weights of input unit ``i``.
    b : array of shape (n_out,)
        Biases.
    activation : str or Activation
        The layer's activation function.
    """

    def __init__(self, W: Array, b: Array, activation: str | Activation = "sigmoid") -> None:
        if len(W.shape) != 2 or len(b.shape) != 1 or b.shape[0] != W.shape[1]:
            raise DataError(
                f"Dense needs W of shape (n_in, n_out) and b of shape (n_out,), "
                f"got {tuple(W.shape)} and {tuple(b.shape)}"
            )
        self.W = W
        self.b = b
        self.activation = get_activation(activation)

    @property
    def n_in(self) -> int:
        return int(self.W.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.W.shape[1])

    def preactivation(self, x: Array) -> Array:
        """``z = x @ W + b`` of shape (n_samples, n_out), in one pass (:func:`~.inplace.affine`)."""
        return affine(x, self.W, self.b)

    def __call__(self, x: Array) -> Array:
        return self.activation.fn(self.preactivation(x))

    def __repr__(self) -> str:
        return f"Dense({self.n_in} -> {self.n_out}, {self.activation.name})"


@dataclass
class Forward:
    """What the forward pass keeps for back-propagation.

    Attributes
    ----------
    zs : list of arrays
        ``zs[l]`` is layer ``l``'s pre-activation, shape (n_samples, n_out_l).
    activations : list of arrays
        ``activations[0]`` is the input; ``activations[l + 1]`` is layer ``l``'s output.
    """

    zs: list[Array]
    activations: list[Array]

    @property
    def output(self) -> Array:
        return self.activations[-1]


class Network:
    """A feed-forward network of :class:`Dense` layers.

    Parameters
    ----------
    layers : sequence of Dense
        Consecutive layers; ``layers[l].n_out == layers[l + 1].n_in``. All arrays share one
        namespace, dtype and device.
    """

    def __init__(self, layers: Sequence[Dense]) -> None:
        if not layers:
            raise ConfigError("a Network needs at least one layer")
        for l, (lower, upper) in enumerate(zip(layers[:-1], layers[1:], strict=False)):
            if lower.n_out != upper.n_in:
                raise ConfigError(
                    f"layer {l + 1} has {lower.n_out} outputs but layer {l + 2} expects "
                    f"{upper.n_in} inputs"
                )
        self.layers = list(layers)

    # construction -----------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        sizes: Sequence[int],
        activation: str | Sequence[str] = "sigmoid",
        output_activation: str | None = None,
        init: str | Init = "xavier_uniform",
        seed: int | Random | np.random.Generator | None = None,
        dtype: Any = "float32",
        backend: str = "numpy",
        device: Any = None,
    ) -> Network:
        """Build a network with freshly initialised weights.

        Parameters
        ----------
        sizes : sequence of int
            Layer widths from input to output, e.g. ``(2, 4, 1)`` for the textbook XOR net.
        activation : str or sequence of str
            Hidden-layer activation, one for all or one per hidden layer.
        output_activation : str, optional
            Output activation; defaults to ``activation`` (the last one given).
        init : str or callable
            Initialiser name (see :mod:`weightwise.net.initializers`) or callable.
        seed : int, Random, Generator or None
            Source of the initial weights.
        dtype : {"float32", "float64"}
        backend : {"numpy", "torch"}
        device : str, optional
            PyTorch device (``"cpu"``, ``"cuda"``).
        """
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2:
            raise ConfigError(f"sizes needs at least an input and an output size, got {sizes}")
        if any(s < 1 for s in sizes):
            raise ConfigError(f"every layer size must be >= 1, got {sizes}")
        check_network_size(sizes, dtype)
        n_hidden = len(sizes) - 2
        if isinstance(activation, str):
            hidden = [activation] * n_hidden
        else:
            hidden = list(activation)
            if len(hidden) != n_hidden:
                raise ConfigError(
                    f"{len(hidden)} activations given for {n_hidden} hidden layers; give one "
                    "for all or one per hidden layer"
                )
        if output_activation is None:
            output_activation = activation if isinstance(activation, str) else "sigmoid"
        names = hidden + [output_activation]
        acts = [get_activation(a) for a in names]  # validate names before drawing
        check_device(backend, device)
        xp = resolve_backend(backend)
        dt = resolve_dtype(dtype, xp)
        rng = check_random(seed)
        initializer = get_initializer(init)
        layers = []
        for n_in, n_out, act in zip(sizes[:-1], sizes[1:], acts, strict=True):
            W, b = initializer(n_in, n_out, rng)
            layers.append(Dense(asarray(W, xp, dt, device), asarray(b, xp, dt, device), act))
        return cls(layers)

    # properties -------------------------------------------------------------------------------
    @property
    def xp(self) -> Any:
        return namespace(self.layers[0].W)

    @property
    def dtype(self) -> Any:
        return self.layers[0].W.dtype

    @property
    def device(self) -> Any:
        return array_device(self.layers[0].W)

    @property
    def sizes(self) -> list[int]:
        return [self.layers[0].n_in] + [layer.n_out for layer in self.layers]

    @property
    def activation_names(self) -> list[str]:
        return [layer.activation.name for layer in self.layers]

    @property
    def n_params(self) -> int:
        return sum(layer.n_in * layer.n_out + layer.n_out for layer in self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def parameters(self) -> list[Array]:
        """The arrays themselves, ``[W1, b1, W2, b2, ...]`` (not copies)."""
        return [p for layer in self.layers for p in (layer.W, layer.b)]

    # passes -----------------------------------------------------------------------------------
    def forward(self, X: Array) -> Forward:
        """Forward pass keeping every ``z`` and activation for back-propagation.

        Parameters
        ----------
        X : array of shape (n_samples, n_in)
        """
        zs: list[Array] = []
        activations = [X]
        a = X
        for layer in self.layers:
            z = layer.preactivation(a)
            a = layer.activation.fn(z)
            zs.append(z)
            activations.append(a)
        return Forward(zs, activations)

    def predict(self, X: Array) -> Array:
        """Output activations, shape (n_samples, n_out); keeps nothing for backprop.

        Raises
        ------
        DataError
            For input that is not a non-empty numeric matrix, or holds NaN or infinite values
            (which would come out as NaN predictions without a word).
        """
        return self.transform(check_matrix(X, "X"), len(self.layers))

    def transform(self, X: Array, n_layers: int) -> Array:
        """Output of the first ``n_layers`` layers (the input for ``n_layers == 0``)."""
        check_shapes(X, None, self.sizes[0], None)
        a = X
        for layer in self.layers[:n_layers]:
            a = layer(a)
        return a

    # weights ----------------------------------------------------------------------------------
    def get_weights(self) -> list[np.ndarray]:
        """Copies of ``[W1, b1, ...]`` as NumPy arrays."""
        return [np.array(to_numpy(p), copy=True) for p in self.parameters()]

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Copy ``weights`` into the existing arrays, in place (sharing learners see it)."""
        params = self.parameters()
        if len(weights) != len(params):
            raise DataError(f"expected {len(params)} arrays, got {len(weights)}")
        for i, (p, w) in enumerate(zip(params, weights, strict=True)):
            if tuple(w.shape) != tuple(p.shape):
                raise DataError(
                    f"array {i} has shape {tuple(w.shape)}, the network expects {tuple(p.shape)}"
                )
            p[...] = asarray(to_numpy(w), self.xp, p.dtype, self.device)

    def copy(self) -> Network:
        """A deep copy (new arrays, same namespace, dtype and device)."""
        xp = self.xp
        return Network(
            [
                Dense(xp.asarray(layer.W, copy=True), xp.asarray(layer.b, copy=True), layer.activation)
                for layer in self.layers
            ]
        )

    def to(self, backend: str = "numpy", dtype: Any = None, device: Any = None) -> Network:
        """A copy on another backend, dtype or device."""
        xp = resolve_backend(backend)
        dt = resolve_dtype(dtype if dtype is not None else dtype_name(self.dtype), xp)
        return Network(
            [
                Dense(
                    asarray(np.array(to_numpy(layer.W)), xp, dt, device),
                    asarray(np.array(to_numpy(layer.b)), xp, dt, device),
                    layer.activation,
                )
                for layer in self.layers
            ]
        )

    def summary(self) -> str:
        """A plain-text table of layers, shapes and parameter counts."""
        rows = [f"Network {'-'.join(str(s) for s in self.sizes)} ({dtype_name(self.dtype)})"]
        for l, layer in enumerate(self.layers, 1):
            n = layer.n_in * layer.n_out + layer.n_out
            rows.append(
                f"  layer {l}: {layer.n_in:>5} -> {layer.n_out:<5} {layer.activation.name:<11} "
                f"{n:>10,} parameters"
            )
        rows.append(f"  total: {self.n_params:,} parameters")
        return "\n".join(rows)

    def __repr__(self) -> str:
        acts = ",".join(self.activation_names)
        return f"Network(sizes={self.sizes}, activations=[{acts}], dtype={dtype_name(self.dtype)})"
