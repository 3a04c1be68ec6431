"""The PyTorch fast path: torch's fused in-place operators give the plain formulas' numbers.

On tensors the kernels of :mod:`weightwise.net.inplace` call ``add_``, ``mul_`` and ``addmm_``
(momentum folded into the gradient product by ``beta``), the sigmoid and tanh backward passes use
``addcmul_``, softmax and the cross-entropy use torch's fused kernels, the forward pass makes each
``z = a W + b`` with one ``addmm``, and the RBMs' Bernoulli draws go straight into their buffers.
Each must give what the plain formula (or the NumPy path) gives, write where it says it writes,
and be the path actually taken: the optimiser and RBM reference tests then hold the whole step to
the references on tensors (``tests/test_optimizer_reference.py``, ``tests/test_reference_rbm.py``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import weightwise.backpropagation.optimizers as optimizers
import weightwise.layerwise.cd as cd
from weightwise.backpropagation.gradients import backprop
from weightwise.backpropagation.optimizers import SGD
from weightwise.layerwise._rbm_kernels import bernoulli, bernoulli_into
from weightwise.layerwise.rbm import BernoulliRBM
from weightwise.net.activations import get_activation, softmax
from weightwise.net.backend import Random
from weightwise.net.inplace import affine, axpy, can_outer_update, outer_update, scal
from weightwise.net.losses import get_loss
from weightwise.net.network import Network


def tensors(torch: Any, *shapes: tuple[int, ...], seed: int = 0) -> list[Any]:
    g = np.random.default_rng(seed)
    return [torch.tensor(g.normal(size=s), dtype=torch.float64) for s in shapes]


def test_kernels_update_tensors_in_place(torch_one_thread: Any) -> None:
    torch = torch_one_thread
    x, y = tensors(torch, (70, 60), (70, 60))
    want, ptr = y + 0.5 * x, y.data_ptr()
    axpy(0.5, x, y)
    scal(-2.0, y)
    torch.testing.assert_close(y, -2.0 * want, rtol=1e-14, atol=1e-14)
    assert y.data_ptr() == ptr


@pytest.mark.parametrize("beta", [0.0, 0.9, 1.0])
def test_outer_update_on_tensors_is_one_fused_gemm(torch_one_thread: Any, beta: float) -> None:
    torch = torch_one_thread
    A, D, C = tensors(torch, (5, 70), (5, 60), (70, 60))
    want = -0.1 * A.T @ D + beta * C
    if beta == 0.0:
        C[0, 0] = float("nan")  # beta = 0 ignores C's old values, as BLAS does
    ptr = C.data_ptr()
    assert can_outer_update(A, D, C)
    outer_update(-0.1, A, D, beta, C)
    torch.testing.assert_close(C, want, rtol=1e-12, atol=1e-12)
    assert C.data_ptr() == ptr
    assert not can_outer_update(A, D[:, :3], C)
    assert not can_outer_update(A, D.float(), C)


def test_affine_matches_the_two_step_form(torch_one_thread: Any) -> None:
    torch = torch_one_thread
    a, W, b = tensors(torch, (9, 7), (7, 4), (4,))
    torch.testing.assert_close(affine(a, W, b), a @ W + b, rtol=1e-14, atol=1e-14)
    z = affine(a.numpy(), W.numpy(), b.numpy())
    np.testing.assert_allclose(z, a.numpy() @ W.numpy() + b.numpy(), rtol=1e-14)


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_in_place_backward_matches_the_formula(torch_one_thread: Any, name: str) -> None:
    torch = torch_one_thread
    z, g = tensors(torch, (6, 5), (6, 5))
    act = get_activation(name)
    a = act.fn(z)
    want = g * act.derivative(z, a)  # type: ignore[misc]
    g_numpy, ptr = g.numpy().copy(), g.data_ptr()
    out = act.backward_(z, a, g)
    torch.testing.assert_close(out, want, rtol=1e-14, atol=1e-14)
    assert out.data_ptr() == ptr  # the caller's buffer, overwritten
    np.testing.assert_allclose(act.backward_(z.numpy(), a.numpy(), g_numpy), want.numpy(), rtol=1e-14)


def test_softmax_and_cross_entropy_match_the_generic_forms(torch_one_thread: Any) -> None:
    torch = torch_one_thread
    (z,) = tensors(torch, (8, 4))
    z[0] += 800.0  # the shifted forms must not overflow
    Y = torch.eye(4, dtype=torch.float64)[torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])]
    a = softmax(z)
    np.testing.assert_allclose(a.numpy(), softmax(z.numpy()), rtol=1e-13, atol=1e-300)
    loss, out = get_loss("cross_entropy"), get_activation("softmax")
    for reduction in ("sum", "mean"):
        got = loss.value(z, a, Y, out, reduction)
        want = loss.value(z.numpy(), a.numpy(), Y.numpy(), out, reduction)
        assert float(got) == pytest.approx(float(want), rel=1e-13)
        d = loss.delta(z, a, Y, out, reduction)
        np.testing.assert_allclose(
            d.numpy(), loss.delta(z.numpy(), a.numpy(), Y.numpy(), out, reduction), rtol=1e-14
        )


def test_sgd_on_tensors_takes_the_fused_step(
    torch_one_thread: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every layer of a torch network goes through ``addmm_`` (whatever its size), and the step
    equals the same step on NumPy."""
    torch = torch_one_thread
    calls: list[tuple[int, ...]] = []
    real = optimizers.outer_update
    monkeypatch.setattr(
        optimizers, "outer_update", lambda *a: (calls.append(tuple(a[4].shape)), real(*a))
    )
    g = np.random.default_rng(3)
    X, Y = g.normal(size=(11, 5)), np.eye(3)[g.integers(0, 3, 11)]
    nets = [
        Network.create((5, 8, 3), "sigmoid", "softmax", seed=1, dtype="float64", backend=b)
        for b in ("numpy", "torch")
    ]
    for net, xp_data in zip(nets, (np.asarray, torch.from_numpy), strict=True):
        opt = SGD(0.1, momentum=0.9, weight_decay=0.01)
        for _ in range(3):
            grads = backprop(net, xp_data(X), xp_data(Y), "cross_entropy", weight_grads=False)
            opt.step_factored(net.parameters(), grads)
    assert calls == [(5, 8), (8, 3)] * 3  # torch's six; NumPy's small layers form dW instead
    for p_np, p_t in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        np.testing.assert_allclose(p_t.numpy(), p_np, rtol=1e-12, atol=1e-14)


