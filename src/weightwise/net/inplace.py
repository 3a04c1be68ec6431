"""In-place vector kernels ``y += alpha * x``, ``x *= alpha``, ``sum(x**2)`` and a fused gemm.

The optimisers touch every parameter several times per mini-batch; with NumPy, ``p -= eta * v``
allocates a temporary and makes three passes over memory. For contiguous float32/float64 NumPy
arrays these kernels call BLAS (``?axpy``, ``?scal``, ``?dot``, ``?gemm``) instead: one pass, no
temporary.

Which BLAS: the one NumPy itself uses (the OpenBLAS bundled in NumPy's wheels, through its CBLAS
symbols and ctypes). Calling SciPy's BLAS instead would start a second OpenBLAS thread pool whose
idle, spinning threads fight NumPy's for the cores: on two cores that doubled an epoch's time. Where
NumPy's BLAS cannot be found (another NumPy build), the kernels fall back to plain NumPy operators,
and :func:`can_outer_update` says False.

BLAS trusts the sizes and pointers it is given: a ``y`` longer than ``x`` would be read past ``x``'s
end. So every kernel first checks its arguments, on the BLAS path and the NumPy fallback alike (a
call must not work on a small array and fail on a large one): same shape (never broadcast), same
dtype (never cast), C-contiguous NumPy arrays, a writeable output; a :class:`ValueError` or
:class:`TypeError` names the problem. The checks read a few attributes, well under a microsecond.

PyTorch tensors take torch's own fused in-place operators, which check for themselves and run on
any device: ``y.add_(x, alpha=a)`` (one pass, no temporary), ``x.mul_(a)``, and
``C.addmm_(A.T, D, beta=b, alpha=a)`` for the fused gemm (torch's CPU build calls MKL; CUDA
cuBLAS), so the optimisers' and the RBMs' one code path is fast on both libraries.
"""

from __future__ import annotations

import ctypes
import glob
import os
from typing import Any

import numpy as np

from .backend import Array

# Below this many elements the Python cost of a BLAS call outweighs the saved memory pass.
_MIN_BLAS_SIZE = 4096

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _cblas_signatures(ctype: Any) -> dict[str, tuple[Any, list[Any]]]:
    """``name: (restype, argtypes)`` of the CBLAS calls used, for one real type (ILP64 ints).

    ``axpy(n, alpha, x, incx, y, incy)``, ``scal(n, alpha, x, incx)``,
    ``dot(n, x, incx, y, incy)`` and ``gemm(order, transa, transb, m, n, k, alpha, a, lda, b, ldb,
    beta, c, ldc)``.
    """
    i64, ptr, flag = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int
    return {
        "axpy": (None, [i64, ctype, ptr, i64, ptr, i64]),
        "scal": (None, [i64, ctype, ptr, i64]),
        "dot": (ctype, [i64, ptr, i64, ptr, i64]),
        "gemm": (None, [flag, flag, flag, i64, i64, i64, ctype, ptr, i64, ptr, i64, ctype, ptr, i64]),
    }


def _load_numpy_cblas() -> dict[str, Any] | None:
    """CBLAS entry points of the OpenBLAS that NumPy's wheels bundle, or None.

    Keyed by the routine and NumPy's ``dtype.char`` (``"axpyf"``, ``"gemmd"``, ...).
    """
    if os.environ.get("WEIGHTWISE_NO_BLAS_KERNELS"):
        return None
    libs = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(libs, "libscipy_openblas64_*.so"))):
        try:
            lib = ctypes.CDLL(path)
            kernels: dict[str, Any] = {}
            for prefix, ctype in (("s", ctypes.c_float), ("d", ctypes.c_double)):
                code = "f" if prefix == "s" else "d"  # dtype.char of float32, float64
                for name, (restype, argtypes) in _cblas_signatures(ctype).items():
                    fn = getattr(lib, f"scipy_cblas_{prefix}{name}64_")
                    fn.restype, fn.argtypes = restype, argtypes
                    kernels[name + code] = fn
            return kernels
        except (OSError, AttributeError):
            continue
    return None


_CBLAS = _load_numpy_cblas()


def has_blas_kernels() -> bool:
    """Whether NumPy's own BLAS was found (else the kernels use plain NumPy operators)."""
    return _CBLAS is not None


def _blas_ok(*arrays: Array) -> bool:
    first = arrays[0]
    if (
        _CBLAS is None
        or type(first) is not np.ndarray
        or first.size < _MIN_BLAS_SIZE
        or first.dtype not in (np.float32, np.float64)
    ):
        return False
    return all(
        type(a) is np.ndarray and a.dtype == first.dtype and a.flags.c_contiguous and a.flags.writeable
        for a in arrays
    )


