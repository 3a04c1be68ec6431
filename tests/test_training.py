"""The training loop: stop rules, early stopping, callbacks, shuffling, schedules, History, and
checkpoint/resume ending with exactly the weights of an uninterrupted run."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from weightwise import (
    SGD,
    Adam,
    ConfigError,
    DataError,
    EpochInfo,
    History,
    ModelFileError,
    Network,
    Random,
    Schedule,
    backprop,
    fit,
)


def _regression(n: int = 24, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    Y = np.stack([np.sin(X[:, 0]) + 0.5 * X[:, 1], X[:, 2] * X[:, 0]], axis=1)
    return X, Y


def _classification(n: int = 30, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
    return X, np.eye(3)[labels]


def _net(
    sizes: tuple[int, ...] = (3, 8, 2), hidden: str = "tanh", output: str = "identity", seed: int = 0
) -> Network:
    return Network.create(sizes, hidden, output, "xavier_uniform", Random(seed), "float64")


def _record_weights(store: dict[int, list[np.ndarray]]) -> Any:
    def callback(info: EpochInfo) -> None:
        store[info.epoch] = info.network.get_weights()

    return callback


# ---------------------------------------------------------------------------------------------
# stop rules


def test_threshold_stops_once_the_loss_is_below_it() -> None:
    X, Y = _regression()
    hist = fit(_net(), X, Y, optimizer=SGD(0.1, momentum=0.9), epochs=2000, threshold=0.02)
    assert hist.stop_reason == "threshold"
    assert hist.loss[-1] < 0.02
    assert all(loss >= 0.02 for loss in hist.loss[:-1])  # it stops at the first epoch below
    assert 1 < hist.n_epochs < 2000


def test_max_epochs() -> None:
    X, Y = _regression()
    hist = fit(_net(), X, Y, learning_rate=0.05, epochs=7, threshold=1e-9)
    assert hist.stop_reason == "max_epochs"
    assert hist.epoch == [1, 2, 3, 4, 5, 6, 7]
    for field in ("loss", "metric", "seconds", "learning_rate", "grad_norm"):
        assert len(getattr(hist, field)) == 7, field


def test_early_stopping_restores_the_best_weights() -> None:
    # 12 noisy samples of sin(3x) and a 1-32-32-1 network: the validation loss on clean samples
    # is lowest after epoch 5 and not beaten in the next 20, so the run stops after epoch 25.
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (12, 1))
    Y = np.sin(3 * X) + rng.normal(scale=0.5, size=X.shape)
    Xv = rng.uniform(-1, 1, (50, 1))
    Yv = np.sin(3 * Xv)
    net = _net((1, 32, 32, 1))
    seen: dict[int, list[np.ndarray]] = {}
    patience = 20
    hist = fit(
        net,
        X,
        Y,
        optimizer="adam",
        learning_rate=0.01,
        epochs=1000,
        validation_data=(Xv, Yv),
        patience=patience,
        callbacks=[_record_weights(seen)],
    )
    assert hist.stop_reason == "early_stopping"
    best = int(np.argmin(hist.val_loss)) + 1
    assert hist.best_epoch == best
    assert hist.n_epochs == best + patience  # stopped after `patience` epochs without improvement
    assert best > 1 and not np.array_equal(seen[best][0], seen[hist.n_epochs][0])
    for got, want in zip(net.get_weights(), seen[best], strict=True):
        np.testing.assert_array_equal(got, want)
    pred = net.predict(Xv)
    assert 0.5 * np.sum((pred - Yv) ** 2) / len(Xv) == pytest.approx(hist.val_loss[best - 1], rel=1e-12)


def test_min_delta_ignores_small_improvements() -> None:
    X, Y = _regression()
    Xv, Yv = _regression(seed=5)
    hist = fit(
        _net(),
        X,
        Y,
        learning_rate=0.01,
        epochs=100,
        validation_data=(Xv, Yv),
        patience=3,
        min_delta=10.0,
    )
    # Nothing improves by 10, so the first epoch stays the best and the run stops after 1 + 3.
    assert hist.stop_reason == "early_stopping" and hist.best_epoch == 1 and hist.n_epochs == 4


def test_a_callback_can_stop_the_run() -> None:
    X, Y = _regression()
    calls: list[int] = []

    def stop_at_three(info: EpochInfo) -> bool:
        calls.append(info.epoch)
        assert info.epochs == 50 and info.history.n_epochs == info.epoch
        assert set(info.logs) >= {"loss", "metric", "seconds"}
        return info.epoch == 3

    hist = fit(_net(), X, Y, epochs=50, callbacks=[stop_at_three, lambda info: None])
    assert calls == [1, 2, 3]
    assert hist.stop_reason == "callback" and hist.n_epochs == 3


# ---------------------------------------------------------------------------------------------
# mini-batches and schedules


def test_minibatch_shuffling_is_reproducible_and_follows_the_seed() -> None:
    X, Y = _classification()
    kw: dict[str, Any] = dict(loss="cross_entropy", epochs=4, batch_size=7)

    def run(seed: int, shuffle: bool = True) -> tuple[list[np.ndarray], History]:
        net = _net((4, 6, 3), output="softmax")
        hist = fit(net, X, Y, optimizer=SGD(0.1, momentum=0.5), seed=seed, shuffle=shuffle, **kw)
        return net.get_weights(), hist

    w1, h1 = run(7)
    w2, h2 = run(7)
    w3, _ = run(8)
    w4, _ = run(7, shuffle=False)
    for a, b in zip(w1, w2, strict=True):
        np.testing.assert_array_equal(a, b)
    assert h1.loss == h2.loss
    assert not np.array_equal(w1[0], w3[0])
    assert not np.array_equal(w1[0], w4[0])

    # The same run by hand: each epoch one permutation of the samples from Random(seed), cut into
    # consecutive batches of 7 (the last one holds the remaining 2), one SGD step per batch.
    net = _net((4, 6, 3), output="softmax")
    rng, opt = Random(7), SGD(0.1, momentum=0.5)
    for _ in range(4):
        order = rng.permutation(len(X))
        for lo in range(0, len(X), 7):
            idx = order[lo : lo + 7]
            opt.step(net.parameters(), backprop(net, X[idx], Y[idx], "cross_entropy", "mean").as_list())
    for a, b in zip(net.get_weights(), w1, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-13)


@pytest.mark.parametrize(
    ("schedule", "factors"),
    [
        (Schedule("constant"), [1.0] * 6),
        (Schedule("step", step_size=2, gamma=0.5), [1, 1, 0.5, 0.5, 0.25, 0.25]),
        (Schedule("exponential", gamma=0.8), [0.8**e for e in range(6)]),
        (Schedule("inverse_scaling", power_t=0.5), [1 / math.sqrt(e + 1) for e in range(6)]),
    ],
    ids=["constant", "step", "exponential", "inverse_scaling"],
)
def test_schedules_set_the_learning_rate_of_each_epoch(schedule: Schedule, factors: list[float]) -> None:
    X, Y = _regression()
    eta0 = 0.2
    net = _net()
    start = _net().get_weights()
    hist = fit(net, X, Y, optimizer=SGD(eta0, schedule=schedule), epochs=6)
    np.testing.assert_allclose(hist.learning_rate, [eta0 * f for f in factors], rtol=1e-15)
    # ... and that rate is the one used: full-batch plain SGD by hand with the same rates.
    ref = _net()
    ref.set_weights(start)
    for f in factors:
        g = backprop(ref, X, Y, "squared_error", "mean")
        for p, d in zip(ref.parameters(), g.as_list(), strict=True):
            p -= eta0 * f * d
    for a, b in zip(net.get_weights(), ref.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-14)


# ---------------------------------------------------------------------------------------------
# History


def test_history_round_trips_through_json() -> None:
    X, Y = _regression()
    Xv, Yv = _regression(seed=3)
    hist = fit(_net(), X, Y, epochs=5, batch_size=8, seed=0, validation_data=(Xv, Yv), patience=2)
    assert all(math.isnan(m) for m in hist.metric)  # an identity output has no accuracy
    text = json.dumps(hist.to_dict(), allow_nan=False)  # strict JSON: NaN became null
    back = History.from_dict(json.loads(text))
    assert set(hist.to_dict()) == {f for f in History.__dataclass_fields__}
    for name in History.__dataclass_fields__:
        np.testing.assert_equal(getattr(back, name), getattr(hist, name), err_msg=name)


def test_grad_norm_has_one_entry_per_layer() -> None:
    X, Y = _classification()
    net = _net((4, 6, 5, 3), output="softmax")
    first = backprop(net, X, Y, "cross_entropy", "mean")
    hist = fit(net, X, Y, loss="cross_entropy", epochs=3)
    assert len(hist.grad_norm) == 3 and all(len(g) == 3 for g in hist.grad_norm)
    # Full batch: epoch 1's entry is the norm of the gradient at the initial weights.
    np.testing.assert_allclose(hist.grad_norm[0], [np.linalg.norm(dW) for dW in first.dW], rtol=1e-12)
    quiet = fit(
        _net((4, 6, 5, 3), output="softmax"),
        X,
        Y,
        loss="cross_entropy",
        epochs=2,
        record_grad_norm=False,
    )
    assert quiet.grad_norm == []


# ---------------------------------------------------------------------------------------------
# checkpoint and resume


class Interrupt(Exception):
    """A crash that fit does not catch (unlike KeyboardInterrupt, which it checkpoints)."""


def _train(
    folder: Path | None,
    optimizer: str,
    interrupt_at: int | None = None,
    error: type[BaseException] = KeyboardInterrupt,
    every: int = 1,
    resume: bool = False,
    init_seed: int = 0,
    lr: float | None = None,
    **options: Any,
) -> tuple[Network, History, list[int]]:
    X, Y = _classification(40)
    net = _net((4, 6, 5, 3), output="softmax", seed=init_seed)
    opt = SGD(lr or 0.05, momentum=0.9) if optimizer == "sgd" else Adam(lr or 0.01)
    seen: list[int] = []

    def watch(info: EpochInfo) -> None:
        seen.append(info.epoch)
        if info.epoch == interrupt_at:
            raise error()

    hist = fit(
        net,
        X,
        Y,
        loss="cross_entropy",
        optimizer=opt,
        epochs=10,
        batch_size=6,
        shuffle=True,
        seed=11,
        checkpoint_dir=folder,
        checkpoint_every=every,
        resume=resume,
        callbacks=[watch],
        **options,
    )
    return net, hist, seen


def _same_history(a: History, b: History) -> None:
    for name in History.__dataclass_fields__:
        if name != "seconds":  # wall time differs from run to run
            np.testing.assert_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert len(a.seconds) == len(b.seconds)


@pytest.mark.parametrize(
    ("optimizer", "interrupt_at", "error", "every", "resumed_epochs"),
    [
        # Ctrl-C in epoch 6: fit saves the state at the start of epoch 6 and re-raises.
        ("sgd", 6, KeyboardInterrupt, 1, [6, 7, 8, 9, 10]),
        ("sgd", 6, KeyboardInterrupt, 3, [6, 7, 8, 9, 10]),
        # A crash fit cannot catch in epoch 8: the last checkpoint is the one after epoch 6.
        ("sgd", 8, Interrupt, 3, [7, 8, 9, 10]),
        ("adam", 6, KeyboardInterrupt, 1, [6, 7, 8, 9, 10]),
        ("adam", 8, Interrupt, 3, [7, 8, 9, 10]),
    ],
)
def test_resumed_run_ends_exactly_like_an_uninterrupted_one(
    tmp_path: Path,
    optimizer: str,
    interrupt_at: int,
    error: type[BaseException],
    every: int,
    resumed_epochs: list[int],
) -> None:
    net_full, hist_full, _ = _train(None, optimizer)
    folder = tmp_path / "ckpt"
    with pytest.raises(error):
        _train(folder, optimizer, interrupt_at, error, every)
    # A fresh network with other initial weights: everything must come from the checkpoint.
    net, hist, seen = _train(folder, optimizer, every=every, resume=True, init_seed=99)
    assert seen == resumed_epochs
    for got, want in zip(net.get_weights(), net_full.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    _same_history(hist, hist_full)


@pytest.mark.parametrize(
    ("interrupt_at", "error"), [(6, KeyboardInterrupt), (7, KeyboardInterrupt), (6, Interrupt)]
)
def test_resume_keeps_the_early_stopping_state(
    tmp_path: Path, interrupt_at: int, error: type[BaseException]
) -> None:
    # Uninterrupted, the validation loss is best after epoch 4 and the run stops after epoch 8
    # (patience 4); interrupting in the middle of the wait must neither lose nor double-count it.
    kw: dict[str, Any] = dict(lr=0.2, validation_data=_classification(30, seed=4), patience=4)
    net_full, hist_full, _ = _train(None, "sgd", **kw)
    assert (hist_full.best_epoch, hist_full.n_epochs) == (4, 8)
    folder = tmp_path / "ckpt"
    with pytest.raises(error):
        _train(folder, "sgd", interrupt_at, error, **kw)
    net, hist, _ = _train(folder, "sgd", resume=True, init_seed=99, **kw)
    for got, want in zip(net.get_weights(), net_full.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    _same_history(hist, hist_full)


def test_resume_on_torch_tensors(tmp_path: Path, torch_one_thread: Any) -> None:
    torch = torch_one_thread
    X, Y = _classification(40)

    def run(folder: Path | None, interrupt: bool = False, resume: bool = False) -> Network:
        net = _net((4, 6, 5, 3), output="softmax").to("torch")

        def stop(info: EpochInfo) -> None:
            if interrupt and info.epoch == 4:
                raise KeyboardInterrupt

        fit(
            net,
            torch.from_numpy(X),
            torch.from_numpy(Y),
            loss="cross_entropy",
            optimizer="adam",
            learning_rate=0.01,
            epochs=6,
            batch_size=6,
            seed=2,
            checkpoint_dir=folder,
            resume=resume,
            callbacks=[stop],
        )
        return net

    full = run(None)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, interrupt=True)
    resumed = run(tmp_path, resume=True)
    assert isinstance(resumed.layers[0].W, torch.Tensor)
    for got, want in zip(resumed.get_weights(), full.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_resume_without_a_checkpoint_starts_fresh(tmp_path: Path) -> None:
    net_full, hist_full, _ = _train(None, "sgd")
    net, hist, seen = _train(tmp_path / "empty", "sgd", resume=True)
    assert seen == list(range(1, 11))
    for got, want in zip(net.get_weights(), net_full.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def _checkpointed_run(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Two epochs of a 4-6-5-3 softmax network checkpointed into ``folder``; returns its data."""
    X, Y = _classification(40)
    net = _net((4, 6, 5, 3), output="softmax")
    fit(net, X, Y, loss="cross_entropy", epochs=2, checkpoint_dir=folder)
    return X, Y


