"""Argument checks shared by every floor: one rule and one message for each kind of setting.

Each check returns the value in its plain Python type, so callers write
``epochs = check_positive_int(epochs, "epochs")`` and store what came back.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
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


def machine_memory() -> int:
    """The machine's physical memory in bytes (``SC_PHYS_PAGES * SC_PAGE_SIZE``); 2**63 when the
    system does not say."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX systems
        return 2**63


def format_bytes(n: int) -> str:
    """``n`` bytes in binary units: ``"4.0 TiB"``, ``"512 B"``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def check_allocation(n_bytes: int, what: str, error: type[Exception] = ConfigError) -> int:
    """Refuse to allocate ``n_bytes`` for ``what`` when that exceeds the machine's memory.

    The check comes before the allocation, so a declared size of terabytes (a hostile file
    header, a typo in a layer size) gets a one-line ``error`` naming the size, not a
    ``MemoryError`` or the out-of-memory killer.
    """
    limit = machine_memory()
    if n_bytes > limit:
        raise error(
            f"{what} would need {format_bytes(n_bytes)}, more than this machine's "
            f"{format_bytes(limit)} of memory"
        )
    return n_bytes


def network_bytes(sizes: Sequence[int], dtype: Any = "float32") -> int:
    """Bytes of a network's weights and biases for layer ``sizes`` in ``dtype`` (exact integers)."""
    itemsize = 8 if "64" in str(dtype) else 4
    return sum(
        (int(a) * int(b) + int(b)) * itemsize for a, b in zip(sizes[:-1], sizes[1:], strict=False)
    )


def check_network_size(sizes: Sequence[int], dtype: Any = "float32") -> None:
    """Refuse layer ``sizes`` whose weights alone exceed the machine's memory (a ConfigError
    naming the sizes and the bytes), before anything is allocated.

    Training needs several times the weights (gradients, optimiser slots, activations), so a
    network that passes can still be too large; this catches the typing slip of
    ``--hidden 1000000000000`` (466 TiB) at once.
    """
    shown = "-".join(str(int(s)) for s in sizes)
    check_allocation(network_bytes(sizes, dtype), f"a {shown} network's weights")
