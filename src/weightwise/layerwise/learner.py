"""What every layer-wise learner (an RBM, an auto-encoder) does the same way with its arrays.

A learner holds a layer's ``W`` (n_visible, n_hidden) and ``b_hidden`` plus a visible bias of its
own; these helpers check the data it is given, shuffle it, and copy saved arrays back in place,
with one rule and one message for every learner.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import DataError
from ..net.backend import Array, Random, asarray, is_numpy, namespace, to_numpy
from ..net.backend import device as array_device
from ..net.validation import check_matrix, to_network

__all__ = ["check_visible_data", "copy_arrays_into", "refuse_outside_unit_interval", "shuffled_order"]


def check_visible_data(V: Any, name: str, W: Array, learner: str) -> Array:
    """``V`` checked (finite, 2-D, ``W.shape[0]`` columns) and moved to ``W``'s namespace and dtype.

    Parameters
    ----------
    V : array-like of shape (n_samples, n_visible)
    name : str
        What the caller calls it (``"V"``, ``"validation"``), for the messages.
    W : array of shape (n_visible, n_hidden)
        The learner's weights.
    learner : str
        The learner as the message names it (``"the RBM"``).
    """
    V = check_matrix(V, name)
    n_visible = int(W.shape[0])
    if V.shape[1] != n_visible:
        raise DataError(f"{name} has {V.shape[1]} features but {learner} has {n_visible} visible units")
    return to_network(V, namespace(W), W.dtype, array_device(W))


def refuse_outside_unit_interval(V: Array, name: str, why: str) -> None:
    """DataError ``"{name} has values in [lo, hi]{why}"`` unless every value of ``V`` is in [0, 1]."""
    xp = namespace(V)
    lo, hi = float(xp.min(V)), float(xp.max(V))
    if lo < 0.0 or hi > 1.0:
        raise DataError(f"{name} has values in [{lo:g}, {hi:g}]{why}")


def shuffled_order(rng: Random, n: int, like: Array) -> Array:
    """``rng.permutation(n)``, as an index array of ``like``'s namespace and device."""
    order = rng.permutation(n)
    if not is_numpy(namespace(like)):
        order = asarray(order, namespace(like), None, array_device(like))
    return order


def copy_arrays_into(targets: Mapping[str, Array], arrays: Mapping[str, Any], what: str) -> None:
    """Copy ``arrays[name]`` into each live array ``targets[name]`` in place, checking its shape.

    Raises
    ------
    DataError
        An array is missing or has another shape; ``what`` names the kind (``"RBM"``,
        ``"training-state"``).
    """
    for name, current in targets.items():
        if name not in arrays:
            raise DataError(f"missing {what} array {name!r}; saved arrays: {sorted(arrays)}")
        value = np.asarray(to_numpy(arrays[name]))
        if tuple(value.shape) != tuple(current.shape):
            raise DataError(
                f"{what} array {name!r} has shape {value.shape}, expected {tuple(current.shape)}"
            )
        current[...] = asarray(value, namespace(current), current.dtype, array_device(current))
