"""Bad input: every case fails early with an error that names the problem (and the fix)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from weightwise import (
    SGD,
    Adam,
    ConfigError,
    DataError,
    DivergenceError,
    EpochInfo,
    Network,
    Schedule,
    fit,
    get_schedule,
)

N_IN, N_OUT = 3, 2


@pytest.fixture
def net() -> Network:
    return Network.create((N_IN, 4, N_OUT), "tanh", "identity", seed=0, dtype="float64")


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(6, N_IN)), rng.normal(size=(6, N_OUT))


def _with(a: np.ndarray, index: tuple[int, int], value: float) -> np.ndarray:
    a = a.copy()
    a[index] = value
    return a


@pytest.mark.parametrize(
    ("which", "value", "message"),
    [
        ("X", np.nan, r"X contains 1 NaN and 0 infinite values; remove or impute them"),
        ("X", np.inf, r"X contains 0 NaN and 1 infinite values"),
        ("X", -np.inf, r"X contains 0 NaN and 1 infinite values"),
        ("y", np.nan, r"y contains 1 NaN and 0 infinite values"),
        ("y", np.inf, r"y contains 0 NaN and 1 infinite values"),
    ],
)
def test_non_finite_data(net: Network, data: Any, which: str, value: float, message: str) -> None:
    X, Y = data
    if which == "X":
        X = _with(X, (2, 1), value)
    else:
        Y = _with(Y, (4, 0), value)
    with pytest.raises(DataError, match=message):
        fit(net, X, Y, epochs=1)


def test_non_finite_torch_data(net: Network, data: Any) -> None:
    torch = pytest.importorskip("torch")
    X, Y = data
    with pytest.raises(DataError, match=r"X contains 1 NaN"):
        fit(net.to("torch"), torch.from_numpy(_with(X, (0, 0), np.nan)), torch.from_numpy(Y), epochs=1)


def test_non_finite_validation_data(net: Network, data: Any) -> None:
    X, Y = data
    with pytest.raises(DataError, match=r"contains 1 NaN"):
        fit(net, X, Y, epochs=1, validation_data=(_with(X, (0, 0), np.nan), Y))


@pytest.mark.parametrize(
    ("X_shape", "Y_shape", "message"),
    [
        ((6,), (6, N_OUT), r"X must be 2-D \(n_samples, n_features\), got shape \(6,\).*reshape"),
        ((6, N_IN, 1), (6, N_OUT), r"X must be 2-D .*got shape \(6, 3, 1\)"),
        ((6, N_IN), (6, N_OUT, 1), r"y must be 2-D .*got shape \(6, 2, 1\)"),
    ],
)
def test_wrong_rank(net: Network, X_shape: tuple, Y_shape: tuple, message: str) -> None:
    with pytest.raises(DataError, match=message):
        fit(net, np.zeros(X_shape), np.zeros(Y_shape), epochs=1)


def test_differing_sample_counts(net: Network, data: Any) -> None:
    X, Y = data
    with pytest.raises(DataError, match=r"X and y have different numbers of samples: 6 and 5"):
        fit(net, X, Y[:5], epochs=1)


def test_empty_data(net: Network, data: Any) -> None:
    X, Y = data
    with pytest.raises(DataError, match=r"X is empty: it has 0 samples"):
        fit(net, X[:0], Y[:0], epochs=1)
    with pytest.raises(DataError, match=r"X has 0 features"):
        fit(net, np.zeros((6, 0)), Y, epochs=1)


def test_feature_count_differs_from_the_input_layer(net: Network, data: Any) -> None:
    _, Y = data
    with pytest.raises(DataError, match=r"X has 5 features but the network's input layer has 3 units"):
        fit(net, np.zeros((6, 5)), Y, epochs=1)
    with pytest.raises(DataError, match=r"y has 3 columns but the network's output layer has 2 units"):
        fit(net, np.zeros((6, N_IN)), np.zeros((6, 3)), epochs=1)


def test_non_numeric_and_ragged_data(net: Network, data: Any) -> None:
    _, Y = data
    with pytest.raises(DataError, match=r"X has dtype <U1; it must be numeric"):
        fit(net, np.full((6, N_IN), "a"), Y, epochs=1)
    with pytest.raises(DataError, match=r"X could not be read as an array"):
        fit(net, [[1.0, 2.0, 3.0], [1.0, 2.0]], Y[:2], epochs=1)


def _valid_list(names: list[str]) -> str:
    """A regex for a message listing ``names`` (sorted, quoted, comma-separated)."""
    return ", ".join(re.escape(repr(n)) for n in sorted(names))


def test_unknown_activation_lists_valid_ones() -> None:
    valid = _valid_list(["identity", "leaky_relu", "relu", "sigmoid", "softmax", "softplus", "tanh"])
    with pytest.raises(ConfigError, match=rf"unknown activation 'sigmod'; valid activations: {valid}$"):
        Network.create((2, 3, 1), "sigmod")
    with pytest.raises(
        ConfigError, match=r"unknown activation 'softmaxx'; valid activations: 'identity'"
    ):
        Network.create((2, 3, 1), "relu", "softmaxx")


def test_unknown_loss_lists_valid_ones(net: Network, data: Any) -> None:
    valid = _valid_list(["binary_cross_entropy", "cross_entropy", "squared_error"])
    with pytest.raises(ConfigError, match=rf"unknown loss 'hinge'; valid losses: {valid}$"):
        fit(net, *data, loss="hinge", epochs=1)


def test_unknown_initializer_lists_valid_ones() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown initializer 'gaussian'; valid initializers: .*'he_normal'.*'normal'"
    ):
        Network.create((2, 3, 1), init="gaussian")


def test_unknown_optimizer_lists_valid_ones(net: Network, data: Any) -> None:
    with pytest.raises(
        ConfigError, match=r"unknown optimizer 'rmsprop'; valid optimizers: 'adam', 'sgd'$"
    ):
        fit(net, *data, optimizer="rmsprop", epochs=1)


def test_unknown_schedule_lists_valid_ones() -> None:
    valid = _valid_list(["constant", "exponential", "inverse_scaling", "step"])
    for make in (
        lambda: SGD(0.1, schedule="cosine"),
        lambda: get_schedule("cosine"),
        lambda: Schedule("cosine"),
    ):
        with pytest.raises(ConfigError, match=rf"unknown schedule 'cosine'; valid schedules: {valid}$"):
            make()


@pytest.mark.parametrize("lr", [0, -0.1, float("nan")])
def test_non_positive_learning_rate(net: Network, data: Any, lr: float) -> None:
    with pytest.raises(ConfigError, match=r"learning_rate must be > 0, got"):
        fit(net, *data, learning_rate=lr, epochs=1)
    with pytest.raises(ConfigError, match=r"learning_rate must be > 0"):
        SGD(lr)
    with pytest.raises(ConfigError, match=r"learning_rate must be > 0"):
        Adam(lr)


@pytest.mark.parametrize("batch_size", [0, -3, 2.5])
def test_non_positive_batch_size(net: Network, data: Any, batch_size: Any) -> None:
    with pytest.raises(ConfigError, match=rf"batch_size must be a positive integer, got {batch_size}"):
        fit(net, *data, batch_size=batch_size, epochs=1)


@pytest.mark.parametrize("epochs", [0, -1])
def test_non_positive_epochs(net: Network, data: Any, epochs: int) -> None:
    with pytest.raises(ConfigError, match=rf"epochs must be a positive integer, got {epochs}"):
        fit(net, *data, epochs=epochs)


def test_bad_input_leaves_the_network_untouched(net: Network, data: Any) -> None:
    before = net.get_weights()
    X, Y = data
    with pytest.raises(DataError):
        fit(net, _with(X, (0, 0), np.nan), Y, epochs=3)
    for a, b in zip(net.get_weights(), before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("dtype", "batch_size", "lr"),
    [
        ("float32", None, 1e6),  # the weights overflow while the loss is still finite
        ("float64", None, 1e6),
        ("float32", None, 1e3),  # the loss becomes infinite
        ("float64", 5, 1e3),  # mini-batches: the loss becomes NaN
    ],
)
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overflow warnings are the point here
def test_divergence_stops_and_keeps_the_last_finite_weights(
    dtype: str, batch_size: int | None, lr: float
) -> None:
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(20, 3)), rng.normal(size=(20, 2))
    net = Network.create((3, 8, 2), "relu", "identity", seed=0, dtype=dtype)
    # after_epoch[e] holds the weights at the end of epoch e (after_epoch[0]: the initial ones)
    after_epoch = [net.get_weights()]

    def record(info: EpochInfo) -> None:
        after_epoch.append(info.network.get_weights())

    with pytest.raises(DivergenceError) as caught:
        fit(
            net,
            X,
            Y,
            loss="squared_error",
            learning_rate=lr,
            batch_size=batch_size,
            epochs=100,
            seed=1,
            callbacks=[record],
        )
    epoch = caught.value.epoch
    assert epoch >= 2, "pick settings where at least one epoch finishes, so the test means something"
    assert len(after_epoch) == epoch  # the diverging epoch never reached the callbacks
    message = str(caught.value)
    assert f"diverged in epoch {epoch}" in message
    assert re.search(r"smaller learning rate", message)
    for w, want in zip(net.get_weights(), after_epoch[epoch - 1], strict=True):
        assert np.all(np.isfinite(w))
        np.testing.assert_array_equal(w, want)


# hardening (issue 10) ---------------------------------------------------------------------------
def test_predict_refuses_nan_inf_and_float32_overflow(tmp_path):
    """Finding 5: saved networks and estimators refuse at predict what fit refuses."""
    import weightwise.io as wio
    from weightwise.estimators import DBN, BPRegressor
    from weightwise.net.network import Network

    net = Network.create([3, 4, 1], seed=0)
    wio.save_network(net, tmp_path / "n.safetensors")
    loaded, _, _ = wio.load_network(tmp_path / "n.safetensors")
    bad = np.full((2, 3), 0.5)
    bad[0, 0] = np.nan
    with pytest.raises(DataError, match="1 NaN"):
        loaded.predict(bad)
    X = np.random.default_rng(0).random((20, 3))
    reg = BPRegressor(max_epochs=2, tol=None, random_state=0).fit(X, X[:, 0])
    huge = X.copy()
    huge[0, 0] = 1e300
    with pytest.raises(DataError, match="beyond the network's float32 range"):
        reg.predict(huge)
    dbn = DBN(hidden_layer_sizes=(2,), n_iter=1, random_state=0, visible="gaussian").fit(X)
    with pytest.raises(DataError, match="float32 range"):
        dbn.transform(huge)


def test_network_sizes_beyond_memory_are_refused_before_allocating():
    """Finding 6: the shared guard the CLI calls too."""
    from weightwise.checks import check_network_size
    from weightwise.net.network import Network

    with pytest.raises(ConfigError, match=r"a 784-1000000000000-10 network's weights would need .*PiB"):
        Network.create([784, 10**12, 10])
    with pytest.raises(ConfigError, match="4-100000000000-3"):
        check_network_size([4, 10**11, 3], "float64")
    check_network_size([784, 500, 10])


def test_gpu_requests_without_a_gpu_are_one_line_config_errors():
    """Finding 10: CUDA on a CPU-only PyTorch, or a device with the NumPy backend."""
    from weightwise.estimators import BPClassifier

    X, y = np.eye(4), [0, 1, 0, 1]
    with pytest.raises(ConfigError, match="NumPy backend runs on the CPU only"):
        BPClassifier(backend="numpy", device="cuda", max_epochs=1).fit(X, y)
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    for backend in ("torch", "auto"):
        with pytest.raises(ConfigError, match="without CUDA|no CUDA GPU") as info:
            BPClassifier(backend=backend, device="cuda", max_epochs=1).fit(X, y)
        assert "\n" not in str(info.value) and "device='cpu'" in str(info.value)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"activation": None}, "'activation' parameter of BPClassifier must be"),
        ({"learning_rate": float("inf")}, "learning_rate must be a positive finite number"),
        ({"shuffle": "yes"}, "'shuffle' parameter"),
        ({"nesterov": 1.5}, "'nesterov' parameter"),
        ({"epsilon": -1.0}, "'epsilon' parameter"),
    ],
)
def test_settings_checked_with_sklearns_constraints(params, match):
    """Finding 11: scikit-learn's parameter constraints behind the friendly checks."""
    from weightwise.estimators import BPClassifier

    with pytest.raises(ConfigError, match=match):
        BPClassifier(max_epochs=1, **params).fit(np.eye(4), [0, 1, 0, 1])


