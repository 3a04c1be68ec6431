"""PyTorch autograd as an oracle (float64): the same network, data and loss written in plain torch
give the same gradients to 1e-10, and ten steps of torch.optim.SGD / Adam the same weights to 1e-8.
weightwise computing on torch tensors gives what it gives on NumPy arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from weightwise import SGD, Adam, Network, Random, backprop, fit
from weightwise.net.backend import to_numpy

torch = pytest.importorskip("torch")
F = torch.nn.functional
pytestmark = pytest.mark.usefixtures("torch_one_thread")

TORCH_ACT = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda z: F.leaky_relu(z, 0.01),
    "softplus": F.softplus,
    "identity": lambda z: z,
    "softmax": lambda z: torch.softmax(z, dim=1),
}


def torch_loss(name: str, z: Any, a: Any, y: Any, reduction: str) -> Any:
    """The loss written with torch's own functions, from the output pre-activations ``z``."""
    if name == "squared_error":
        # 0.5 * ||a - y||^2 per sample: mse_loss(sum) / 2; "mean" averages over samples only.
        total = 0.5 * F.mse_loss(a, y, reduction="sum")
    elif name == "cross_entropy":
        total = F.cross_entropy(z, y, reduction="sum")  # y: class probabilities (one-hot rows)
    elif name == "binary_cross_entropy":
        total = F.binary_cross_entropy_with_logits(z, y, reduction="sum")
    else:
        raise AssertionError(name)
    return total / z.shape[0] if reduction == "mean" else total


def torch_forward(params: list[Any], acts: list[str], X: Any) -> tuple[Any, Any]:
    """``(z, a)`` of the output layer for parameters ``[W1, b1, ...]`` with W of shape (n_in, n_out)."""
    a = X
    z = X
    for l, name in enumerate(acts):
        z = a @ params[2 * l] + params[2 * l + 1]
        a = TORCH_ACT[name](z)
    return z, a


CONFIGS = [
    # (sizes, hidden activations, output activation, loss, reduction)
    ((4, 6, 5, 3), ["sigmoid", "tanh"], "softmax", "cross_entropy", "mean"),
    ((3, 5, 4, 2), ["relu", "leaky_relu"], "identity", "squared_error", "sum"),
    ((5, 4, 4, 4, 3), ["softplus", "tanh", "relu"], "sigmoid", "binary_cross_entropy", "mean"),
    ((2, 4, 1), ["sigmoid"], "sigmoid", "squared_error", "sum"),
    ((3, 6, 4), ["leaky_relu"], "softmax", "squared_error", "mean"),
    ((3, 5, 2), ["identity"], "tanh", "squared_error", "mean"),
]


def _data(sizes: tuple[int, ...], output: str, loss: str, n: int, seed: int) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    k = sizes[-1]
    if output == "softmax":
        Y = np.eye(k)[rng.integers(0, k, size=n)]
    elif loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, size=(n, k)).astype(float)
    else:
        Y = rng.uniform(0, 1, size=(n, k))
    return X, Y


@pytest.mark.parametrize(("sizes", "hidden", "output", "loss", "reduction"), CONFIGS)
def test_gradients_match_autograd(
    sizes: tuple[int, ...], hidden: list[str], output: str, loss: str, reduction: str
) -> None:
    net = Network.create(sizes, hidden, output, "he_normal", Random(1), "float64")
    for layer in net.layers:  # non-zero biases
        layer.b[...] = np.linspace(-0.3, 0.3, layer.n_out)
    X, Y = _data(sizes, output, loss, 8, seed=2)
    ours = backprop(net, X, Y, loss, reduction)

    params = [torch.tensor(w, requires_grad=True) for w in net.get_weights()]
    z, a = torch_forward(params, [*hidden, output], torch.from_numpy(X))
    value = torch_loss(loss, z, a, torch.from_numpy(Y), reduction)
    value.backward()

    assert float(ours.loss) == pytest.approx(value.item(), rel=1e-12)
    for mine, theirs in zip(ours.as_list(), params, strict=True):
        assert theirs.grad is not None
        np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-10, atol=1e-10)


OPTIMIZERS = [
    ("sgd", {"lr": 0.1, "momentum": 0.9}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.2}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01}),
]


def _ours(kind: str, kw: dict[str, Any]) -> SGD | Adam:
    if kind == "sgd":
        return SGD(
            kw["lr"],
            momentum=kw.get("momentum", 0.0),
            nesterov=kw.get("nesterov", False),
            weight_decay=kw.get("weight_decay", 0.0),
        )
    b1, b2 = kw.get("betas", (0.9, 0.999))
    return Adam(kw["lr"], b1, b2, kw.get("eps", 1e-8), kw.get("weight_decay", 0.0))


@pytest.mark.parametrize(("kind", "kw"), OPTIMIZERS, ids=[f"{k}-{kw}" for k, kw in OPTIMIZERS])
def test_ten_optimizer_steps_match_torch_optim(kind: str, kw: dict[str, Any]) -> None:
    sizes, hidden, output, loss = (4, 6, 5, 3), ["tanh", "sigmoid"], "softmax", "cross_entropy"
    net = Network.create(sizes, hidden, output, "xavier_uniform", Random(3), "float64")
    X, Y = _data(sizes, output, loss, 12, seed=4)
    initial = net.get_weights()
    params = [torch.tensor(w, requires_grad=True) for w in net.get_weights()]
    topt = (torch.optim.SGD if kind == "sgd" else torch.optim.Adam)(params, **kw)
    opt = _ours(kind, kw)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    for step in range(10):
        # Mini-batches of 4 in a fixed rotation, so the gradients change from step to step.
        rows = slice(4 * (step % 3), 4 * (step % 3) + 4)
        opt.step(net.parameters(), backprop(net, X[rows], Y[rows], loss, "mean").as_list())
        topt.zero_grad()
        z, a = torch_forward(params, [*hidden, output], Xt[rows])
        torch_loss(loss, z, a, Yt[rows], "mean").backward()
        topt.step()
    moved = max(float(np.max(np.abs(w - w0))) for w, w0 in zip(net.get_weights(), initial, strict=True))
    assert moved > 1e-3  # the weights really moved, so equality below means something
    for mine, theirs in zip(net.get_weights(), params, strict=True):
        np.testing.assert_allclose(mine, theirs.detach().numpy(), rtol=1e-8, atol=1e-8)