def test_bernoulli_into_draws_what_the_plain_sampler_draws(torch_one_thread: Any) -> None:
    torch = torch_one_thread
    (p,) = tensors(torch, (20, 30))
    p = torch.sigmoid(p)
    u, out = torch.empty_like(p), torch.full_like(p, 7.0)
    ptrs = (u.data_ptr(), out.data_ptr())
    got = bernoulli_into(p, u, out, Random(5))
    want = bernoulli(p, Random(5))
    assert torch.equal(got, want) and got.data_ptr() == ptrs[1] and u.data_ptr() == ptrs[0]
    assert set(got.unique().tolist()) <= {0.0, 1.0}


def test_rbm_on_tensors_takes_the_fused_increment(
    torch_one_thread: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch = torch_one_thread
    calls: list[int] = []
    real = cd.outer_update
    monkeypatch.setattr(cd, "outer_update", lambda *a: (calls.append(1), real(*a)))
    rbm = BernoulliRBM.create(12, 5, backend="torch", seed=0, batch_size=4, monitor_size=0)
    V = (torch.rand(10, 12, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    rbm.fit(V, epochs=1)
    assert len(calls) == 3  # batches of 4, 4 and 2


@pytest.mark.cuda
def test_fast_paths_on_cuda_equal_the_cpu() -> None:
    """On a GPU the same fused operators (cuBLAS addmm_, device Bernoulli draws) give the CPU's
    numbers: a few SGD steps of a small network and one RBM epoch, in float64."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    g = np.random.default_rng(0)
    X, Y = g.normal(size=(40, 6)), np.eye(3)[g.integers(0, 3, 40)]
    weights = []
    for device in ("cpu", "cuda"):
        net = Network.create((6, 9, 3), "sigmoid", "softmax", seed=1, dtype="float64",
                             backend="torch", device=device)  # fmt: skip
        opt = SGD(0.1, momentum=0.9)
        Xd, Yd = (torch.tensor(a, device=device) for a in (X, Y))
        for lo in range(0, 40, 8):
            grads = backprop(net, Xd[lo : lo + 8], Yd[lo : lo + 8], "cross_entropy", weight_grads=False)
            opt.step_factored(net.parameters(), grads)
        weights.append(net.get_weights())
    for cpu, gpu in zip(*weights, strict=True):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-10, atol=1e-12)
    V = (g.random((30, 12)) < 0.3).astype(np.float64)
    rbms = [
        BernoulliRBM.create(
            12, 5, backend="torch", device=d, dtype="float64", seed=0, batch_size=10, monitor_size=0
        )  # fmt: skip
        for d in ("cpu", "cuda")
    ]
    for rbm, device in zip(rbms, ("cpu", "cuda"), strict=True):
        rbm.fit(torch.tensor(V, device=rbm.W.device), epochs=1)
        assert rbm.W.device.type == device and rbm._inc_W.device.type == device
    # The draws differ between the CPU and CUDA generators: compare what training must keep.
    assert all(bool(torch.isfinite(rbm.W).all()) for rbm in rbms)
