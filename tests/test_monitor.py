"""Early stopping on the validation metric (``fit(monitor="val_metric")``) as well as the loss:
the rule and its direction, best weights, errors, checkpoint/resume, and the estimators' use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import train_test_split

from weightwise import SGD, ConfigError, DataError, EpochInfo, History, Network, Random, fit
from weightwise.estimators import BPClassifier, BPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _disagreeing_problem() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training and validation data on which the validation loss and accuracy disagree.

    The class is ``x0 > 1``. The validation rows lie near that boundary, where the accuracy rises
    slowly as the boundary moves into place, plus two far rows with the wrong label, whose loss
    grows with the weights: with a 2-2 softmax net the validation loss is lowest after epoch 5
    while the validation accuracy is still rising (best after epoch 7 with patience 3).
    """
    r = np.random.default_rng(0)
    X = r.uniform(-3, 3, size=(60, 2))
    Y = np.eye(2)[(X[:, 0] > 1.0).astype(int)]
    r = np.random.default_rng(1)
    Xv = np.column_stack([r.uniform(0, 2, 30), r.uniform(-3, 3, 30)])
    Yv = np.eye(2)[(Xv[:, 0] > 1.0).astype(int)]
    Xv = np.vstack([Xv, [[8.0, 0.0], [-8.0, 0.0]]])
    Yv = np.vstack([Yv, [[1.0, 0.0], [0.0, 1.0]]])  # mislabelled on purpose
    return X, Y, Xv, Yv


def _net(seed: int = 0, output: str = "softmax") -> Network:
    return Network.create((2, 2), "tanh", output, "xavier_uniform", Random(seed), "float64")


def _record_weights(store: dict[int, list[np.ndarray]]) -> Any:
    def callback(info: EpochInfo) -> None:
        store[info.epoch] = info.network.get_weights()

    return callback


def _run(
    monitor: str, patience: int | None = 3, min_delta: float = 0.0, **kw: Any
) -> tuple[Network, History]:
    X, Y, Xv, Yv = _disagreeing_problem()
    net = _net()
    hist = fit(
        net,
        X,
        Y,
        loss="cross_entropy",
        optimizer="sgd",
        learning_rate=0.1,
        epochs=60,
        validation_data=(Xv, Yv),
        patience=patience,
        min_delta=min_delta,
        monitor=monitor,
        **kw,
    )
    return net, hist


def _reference_rule(
    values: list[float], higher_is_better: bool, patience: int, min_delta: float
) -> tuple[int | None, int]:
    """(best_epoch, epochs run) of early stopping on ``values``, written out plainly."""
    best: float | None = None
    best_epoch: int | None = None
    wait = 0
    for epoch, v in enumerate(values, start=1):
        better = best is None or (v > best + min_delta if higher_is_better else v < best - min_delta)
        if better:
            best, best_epoch, wait = v, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return best_epoch, epoch
    return best_epoch, len(values)


# ---------------------------------------------------------------------------------------------
# the rule


def test_the_metric_monitor_stops_later_than_the_loss_monitor_when_they_disagree() -> None:
    seen_loss: dict[int, list[np.ndarray]] = {}
    seen_metric: dict[int, list[np.ndarray]] = {}
    net_l, by_loss = _run("val_loss", callbacks=[_record_weights(seen_loss)])
    net_m, by_metric = _run("val_metric", callbacks=[_record_weights(seen_metric)])
    assert by_loss.stop_reason == by_metric.stop_reason == "early_stopping"
    # Both runs are the same until the loss-monitored one stops.
    np.testing.assert_array_equal(by_loss.val_loss, by_metric.val_loss[: by_loss.n_epochs])
    # The loss is lowest at the loss run's best epoch, the accuracy highest at the metric run's.
    assert by_loss.best_epoch == int(np.argmin(by_loss.val_loss)) + 1
    assert by_metric.best_epoch == int(np.argmax(by_metric.val_metric)) + 1
    assert (by_loss.best_epoch, by_loss.n_epochs) == (5, 8)
    assert (by_metric.best_epoch, by_metric.n_epochs) == (7, 10)
    # The point of the monitor: the weights kept classify the validation rows better.
    assert by_metric.val_metric[by_metric.best_epoch - 1] > by_loss.val_metric[by_loss.best_epoch - 1]
    for net, hist, seen in ((net_l, by_loss, seen_loss), (net_m, by_metric, seen_metric)):
        assert hist.best_epoch is not None and hist.best_epoch < hist.n_epochs
        assert not np.array_equal(seen[hist.best_epoch][0], seen[hist.n_epochs][0])
        for got, want in zip(net.get_weights(), seen[hist.best_epoch], strict=True):
            np.testing.assert_array_equal(got, want)