def test_atomic_writes_follow_no_link_and_leave_nothing_on_a_folder(tmp_path):
    """Finding 7: a planted symlink at the old temporary name is not followed; a folder as the
    target is a one-line error and leaves no temporary file."""
    import weightwise.io as wio
    from weightwise.net.network import Network

    net = Network.create([2, 2], seed=0)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    out = tmp_path / "m.safetensors"
    (tmp_path / "m.safetensors.tmp").symlink_to(victim)
    wio.save_network(net, out)
    assert victim.read_text() == "keep me"
    assert wio.load_network(out)[0].sizes == [2, 2]
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(ConfigError, match="is a folder") as info:
        wio.save_network(net, folder)
    assert "\n" not in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "folder",
        "m.safetensors",
        "m.safetensors.tmp",
        "victim",
    ]
    assert list(folder.iterdir()) == []


def test_finite_check_takes_large_finite_values_and_refuses_nan_and_inf_without_warnings() -> None:
    """The finiteness check sums first: a sum that overflows must not refuse finite data."""
    import warnings

    from weightwise.net.validation import check_matrix

    big = np.full((4, 3), 3e38, dtype=np.float32)  # the sum overflows float32; every entry is finite
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_matrix(big) is not None
        for bad in (np.nan, np.inf, -np.inf):
            X = big.copy()
            X[2, 1] = bad
            with pytest.raises(DataError, match="contains"):
                check_matrix(X)
