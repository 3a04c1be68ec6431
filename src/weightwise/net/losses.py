"""Loss functions and their output deltas ``dL/dz`` for the output layer.

A :class:`Loss` computes its value from the output layer's pre-activations ``z`` as well as its
activations ``a``, so cross-entropies use log-sum-exp and softplus and never take ``log(0)``.

Reductions: ``"sum"`` adds over samples (the textbook example, whose gradients are summed over the
batch); ``"mean"`` divides the sum by ``n_samples`` (what scikit-learn and PyTorch do). Both the value
and the delta follow the same reduction, so the delta is exactly the gradient of the value.

=========================  =====================================  ========================
name                       value (before reduction)               output delta ``dL/dz``
=========================  =====================================  ========================
``squared_error``          ``0.5 * sum((a - y)**2)``              ``f'(z) * (a - y)``
``cross_entropy``          ``-sum(y * log_softmax(z))``           ``a * sum(y) - y``
``binary_cross_entropy``   ``sum(softplus(z) - y * z)``           ``a - y``
=========================  =====================================  ========================

With a sigmoid output, the squared-error delta is the textbook's ``(a - y) * a * (1 - a)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError, unknown_name
from .activations import Activation, get_activation, softplus
from .backend import Array, is_torch, namespace

REDUCTIONS = ("sum", "mean")


def _scale(reduction: str, n_samples: int) -> float:
    if reduction == "sum":
        return 1.0
    if reduction == "mean":
        return 1.0 / max(n_samples, 1)
    raise unknown_name("reduction", reduction, REDUCTIONS)


@dataclass(frozen=True)
class Loss:
    """A loss with its output delta.

    Attributes
    ----------
    name : str
        Registry key.
    output_activations : tuple of str or None
        The output activations this loss is defined for; ``None`` means any.
    """

    name: str
    output_activations: tuple[str, ...] | None = None

    def check_output(self, activation: str | Activation) -> None:
        """Raise ConfigError when this loss does not fit the output activation."""
        act = get_activation(activation)
        if self.output_activations is not None and act.name not in self.output_activations:
            hint = {
                "softmax": "use 'cross_entropy' (or 'squared_error')",
                "sigmoid": "use 'binary_cross_entropy' (or 'squared_error')",
            }.get(act.name, "use 'squared_error'")
            raise ConfigError(
                f"loss {self.name!r} needs a {' or '.join(self.output_activations)} output layer, "
                f"but the output activation is {act.name!r}: {hint}"
            )

    def value(
        self, z: Array, a: Array, y: Array, activation: Activation, reduction: str = "mean"
    ) -> Array:
        """Loss summed over outputs and reduced over samples; a 0-d array.

        Parameters
        ----------
        z, a, y : arrays of shape (n_samples, n_outputs)
            Output pre-activations, activations and targets.
        activation : Activation
            The output layer's activation.
        reduction : {"sum", "mean"}
        """
        xp = namespace(z)
        s = _scale(reduction, z.shape[0])
        if self.name == "squared_error":
            r = a - y
            return 0.5 * s * xp.sum(r * r)
        if self.name == "cross_entropy":
            if is_torch(xp):  # the same log-sum-exp form in one fused kernel
                return -s * xp.sum(y * z.log_softmax(-1))
            m = xp.max(z, axis=-1, keepdims=True)
            lse = m + xp.log(xp.sum(xp.exp(z - m), axis=-1, keepdims=True))
            return s * xp.sum(y * (lse - z))
        if self.name == "binary_cross_entropy":
            return s * xp.sum(softplus(z) - y * z)
        raise AssertionError(self.name)  # pragma: no cover

    def delta(
        self, z: Array, a: Array, y: Array, activation: Activation, reduction: str = "mean"
    ) -> Array:
        """Output delta ``dL/dz`` of shape ``(n_samples, n_outputs)``, with the reduction applied."""
        xp = namespace(z)
        s = _scale(reduction, z.shape[0])
        if self.name == "squared_error":
            d = activation.backward(z, a, a - y)
        elif self.name == "cross_entropy":
            # d/dz of -sum(y * log_softmax(z)); equals a - y when each row of y sums to one.
            d = a * xp.sum(y, axis=-1, keepdims=True) - y
        elif self.name == "binary_cross_entropy":
            d = a - y
        else:  # pragma: no cover
            raise AssertionError(self.name)
        if s != 1.0:
            d *= s  # d is a fresh array in every branch above
        return d


LOSSES: dict[str, Loss] = {
    "squared_error": Loss("squared_error"),
    "cross_entropy": Loss("cross_entropy", ("softmax",)),
    "binary_cross_entropy": Loss("binary_cross_entropy", ("sigmoid",)),
}

_ALIASES = {
    "mse": "squared_error",
    "squared": "squared_error",
    "log_loss": "cross_entropy",
    "categorical_cross_entropy": "cross_entropy",
    "bce": "binary_cross_entropy",
}


def get_loss(name: str | Loss) -> Loss:
    """Look up a loss by name; ConfigError listing the valid names otherwise."""
    if isinstance(name, Loss):
        return name
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    if key not in LOSSES:
        raise unknown_name("loss", name, LOSSES)
    return LOSSES[key]


def check_reduction(reduction: str) -> str:
    """Validate a reduction name."""
    if reduction not in REDUCTIONS:
        raise unknown_name("reduction", reduction, REDUCTIONS)
    return reduction
