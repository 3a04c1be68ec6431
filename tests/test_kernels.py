"""The in-place kernels of weightwise.net.inplace: the same answers as NumPy, and refusals instead
of reading or writing past an array's end.

BLAS trusts the sizes it is given: before the checks, ``axpy(1, np.ones(4096), np.zeros(4100))``
read past the end of ``x`` and wrote garbage. Each test runs on the BLAS path (where NumPy's BLAS
is found) and on the NumPy fallback, with arrays above and below the size where BLAS takes over.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from weightwise.net import inplace
from weightwise.net.inplace import axpy, outer_update, scal, sq_norm

BIG = 4096  # inplace._MIN_BLAS_SIZE: at and above it the BLAS path runs


@pytest.fixture(params=["blas", "numpy"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test on the BLAS kernels (skipped without them) and on the NumPy fallback."""
    if request.param == "blas" and not inplace.has_blas_kernels():
        pytest.skip("NumPy's BLAS was not found")
    if request.param == "numpy":
        monkeypatch.setattr(inplace, "_CBLAS", None)
    yield request.param


@pytest.mark.parametrize("n", [7, BIG])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_match_numpy(path: str, n: int, dtype: type) -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, n)).astype(dtype)
    want = y + dtype(0.5) * x
    axpy(0.5, x, y)
    np.testing.assert_allclose(y, want, rtol=1e-6)
    want = y * dtype(-2.0)
    scal(-2.0, y)
    np.testing.assert_allclose(y, want, rtol=1e-6)
    np.testing.assert_allclose(sq_norm(x), np.sum(x.astype(np.float64) ** 2), rtol=1e-5)


@pytest.mark.parametrize("beta", [0.0, 0.9, 1.0])
def test_outer_update_matches_numpy(path: str, beta: float) -> None:
    rng = np.random.default_rng(1)
    A, D = rng.normal(size=(5, 70)), rng.normal(size=(5, 60))
    C = rng.normal(size=(70, 60))
    want = -0.1 * A.T @ D + beta * C
    if beta == 0.0:
        C[0, 0] = np.nan  # beta = 0 ignores C's old values, as BLAS does
    outer_update(-0.1, A, D, beta, C)
    np.testing.assert_allclose(C, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [7, BIG])
def test_axpy_refuses_different_shapes(path: str, n: int) -> None:
    # The reported case: y longer than x (BLAS read past x's end); x longer; and a broadcast.
    x, y = np.ones(n), np.zeros(n + 4)
    with pytest.raises(ValueError, match=rf"x has shape \({n},\) but y \({n + 4},\)"):
        axpy(1.0, x, y)
    assert not y.any()  # nothing written
    with pytest.raises(ValueError, match="never broadcast"):
        axpy(1.0, np.ones(n + 4), np.zeros(n))
    with pytest.raises(ValueError, match="never broadcast"):
        axpy(1.0, np.ones(n), np.zeros((2, n)))  # NumPy alone would broadcast this silently
    with pytest.raises(ValueError, match="never broadcast"):
        axpy(1.0, np.ones((n, 1)), np.zeros((1, n)))  # same size, other shape


@pytest.mark.parametrize("n", [7, BIG])
def test_axpy_refuses_different_dtypes(path: str, n: int) -> None:
    with pytest.raises(TypeError, match="x is float32 but y is float64"):
        axpy(1.0, np.ones(n, np.float32), np.zeros(n))
    with pytest.raises(TypeError, match="x is float64 but y is float32"):
        axpy(1.0, np.ones(n), np.zeros(n, np.float32))


@pytest.mark.parametrize("n", [8, BIG])
def test_kernels_refuse_non_contiguous_arrays(path: str, n: int) -> None:
    x = np.ones(2 * n)[::2]
    with pytest.raises(ValueError, match="x is not C-contiguous"):
        axpy(1.0, x, np.zeros(n))
    with pytest.raises(ValueError, match="y is not C-contiguous"):
        axpy(1.0, np.zeros(n), x)
    with pytest.raises(ValueError, match="x is not C-contiguous"):
        scal(2.0, x)
    with pytest.raises(ValueError, match="C is not C-contiguous"):
        outer_update(1.0, np.ones((3, 4)), np.ones((3, 5)), 0.0, np.zeros((5, 4)).T)
    with pytest.raises(ValueError, match="A is not C-contiguous"):
        outer_update(1.0, np.ones((4, 3)).T, np.ones((3, 5)), 0.0, np.zeros((4, 5)))


