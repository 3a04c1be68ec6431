"""Gradient-flow diagnostics: every statistic against values computed directly from the arrays of
backprop, constructed saturation and dead-unit cases, and the vanishing gradient of a deep sigmoid
net against the even flow of a ReLU + He net."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import weightwise as ww
from weightwise.backpropagation.training import BatchInfo
from weightwise.errors import ConfigError
from weightwise.evidence import GradientFlow, flow_ratio, gradient_norms, gradient_norms_at
from weightwise.evidence.diagnostics import alive_units, saturated_fraction
from weightwise.net.backend import to_numpy


def _data(n: int = 96, d: int = 6, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), np.eye(k)[rng.integers(0, k, size=n)]


def _net(activation: str = "sigmoid", seed: int = 1, **kw: object) -> ww.Network:
    return ww.Network.create([6, 8, 7, 3], activation, "softmax", seed=seed, dtype="float64", **kw)


class Recorder:
    """A batch callback that keeps its own copies of each batch's gradients and weights."""

    def __init__(self) -> None:
        self.dW: list[list[np.ndarray]] = []
        self.deltas: list[list[np.ndarray]] = []
        self.W_after: list[list[np.ndarray]] = []
        self.outputs: list[list[np.ndarray]] = []
        self.where: list[tuple[int, int]] = []

    def __call__(self, info: BatchInfo) -> None:
        g = info.gradients
        self.where.append((info.epoch, info.batch))
        self.dW.append([np.array(to_numpy(d)) for d in g.dW])
        self.deltas.append([np.array(to_numpy(d)) for d in g.deltas])
        self.outputs.append([np.array(to_numpy(a)) for a in g.forward.activations[1:]])
        self.W_after.append([np.array(to_numpy(layer.W)) for layer in info.network.layers])


def test_batch_callbacks_see_every_batch_after_the_step() -> None:
    X, Y = _data()
    net = _net()
    rec = Recorder()
    ww.fit(net, X, Y, loss="cross_entropy", epochs=2, batch_size=40, batch_callbacks=[rec], seed=0)
    assert rec.where == [(1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2)]  # 96 = 40 + 40 + 16
    np.testing.assert_array_equal(rec.W_after[-1][0], to_numpy(net.layers[0].W))


def test_norms_equal_those_of_the_gradient_arrays() -> None:
    X, Y = _data()
    net = _net()
    rec, flow = Recorder(), GradientFlow(sample_every=2)
    ww.fit(
        net, X, Y, loss="cross_entropy", epochs=2, batch_size=32, callbacks=[flow],
        batch_callbacks=[rec], seed=0, learning_rate=0.5,
    )  # fmt: skip
    assert flow.epochs == [1, 2]
    for e in (0, 1):
        batches = [b for b, (ep, _) in enumerate(rec.where) if ep == e + 1]
        sampled_batches = batches[::2]  # batches 0 and 2 of each epoch
        for l in range(3):
            rms_dW = math.sqrt(np.mean([np.sum(rec.dW[b][l] ** 2) for b in sampled_batches]))
            rms_delta = math.sqrt(np.mean([np.sum(rec.deltas[b][l] ** 2) for b in sampled_batches]))
            assert flow.grad_norm[e][l] == pytest.approx(rms_dW, rel=1e-12)
            assert flow.delta_norm[e][l] == pytest.approx(rms_delta, rel=1e-12)
            sampled = np.concatenate([rec.outputs[b][l] for b in sampled_batches])
            assert flow.activation_mean[e][l] == pytest.approx(sampled.mean(), rel=1e-10)
            assert flow.activation_std[e][l] == pytest.approx(sampled.std(), rel=1e-8)
            if l < 2:
                frac = np.mean((sampled <= 0.01) | (sampled >= 0.99))
                assert flow.saturation[e][l] == pytest.approx(frac, abs=1e-12)
        np.testing.assert_allclose(
            flow.weight_norm[e], [np.linalg.norm(W) for W in rec.W_after[batches[-1]]], rtol=1e-12
        )
    assert math.isnan(flow.saturation[0][2])  # softmax output: no saturation statistic
    assert all(math.isnan(v) for v in flow.dead_fraction[0])  # no ReLU layer


