"""Argument checks shared by every floor: one rule and one message for each kind of setting.

Each check returns the value in its plain Python type, so callers write
``epochs = check_positive_int(epochs, "epochs")`` and store what came back.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import ConfigError
from .net.backend import Array, namespace


def is_integer(value: Any) -> bool:
    """Whether ``value`` is a Python or NumPy integer (``bool`` is not)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """Whether ``value`` is a Python or NumPy real number (``bool`` is not)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_positive_int(value: Any, name: str, hint: str = "") -> int:
    """``value`` as an ``int`` >= 1, or ConfigError naming ``name`` (and ``hint``, what it counts)."""
    if not is_integer(value) or value < 1:
        what = f" ({hint})" if hint else ""
        raise ConfigError(f"{name} must be a positive integer{what}, got {value!r}")
    return int(value)


def check_positive(value: Any, name: str) -> float:
    """``value`` as a finite ``float`` > 0, or ConfigError naming ``name``."""
    if not is_number(value) or not math.isfinite(float(value)) or not float(value) > 0:
        raise ConfigError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_fraction(value: Any, name: str, hint: str = "") -> float:
    """``value`` as a ``float`` in [0, 1), or ConfigError naming ``name`` (and ``hint``)."""
    if not is_number(value) or not 0.0 <= float(value) < 1.0:
        what = f": {hint}" if hint else ""
        raise ConfigError(f"{name} must be in [0, 1){what}, got {value!r}")
    return float(value)


def check_cd_k(cd_k: Any) -> int:
    """Gibbs steps per contrastive-divergence update: an integer >= 1."""
    return check_positive_int(cd_k, "cd_k", "Gibbs steps per update")


def in_unit_interval(V: Array) -> bool:
    """Whether every entry of ``V`` (NumPy array or tensor) lies in [0, 1]."""
    xp = namespace(V)
    return float(xp.min(V)) >= 0.0 and float(xp.max(V)) <= 1.0
