"""``alpha`` (scikit-learn's L2 penalty) acts on every step path of the estimators.

The penalty is the optimiser's ``weight_decay`` with ``decay_bias=False``, so SGD's fused
``step_factored`` (most mini-batches) applies it as the plain ``step`` does; these tests compare
the shrinkage with scikit-learn's MLP and each step path with the other.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier

from weightwise import SGD, Forward, Gradients
from weightwise.estimators import BPClassifier
from weightwise.estimators._optimizers import _EstimatorSGD

# One hidden layer of 100, batches of 32, 5 epochs, SGD with learning rate 0.1 and momentum 0.9.
EPOCHS, BATCH, HIDDEN = 5, 32, 100


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X / 16, y


def _first_layer_norm(est: Any, X: np.ndarray, y: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 5 epochs do not converge; that is not the point
        est.fit(X, y)
    return float(np.linalg.norm(np.asarray(est.coefs_[0], dtype=np.float64)))


def _ours(solver: str, alpha: float, learning_rate: float) -> BPClassifier:
    return BPClassifier(
        hidden_layer_sizes=(HIDDEN,), solver=solver, alpha=alpha, batch_size=BATCH,
        max_epochs=EPOCHS, learning_rate=learning_rate, momentum=0.9, tol=None, random_state=0,
    )  # fmt: skip


def _shrink(solver: str, learning_rate: float, X: np.ndarray, y: np.ndarray) -> float:
    """``||W1(alpha=1)|| / ||W1(alpha=0)||`` of BPClassifier."""
    with_l2 = _first_layer_norm(_ours(solver, 1.0, learning_rate), X, y)
    return with_l2 / _first_layer_norm(_ours(solver, 0.0, learning_rate), X, y)


def _sklearn_shrink(X: np.ndarray, y: np.ndarray) -> float:
    def norm(alpha: float) -> float:
        mlp = MLPClassifier(
            (HIDDEN,), solver="sgd", alpha=alpha, batch_size=BATCH, max_iter=EPOCHS,
            learning_rate_init=0.1, momentum=0.9, nesterovs_momentum=False, random_state=0,
        )  # fmt: skip
        return _first_layer_norm(mlp, X, y)

    return norm(1.0) / norm(0.0)


def test_sgd_alpha_shrinks_weights_as_sklearn_does(digits: tuple[np.ndarray, np.ndarray]) -> None:
    """Same penalty semantics (alpha / batch size per step), so the same shrinkage: about 0.31
    for scikit-learn and 0.33 for ours."""
    X, y = digits
    ours, theirs = _shrink("sgd", 0.1, X, y), _sklearn_shrink(X, y)
    assert abs(ours - theirs) < 0.05, (ours, theirs)


def test_adam_and_sgd_shrink_alike(digits: tuple[np.ndarray, np.ndarray]) -> None:
    """Adam at learning rate 0.01 shrinks about as SGD does: 0.27 and 0.33."""
    X, y = digits
    sgd, adam = _shrink("sgd", 0.1, X, y), _shrink("adam", 0.01, X, y)
    assert sgd < 0.5 and adam < 0.5 and abs(sgd - adam) < 0.1, (sgd, adam)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("make", [_EstimatorSGD, SGD], ids=["estimator-sgd", "sgd"])
def test_fused_step_with_weight_decay_equals_step(make: Any, momentum: float) -> None:
    """The fused ``step_factored`` (a 64 x 80 layer, big enough for the gemm) and ``step`` with
    the gradients formed give the same weights, biases left undecayed."""
    rng = np.random.default_rng(0)
    n = 16
    params = [
        rng.normal(size=(64, 80)),
        rng.normal(size=80),
        rng.normal(size=(80, 3)),
        rng.normal(size=3),
    ]
    opts = [make(0.1, momentum, False, lam, None, decay_bias=False) for lam in (0.3, 0.3, 0.0)]
    fused, plain, undecayed = ([p.copy() for p in params] for _ in opts)
    for _ in range(3):
        acts = [rng.normal(size=(n, 64)), rng.normal(size=(n, 80))]
        deltas = [rng.normal(size=(n, 80)) / n, rng.normal(size=(n, 3)) / n]
        db = [d.sum(0) for d in deltas]
        forward = Forward(zs=deltas, activations=[*acts, deltas[-1]])
        opts[0].step_factored(fused, Gradients([None, None], db, deltas, np.float64(0.0), forward))
        grads = [acts[0].T @ deltas[0], db[0], acts[1].T @ deltas[1], db[1]]
        opts[1].step(plain, grads)
        opts[2].step(undecayed, grads)
    for f, p in zip(fused, plain, strict=True):
        np.testing.assert_allclose(f, p, rtol=1e-12, atol=1e-12)
    # The weights shrank; the biases moved as if there were no penalty.
    for i in (0, 2):
        assert np.linalg.norm(fused[i]) < np.linalg.norm(undecayed[i])
    for i in (1, 3):
        np.testing.assert_allclose(fused[i], undecayed[i], rtol=1e-12, atol=1e-12)