def test_dW_is_formed_only_for_sampled_batches() -> None:
    # SGD keeps its fused update (dW left factored) on the batches GradientFlow does not sample.
    class Spy:
        def wants_weight_grads(self, epoch: int, batch: int, batches_per_epoch: int) -> bool:
            return False

        def __init__(self) -> None:
            self.formed: list[bool] = []

        def on_batch(self, info: BatchInfo) -> None:
            self.formed.append(info.gradients.dW[0] is not None)

        def __call__(self, info: object) -> None:
            return None

    X, Y = _data(n=320)
    spy, flow = Spy(), GradientFlow(sample_every=4)
    ww.fit(_net(), X, Y, loss="cross_entropy", epochs=1, batch_size=32, callbacks=[spy, flow],
           record_grad_norm=False, seed=0)  # fmt: skip
    assert spy.formed == [b % 4 == 0 for b in range(10)]
    assert all(math.isfinite(v) for v in flow.grad_norm[0] + flow.update_ratio[0])

    # By default it samples the batches History samples (40 batches: every 5th), adding no dW.
    X, Y = _data(n=640)
    spy, flow = Spy(), GradientFlow()
    history = ww.fit(_net(), X, Y, loss="cross_entropy", epochs=2, batch_size=16, callbacks=[spy, flow],
                     seed=0)  # fmt: skip
    assert spy.formed == [b % 5 == 0 for b in range(40)] * 2
    np.testing.assert_allclose(flow.grad_norm, history.grad_norm, rtol=1e-13)


def test_full_batch_norms_equal_a_fresh_backprop() -> None:
    X, Y = _data()
    net = _net()
    g = ww.backprop(net.copy(), X, Y, "cross_entropy")
    flow = GradientFlow()
    ww.fit(net, X, Y, loss="cross_entropy", epochs=1, callbacks=[flow])
    expected = [np.linalg.norm(to_numpy(dW)) for dW in g.dW]
    np.testing.assert_allclose(flow.grad_norm[0], expected, rtol=1e-12)
    np.testing.assert_allclose(gradient_norms_at(_net(), X, Y, "cross_entropy"), expected, rtol=1e-12)
    factored = ww.backprop(_net(), X, Y, "cross_entropy", weight_grads=False)
    assert factored.dW[0] is None
    np.testing.assert_allclose(gradient_norms(factored)[0], expected, rtol=1e-12)
    np.testing.assert_allclose(
        gradient_norms(factored)[1], [np.linalg.norm(to_numpy(d)) for d in g.deltas], rtol=1e-12
    )


@pytest.mark.parametrize("optimizer", ["sgd_momentum", "adam"])
def test_update_ratio_is_the_step_actually_taken(optimizer: str) -> None:
    X, Y = _data()
    net = _net()
    opt = ww.SGD(0.3, momentum=0.9) if optimizer == "sgd_momentum" else ww.Adam(0.01)
    rec, flow = Recorder(), GradientFlow(sample_every=2)
    ww.fit(net, X, Y, loss="cross_entropy", optimizer=opt, epochs=2, batch_size=16, seed=3,
           callbacks=[flow], batch_callbacks=[rec])  # fmt: skip
    # Weights after batch b (b = 0, 2, 4 of an epoch) against those after the next step.
    for e in (1, 2):
        steps = [i for i, (ep, b) in enumerate(rec.where) if ep == e and b % 2 == 1]
        for l in range(3):
            before, after = [rec.W_after[i - 1][l] for i in steps], [rec.W_after[i][l] for i in steps]
            ratios = [
                np.linalg.norm(a - b) / np.linalg.norm(b) for a, b in zip(after, before, strict=True)
            ]
            assert flow.update_ratio[e - 1][l] == pytest.approx(np.mean(ratios), rel=1e-10)


def test_full_batch_update_ratio_of_plain_sgd() -> None:
    # With one batch per epoch the step of epoch 2 is eta * dW(W1), measured against ||W1||.
    X, Y = _data()
    net, eta = _net(), 0.5
    flow = GradientFlow(sample_every=1)
    ww.fit(net, X, Y, loss="cross_entropy", learning_rate=eta, epochs=2, callbacks=[flow])
    ref = _net()
    ww.fit(ref, X, Y, loss="cross_entropy", learning_rate=eta, epochs=1)
    g = ww.backprop(ref, X, Y, "cross_entropy")
    expected = [
        eta * np.linalg.norm(dW) / np.linalg.norm(layer.W)
        for dW, layer in zip(g.dW, ref.layers, strict=True)
    ]
    assert all(math.isnan(v) for v in flow.update_ratio[0])  # no step before epoch 1 is seen
    np.testing.assert_allclose(flow.update_ratio[1], expected, rtol=1e-10)


def test_saturated_fraction_on_constructed_outputs() -> None:
    a = np.array([[0.005, 0.5, 0.995], [0.2, 0.991, 0.0]])
    assert float(saturated_fraction(a, (0.0, 1.0))) == pytest.approx(4 / 6)
    t = np.array([[-0.999, -0.98, 0.0, 0.98, 0.995, 1.0]])
    assert float(saturated_fraction(t, (-1.0, 1.0))) == pytest.approx(3 / 6)
    assert float(saturated_fraction(t, (-1.0, 1.0), margin=0.05)) == pytest.approx(5 / 6)


