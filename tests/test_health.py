"""Dead back-propagation runs end with a TrainingFailedWarning that names the learning rate.

Before: SGD with learning rate 100 on digits ended at accuracy 0.10 with only "raise max_epochs or
learning_rate"; Adam with 1e6 ended with a loss near 500,000 and no warning; ``SGD(10.0)`` on a tanh
network had zero gradients from epoch 2, silently. Healthy runs, including a deep sigmoid network
at chance because of the vanishing gradient, stay silent.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

import weightwise
from weightwise import SGD, BPClassifier, BPRegressor, History, Network, TrainingFailedWarning, fit
from weightwise.backpropagation import health
from weightwise.presets import run_xor


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


@pytest.fixture
def silent() -> Iterator[None]:
    """A TrainingFailedWarning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainingFailedWarning)
        yield


def test_fit_warns_when_the_gradients_vanish_to_zero(digits):
    X, y = digits
    net = Network.create([64, 100, 10], "tanh", seed=0)
    with pytest.warns(TrainingFailedWarning) as caught:
        history = fit(net, X, np.eye(10)[y], optimizer=SGD(10.0), epochs=5, batch_size=32, seed=0)
    assert max(history.grad_norm[-1]) <= 1e-5 * max(history.grad_norm[0])
    text = str(caught[0].message)
    assert text == history.failure and history.failed
    assert text.startswith("training failed: the gradients vanished to zero in every layer")
    assert "the learning rate 10 is too large; try 1" in text


def test_gradients_that_were_zero_from_the_start_are_not_blamed_on_the_learning_rate(digits, silent):
    """Dead from initialisation (every ReLU unit off): nothing the learning rate did, no warning."""
    X, y = digits
    net = Network.create([64, 16, 10], "relu", "softmax", seed=0)
    net.layers[0].b[...] = -1e3  # no hidden unit ever fires, so every weight gradient is 0
    history = fit(
        net, X, np.eye(10)[y], loss="cross_entropy", optimizer=SGD(0.01), epochs=3, batch_size=64
    )
    assert max(history.grad_norm[0]) == 0.0 and not history.failed


def test_fit_warns_when_the_loss_rises_far_above_its_start(digits):
    X, y = digits
    net = Network.create([64, 100, 10], "relu", "softmax", seed=0)
    with pytest.warns(TrainingFailedWarning, match="the learning rate 100 is too large; try 10") as w:
        history = fit(
            net, X, np.eye(10)[y], loss="cross_entropy", optimizer=SGD(100.0), epochs=5, batch_size=32
        )
    assert history.loss[-1] > 10 * history.initial_loss
    assert "the loss rose from" in str(w[0].message) and "at chance" in str(w[0].message)


def test_healthy_runs_do_not_warn(digits, silent):
    X, y = digits
    Y = np.eye(10)[y]
    # A deep sigmoid network at chance (weightwise compare's plain BP): vanishing, not vanished.
    net = Network.create([64, *[32] * 5, 10], "sigmoid", "softmax", init="standard", seed=0)
    h = fit(net, X, Y, loss="cross_entropy", optimizer=SGD(0.05, momentum=0.9), epochs=8, batch_size=32)
    assert h.metric[-1] < 0.2 and not h.failed
    # Short runs, regression, tiny data, XOR with the textbook's settings.
    for epochs in (1, 2):
        net = Network.create([64, 30, 10], "relu", "softmax", seed=1)
        assert not fit(net, X, Y, loss="cross_entropy", epochs=epochs, batch_size=32).failed
    net = Network.create([64, 20, 1], "tanh", "identity", seed=2)
    assert not fit(net, X, X[:, :1] * 3, learning_rate=0.01, epochs=5, batch_size=16).failed
    net = Network.create([2, 3, 1], "sigmoid", seed=3)
    assert not fit(net, [[0.0, 1.0], [1.0, 0.0]], [[1.0], [0.0]], epochs=3).failed
    assert not run_xor(0, dtype="float64").history.failed


def _history(loss, metric, grad_norm, initial=2.3, lr=0.1, best_epoch=None):
    n = len(loss)
    return History(
        epoch=list(range(1, n + 1)),
        loss=loss,
        metric=metric,
        grad_norm=grad_norm,
        learning_rate=[lr] * n,
        initial_loss=initial,
        best_epoch=best_epoch,
    )