@pytest.mark.parametrize("n", [7, BIG])
def test_kernels_refuse_read_only_outputs(path: str, n: int) -> None:
    y = np.zeros(n)
    y.flags.writeable = False
    with pytest.raises(ValueError, match="y is read-only"):
        axpy(1.0, np.ones(n), y)
    with pytest.raises(ValueError, match="x is read-only"):
        scal(2.0, y)
    C = np.zeros((70, 60))
    C.flags.writeable = False
    with pytest.raises(ValueError, match="C is read-only"):
        outer_update(1.0, np.ones((5, 70)), np.ones((5, 60)), 1.0, C)
    # A read-only *input* is fine: it is only read.
    x = np.ones(n)
    x.flags.writeable = False
    out = np.zeros(n)
    axpy(2.0, x, out)
    assert (out == 2.0).all()


def test_outer_update_refuses_bad_shapes_and_dtypes(path: str) -> None:
    A, D, C = np.ones((5, 70)), np.ones((5, 60)), np.zeros((70, 60))
    with pytest.raises(ValueError, match="must be 2-D, got A 1-D"):
        outer_update(1.0, np.ones(70), D, 1.0, C)
    with pytest.raises(ValueError, match="must be 2-D.*C 3-D"):
        outer_update(1.0, A, D, 1.0, np.zeros((70, 60, 1)))
    with pytest.raises(ValueError, match=r"A \(5, 70\), D \(4, 60\), C \(70, 60\) do not fit"):
        outer_update(1.0, A, np.ones((4, 60)), 1.0, C)
    with pytest.raises(ValueError, match="do not fit"):
        outer_update(1.0, A, D, 1.0, np.zeros((60, 70)))  # transposed C, same size
    with pytest.raises(ValueError, match="do not fit"):
        outer_update(1.0, A, D, 1.0, np.zeros((71, 60)))
    with pytest.raises(TypeError, match="never cast"):
        outer_update(1.0, A.astype(np.float32), D, 1.0, C)
    assert not C.any()


def test_kernels_refuse_non_arrays_and_mixed_kinds(path: str) -> None:
    with pytest.raises(TypeError, match="must be an array, got list"):
        axpy(1.0, [1.0, 2.0], np.zeros(2))
    with pytest.raises(TypeError, match="must be an array"):
        scal(2.0, [1.0])
    with pytest.raises(TypeError, match="floating-point"):
        sq_norm(np.arange(5))  # int64 squares overflow silently
    with pytest.raises(TypeError, match="floating-point"):
        sq_norm([1.0, 2.0])
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="x is a Tensor but y a ndarray"):
        axpy(1.0, torch.ones(3, dtype=torch.float64), np.zeros(3))


def test_sq_norm_sums_non_contiguous_arrays(path: str) -> None:
    # Read only, so a strided view is summed correctly by NumPy rather than refused.
    x = np.arange(2.0 * BIG)[::2]
    assert sq_norm(x) == pytest.approx(float(np.sum(x * x)))


def test_tensors_take_the_fallback(path: str) -> None:
    torch = pytest.importorskip("torch")
    x, y = torch.ones(5, dtype=torch.float64), torch.zeros(5, dtype=torch.float64)
    axpy(2.0, x, y)
    scal(0.5, y)
    assert y.tolist() == [1.0] * 5
    A, D, C = (torch.ones(*shape, dtype=torch.float64) for shape in [(2, 4), (2, 3), (4, 3)])
    outer_update(1.0, A, D, 0.0, C)
    assert C.tolist() == [[2.0] * 3] * 4
    with pytest.raises(ValueError, match="never broadcast"):
        axpy(1.0, torch.ones(3), torch.zeros(4))