def _is_tensor(a: Array) -> bool:
    """A PyTorch tensor (without importing torch when it was never imported)."""
    return type(a).__module__.startswith("torch") and hasattr(a, "addmm_")


def _check_array(kernel: str, name: str, a: Array, out: bool = False) -> None:
    """Refuse a NumPy array BLAS cannot walk with stride 1 or, for an output, cannot write."""
    if isinstance(a, np.ndarray):
        if not a.flags.c_contiguous:
            raise ValueError(
                f"{kernel}: {name} is not C-contiguous (a view or a transpose); pass "
                f"np.ascontiguousarray({name})"
            )
        if out and not a.flags.writeable:
            raise ValueError(f"{kernel}: {name} is read-only, but it is updated in place")
    elif not (hasattr(a, "shape") and hasattr(a, "dtype")):
        raise TypeError(f"{kernel}: {name} must be an array, got {type(a).__name__}")


def _check_pair(kernel: str, x: Array, y: Array) -> None:
    """Refuse what ``y += alpha * x`` would broadcast or cast, or what BLAS would read past."""
    _check_array(kernel, "x", x)
    _check_array(kernel, "y", y, out=True)
    if isinstance(x, np.ndarray) != isinstance(y, np.ndarray):
        raise TypeError(
            f"{kernel}: x is a {type(x).__name__} but y a {type(y).__name__}; pass two of one kind"
        )
    if x.shape != y.shape:
        raise ValueError(
            f"{kernel}: x has shape {tuple(x.shape)} but y {tuple(y.shape)}; the kernels never broadcast"
        )
    if x.dtype != y.dtype:
        raise TypeError(f"{kernel}: x is {x.dtype} but y is {y.dtype}; the kernels never cast")