def test_the_rule_and_its_thresholds():
    chance = lambda: 0.1  # noqa: E731
    dead = _history([50.0, 24.0], [0.1, 0.1], [[1.0], [1.0]], lr=2)
    assert health.failure(dead, chance).endswith("the learning rate 2 is too large; try 0.2")
    # The loss rises 9.9 times, or the accuracy is above chance: not dead.
    assert not health.failure(_history([50.0, 22.7], [0.1, 0.1], [[1.0], [1.0]]), chance)
    assert not health.failure(_history([50.0, 24.0], [0.1, 0.2], [[1.0], [1.0]]), chance)
    assert health.failure(_history([50.0, 24.0], [0.1, 0.19], [[1.0], [1.0]]), chance)
    # Gradients: 1e-5 of the first epoch's is zero; 1e-4 is only small.
    assert health.failure(_history([2.3, 2.3], [0.1, 0.1], [[1.0, 2.0], [1e-5, 2e-5]]), chance)
    assert not health.failure(_history([2.3, 2.3], [0.1, 0.1], [[1.0, 2.0], [1e-5, 2e-4]]), chance)
    # Without an accuracy: dead when the loss is no better than predicting the targets' mean
    # (within a tenth), or, for other losses than squared error, not below where it started.
    nan = [math.nan, math.nan]
    assert health.failure(_history([2.3, 0.9], nan, [[1.0], [0.0]]), lambda: 1.0)
    assert not health.failure(_history([2.3, 0.89], nan, [[1.0], [0.0]]), lambda: 1.0)
    assert health.failure(_history([2.3, 2.3], nan, [[1.0], [0.0]]), lambda: None)
    assert not health.failure(_history([2.3, 2.0], nan, [[1.0], [0.0]]), lambda: None)
    assert health.failure(_history([30.0, 24.0], nan, [[1.0], [1.0]]), lambda: None)
    # Early stopping restored a good epoch: judged there.
    late = _history([2.0, 24.0], [0.9, 0.1], [[1.0], [1.0]], best_epoch=1)
    assert not health.failure(late, chance)
    # The failure travels with the history.
    assert History.from_dict(dead.to_dict()).initial_loss == 2.3


def test_chance_loss_is_that_of_the_targets_mean():
    Y = np.array([[0.0], [2.0]])  # mean 1: squared errors 1 and 1, halved
    squared = weightwise.get_loss("squared_error")
    assert health.chance_loss(Y, squared, "mean", 2) == 0.5
    assert health.chance_loss(Y, squared, "sum", 2) == 1.0
    assert health.chance_loss(Y, weightwise.get_loss("cross_entropy"), "mean", 2) is None


def test_chance_accuracy_is_the_majority_class():
    Y = np.eye(3)[[0, 0, 1, 2, 0]]
    assert health.chance_accuracy(Y, multilabel=False) == pytest.approx(0.6)
    assert health.chance_accuracy(np.array([[1.0], [0.0], [0.0], [0.0]]), False) == 0.75
    assert health.chance_accuracy(np.array([[1, 0], [1, 0], [1, 1]]), True) == pytest.approx(2 / 3)


def test_estimators_warn_with_the_same_words_and_not_raise_max_epochs(digits):
    X, y = digits
    est = BPClassifier(solver="sgd", learning_rate=100, max_epochs=10, tol=1e-4, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    texts = [str(w.message) for w in caught if issubclass(w.category, TrainingFailedWarning)]
    assert texts == [est.history_.failure]
    assert "the learning rate 100 is too large; try 10" in texts[0]
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert caught[0].filename == __file__  # points at the user's fit call
    reg = BPRegressor(
        activation="tanh", output_activation="tanh", solver="sgd", learning_rate=10, max_epochs=5
    )
    with pytest.warns(TrainingFailedWarning, match="no better than predicting the targets' mean"):
        reg.set_params(random_state=0).fit(X, X[:, 20] * 0.9)


def test_healthy_estimators_do_not_warn(digits, silent):
    X, y = digits
    BPClassifier(max_epochs=5, random_state=0).fit(X, y)
    BPRegressor(max_epochs=5, random_state=0).fit(X, X[:, 20])
    BPClassifier(random_state=0).partial_fit(X[:50], y[:50], classes=np.arange(10))
