"""In-place vector kernels ``y += alpha * x``, ``x *= alpha`` and ``sum(x**2)``.

The optimisers touch every parameter several times per mini-batch; with NumPy, ``p -= eta * v``
allocates a temporary and makes three passes over memory. For contiguous float32/float64 NumPy
arrays these kernels call BLAS (``?axpy``, ``?scal``, ``?dot``) instead: one pass, no temporary,
about 2.5x faster on a 500 x 500 layer. Other arrays (PyTorch tensors, views) use the generic
in-place operators, which are fused already.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import blas

from .backend import Array

_AXPY = {np.dtype(np.float32): blas.saxpy, np.dtype(np.float64): blas.daxpy}
_SCAL = {np.dtype(np.float32): blas.sscal, np.dtype(np.float64): blas.dscal}
_DOT = {np.dtype(np.float32): blas.sdot, np.dtype(np.float64): blas.ddot}
_GEMM = {np.dtype(np.float32): blas.sgemm, np.dtype(np.float64): blas.dgemm}


# Below this many elements the Python cost of a BLAS call outweighs the saved memory pass.
_MIN_BLAS_SIZE = 4096


def _blas_ok(*arrays: Array) -> bool:
    first = arrays[0]
    if type(first) is not np.ndarray or first.size < _MIN_BLAS_SIZE or first.dtype not in _AXPY:
        return False
    return all(
        type(a) is np.ndarray and a.dtype == first.dtype and a.flags.c_contiguous and a.flags.writeable
        for a in arrays
    )


def axpy(alpha: float, x: Array, y: Array) -> None:
    """``y += alpha * x`` in place; ``x`` and ``y`` have the same shape."""
    if _blas_ok(x, y):
        _AXPY[y.dtype](x.reshape(-1), y.reshape(-1), a=alpha)
    else:
        y += alpha * x


def scal(alpha: float, x: Array) -> None:
    """``x *= alpha`` in place."""
    if _blas_ok(x):
        _SCAL[x.dtype](alpha, x.reshape(-1))
    else:
        x *= alpha


def sq_norm(x: Array) -> Array:
    """``sum(x ** 2)`` as a 0-d array (a float for NumPy), without a temporary for NumPy."""
    if _blas_ok(x):
        flat = x.reshape(-1)
        return _DOT[x.dtype](flat, flat)
    from .backend import namespace

    return namespace(x).sum(x * x)


def can_outer_update(A: Array, D: Array, C: Array) -> bool:
    """Whether :func:`outer_update` can run on these arrays (contiguous NumPy, one BLAS dtype)."""
    return (
        _blas_ok(C)
        and type(A) is np.ndarray
        and type(D) is np.ndarray
        and A.dtype == D.dtype == C.dtype
        and A.flags.c_contiguous
        and D.flags.c_contiguous
    )


def outer_update(alpha: float, A: Array, D: Array, beta: float, C: Array) -> None:
    """``C = alpha * A.T @ D + beta * C`` in place, in one BLAS ``?gemm`` call.

    This folds a weight gradient ``A.T @ D`` (inputs times deltas) straight into a velocity or
    weight array without forming it. Only for arrays where :func:`can_outer_update` holds.

    Parameters
    ----------
    A : ndarray of shape (n_samples, n_in)
    D : ndarray of shape (n_samples, n_out)
    C : ndarray of shape (n_in, n_out), C-contiguous
    """
    # In Fortran (column-major) terms C.T = alpha * D.T @ A + beta * C.T, and C.T, D.T and A.T
    # are Fortran-contiguous views: BLAS works on them with no copies.
    _GEMM[C.dtype](alpha, D.T, A.T, beta=beta, c=C.T, trans_b=1, overwrite_c=1)