def axpy(alpha: float, x: Array, y: Array) -> None:
    """``y += alpha * x`` in place; ``x`` and ``y`` have the same shape and dtype.

    Raises
    ------
    ValueError
        Different shapes, a non-contiguous NumPy array, a read-only ``y``.
    TypeError
        Different dtypes, a NumPy array with a tensor, a non-array.
    """
    _check_pair("axpy", x, y)
    if _blas_ok(x, y) and _CBLAS is not None:
        _CBLAS["axpy" + y.dtype.char](y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
    elif isinstance(y, np.ndarray):
        y += alpha * x
    else:
        y.add_(x, alpha=alpha)  # torch: one fused pass, no temporary


def scal(alpha: float, x: Array) -> None:
    """``x *= alpha`` in place (``x``: a C-contiguous, writeable NumPy array, or a tensor)."""
    _check_array("scal", "x", x, out=True)
    if _blas_ok(x) and _CBLAS is not None:
        _CBLAS["scal" + x.dtype.char](x.size, alpha, x.ctypes.data, 1)
    elif isinstance(x, np.ndarray):
        x *= alpha
    else:
        x.mul_(alpha)


def sq_norm(x: Array) -> Any:
    """``sum(x ** 2)``: a float for NumPy (one BLAS pass, no temporary), else a 0-d array.

    ``x`` is a floating-point array (an integer one would overflow silently); a non-contiguous NumPy
    array is summed by NumPy, correctly, without BLAS.
    """
    kind = getattr(x.dtype, "kind", None) if hasattr(x, "dtype") else "?"
    floating = kind == "f" if kind is not None else bool(x.is_floating_point())
    if not floating:
        what = f"dtype {x.dtype}" if hasattr(x, "dtype") else type(x).__name__
        raise TypeError(f"sq_norm: x must be a floating-point array, got {what}")
    if type(x) is np.ndarray and x.flags.c_contiguous and x.dtype in (np.float32, np.float64):
        if _CBLAS is not None and x.size >= _MIN_BLAS_SIZE:
            return _CBLAS["dot" + x.dtype.char](x.size, x.ctypes.data, 1, x.ctypes.data, 1)
        flat = x.reshape(-1)
        return np.dot(flat, flat)
    from .backend import namespace

    return namespace(x).sum(x * x)


def can_outer_update(A: Array, D: Array, C: Array) -> bool:
    """Whether :func:`outer_update` is the fast way for these arrays.

    Contiguous NumPy arrays of one BLAS dtype with ``C`` at least ``_MIN_BLAS_SIZE`` elements (with
    NumPy's BLAS found), or PyTorch tensors of one dtype and device (torch's fused ``addmm_``).
    """
    if _is_tensor(C):
        return (
            _is_tensor(A)
            and _is_tensor(D)
            and A.dtype == D.dtype == C.dtype
            and A.device == D.device == C.device
            and A.ndim == D.ndim == C.ndim == 2
            and A.shape[0] == D.shape[0]
            and tuple(C.shape) == (A.shape[1], D.shape[1])
        )
    return (
        _blas_ok(C)
        and type(A) is np.ndarray
        and type(D) is np.ndarray
        and A.dtype == D.dtype == C.dtype
        and A.flags.c_contiguous
        and D.flags.c_contiguous
        and A.shape[0] == D.shape[0]
        and C.shape == (A.shape[1], D.shape[1])
    )


def outer_update(alpha: float, A: Array, D: Array, beta: float, C: Array) -> None:
    """``C = alpha * A.T @ D + beta * C`` in place, in one BLAS ``?gemm`` call.

    This folds a weight gradient ``A.T @ D`` (inputs times deltas) straight into a velocity or
    weight array without forming it. BLAS runs for float32 and float64 NumPy arrays (callers ask
    :func:`can_outer_update` first, as below ``_MIN_BLAS_SIZE`` elements forming ``A.T @ D`` is
    quicker); without NumPy's BLAS, NumPy's operators do the same, and tensors take torch's
    ``C.addmm_(A.T, D, beta=beta, alpha=alpha)``, one gemm on any device.

    Parameters
    ----------
    A : ndarray of shape (n_samples, n_in)
    D : ndarray of shape (n_samples, n_out)
    C : ndarray of shape (n_in, n_out), C-contiguous and writeable

    Raises
    ------
    ValueError
        An array that is not 2-D, shapes that do not fit, a non-contiguous or read-only array.
    TypeError
        Different dtypes, NumPy arrays mixed with tensors.
    """
    arrays = {"A": A, "D": D, "C": C}
    for name, a in arrays.items():
        _check_array("outer_update", name, a, out=name == "C")
    if len({isinstance(a, np.ndarray) for a in arrays.values()}) > 1:
        raise TypeError("outer_update: A, D and C must all be NumPy arrays or all tensors")
    if not A.ndim == D.ndim == C.ndim == 2:
        dims = ", ".join(f"{k} {a.ndim}-D" for k, a in arrays.items())
        raise ValueError(f"outer_update: A, D and C must be 2-D, got {dims}")
    if A.shape[0] != D.shape[0] or tuple(C.shape) != (A.shape[1], D.shape[1]):
        raise ValueError(
            f"outer_update: shapes A {tuple(A.shape)}, D {tuple(D.shape)}, C {tuple(C.shape)} do not "
            "fit; A (n, n_in) and D (n, n_out) need C (n_in, n_out)"
        )
    if not A.dtype == D.dtype == C.dtype:
        raise TypeError(
            f"outer_update: A is {A.dtype}, D {D.dtype}, C {C.dtype}; the kernels never cast"
        )
    if not isinstance(C, np.ndarray):
        # torch: one gemm whatever the device; beta = 0 ignores C's old values (even NaN).
        C.addmm_(A.T, D, beta=beta, alpha=alpha)
        return
    blas = (
        _CBLAS is not None
        and type(C) is np.ndarray
        and C.dtype in (np.float32, np.float64)
        and C.size > 0
        and A.shape[0] > 0
    )
    if not blas or _CBLAS is None:
        G = np.matmul(A.T, D)
        if alpha != 1.0:
            G *= alpha
        if beta == 0.0:
            C[...] = G  # as BLAS: C's old values (even NaN) are not read
        else:
            if beta != 1.0:
                C *= beta
            C += G
        return
    n, n_in = A.shape
    n_out = D.shape[1]
    _CBLAS["gemm" + C.dtype.char](
        _ROW_MAJOR, _TRANS, _NO_TRANS, n_in, n_out, n, alpha,
        A.ctypes.data, n_in, D.ctypes.data, n_out, beta, C.ctypes.data, n_out,
    )  # fmt: skip


def affine(x: Array, W: Array, b: Array) -> Array:
    """``z = x @ W + b`` as a new array, shape (n_samples, n_out).

    PyTorch: one ``torch.addmm`` (the bias is the gemm's ``C``, no second pass); NumPy: the
    product, then the bias added in place. :meth:`~weightwise.net.network.Dense.preactivation`
    is this, so every forward pass (``Network.forward``, ``predict``, ``backprop``) shares it.
    """
    if isinstance(W, np.ndarray):
        z = x @ W
        z += b
        return z
    return b.addmm(x, W)
