"""The TensorBoard callback, read back with TensorBoard's own event reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import weightwise as ww
from weightwise.errors import ConfigError
from weightwise.interop import TensorBoard

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _events(log_dir: Path) -> Any:
    acc = event_accumulator.EventAccumulator(
        str(log_dir), size_guidance={"scalars": 0, "histograms": 0, "images": 0}
    )
    acc.Reload()
    return acc


def _scalars(acc: Any, tag: str) -> tuple[list[int], list[float]]:
    events = acc.Scalars(tag)
    return [e.step for e in events], [e.value for e in events]


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.data[:150] / 16).astype(np.float32)
    return X, np.eye(10, dtype=np.float32)[d.target[:150]], d.target[:150]


def test_fit_scalars_equal_history(digits: Any, tmp_path: Path) -> None:
    X, Y, _ = digits
    net = ww.Network.create([64, 12, 8, 10], "sigmoid", "softmax", seed=0)
    with TensorBoard(tmp_path, histogram_every=2, image_every=2) as tb:
        h = ww.fit(
            net, X[:100], Y[:100], loss="cross_entropy", optimizer="adam", epochs=4,
            batch_size=16, validation_data=(X[100:], Y[100:]), callbacks=[tb], seed=0,
        )  # fmt: skip
    acc = _events(tmp_path)
    steps, loss = _scalars(acc, "loss/train")
    assert steps == [1, 2, 3, 4]
    np.testing.assert_allclose(loss, h.loss, rtol=1e-6)
    np.testing.assert_allclose(_scalars(acc, "loss/validation")[1], h.val_loss, rtol=1e-6)
    np.testing.assert_allclose(_scalars(acc, "metric/validation")[1], h.val_metric, rtol=1e-6)
    np.testing.assert_allclose(_scalars(acc, "learning_rate")[1], h.learning_rate, rtol=1e-6)
    for l in range(3):
        got = _scalars(acc, f"gradient_norm/layer_{l + 1}")[1]
        np.testing.assert_allclose(got, [g[l] for g in h.grad_norm], rtol=1e-6)
        steps, ratio = _scalars(acc, f"update_ratio/layer_{l + 1}")
        assert steps == [1, 2, 3, 4] and all(0 < r < 1 for r in ratio)
    tags = acc.Tags()
    assert "saturation/layer_1" in tags["scalars"] and "saturation/layer_3" not in tags["scalars"]
    for kind in ("weights", "biases", "gradients", "activations"):
        assert [e.step for e in acc.Histograms(f"{kind}/layer_2")] == [1, 2, 4]
    assert acc.Histograms("activations/layer_3")[0].histogram_value.num == 16 * 10
    (image,) = [e for e in acc.Images("filters/layer_1") if e.step == 1]
    assert image.width > 8 and image.height > 8


def test_callback_changes_nothing(digits: Any, tmp_path: Path) -> None:
    X, Y, _ = digits
    runs = []
    for callbacks in ([], [TensorBoard(tmp_path, histogram_every=1, image_every=1, examples=X[:8])]):
        net = ww.Network.create([64, 8, 10], "sigmoid", "softmax", seed=0)
        ww.pretrain(net, X, "rbm", epochs=2, callbacks=callbacks, seed=0)
        ww.fit(net, X, Y, loss="cross_entropy", epochs=2, batch_size=32, callbacks=callbacks, seed=0)
        runs.append(net.get_weights())
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_pretrain_rbm_and_autoencoder(digits: Any, tmp_path: Path) -> None:
    X, _, _ = digits
    net = ww.Network.create([64, 9, 4, 2], "sigmoid", seed=0)
    with TensorBoard(tmp_path, histogram_every=1, image_every=2, examples=X[:8]) as tb:
        result = ww.pretrain(
            net, X[:100], ["rbm", "denoising"], epochs=2, callbacks=[tb], validation=X[100:], seed=0
        )
    acc = _events(tmp_path)
    rbm, ae = result.histories
    np.testing.assert_allclose(
        _scalars(acc, "pretrain/layer_1/reconstruction_error")[1], rbm.reconstruction_error, rtol=1e-6
    )
    np.testing.assert_allclose(
        _scalars(acc, "pretrain/layer_1/free_energy_gap")[1], rbm.free_energy_gap, rtol=1e-6
    )
    np.testing.assert_allclose(
        _scalars(acc, "pretrain/layer_2/reconstruction_error")[1], ae.reconstruction_error, rtol=1e-6
    )
    assert "pretrain/layer_2/val_reconstruction_error" in acc.Tags()["scalars"]
    assert "pretrain/layer_2/free_energy_gap" not in acc.Tags()["scalars"]  # NaN for an AE
    for tag in ("weights", "hidden_bias", "visible_bias", "activations"):
        assert [e.step for e in acc.Histograms(f"pretrain/layer_2/{tag}")] == [1, 2]
    assert acc.Histograms("pretrain/layer_2/activations")[0].histogram_value.num == 8 * 4
    for tag in ("filters", "reconstructions", "samples"):
        assert [e.step for e in acc.Images(f"pretrain/layer_1/{tag}")] == [1, 2]


def test_estimators_take_it_as_callback(digits: Any, tmp_path: Path) -> None:
    from sklearn.base import clone

    X, _, y = digits
    tb = TensorBoard(tmp_path / "clf", histogram_every=None, image_every=None)
    clf = ww.BPClassifier(
        (8,), activation="logistic", pretrain="rbm", pretrain_epochs=2, max_epochs=3,
        callbacks=[tb], pretrain_callbacks=[tb], random_state=0,
    )  # fmt: skip
    clf.fit(X, y)
    clone(clf)  # the callback is shared by clones, not copied
    clf.partial_fit(X, y)  # a second run continues the steps
    tb.close()
    acc = _events(tmp_path / "clf")
    steps, loss = _scalars(acc, "loss/train")
    assert steps == [1, 2, 3, 4]
    np.testing.assert_allclose(loss, clf.history_.loss, rtol=1e-6)
    assert _scalars(acc, "pretrain/layer_1/reconstruction_error")[0] == [1, 2]
    assert acc.Tags()["histograms"] == [] and acc.Tags()["images"] == []
    with TensorBoard(tmp_path / "dbn") as tb:
        ww.DBN(hidden_layer_sizes=(6, 4), n_iter=2, callbacks=[tb], random_state=0).fit(X)
    assert "pretrain/layer_2/reconstruction_error" in _events(tmp_path / "dbn").Tags()["scalars"]


def test_unwritable_log_dir_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("in the way")
    with pytest.raises(ConfigError, match="cannot write TensorBoard logs to") as info:
        TensorBoard(tmp_path / "file" / "logs")
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="histogram_every"):
        TensorBoard(tmp_path / "ok", histogram_every=-1)
