"""Input checks that name the problem instead of failing deep inside NumPy."""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

from ..errors import DataError
from .backend import Array, asarray, is_numpy, namespace


def as_array(x: Any, name: str = "X") -> Array:
    """Accept NumPy arrays, PyTorch tensors, and array-likes (converted to NumPy)."""
    if array_api_compat.is_array_api_obj(x) and not isinstance(x, (list, tuple)):
        return x
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{name} could not be read as an array: {exc}") from exc
    if arr.dtype == object:
        raise DataError(f"{name} is ragged or holds non-numeric values; give a numeric 2-D array")
    return arr


def check_matrix(x: Any, name: str = "X", ndim: int = 2) -> Array:
    """Check rank, emptiness, numeric dtype and finiteness of ``x``; return it as an array."""
    x = as_array(x, name)
    shape = tuple(x.shape)
    if len(shape) != ndim:
        what = "(n_samples, n_features)" if ndim == 2 else "(n_samples,)"
        hint = " (reshape a single feature with x.reshape(-1, 1))" if len(shape) == 1 else ""
        raise DataError(f"{name} must be {ndim}-D {what}, got shape {shape}{hint}")
    if shape[0] == 0:
        raise DataError(f"{name} is empty: it has 0 samples")
    if ndim == 2 and shape[1] == 0:
        raise DataError(f"{name} has 0 features")
    xp = namespace(x)
    if is_numpy(xp):
        if x.dtype.kind not in "biuf":
            raise DataError(f"{name} has dtype {x.dtype}; it must be numeric")
        bad = x.dtype.kind == "f" and not _all_finite(x, xp)
    else:
        if not xp.isdtype(x.dtype, ("real floating", "integral", "bool")):
            raise DataError(f"{name} has dtype {x.dtype}; it must be numeric")
        bad = xp.isdtype(x.dtype, "real floating") and not _all_finite(x, xp)
    if bad:
        n_nan = int(np.isnan(np.asarray(_host(x), dtype=float)).sum())
        n_inf = int(np.isinf(np.asarray(_host(x), dtype=float)).sum())
        raise DataError(
            f"{name} contains {n_nan} NaN and {n_inf} infinite values; remove or impute them first"
        )
    return x


def _all_finite(x: Array, xp: Any) -> bool:
    """Whether every entry is finite, without a boolean array the size of ``x`` in the usual case.

    A NaN or infinity carries through a sum, so a finite sum proves every entry finite (one
    reduction pass, no allocation); only a sum that overflowed or met a bad value is checked
    entry by entry. This is what makes the check cheap on MNIST-sized tensors.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the signal, not a problem
        if math.isfinite(float(xp.sum(x))):
            return True
    return bool(xp.all(xp.isfinite(x)))


def _host(x: Array) -> np.ndarray:
    from .backend import to_numpy

    return to_numpy(x)


def check_X_Y(
    X: Any,
    Y: Any,
    n_in: int | None = None,
    n_out: int | None = None,
    names: tuple[str, str] = ("X", "y"),
) -> tuple[Array, Array]:
    """Validate a training pair; ``Y`` of shape (n_samples,) becomes (n_samples, 1).

    ``names`` label the arrays in messages (``("X_val", "y_val")`` for a validation set).
    """
    xn, yn = names
    X = check_matrix(X, xn)
    Y = as_array(Y, yn)
    if len(Y.shape) == 1:
        Y = namespace(Y).reshape(Y, (-1, 1))
    Y = check_matrix(Y, yn)
    if X.shape[0] != Y.shape[0]:
        raise DataError(
            f"{xn} and {yn} have different numbers of samples: {X.shape[0]} and {Y.shape[0]}"
        )
    check_shapes(X, Y, n_in, n_out, names)
    return X, Y


def check_shapes(
    X: Array,
    Y: Array | None,
    n_in: int | None,
    n_out: int | None,
    names: tuple[str, str] = ("X", "y"),
) -> None:
    """Cheap shape checks against a network's input and output sizes (no pass over the data)."""
    xn, yn = names
    if len(X.shape) != 2:
        raise DataError(f"{xn} must be 2-D (n_samples, n_features), got shape {tuple(X.shape)}")
    if n_in is not None and X.shape[1] != n_in:
        raise DataError(f"{xn} has {X.shape[1]} features but the network's input layer has {n_in} units")
    if Y is None:
        return
    if len(Y.shape) != 2 or Y.shape[0] != X.shape[0]:
        raise DataError(
            f"{yn} must have shape ({X.shape[0]}, n_outputs) to match {xn}, got {tuple(Y.shape)}"
        )
    if n_out is not None and Y.shape[1] != n_out:
        raise DataError(
            f"{yn} has {Y.shape[1]} columns but the network's output layer has {n_out} units"
        )


def check_range(x: Array, dtype: Any, name: str = "X") -> None:
    """Refuse finite values of ``x`` that ``dtype`` cannot hold (1e300 becomes inf in float32).

    Only a narrowing cast is checked (float64 data for a float32 network), in one pass.
    """
    limit = _float_max(dtype)
    src = _float_max(x.dtype)
    if limit is None or src is None or src <= limit or x.shape[0] == 0:
        return
    xp = namespace(x)
    big = float(xp.max(xp.abs(x)))
    if big > limit:
        raise DataError(
            f"{name} holds values up to {big:.3g}, beyond the network's float32 range "
            f"(+-{limit:.3g}); scale the data, or use dtype='float64'"
        )


def _float_max(dtype: Any) -> float | None:
    """The largest finite value of a NumPy or PyTorch floating dtype (None for other dtypes)."""
    name = str(dtype).removeprefix("torch.")
    if name in ("float16", "float32", "float64", "bfloat16"):
        return float(np.finfo(name).max) if name != "bfloat16" else 3.3895e38
    return None


def to_network(x: Array, xp: Any, dtype: Any, device: Any) -> Array:
    """Move ``x`` into the network's namespace, dtype and device (no copy when already there).

    Raises
    ------
    DataError
        When ``x`` holds values that overflow ``dtype`` (see :func:`check_range`).
    """
    check_range(x, dtype)
    if namespace(x) is xp or (is_numpy(namespace(x)) and is_numpy(xp)):
        if x.dtype == dtype and (is_numpy(xp) or x.device == device):
            return x
        if is_numpy(xp):
            return np.asarray(x, dtype=dtype)
        return x.to(device=device, dtype=dtype)
    from .backend import to_numpy

    return asarray(to_numpy(x), xp, dtype, device)