def test_checkpoint_of_another_architecture_is_refused(tmp_path: Path) -> None:
    X, Y = _checkpointed_run(tmp_path)
    other = _net((4, 7, 3), output="softmax")
    with pytest.raises(
        DataError, match=r"checkpoint in .* is for a \[4, 6, 5, 3\] network.*not this \[4, 7, 3\]"
    ):
        fit(other, X, Y, loss="cross_entropy", epochs=4, checkpoint_dir=tmp_path, resume=True)


@pytest.mark.parametrize(
    ("filename", "damage", "message"),
    [
        ("checkpoint.safetensors", b"\x00garbage\xff" * 10, r"not a readable safetensors file"),
        ("checkpoint.safetensors", None, r"not a readable safetensors file"),  # truncated to half
        ("checkpoint.json", b"{not json", r"not valid JSON"),
        ("checkpoint.json", b'{"format": "something else"}', r"not a weightwise checkpoint"),
    ],
)
def test_corrupted_checkpoint_gives_model_file_error(
    tmp_path: Path, filename: str, damage: bytes | None, message: str
) -> None:
    X, Y = _checkpointed_run(tmp_path)
    path = tmp_path / filename
    path.write_bytes(damage if damage is not None else path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelFileError, match=message):
        fit(
            _net((4, 6, 5, 3), output="softmax"),
            X,
            Y,
            loss="cross_entropy",
            epochs=4,
            checkpoint_dir=tmp_path,
            resume=True,
        )


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"batch_size": 8}, "batch_size 10 there, 8 here"),
        ({"seed": 4}, "seed 3 there, 4 here"),
        ({"shuffle": False}, "shuffle True there, False here"),
        ({"optimizer": "adam"}, "optimizer 'sgd' there, 'adam' here"),
    ],
)
def test_resuming_with_other_settings_is_refused_naming_them(
    tmp_path: Path, change: dict[str, Any], named: str
) -> None:
    X, Y = _classification(40)
    settings: dict[str, Any] = {"optimizer": "sgd", "batch_size": 10, "seed": 3, "shuffle": True}
    fit(_net((4, 6, 3), output="softmax"), X, Y, loss="cross_entropy", epochs=2,
        checkpoint_dir=tmp_path, **settings)  # fmt: skip
    with pytest.raises(ConfigError, match="other settings") as info:
        fit(_net((4, 6, 3), output="softmax"), X, Y, loss="cross_entropy", epochs=4,
            checkpoint_dir=tmp_path, resume=True, **(settings | change))  # fmt: skip
    assert named in str(info.value)