def test_the_restored_weights_score_the_recorded_best_accuracy() -> None:
    net, hist = _run("val_metric")
    _, _, Xv, Yv = _disagreeing_problem()
    accuracy = np.mean(net.predict(Xv).argmax(axis=1) == Yv.argmax(axis=1))
    assert hist.best_epoch is not None
    assert accuracy == hist.val_metric[hist.best_epoch - 1] == max(hist.val_metric)


def test_val_accuracy_is_the_keras_name_of_val_metric() -> None:
    net_a, a = _run("val_accuracy")
    net_m, m = _run("val_metric")
    assert (a.best_epoch, a.n_epochs) == (m.best_epoch, m.n_epochs)
    for got, want in zip(net_a.get_weights(), net_m.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("monitor", "min_delta", "expected"),
    [
        # accuracy 0.531, 0.5, 0.5, 0.562, 0.562, 0.656, 0.719, 0.688, 0.719, 0.688, ...
        ("val_metric", 0.0, (7, 10)),
        ("val_metric", 0.05, (1, 4)),  # the rise of 0.031 in epoch 4 is too small
        ("val_metric", 1.0, (1, 4)),  # no accuracy can rise by 1
        ("val_loss", 0.0, (5, 8)),
        ("val_loss", 0.1, (3, 6)),  # only the fall 0.84 -> 0.71 in epoch 3 is by more than 0.1
    ],
)
def test_min_delta_counts_in_the_improving_direction(
    monitor: str, min_delta: float, expected: tuple[int, int]
) -> None:
    _, hist = _run(monitor, min_delta=min_delta)
    values = hist.val_metric if monitor == "val_metric" else hist.val_loss
    assert _reference_rule(values, monitor == "val_metric", 3, min_delta) == expected
    assert (hist.best_epoch, hist.n_epochs) == expected


def test_without_patience_the_monitor_changes_nothing() -> None:
    net_l, a = _run("val_loss", patience=None)
    net_m, b = _run("val_metric", patience=None)
    assert a.n_epochs == b.n_epochs == 60 and a.best_epoch is b.best_epoch is None
    for got, want in zip(net_l.get_weights(), net_m.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("monitor", ["val_acc", "accuracy", "loss", "VAL_LOSS", None])
def test_an_unknown_monitor_is_refused_with_the_choices(monitor: Any) -> None:
    with pytest.raises(ConfigError, match="valid monitors: 'val_loss', 'val_metric', 'val_accuracy'"):
        _run(monitor)


@pytest.mark.parametrize("monitor", ["val_metric", "val_accuracy"])
def test_the_metric_monitor_needs_a_metric(monitor: str) -> None:
    with pytest.raises(ConfigError, match="needs a validation metric.*metric=None"):
        _run(monitor, metric=None)
    X, Y, Xv, Yv = _disagreeing_problem()
    # metric="auto" computes none for an identity output.
    with pytest.raises(ConfigError, match="'identity' output"):
        fit(_net(output="identity"), X, Y, validation_data=(Xv, Yv), patience=2, monitor=monitor)
    # ... but an explicit metric="accuracy" can be monitored there.
    hist = fit(
        _net(output="identity"),
        X,
        Y,
        epochs=3,
        validation_data=(Xv, Yv),
        patience=2,
        monitor=monitor,
        metric="accuracy",
    )
    assert len(hist.val_metric) == 3


def test_the_metric_monitor_needs_validation_data() -> None:
    X, Y, _, _ = _disagreeing_problem()
    with pytest.raises(ConfigError, match="needs validation_data"):
        fit(_net(), X, Y, loss="cross_entropy", epochs=2, monitor="val_metric")


# ---------------------------------------------------------------------------------------------
# checkpoint and resume


class Interrupt(Exception):
    """A crash that fit does not catch (unlike KeyboardInterrupt, which it checkpoints)."""


def _train(
    folder: Path | None,
    monitor: str = "val_metric",
    interrupt_at: int | None = None,
    error: type[BaseException] = KeyboardInterrupt,
    every: int = 1,
    resume: bool = False,
    init_seed: int = 0,
    net: Network | None = None,
) -> tuple[Network, History]:
    # Mini-batches, shuffling and momentum, so the random stream and optimiser slots must resume too.
    X, Y, Xv, Yv = _disagreeing_problem()

    def interrupt(info: EpochInfo) -> None:
        if info.epoch == interrupt_at:
            raise error()

    net = _net(init_seed) if net is None else net
    hist = fit(
        net,
        X,
        Y,
        loss="cross_entropy",
        optimizer=SGD(0.02, momentum=0.9),
        epochs=40,
        batch_size=10,
        seed=3,
        validation_data=(Xv, Yv),
        patience=4,
        monitor=monitor,
        checkpoint_dir=folder,
        checkpoint_every=every,
        resume=resume,
        callbacks=[interrupt],
    )
    return net, hist


def _same_run(a: tuple[Network, History], b: tuple[Network, History]) -> None:
    for got, want in zip(a[0].get_weights(), b[0].get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    for name in History.__dataclass_fields__:
        if name != "seconds":  # wall time differs from run to run
            np.testing.assert_equal(getattr(a[1], name), getattr(b[1], name), err_msg=name)


@pytest.fixture(scope="module")
def uninterrupted() -> tuple[Network, History]:
    full = _train(None)
    hist = full[1]
    # The interruptions below fall inside the wait after the best epoch, or before it.
    assert hist.stop_reason == "early_stopping" and hist.best_epoch is not None
    assert hist.best_epoch == int(np.argmax(hist.val_metric)) + 1
    assert hist.best_epoch + 4 == hist.n_epochs and 5 <= hist.best_epoch <= 30
    return full


@pytest.mark.parametrize(
    ("offset", "error", "every"),
    [(1, KeyboardInterrupt, 1), (2, KeyboardInterrupt, 1), (2, Interrupt, 3), (-2, Interrupt, 1)],
)
def test_resume_with_the_metric_monitor_ends_like_an_uninterrupted_run(
    tmp_path: Path,
    uninterrupted: tuple[Network, History],
    offset: int,
    error: type[BaseException],
    every: int,
) -> None:
    best = uninterrupted[1].best_epoch
    assert best is not None
    folder = tmp_path / "ckpt"
    with pytest.raises(error):
        _train(folder, interrupt_at=best + offset, error=error, every=every)
    saved = json.loads((folder / "checkpoint.json").read_text())["best"]
    assert saved["monitor"] == "val_metric"
    # A fresh network with other initial weights: everything must come from the checkpoint.
    _same_run(_train(folder, resume=True, init_seed=99), uninterrupted)


def test_resuming_with_another_monitor_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):
        _train(folder, interrupt_at=3)
    net = _net(99)
    before = net.get_weights()
    with pytest.raises(DataError, match="made with monitor='val_metric', not 'val_loss'"):
        _train(folder, monitor="val_loss", resume=True, init_seed=99, net=net)
    for got, want in zip(net.get_weights(), before, strict=True):  # refused before any change
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------------------------
# estimators


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    X_train, _, y_train, _ = train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)
    return X_train, y_train


