"""Mutual-information estimators on constructed cases with known values (bits), and the
information-plane callback during training."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import weightwise as ww
from weightwise.errors import ConfigError, DataError
from weightwise.evidence.information import (
    InformationPlane,
    binning_information,
    discretize,
    entropy_bits,
    information_per_layer,
    kde_information,
    label_ids,
    row_ids,
)

N = 4000


@pytest.fixture
def labels() -> np.ndarray:
    """Three classes with probabilities 1/2, 1/4, 1/4: H(Y) = 1.5 bits."""
    return np.random.default_rng(0).choice(3, size=N, p=[0.5, 0.25, 0.25])


def test_entropy_and_row_ids() -> None:
    assert entropy_bits(np.array([0, 1, 2, 3])) == pytest.approx(2.0)
    assert str(entropy_bits(np.array([5, 5, 5]))) == "0.0"  # not -0.0
    B = np.array([[1, 2], [3, 4], [1, 2], [1, 3]], dtype=np.uint8)
    ids = row_ids(B)
    assert ids[0] == ids[2] and len(set(ids.tolist())) == 3
    np.testing.assert_array_equal(label_ids(np.eye(3)[[2, 0, 2]]), [1, 0, 1])
    np.testing.assert_array_equal(label_ids(np.array([[0.9], [0.1]])), [1, 0])


def test_discretize_equal_bins() -> None:
    T = np.array([[0.0, 0.05, 0.5], [0.96, 1.0, -3.0]])
    np.testing.assert_array_equal(discretize(T, 10, (0.0, 1.0)), [[0, 0, 5], [9, 9, 0]])
    assert discretize(np.ones((3, 2)), 10).max() == 0  # a constant layer is one bin


def test_binning_T_equal_X_gives_log2_n(labels: np.ndarray) -> None:
    # Distinct rows, each in its own bin: I(X;T) = H(X) = log2(n) and I(T;Y) = H(Y).
    X = np.random.default_rng(1).permutation(N)[:, None].astype(float)
    i_xt, i_ty = binning_information(X, labels, n_bins=N)
    assert i_xt == pytest.approx(math.log2(N), abs=1e-12)
    assert i_ty == pytest.approx(entropy_bits(labels), abs=1e-12)


def test_binning_T_equal_Y_gives_H_Y(labels: np.ndarray) -> None:
    h_y = entropy_bits(labels)
    assert h_y == pytest.approx(1.5, abs=0.02)
    i_xt, i_ty = binning_information(np.eye(3)[labels], labels, n_bins=2)
    assert i_xt == pytest.approx(h_y, abs=1e-12)
    assert i_ty == pytest.approx(h_y, abs=1e-12)


def test_binning_T_independent_of_Y_is_near_0(labels: np.ndarray) -> None:
    # The plug-in estimate is biased up by about (K_T - 1)(K_Y - 1) / (2 n ln 2) bits: here
    # 7 * 2 / (2 * 4000 * ln 2) = 0.0025. Ten times that is a chi-square tail of about 1e-6.
    T = np.random.default_rng(2).integers(0, 8, size=(N, 1)).astype(float)
    bias = 7 * 2 / (2 * N * math.log(2))
    i_xt, i_ty = binning_information(T, labels, n_bins=8)
    assert i_xt == pytest.approx(3.0, abs=0.01)  # 8 equally likely bins
    assert 0.0 <= i_ty < 10 * bias


def test_kde_known_cases(labels: np.ndarray) -> None:
    rng = np.random.default_rng(3)
    n = 600
    y = labels[:n]
    h_y = entropy_bits(y)
    # Distinct points far apart compared with the noise (sd 0.03): I(X;T) = log2(n).
    T = rng.normal(size=(n, 20))
    i_xt, i_ty = kde_information(T, y)
    assert i_xt == pytest.approx(math.log2(n), abs=1e-6)
    assert i_ty == pytest.approx(h_y, abs=1e-6)
    # T = Y (one-hot, three points): both equal H(Y).
    i_xt, i_ty = kde_information(np.eye(3)[y], y)
    assert i_xt == pytest.approx(h_y, abs=1e-6)
    assert i_ty == pytest.approx(h_y, abs=1e-6)
    # Four clusters independent of Y: I(X;T) = 2 bits, I(T;Y) near 0 (same bias as binning).
    T = np.eye(4)[rng.integers(0, 4, size=n)]
    i_xt, i_ty = kde_information(T, y)
    assert i_xt == pytest.approx(2.0, abs=0.02)
    assert 0.0 <= i_ty < 10 * 3 * 2 / (2 * n * math.log(2))
    # Much noise hides everything: both go to 0.
    i_xt, i_ty = kde_information(T, y, noise_variance=1e4)
    assert i_xt < 1e-3 and i_ty < 1e-3


def test_information_of_an_identity_layer_is_that_of_X(labels: np.ndarray) -> None:
    n = 500
    X = np.random.default_rng(4).permutation(n)[:, None].astype(float)
    net = ww.Network([ww.Dense(np.ones((1, 1)), np.zeros(1), "identity")] * 2)
    i_xt, i_ty = information_per_layer(net, X, labels[:n], n_bins=n, layers=[1, 2])
    np.testing.assert_allclose(i_xt, math.log2(n), atol=1e-12)
    np.testing.assert_allclose(i_ty, entropy_bits(labels[:n]), atol=1e-12)


def test_sigmoid_layers_bin_over_the_bounds() -> None:
    # Outputs in (0.450, 0.550): 30 bins of width 1/30 over the bounds (0, 1) give bins 13-16 only,
    # while 30 bins over the observed range would spread 100 distinct values over all 30.
    X = np.linspace(-0.2, 0.2, 100)[:, None]
    y = np.arange(100) % 2
    net = ww.Network([ww.Dense(np.ones((1, 1)), np.zeros(1), "sigmoid")] * 2)
    i_xt, _ = information_per_layer(net, X, y, layers=[1])
    assert i_xt[0] <= 2.0 + 1e-12
    assert binning_information(net.predict(X), y, n_bins=30)[0] > 4.5


def test_information_plane_during_training(labels: np.ndarray) -> None:
    rng = np.random.default_rng(5)
    n = 300
    y = labels[:n]
    X = rng.normal(size=(n, 5)) + np.eye(3)[y] @ rng.normal(size=(3, 5))
    Y = np.eye(3)[y]
    net = ww.Network.create([5, 8, 6, 3], "tanh", "softmax", seed=0, dtype="float64")
    plane = InformationPlane(X, Y, every=2, n_bins=10)
    kde = InformationPlane(X, y, every=3, estimator="kde")
    ww.fit(net, X, Y, loss="cross_entropy", epochs=4, batch_size=50, callbacks=[plane, kde], seed=0)
    epochs, i_xt, i_ty = plane.as_arrays()
    assert epochs.tolist() == [1, 2, 4] and kde.epochs == [1, 3]
    assert i_xt.shape == (3, 2) == i_ty.shape  # two hidden layers
    lim = plane.limits
    assert lim["H_X"] == pytest.approx(math.log2(n))
    assert np.all(i_xt <= lim["H_X"] + 1e-9) and np.all(i_ty <= lim["H_Y"] + 1e-9)
    assert np.all(i_ty <= i_xt + 1e-9) and np.all(i_ty > 0)
    # The last record is what information_per_layer says about the trained net.
    again = information_per_layer(net, X, Y, n_bins=10)
    np.testing.assert_allclose(i_xt[-1], again[0])
    d = json.loads(json.dumps(plane.to_dict(), allow_nan=False))
    assert d["units"] == "bits" and d["layers"] == [1, 2] and d["I_TY"] == i_ty.tolist()


def test_torch_network_gives_the_numpy_estimate(labels: np.ndarray) -> None:
    pytest.importorskip("torch")
    X = np.random.default_rng(6).normal(size=(200, 4))
    y = labels[:200]
    results = []
    for backend in ("numpy", "torch"):
        net = ww.Network.create(
            [4, 7, 5, 3], "sigmoid", "softmax", seed=1, dtype="float64", backend=backend
        )
        results.append(information_per_layer(net, X, y, estimator="kde"))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-9)


def test_bad_input(labels: np.ndarray) -> None:
    net = ww.Network.create([2, 3, 2], seed=0)
    X = np.zeros((4, 2))
    with pytest.raises(ConfigError, match="valid estimators: 'binning', 'kde'"):
        information_per_layer(net, X, labels[:4], estimator="ksg")
    with pytest.raises(ConfigError, match="out of range"):
        information_per_layer(net, X, labels[:4], layers=[3])
    with pytest.raises(ConfigError, match="n_bins"):
        binning_information(X, labels[:4], n_bins=0)
    with pytest.raises(DataError, match="different numbers of samples"):
        binning_information(X, labels[:5])
    with pytest.raises(DataError, match="at most 16384"):
        kde_information(np.zeros((16385, 1)), np.zeros(16385))
    with pytest.raises(ConfigError, match="every"):
        InformationPlane(X, labels[:4], every=0)


def test_information_plane_figure_names_the_recorded_epochs_and_keeps_a_minimum_span() -> None:
    from weightwise.evidence import plots
    from weightwise.evidence.method_figures import information_plane_panels

    epochs = [1, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    rng = np.random.default_rng(0)
    flat = 3.0 + 0.001 * rng.random((len(epochs), 2))  # a path spanning 0.001 bits
    fig = plots.information_plane(flat, flat, epochs=epochs)
    bar = fig.axes[-1]
    assert bar.get_ylim() == (1.0, 30.0)  # the colour bar spans the epochs recorded, not 1..11
    ax = fig.axes[0]
    assert np.diff(ax.get_xlim())[0] >= 0.5 and np.diff(ax.get_ylim())[0] >= 0.5
    plane = {"I_XT": flat, "I_TY": flat, "epochs": epochs, "layers": [1, 2]}
    panels = information_plane_panels({"a": plane, "b": plane}, title="Does a layer forget?")
    ticks = [float(t) for t in panels.axes[-1].get_yticks()]
    assert set(ticks) <= set(epochs) and max(ticks) == 30
    assert "bits about the input" in panels.axes[0].get_xlabel()
