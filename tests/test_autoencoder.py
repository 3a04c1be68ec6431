"""Tests of the tied-weight (denoising) auto-encoder: gradients, noise, training, sharing, errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from weightwise.backpropagation.optimizers import Schedule
from weightwise.errors import ConfigError, DataError
from weightwise.layerwise.autoencoder import AutoEncoder
from weightwise.layerwise.history import LayerEpochInfo
from weightwise.net.network import Network

LOSS_ACTIVATIONS = [
    ("cross_entropy", "sigmoid"),
    ("cross_entropy", "tanh"),
    ("squared_error", "sigmoid"),
    ("squared_error", "softplus"),
]


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return load_digits().data[:600] / 16.0


def _tiny(loss: str, activation: str, corruption: float = 0.3, seed: int = 0) -> tuple:
    """A float64 denoising auto-encoder 6 -> 4, a batch and one fixed corrupted copy of it."""
    ae = AutoEncoder.create(
        6, 4, activation=activation, loss=loss, corruption=corruption, dtype="float64", seed=seed
    )
    rng = np.random.default_rng(seed + 1)
    ae.b_hidden[...] = rng.normal(0.0, 0.5, 4)
    ae.b_visible[...] = rng.normal(0.0, 0.5, 6)
    V = rng.uniform(0.0, 1.0, (5, 6)) if loss == "cross_entropy" else rng.normal(0.0, 1.0, (5, 6))
    V_tilde = ae.corrupt(V)
    return ae, V, V_tilde


@pytest.mark.parametrize("loss,activation", LOSS_ACTIVATIONS)
def test_gradients_match_central_differences(loss: str, activation: str) -> None:
    ae, V, V_tilde = _tiny(loss, activation)
    assert (V_tilde == 0).any() and (V_tilde != V).any(), "the fixed mask must corrupt something"
    analytic = ae.gradients(V, V_tilde)[:3]
    eps = 1e-6
    for p, g in zip(ae.parameters(), analytic, strict=True):
        flat = p.reshape(-1)
        numeric = np.zeros(flat.shape[0])
        for i in range(flat.shape[0]):
            old = flat[i]
            flat[i] = old + eps
            up = float(ae.gradients(V, V_tilde)[3])
            flat[i] = old - eps
            down = float(ae.gradients(V, V_tilde)[3])
            flat[i] = old
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(g.reshape(-1), numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("loss,activation", LOSS_ACTIVATIONS)
def test_gradients_match_torch_autograd_with_tied_weights(loss: str, activation: str) -> None:
    torch = pytest.importorskip("torch")
    ae, V, V_tilde = _tiny(loss, activation)
    dW, db_h, db_v, value = ae.gradients(V, V_tilde)

    W = torch.tensor(ae.W, requires_grad=True)
    b = torch.tensor(ae.b_hidden, requires_grad=True)
    c = torch.tensor(ae.b_visible, requires_grad=True)
    x, x_tilde = torch.tensor(V), torch.tensor(V_tilde)
    f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "softplus": torch.nn.functional.softplus}
    h = f[activation](x_tilde @ W + b)
    z = h @ W.T + c  # the same W, so autograd adds the encoder and decoder paths
    if loss == "cross_entropy":
        ref = torch.nn.functional.binary_cross_entropy_with_logits(z, x, reduction="sum") / 5
    else:
        ref = 0.5 * ((z - x) ** 2).sum() / 5
    ref.backward()
    np.testing.assert_allclose(float(value), ref.item(), rtol=1e-12)
    np.testing.assert_allclose(dW, W.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db_h, b.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db_v, c.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_torch_tensors_give_the_numpy_gradients() -> None:
    torch = pytest.importorskip("torch")
    ae, V, V_tilde = _tiny("cross_entropy", "sigmoid")
    ae_t = AutoEncoder(
        torch.tensor(ae.W), torch.tensor(ae.b_hidden), torch.tensor(ae.b_visible), corruption=0.3
    )
    for a, b in zip(
        ae.gradients(V, V_tilde), ae_t.gradients(torch.tensor(V), torch.tensor(V_tilde)), strict=True
    ):
        np.testing.assert_allclose(np.asarray(a), b.numpy(), rtol=1e-12, atol=1e-14)


def test_masking_noise_zeroes_the_corruption_fraction() -> None:
    ae = AutoEncoder.create(50, 3, corruption=0.3, seed=0)
    ones = np.ones((2000, 50), dtype=np.float32)
    V_tilde = ae.corrupt(ones)
    frac = float((V_tilde == 0).mean())
    # Binomial(100000, 0.3): standard deviation of the fraction ~ 0.0014; allow 4 of them.
    assert abs(frac - 0.3) < 0.006
    assert set(np.unique(V_tilde)) == {0.0, 1.0}  # masking keeps the other values unchanged
    assert (ones == 1).all(), "the input is left unmodified"
    plain = AutoEncoder.create(50, 3, corruption=0.0, seed=0)
    assert plain.corrupt(ones) is ones and not plain.denoising


def test_gaussian_noise_has_the_requested_std() -> None:
    ae = AutoEncoder.create(40, 3, corruption=0.2, noise="gaussian", loss="squared_error", seed=0)
    V = np.full((2500, 40), 0.5)
    noise = ae.corrupt(V) - V
    assert abs(noise.mean()) < 0.01 and abs(noise.std() - 0.2) < 0.01
    explicit = AutoEncoder.create(40, 3, corruption=0.2, noise="gaussian", noise_std=0.05, seed=0)
    assert abs((explicit.corrupt(V) - V).std() - 0.05) < 0.003


@pytest.mark.parametrize("corruption", [0.0, 0.3])
def test_reconstruction_error_falls(digits: np.ndarray, corruption: float) -> None:
    ae = AutoEncoder.create(64, 32, corruption=corruption, seed=1)
    before = ae.reconstruction_error(digits)
    history = ae.fit(digits, epochs=8, validation=digits[:100])
    after = ae.reconstruction_error(digits)
    assert history.n_epochs == 8 and len(history.val_reconstruction_error) == 8
    assert history.reconstruction_error[-1] < 0.8 * history.reconstruction_error[0]
    assert after < 0.7 * before
    assert all(np.isnan(history.pseudo_likelihood))  # an RBM-only column


def test_squared_error_on_real_valued_data_falls() -> None:
    rng = np.random.default_rng(0)
    # Data on a 3-D subspace of R^10: a linear code of width 3 can reconstruct it.
    X = rng.normal(size=(400, 3)) @ rng.normal(size=(3, 10))
    ae = AutoEncoder.create(
        10, 3, activation="identity", loss="squared_error", learning_rate=0.01, seed=0
    )
    history = ae.fit(X, epochs=30)
    assert history.reconstruction_error[-1] < 0.05 * history.reconstruction_error[0]


def test_from_layer_shares_the_arrays_and_fit_moves_them(digits: np.ndarray) -> None:
    net = Network.create([64, 20, 10], "sigmoid", "softmax", seed=0)
    layer = net.layers[0]
    W0 = layer.W.copy()
    ae = AutoEncoder.from_layer(layer, corruption=0.2, seed=0)
    assert ae.W is layer.W and ae.b_hidden is layer.b and ae.activation is layer.activation
    ae.fit(digits, epochs=1)
    assert ae.W is layer.W and not np.allclose(layer.W, W0)
    np.testing.assert_allclose(net.transform(digits, 1), ae.transform(digits), rtol=1e-6)


def test_partial_fit_one_sgd_step_by_hand() -> None:
    ae, V, _ = _tiny("squared_error", "sigmoid", corruption=0.0)
    W0 = ae.W.copy()
    dW, _, _, _ = ae.gradients(V)
    ae_plain = AutoEncoder(
        ae.W,
        ae.b_hidden,
        ae.b_visible,
        loss="squared_error",
        learning_rate=0.5,
        momentum=0.0,
        weight_decay=0.1,
    )
    loss = ae_plain.partial_fit(V)
    # W <- W - eta * (dL/dW + lambda W): weight decay on W only.
    np.testing.assert_allclose(ae.W, W0 - 0.5 * (dW + 0.1 * W0), rtol=1e-12)
    assert loss > 0


def test_adam_and_callback_stop(digits: np.ndarray) -> None:
    ae = AutoEncoder.create(64, 16, optimizer="adam", learning_rate=0.01, seed=0)
    seen: list[LayerEpochInfo] = []

    def stop_after_two(info: LayerEpochInfo) -> bool:
        seen.append(info)
        return info.epoch == 2

    history = ae.fit(digits, epochs=10, callbacks=[stop_after_two])
    assert history.n_epochs == 2 and history.stop_reason == "callback"
    assert seen[-1].learner is ae and seen[-1].logs["reconstruction_error"] > 0
    # A second fit continues the epoch count (and with it the learning-rate schedule).
    assert ae.fit(digits, epochs=1).epoch == [3] and ae.n_epochs_ == 3


def test_fit_on_torch_tensors_learns() -> None:
    torch = pytest.importorskip("torch")
    X = torch.tensor(load_digits().data[:300] / 16.0, dtype=torch.float32)
    ae = AutoEncoder.create(64, 16, corruption=0.2, backend="torch", seed=0)
    W = ae.W
    history = ae.fit(X, epochs=4)
    assert ae.W is W and isinstance(ae.W, torch.Tensor)
    assert history.reconstruction_error[-1] < history.reconstruction_error[0]


def test_extra_arrays_round_trip() -> None:
    ae, _, _ = _tiny("cross_entropy", "sigmoid")
    extras = ae.extra_arrays()
    c = ae.b_visible
    ae.b_visible[...] = 0.0
    ae.load_extra_arrays(extras)
    assert ae.b_visible is c and np.array_equal(c, extras["b_visible"])
    with pytest.raises(DataError, match="shape"):
        ae.load_extra_arrays({"b_visible": np.zeros(3)})


@pytest.mark.parametrize("corruption", [1.0, -0.1, 1.5, "0.3"])
def test_corruption_outside_unit_interval_is_rejected(corruption: object) -> None:
    with pytest.raises(ConfigError, match="corruption"):
        AutoEncoder.create(6, 4, corruption=corruption)


def test_bad_input_messages(digits: np.ndarray) -> None:
    ae = AutoEncoder.create(64, 8, seed=0)
    bad = digits.copy()
    bad[3, 5] = np.nan
    with pytest.raises(DataError, match="NaN"):
        ae.fit(bad, epochs=1)
    with pytest.raises(DataError, match=r"\[0, 1\].*squared_error"):
        ae.fit(digits * 16.0, epochs=1)
    with pytest.raises(DataError, match="64 visible units"):
        ae.partial_fit(digits[:, :10])
    with pytest.raises(ConfigError, match="valid noises"):
        AutoEncoder.create(6, 4, noise="salt")
    with pytest.raises(ConfigError, match="valid losses"):
        AutoEncoder.create(6, 4, loss="hinge")
    net = Network.create([6, 3], output_activation="softmax", seed=0)
    with pytest.raises(ConfigError, match="elementwise"):
        AutoEncoder.from_layer(net.layers[0])
    # Squared error accepts real-valued data outside [0, 1].
    AutoEncoder.create(64, 8, loss="squared_error", learning_rate=0.001, seed=0).partial_fit(digits * 16)


def test_learning_rate_schedule_runs_across_fit_calls(digits: np.ndarray) -> None:
    ae = AutoEncoder.create(
        64, 8, learning_rate=0.1, schedule=Schedule("exponential", gamma=0.5), seed=0
    )
    first = ae.fit(digits[:200], epochs=2)
    second = ae.fit(digits[:200], epochs=1)
    np.testing.assert_allclose(first.learning_rate + second.learning_rate, [0.1, 0.05, 0.025])
