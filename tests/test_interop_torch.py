"""weightwise <-> PyTorch: to_torch, from_torch, export_torch, load_torch.

Round trips for every activation, dtype and model kind: the Sequential computes what weightwise
computes, and converting back gives the same weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import weightwise as ww
from weightwise.errors import ConfigError, ModelFileError
from weightwise.interop import describe, export_torch, from_torch, load_torch, to_torch

torch = pytest.importorskip("torch")
nn = torch.nn

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TOL = {"float32": 1e-5, "float64": 1e-12}


def _X(n: int = 7, d: int = 4, dtype: str = "float32") -> np.ndarray:
    # Values on both sides of 0 and large enough to reach the activations' tails.
    return (np.random.default_rng(0).normal(size=(n, d)) * 3).astype(dtype)


def _run(seq: object, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return seq(torch.from_numpy(X)).numpy()  # type: ignore[operator]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", sorted(ww.ACTIVATIONS))
def test_round_trip_every_activation(act: str, dtype: str) -> None:
    net = ww.Network.create([4, 5, 3, 2], act, seed=1, dtype=dtype)
    X = _X(dtype=dtype)
    seq = to_torch(net)
    assert isinstance(seq, nn.Sequential) and len(seq) == 6
    assert seq[0].weight.dtype == getattr(torch, dtype)
    np.testing.assert_allclose(_run(seq, X), net.predict(X), atol=TOL[dtype], rtol=0)
    back = from_torch(seq)
    assert back.activation_names == net.activation_names
    for a, b in zip(back.get_weights(), net.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_weight_is_W_transposed_and_copied() -> None:
    net = ww.Network.create([3, 2], "tanh", seed=0)
    seq = to_torch(net)
    np.testing.assert_array_equal(seq[0].weight.detach().numpy(), net.layers[0].W.T)
    with torch.no_grad():
        seq[0].weight.add_(1.0)
    assert not np.allclose(seq[0].weight.detach().numpy(), net.layers[0].W.T)  # a copy
    back = from_torch(seq)
    back.layers[0].W += 1.0
    assert not np.array_equal(back.layers[0].W.T, seq[0].weight.detach().numpy())


def test_logits_drops_softmax_for_cross_entropy() -> None:
    net = ww.Network.create([4, 6, 3], "relu", "softmax", seed=0)
    X = _X()
    seq = to_torch(net, logits=True)
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    logits = _run(seq, X)
    np.testing.assert_allclose(ww.get_activation("softmax")(logits), net.predict(X), atol=1e-6)
    loss = nn.CrossEntropyLoss()(seq(torch.from_numpy(X)), torch.tensor([0, 1, 2, 0, 1, 2, 0]))
    loss.backward()
    assert seq[0].weight.grad is not None
    assert from_torch(seq).activation_names == ["relu", "identity"]


def test_logits_refused_for_other_outputs() -> None:
    with pytest.raises(ConfigError, match="output layer is 'tanh'"):
        to_torch(ww.Network.create([2, 2], "tanh", seed=0), logits=True)


def test_torch_backend_network() -> None:
    net = ww.Network.create([4, 3, 2], "sigmoid", seed=0, backend="torch")
    X = _X()
    np.testing.assert_allclose(
        _run(to_torch(net), X), net.predict(torch.from_numpy(X)).numpy(), atol=1e-6
    )
    back = from_torch(to_torch(net), backend="torch")
    assert back.xp is net.xp and back.layers[0].W is not net.layers[0].W


def test_from_torch_accepts_nested_dropout_and_no_bias() -> None:
    seq = nn.Sequential(
        nn.Sequential(nn.Linear(4, 3, bias=False), nn.Sigmoid()), nn.Dropout(0.5), nn.Linear(3, 2)
    )
    seq.eval()
    net = from_torch(seq)
    assert net.sizes == [4, 3, 2] and net.activation_names == ["sigmoid", "identity"]
    np.testing.assert_array_equal(net.layers[0].b, np.zeros(3, np.float32))
    np.testing.assert_allclose(net.predict(_X()), _run(seq, _X()), atol=1e-6)


@pytest.mark.parametrize(
    ("seq", "message"),
    [
        (lambda: nn.Linear(2, 2), "needs a torch.nn.Sequential"),
        (lambda: nn.Sequential(), "at least one Linear"),
        (lambda: nn.Sequential(nn.Conv1d(1, 1, 3)), r"module 0 \(Conv1d\)"),
        (
            lambda: nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)),
            r"module 1 \(Linear\) follows another",
        ),
        (lambda: nn.Sequential(nn.ReLU(), nn.Linear(2, 2)), r"module 0 \(ReLU\) follows no Linear"),
        (lambda: nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(0.2)), "negative_slope=0.2"),
        (lambda: nn.Sequential(nn.Linear(2, 2), nn.Softmax(dim=0)), "dim=0"),
        (lambda: nn.Sequential(nn.Linear(2, 2), nn.Softplus(beta=2)), "beta=1"),
        (lambda: nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)), r"module 1 \(BatchNorm1d\)"),
        (lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(2, 1)), "expects 2 inputs"),
    ],
)
def test_from_torch_refuses_with_one_line(seq: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        from_torch(seq())  # type: ignore[operator]
    assert "\n" not in str(info.value)


def test_from_torch_half_precision_needs_a_dtype() -> None:
    seq = nn.Sequential(nn.Linear(2, 2).half(), nn.Sigmoid())
    with pytest.raises(ConfigError, match="dtype='float32'"):
        from_torch(seq)
    assert from_torch(seq, dtype="float32").dtype == np.float32


def test_unsupported_activation_is_refused() -> None:
    from weightwise.net.activations import Activation

    net = ww.Network.create([2, 2], "sigmoid", seed=0)
    net.layers[0].activation = Activation("swish", lambda z: z, None)
    with pytest.raises(ConfigError, match="'swish' has no PyTorch module"):
        to_torch(net)


# estimators ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.data[:200] / 16).astype(np.float32), d.target[:200]


def test_classifier_outputs_predict_proba(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    clf = ww.BPClassifier((8,), max_epochs=3, random_state=0).fit(X, y)
    np.testing.assert_allclose(_run(to_torch(clf), X), clf.predict_proba(X), atol=1e-5, rtol=0)
    binary = ww.BPClassifier((4,), max_epochs=2, random_state=0).fit(X, y % 2)
    np.testing.assert_allclose(
        _run(to_torch(binary), X)[:, 0], binary.predict_proba(X)[:, 1], atol=1e-5, rtol=0
    )


def test_unfitted_estimator_is_refused() -> None:
    with pytest.raises(ConfigError, match="BPClassifier is not fitted yet"):
        to_torch(ww.BPClassifier())


def test_regressor_and_stacks(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    reg = ww.BPRegressor((5,), max_epochs=2, random_state=0).fit(X, y.astype(float))
    np.testing.assert_allclose(_run(to_torch(reg), X)[:, 0], reg.predict(X), atol=1e-4, rtol=1e-6)
    for est in (
        ww.RBM(n_components=6, n_iter=1, random_state=0),
        ww.DBN(hidden_layer_sizes=(6, 4), n_iter=1, random_state=0),
        ww.StackedAutoEncoder(hidden_layer_sizes=(6, 4), n_iter=1, random_state=0),
    ):
        est.fit(X)
        np.testing.assert_allclose(_run(to_torch(est), X), est.transform(X), atol=1e-5, rtol=0)


def test_pretrained_dbn_keeps_training_in_torch(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    net = ww.Network.create([64, 16, 10], "sigmoid", "softmax", seed=0)
    ww.pretrain(net, X, "rbm", epochs=1, seed=0)
    seq = to_torch(net, logits=True)
    opt = torch.optim.SGD(seq.parameters(), lr=0.5)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(seq(Xt), yt)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


# files -----------------------------------------------------------------------------------------
def test_export_and_load_round_trip(tmp_path: Path) -> None:
    net = ww.Network.create([4, 3, 2], "leaky_relu", "softmax", seed=0, dtype="float64")
    path = export_torch(net, tmp_path / "m.safetensors")
    assert not list(tmp_path.glob("*.tmp"))
    from safetensors import safe_open

    with safe_open(str(path), "np") as f:
        assert set(f.keys()) == {"0.weight", "0.bias", "2.weight", "2.bias"}
        assert f.metadata()["format"] == "weightwise-torch"
    seq = load_torch(path)
    assert [type(m).__name__ for m in seq] == ["Linear", "LeakyReLU", "Linear", "Softmax"]
    np.testing.assert_array_equal(
        _run(seq, _X(dtype="float64")), _run(to_torch(net), _X(dtype="float64"))
    )
    assert describe(net)[1] == {"type": "LeakyReLU", "negative_slope": 0.01}


def test_model_file_path_is_accepted(tmp_path: Path) -> None:
    net = ww.Network.create([4, 3], "relu", seed=0)
    ww.save_network(net, tmp_path / "net.safetensors")
    np.testing.assert_allclose(
        _run(to_torch(tmp_path / "net.safetensors"), _X()), net.predict(_X()), atol=1e-6
    )


def test_load_refuses_other_files(tmp_path: Path) -> None:
    net = ww.Network.create([4, 3], "relu", seed=0)
    ww.save_network(net, tmp_path / "net.safetensors")
    with pytest.raises(ModelFileError, match="not a weightwise PyTorch export"):
        load_torch(tmp_path / "net.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelFileError, match="not a safetensors file"):
        load_torch(tmp_path / "junk.safetensors")