def test_the_classifier_early_stops_on_the_validation_accuracy(digits: Any) -> None:
    clf = BPClassifier(
        hidden_layer_sizes=(32,),
        learning_rate=0.01,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        random_state=0,
    ).fit(*digits)
    hist, scores = clf.history_, clf.validation_scores_
    assert hist.stop_reason == "early_stopping"
    np.testing.assert_allclose(hist.val_metric, scores, rtol=1e-6)
    assert hist.best_epoch == int(np.argmax(scores)) + 1 == clf.n_iter_ - 3
    # The validation loss is lowest at another epoch: the loss rule would have kept other weights.
    assert hist.best_epoch != int(np.argmin(hist.val_loss)) + 1


def test_a_classifier_with_one_sigmoid_per_class_early_stops_on_the_loss(digits: Any) -> None:
    clf = BPClassifier(
        hidden_layer_sizes=(16,),
        output_activation="sigmoid",
        loss="squared_error",
        learning_rate=0.01,
        early_stopping=True,
        n_iter_no_change=2,
        max_epochs=40,
        random_state=0,
    ).fit(*digits)
    hist = clf.history_
    assert hist.stop_reason == "early_stopping"
    assert hist.best_epoch == int(np.argmin(hist.val_loss)) + 1 == clf.n_iter_ - 2


def test_the_regressor_early_stops_on_the_validation_loss() -> None:
    X, y = make_regression(n_samples=80, n_features=5, noise=30.0, random_state=0)
    reg = BPRegressor(
        hidden_layer_sizes=(64,),
        learning_rate=0.05,
        early_stopping=True,
        validation_fraction=0.25,
        n_iter_no_change=3,
        random_state=0,
    ).fit(X / 3.0, y / 100.0)
    hist = reg.history_
    assert hist.stop_reason == "early_stopping"
    assert hist.best_epoch == int(np.argmin(hist.val_loss)) + 1 == reg.n_iter_ - 3
    assert np.all(np.isnan(hist.val_metric))