def test_backprop_on_torch_tensors_equals_numpy() -> None:
    sizes = (5, 7, 6, 3)
    net = Network.create(sizes, ["relu", "softplus"], "softmax", "he_uniform", Random(5), "float64")
    tnet = net.to("torch")
    X, Y = _data(sizes, "softmax", "cross_entropy", 9, seed=6)
    g_np = backprop(net, X, Y, "cross_entropy", "mean")
    g_t = backprop(tnet, torch.from_numpy(X), torch.from_numpy(Y), "cross_entropy", "mean")
    for a, b in zip(g_np.as_list() + g_np.deltas, g_t.as_list() + g_t.deltas, strict=True):
        assert isinstance(b, torch.Tensor) and b.dtype == torch.float64
        np.testing.assert_allclose(to_numpy(b), a, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fit_on_torch_tensors_equals_numpy(optimizer: str) -> None:
    sizes = (4, 8, 3)
    X, Y = _data(sizes, "softmax", "cross_entropy", 40, seed=8)
    results = []
    for backend in ("numpy", "torch"):
        net = Network.create(sizes, "tanh", "softmax", "xavier_uniform", Random(9), "float64", backend)
        opt = SGD(0.1, momentum=0.9, nesterov=True) if optimizer == "sgd" else Adam(0.01)
        Xb = torch.from_numpy(X) if backend == "torch" else X
        Yb = torch.from_numpy(Y) if backend == "torch" else Y
        hist = fit(net, Xb, Yb, loss="cross_entropy", optimizer=opt, epochs=5, batch_size=8, seed=10)
        assert isinstance(net.layers[0].W, torch.Tensor) == (backend == "torch")
        results.append((net.get_weights(), hist))
    (w_np, h_np), (w_t, h_t) = results
    for a, b in zip(w_np, w_t, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(h_t.loss, h_np.loss, rtol=1e-10)
    assert h_t.metric == h_np.metric


@pytest.mark.parametrize(("kind", "kw"), OPTIMIZERS, ids=[f"{k}-{kw}" for k, kw in OPTIMIZERS])
@pytest.mark.parametrize("record_grad_norm", [False, True])
def test_fit_with_wide_layers_matches_torch_optim(
    kind: str, kw: dict[str, Any], record_grad_norm: bool
) -> None:
    # A 64 x 64 first layer (4,096 weights) is large enough for fit's fused NumPy path, where SGD
    # folds dW = a.T @ delta into its update with one BLAS gemm; with record_grad_norm some batches
    # form dW instead. Either way fit must take the steps torch.optim takes: 10 batches of 4, in order.
    sizes, hidden, output, loss = (64, 64, 3), ["tanh"], "softmax", "cross_entropy"
    net = Network.create(sizes, hidden, output, "xavier_uniform", Random(12), "float64")
    X, Y = _data(sizes, output, loss, 40, seed=13)
    params = [torch.tensor(w, requires_grad=True) for w in net.get_weights()]
    topt = (torch.optim.SGD if kind == "sgd" else torch.optim.Adam)(params, **kw)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    for lo in range(0, 40, 4):
        topt.zero_grad()
        z, a = torch_forward(params, [*hidden, output], Xt[lo : lo + 4])
        torch_loss(loss, z, a, Yt[lo : lo + 4], "mean").backward()
        topt.step()
    fit(
        net,
        X,
        Y,
        loss=loss,
        optimizer=_ours(kind, kw),
        epochs=1,
        batch_size=4,
        shuffle=False,
        record_grad_norm=record_grad_norm,
    )
    for mine, theirs in zip(net.get_weights(), params, strict=True):
        np.testing.assert_allclose(mine, theirs.detach().numpy(), rtol=1e-8, atol=1e-8)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_equals_numpy() -> None:
    from weightwise import run_xor

    sizes = (5, 16, 3)
    X, Y = _data(sizes, "softmax", "cross_entropy", 40, seed=14)
    weights, losses = [], []
    for backend, device in (("numpy", None), ("torch", "cuda")):
        net = Network.create(
            sizes, "relu", "softmax", "he_normal", Random(15), "float64", backend, device
        )
        g = backprop(net, *(net.xp.asarray(a, device=device) for a in (X, Y)), "cross_entropy")
        weights.append([to_numpy(d) for d in g.as_list()])
        hist = fit(
            net,
            X,
            Y,
            loss="cross_entropy",
            optimizer=SGD(0.1, momentum=0.9),
            epochs=3,
            batch_size=8,
            seed=16,
        )
        assert backend == "numpy" or net.layers[0].W.device.type == "cuda"
        weights.append(net.get_weights())
        losses.append(hist.loss)
    for a, b in zip(weights[0] + weights[1], weights[2] + weights[3], strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-10)
    on_gpu = run_xor(seed=0, dtype="float64", backend="torch", device="cuda", epochs=1000)
    on_cpu = run_xor(seed=0, dtype="float64", epochs=1000)
    for a, b in zip(on_gpu.network.get_weights(), on_cpu.network.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-8)
