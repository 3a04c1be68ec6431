"""Exceptions that name the problem and the fix."""

from __future__ import annotations


class WeightwiseError(Exception):
    """Base class of weightwise's own errors."""


class DataError(WeightwiseError, ValueError):
    """Input data with the wrong shape, values or labels."""


class ConfigError(WeightwiseError, ValueError):
    """An unknown name or an out-of-range setting."""


class ModelFileError(WeightwiseError, ValueError):
    """A model or checkpoint file that cannot be read: truncated, altered, wrong format or version."""


class DivergenceError(WeightwiseError, FloatingPointError):
    """Training produced a NaN or infinite loss.

    The network keeps its last finite weights. ``epoch`` is the 1-based epoch in which the loss
    stopped being finite.
    """

    def __init__(self, message: str, epoch: int) -> None:
        super().__init__(message)
        self.epoch = epoch


class WeightwiseWarning(UserWarning):
    """Base class of weightwise's own warnings."""


class TrainingFailedWarning(WeightwiseWarning, RuntimeWarning):
    """Back-propagation ended without error but learnt nothing: the loss rose far above where it
    started, or the gradients vanished to zero, with the accuracy at chance (see
    :mod:`weightwise.backpropagation.health`). The text names the learning rate and a smaller one to try.
    """


def unknown_name(kind: str, name: object, valid: object) -> ConfigError:
    """A ConfigError for an unknown registry key, listing the valid ones."""
    choices = ", ".join(repr(v) for v in sorted(valid))  # type: ignore[call-overload]
    plural = kind + ("es" if kind.endswith("s") else "s")
    return ConfigError(f"unknown {kind} {name!r}; valid {plural}: {choices}")