def test_saturated_fraction_on_torch_tensors() -> None:
    torch = pytest.importorskip("torch")
    a = torch.tensor([[0.005, 0.5, 0.995], [0.2, 0.991, 0.0]])
    assert float(saturated_fraction(a, (0.0, 1.0))) == pytest.approx(4 / 6)
    np.testing.assert_array_equal(to_numpy(alive_units(torch.tensor([[0.0, 1.0], [0.0, 0.0]]))), [0, 1])


def test_dead_relus_on_a_constructed_net() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(0.0, 1.0, size=(64, 4))  # positive inputs
    Y = np.eye(2)[rng.integers(0, 2, size=64)]
    net = ww.Network.create([4, 6, 2], "relu", "softmax", init="he_normal", seed=0, dtype="float64")
    W, b = net.layers[0].W, net.layers[0].b
    W[:, :2], b[:2] = -1.0, -0.5  # z < 0 for every positive input: two dead units
    W[:, 2:], b[2:] = np.abs(W[:, 2:]), 0.1  # z > 0 for every input: four live units
    flow = GradientFlow(sample_every=1)
    ww.fit(net, X, Y, loss="cross_entropy", epochs=2, batch_size=16, callbacks=[flow], seed=0)
    assert flow.dead_fraction[-1][0] == pytest.approx(2 / 6)
    assert math.isnan(flow.dead_fraction[-1][1])  # softmax layer
    assert any("33% of its units are dead" in line for line in flow.summary())


def test_deep_sigmoid_vanishes_relu_he_does_not() -> None:
    rng = np.random.default_rng(0)
    X = rng.uniform(0.0, 1.0, size=(200, 30))
    Y = np.eye(5)[rng.integers(0, 5, size=200)]
    sizes = [30] + [20] * 8 + [5]

    def ratio(activation: str, init: str) -> float:
        net = ww.Network.create(sizes, activation, "softmax", init=init, seed=0, dtype="float64")
        return flow_ratio(gradient_norms_at(net, X, Y, "cross_entropy"))[2]

    # Measured over seeds 0-4: normal(0, 1) 0.007-0.04, Xavier 4e-5-6e-5, ReLU + He 0.5-1.2.
    assert ratio("sigmoid", "normal") < 0.1
    assert ratio("sigmoid", "xavier_uniform") < 1e-3
    assert 0.2 < ratio("relu", "he_normal") < 5.0

    net = ww.Network.create(sizes, "sigmoid", "softmax", init="xavier_uniform", seed=0, dtype="float64")
    flow = GradientFlow()
    ww.fit(net, X, Y, loss="cross_entropy", epochs=1, batch_size=50, callbacks=[flow], seed=0)
    first, last, r = flow_ratio(flow.grad_norm[0])
    assert (first, last) == (1, 8)
    assert f"layer 1 receives 1/{1 / r:,.0f} of the gradient of layer 8" in flow.summary()[0]
    assert "vanishes" in flow.summary()[0]


def test_flow_ratio_layers() -> None:
    assert flow_ratio([1.0, 2.0, 4.0, 8.0]) == (1, 3, 0.25)  # last hidden layer, not the output
    assert flow_ratio([1.0, 4.0]) == (1, 2, 0.25)  # one hidden layer: compare with the output
    assert math.isnan(flow_ratio([1.0, 0.0, 3.0])[2])


def test_to_dict_is_json_and_round_trips() -> None:
    X, Y = _data()
    flow = GradientFlow()
    ww.fit(_net("relu"), X, Y, loss="cross_entropy", epochs=2, batch_size=32, callbacks=[flow], seed=0)
    d = json.loads(json.dumps(flow.to_dict(), allow_nan=False))
    assert d["epochs"] == [1, 2] and d["activations"] == ["relu", "relu", "softmax"]
    assert d["saturation"][0][0] is None  # NaN becomes None
    assert d["flow_ratio"] == [row[0] / row[1] for row in d["grad_norm"]]
    back = GradientFlow.from_dict(d)
    np.testing.assert_array_equal(back.as_arrays()["grad_norm"], flow.as_arrays()["grad_norm"])
    assert back.summary() == flow.summary()


def test_torch_network_gives_the_numpy_numbers() -> None:
    pytest.importorskip("torch")
    X, Y = _data()
    flows = []
    for backend in ("numpy", "torch"):
        flow = GradientFlow(sample_every=1)
        net = _net(backend=backend)
        ww.fit(net, X, Y, loss="cross_entropy", epochs=2, batch_size=32, callbacks=[flow], seed=0)
        flows.append(flow.as_arrays())
    for name, value in flows[0].items():
        np.testing.assert_allclose(flows[1][name], value, rtol=1e-9, err_msg=name)


def test_bad_settings() -> None:
    with pytest.raises(ConfigError, match="sample_every"):
        GradientFlow(sample_every=0)
    with pytest.raises(ConfigError, match="margin"):
        GradientFlow(margin=0.6)
    assert GradientFlow().summary() == ["no epoch recorded yet"]
