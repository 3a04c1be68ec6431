"""Shared fixtures of the back-propagation tests.

Everything random takes a fixed seed, so a failure reproduces exactly.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# Output must read the same at any width: every test runs at 80 columns (rich reads COLUMNS when a
# Console is made, so before weightwise.cli is imported) and from a long temporary path (below), as
# on a fresh clone under a deep folder.
os.environ["COLUMNS"] = "80"

LONG_FOLDER = "a-deliberately-long-folder-name-" * 5


@pytest.fixture
def tmp_path(tmp_path: Path) -> Path:
    """pytest's ``tmp_path`` with ~160 more characters, so paths in messages outgrow 80 columns."""
    long = tmp_path / LONG_FOLDER
    long.mkdir()
    return long


@pytest.fixture
def strict() -> Iterator[None]:
    """Turn floating-point overflow, division by zero and invalid operations into errors.

    Underflow stays allowed: ``exp(-1e4)`` rounding to 0 is the correct limit, and NumPy ignores
    underflow by default, so it is not a warning a user would ever see.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            yield


@pytest.fixture
def rng() -> np.random.Generator:
    """A NumPy generator with a fixed seed."""
    return np.random.default_rng(12345)


def _targets(loss: str, output: str, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    if output == "softmax":
        return np.eye(k)[rng.integers(0, k, size=n)]
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, size=(n, k)).astype(float)
    if output == "sigmoid":
        return rng.uniform(0.05, 0.95, size=(n, k))
    if output == "tanh":
        return rng.uniform(-0.9, 0.9, size=(n, k))
    if output in ("relu", "softplus"):
        return rng.uniform(0.0, 1.5, size=(n, k))
    return rng.normal(size=(n, k))


@pytest.fixture
def make_targets() -> Callable[[str, str, int, int, np.random.Generator], np.ndarray]:
    """``make_targets(loss, output, n, k, rng)``: float64 targets of shape (n, k) that suit the pair.

    One-hot rows for softmax outputs (with either loss), 0/1 for sigmoid cross-entropy, and values in
    the output's range otherwise (so squared error is not dominated by unreachable targets).
    """
    return _targets


@pytest.fixture
def torch_one_thread() -> Iterator[Any]:
    """PyTorch with one intra-op thread for the test, restored afterwards; skips without torch.

    On a 2-core machine, tiny torch ops interleaved with NumPy matrix products each took about
    20 ms with torch's default two threads (its pool and OpenBLAS's spinning threads wait on each
    other) and 4 us with one; these tests use tensors of a few dozen numbers.
    """
    torch = pytest.importorskip("torch")
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield torch
    finally:
        torch.set_num_threads(n_threads)
