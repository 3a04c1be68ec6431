"""Activation functions, their derivatives and their vector-Jacobian products.

Every activation is an :class:`Activation` in the plain dict :data:`ACTIVATIONS`, keyed by the name a
user types. Conventions, stated once because weaker code gets them wrong:

- ``fn(z)`` maps pre-activations ``z`` of shape ``(n_samples, n_units)`` to activations ``a``.
- ``derivative(z, a)`` is the elementwise derivative ``f'(z)``; it takes *both* the input ``z`` and
  the output ``a = f(z)`` so each activation uses the cheaper one (sigmoid: ``a (1 - a)``).
- ``backward(z, a, grad_a)`` is the vector-Jacobian product ``dL/dz`` given ``dL/da``. For
  elementwise activations it is ``grad_a * f'(z)``; softmax, whose Jacobian is not diagonal, has
  ``a * (grad_a - sum(grad_a * a))`` and no elementwise derivative.

All are computed without overflow for ``|z|`` up to 1e4 and beyond.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import unknown_name
from .backend import Array, is_numpy, is_torch, namespace

LEAKY_SLOPE = 0.01


def _half_tanh_(a: np.ndarray) -> np.ndarray:
    """``0.5 tanh(a) + 0.5`` in place: the sigmoid of ``2 a`` (NumPy float32).

    NumPy's SIMD tanh is several times faster than SciPy's float32 ``expit``, and its absolute
    error (~3e-8) is float32's own resolution.
    """
    np.tanh(a, out=a)
    a *= np.float32(0.5)
    a += np.float32(0.5)
    return a


def sigmoid_(x: Array) -> Array:
    """Logistic function in place, for NumPy arrays and PyTorch tensors; returns ``x``.

    The same numbers as :func:`sigmoid`: float32 NumPy takes the tanh form, float64 SciPy's
    ``expit`` (full relative accuracy for the exact tests and tiny models).
    """
    if isinstance(x, np.ndarray):
        if x.dtype == np.float32:
            x *= np.float32(0.5)
            return _half_tanh_(x)
        from scipy.special import expit

        return expit(x, out=x)
    return x.sigmoid_()


def sigmoid(z: Array) -> Array:
    """Logistic function ``1 / (1 + exp(-z))``, stable for any ``z``."""
    xp = namespace(z)
    if is_numpy(xp):
        if z.dtype == np.float32:
            # 0.5 tanh(z / 2) + 0.5, halving z into a new array (see _half_tanh_).
            return _half_tanh_(np.multiply(z, np.float32(0.5)))
        from scipy.special import expit

        return expit(z)
    if is_torch(xp):
        import torch

        return torch.sigmoid(z)
    # exp(-|z|) never overflows; pick the algebraically equal form that avoids 1 + huge.
    e = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_derivative(z: Array, a: Array) -> Array:
    return a * (1.0 - a)


def _sigmoid_backward(z: Array, a: Array, grad_a: Array) -> Array:
    # grad * a * (1 - a) as grad * a - (grad * a) * a: two temporaries instead of three.
    out = grad_a * a
    out -= out * a
    return out


def tanh(z: Array) -> Array:
    """Hyperbolic tangent."""
    return namespace(z).tanh(z)


def _tanh_derivative(z: Array, a: Array) -> Array:
    return 1.0 - a * a


def relu(z: Array) -> Array:
    """Rectified linear unit ``max(z, 0)``."""
    xp = namespace(z)
    return xp.where(z > 0, z, xp.zeros_like(z))


def _relu_derivative(z: Array, a: Array) -> Array:
    xp = namespace(z)
    return xp.astype(z > 0, z.dtype)


def leaky_relu(z: Array) -> Array:
    """Leaky ReLU: ``z`` for ``z > 0``, ``0.01 z`` otherwise."""
    xp = namespace(z)
    return xp.where(z > 0, z, LEAKY_SLOPE * z)


def _leaky_relu_derivative(z: Array, a: Array) -> Array:
    xp = namespace(z)
    return xp.where(z > 0, xp.ones_like(z), LEAKY_SLOPE * xp.ones_like(z))


def softplus(z: Array) -> Array:
    """``log(1 + exp(z))`` computed as ``max(z, 0) + log1p(exp(-|z|))``."""
    xp = namespace(z)
    return xp.where(z > 0, z, xp.zeros_like(z)) + xp.log1p(xp.exp(-xp.abs(z)))


def _softplus_derivative(z: Array, a: Array) -> Array:
    return sigmoid(z)


def identity(z: Array) -> Array:
    """The identity; linear output units for regression."""
    return z


def _identity_derivative(z: Array, a: Array) -> Array:
    return namespace(z).ones_like(z)


def softmax(z: Array) -> Array:
    """Row-wise softmax of ``z`` with shape ``(n_samples, n_classes)``, shifted by the row max."""
    xp = namespace(z)
    if is_torch(xp):
        return z.softmax(-1)  # the same shifted form, in one fused kernel
    e = xp.exp(z - xp.max(z, axis=-1, keepdims=True))
    return e / xp.sum(e, axis=-1, keepdims=True)


def _softmax_backward(z: Array, a: Array, grad_a: Array) -> Array:
    xp = namespace(a)
    return a * (grad_a - xp.sum(grad_a * a, axis=-1, keepdims=True))


@dataclass(frozen=True)
class Activation:
    """An activation function and what back-propagation needs from it.

    Attributes
    ----------
    name : str
        Registry key.
    fn : callable
        ``fn(z) -> a``, both of shape ``(n_samples, n_units)``.
    derivative : callable or None
        ``derivative(z, a) -> f'(z)``, elementwise; ``None`` for softmax (not elementwise).
    bounds : tuple of float or None
        Range of a saturating unit (sigmoid ``(0, 1)``, tanh ``(-1, 1)``), for diagnostics.
    """

    name: str
    fn: Callable[[Array], Array]
    derivative: Callable[[Array, Array], Array] | None
    bounds: tuple[float, float] | None = None
    _backward: Callable[[Array, Array, Array], Array] | None = None
    _backward_inplace: Callable[[Array, Array, Array], Array] | None = None

    def __call__(self, z: Array) -> Array:
        return self.fn(z)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        """Vector-Jacobian product: ``dL/dz`` from ``dL/da`` (all ``(n_samples, n_units)``)."""
        if self._backward is not None:
            return self._backward(z, a, grad_a)
        assert self.derivative is not None
        return grad_a * self.derivative(z, a)

    def backward_(self, z: Array, a: Array, grad_a: Array) -> Array:
        """As :meth:`backward`, but may overwrite ``grad_a`` (a fresh array the caller owns).

        Back-propagation calls this with ``delta @ W.T``, which nothing else holds: reusing its
        memory saves an allocation and a pass per layer and batch.
        """
        if self._backward_inplace is not None:
            return self._backward_inplace(z, a, grad_a)
        return self.backward(z, a, grad_a)


def _sigmoid_backward_inplace(z: Array, a: Array, grad_a: Array) -> Array:
    grad_a *= a
    if isinstance(grad_a, np.ndarray):
        grad_a -= grad_a * a  # g a (1 - a)
    else:
        grad_a.addcmul_(grad_a, a, value=-1.0)  # the same, in one pass without a temporary
    return grad_a


def _tanh_backward_inplace(z: Array, a: Array, grad_a: Array) -> Array:
    if isinstance(grad_a, np.ndarray):
        grad_a -= (grad_a * a) * a  # g (1 - a^2)
    else:
        grad_a.addcmul_(grad_a * a, a, value=-1.0)
    return grad_a


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation(
        "sigmoid", sigmoid, _sigmoid_derivative, (0.0, 1.0), _sigmoid_backward, _sigmoid_backward_inplace
    ),
    "tanh": Activation("tanh", tanh, _tanh_derivative, (-1.0, 1.0), None, _tanh_backward_inplace),
    "relu": Activation("relu", relu, _relu_derivative),
    "leaky_relu": Activation("leaky_relu", leaky_relu, _leaky_relu_derivative),
    "softplus": Activation("softplus", softplus, _softplus_derivative),
    "identity": Activation("identity", identity, _identity_derivative),
    "softmax": Activation("softmax", softmax, None, (0.0, 1.0), _softmax_backward),
}

# Aliases users of other libraries type.
_ALIASES = {"logistic": "sigmoid", "linear": "identity"}


def get_activation(name: str | Activation) -> Activation:
    """Look up an activation by name (``"sigmoid"``, ``"relu"``, ...).

    Raises
    ------
    ConfigError
        For an unknown name; the message lists the valid ones.
    """
    if isinstance(name, Activation):
        return name
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    if key not in ACTIVATIONS:
        raise unknown_name("activation", name, ACTIVATIONS)
    return ACTIVATIONS[key]
