"""The shared argument checks: one rule and one message for each kind of setting."""

from __future__ import annotations

import numpy as np
import pytest

from weightwise.checks import (
    check_cd_k,
    check_fraction,
    check_positive,
    check_positive_int,
    in_unit_interval,
)
from weightwise.errors import ConfigError


@pytest.mark.parametrize("value", [1, 7, np.int64(3)])
def test_positive_int_accepts_integers(value):
    assert check_positive_int(value, "epochs") == int(value)
    assert type(check_positive_int(value, "epochs")) is int


@pytest.mark.parametrize("value", [0, -1, 1.0, 2.5, True, "3", None])
def test_positive_int_refuses_the_rest(value):
    with pytest.raises(ConfigError, match=r"^epochs must be a positive integer, got "):
        check_positive_int(value, "epochs")


def test_cd_k_names_what_it_counts():
    with pytest.raises(ConfigError, match=r"cd_k must be a positive integer \(Gibbs steps per update\)"):
        check_cd_k(0)
    assert check_cd_k(np.int32(2)) == 2


@pytest.mark.parametrize("value", [0, -1e-3, float("nan"), float("inf"), True, "1"])
def test_positive_refuses(value):
    with pytest.raises(ConfigError, match="lr must be a positive finite number"):
        check_positive(value, "lr")


FRACTIONS = [(0, True), (0.5, True), (1.0, False), (-0.1, False), (False, False)]


@pytest.mark.parametrize(("value", "ok"), FRACTIONS)
def test_fraction(value, ok):
    if ok:
        assert check_fraction(value, "corruption") == float(value)
    else:
        with pytest.raises(ConfigError, match=r"corruption must be in \[0, 1\): masked, got"):
            check_fraction(value, "corruption", "masked")


def test_unit_interval_on_numpy_and_torch():
    assert in_unit_interval(np.array([[0.0, 1.0]]))
    assert not in_unit_interval(np.array([[0.0, 1.01]]))
    assert not in_unit_interval(np.array([[-0.01, 0.5]]))
    torch = pytest.importorskip("torch")
    assert in_unit_interval(torch.tensor([[0.0, 0.5]]))
    assert not in_unit_interval(torch.tensor([[2.0]]))
