"""Checkpoint and resume of greedy pre-training: an interrupted run loses at most one epoch.

A run interrupted anywhere (Ctrl-C, a crash: here a KeyboardInterrupt raised from a callback)
and resumed from its checkpoint must end with exactly the weights, learner extras, training state
and histories of an uninterrupted run (NumPy arrays, so bit for bit).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from weightwise.errors import ConfigError
from weightwise.layerwise.autoencoder import AutoEncoder
from weightwise.layerwise.greedy import pretrain
from weightwise.layerwise.rbm import BernoulliRBM, GaussianRBM
from weightwise.net.network import Network

EPOCHS = [3, 4]


def data(real: bool = False) -> np.ndarray:
    g = np.random.default_rng(0)
    if real:
        return g.standard_normal((120, 16))
    return (g.random((120, 16)) < 0.3).astype(np.float64)


def network() -> Network:
    return Network.create(
        [16, 10, 6, 3], "sigmoid", output_activation="softmax", dtype="float64", seed=1
    )


CASES = {
    "rbm": dict(learner="rbm"),
    "pcd_sparse": dict(
        learner="rbm",
        learner_params={"persistent": True, "sparsity_target": 0.1, "sparsity_cost": 0.05},
    ),
    "denoising_sgd": dict(learner="denoising"),
    "denoising_adam": dict(
        learner="denoising", learner_params={"optimizer": "adam", "learning_rate": 0.01}
    ),
    "gaussian_learned_variance": dict(
        learner=["gaussian_rbm", "rbm"],
        learner_params=[{"learn_variance": True, "learning_rate": 0.01}, {}],
    ),
}


def run(case: str, **kwargs):
    spec = CASES[case]
    net = network()
    X = data(real=case.startswith("gaussian"))
    result = pretrain(net, X, epochs=EPOCHS, batch_size=20, seed=5, **spec, **kwargs)
    return net, result


def interrupt_at(layer: int, epoch: int):
    def callback(info):
        if (info.layer, info.epoch) == (layer, epoch):
            raise KeyboardInterrupt

    return callback


def without_seconds(history) -> dict:
    return {k: v for k, v in history.to_dict().items() if k != "seconds"}


def assert_same_run(a, b) -> None:
    (net_a, res_a), (net_b, res_b) = a, b
    for wa, wb in zip(net_a.get_weights(), net_b.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    extras_a, extras_b = res_a.extra_arrays(), res_b.extra_arrays()
    assert sorted(extras_a) == sorted(extras_b)
    for key in extras_a:
        np.testing.assert_array_equal(extras_a[key], extras_b[key])
    for la, lb in zip(res_a.learners, res_b.learners, strict=True):
        (sa, aa), (sb, ab) = la.training_state(), lb.training_state()
        for state in (sa, sb):
            if "history" in state:  # an RBM's own history_: wall times differ run to run
                state["history"].pop("seconds")
        assert sa == sb
        assert sorted(aa) == sorted(ab)
        for key in aa:
            np.testing.assert_array_equal(aa[key], ab[key])
    assert [without_seconds(h) for h in res_a.histories] == [without_seconds(h) for h in res_b.histories]
    assert [type(h) for h in res_a.histories] == [type(h) for h in res_b.histories]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("where", [(1, 1), (1, 3), (2, 1), (2, 4)])
def test_resumed_run_equals_uninterrupted_run(tmp_path, case, where):
    straight = run(case)
    with pytest.raises(KeyboardInterrupt):
        run(case, callbacks=[interrupt_at(*where)], checkpoint_dir=tmp_path)
    resumed = run(case, checkpoint_dir=tmp_path, resume=True)
    assert_same_run(straight, resumed)


def test_interrupted_run_loses_at_most_the_epoch_under_way(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run("rbm", callbacks=[interrupt_at(2, 3)], checkpoint_dir=tmp_path)
    meta = json.loads((tmp_path / "checkpoint.json").read_text())
    # Layer 1 finished; layer 2 had finished 2 epochs when epoch 3 was interrupted.
    assert meta["layers_done"] == 1
    assert [len(h["epoch"]) for h in meta["histories"]] == [3, 2]
    # The resumed run trains exactly the missing epochs, numbered on from the checkpoint.
    seen = []
    run(
        "rbm",
        callbacks=[lambda info: seen.append((info.layer, info.epoch, info.epochs))],
        checkpoint_dir=tmp_path,
        resume=True,
    )
    assert seen == [(2, 3, 4), (2, 4, 4)]


def test_resuming_a_finished_run_trains_nothing(tmp_path):
    first = run("denoising_sgd", checkpoint_dir=tmp_path)
    seen = []
    again = run("denoising_sgd", callbacks=[seen.append], checkpoint_dir=tmp_path, resume=True)
    assert seen == []
    assert_same_run(first, again)


def test_a_layer_stopped_by_a_callback_stays_stopped_after_resume(tmp_path):
    def stop_layer1_early(info):
        return info.layer == 1 and info.epoch == 2

    def stop_and_interrupt(info):
        if (info.layer, info.epoch) == (2, 2):
            raise KeyboardInterrupt
        return stop_layer1_early(info)

    straight = run("rbm", callbacks=[stop_layer1_early])
    assert straight[1].histories[0].n_epochs == 2
    with pytest.raises(KeyboardInterrupt):
        run("rbm", callbacks=[stop_and_interrupt], checkpoint_dir=tmp_path)
    resumed = run("rbm", checkpoint_dir=tmp_path, resume=True)
    assert resumed[1].histories[0].n_epochs == 2
    assert_same_run(straight, resumed)


def test_without_resume_a_checkpoint_is_overwritten_not_used(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run("rbm", callbacks=[interrupt_at(2, 1)], checkpoint_dir=tmp_path)
    fresh = run("rbm", checkpoint_dir=tmp_path)
    assert_same_run(run("rbm"), fresh)
    assert json.loads((tmp_path / "checkpoint.json").read_text())["layers_done"] == 2


def test_resume_with_an_empty_folder_starts_from_scratch(tmp_path):
    assert_same_run(run("rbm"), run("rbm", checkpoint_dir=tmp_path / "new", resume=True))


def test_checkpoint_files_are_safetensors_and_json(tmp_path):
    run("rbm", checkpoint_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.json", "checkpoint.safetensors"]
    meta = json.loads((tmp_path / "checkpoint.json").read_text())
    assert meta["kind"] == "pretrain" and meta["epochs"] == EPOCHS


def test_resume_needs_a_checkpoint_dir():
    with pytest.raises(ConfigError, match="checkpoint_dir"):
        run("rbm", resume=True)


def test_a_checkpoint_from_another_run_is_refused(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run("rbm", callbacks=[interrupt_at(2, 1)], checkpoint_dir=tmp_path)
    net = network()
    with pytest.raises(
        ConfigError, match=r"different pre-training run \(epochs \[3, 4\] there, \[3, 5\]"
    ):
        pretrain(net, data(), epochs=[3, 5], batch_size=20, seed=5, checkpoint_dir=tmp_path, resume=True)
    with pytest.raises(ConfigError, match="learners"):
        pretrain(
            net,
            data(),
            learner="denoising",
            epochs=EPOCHS,
            batch_size=20,
            checkpoint_dir=tmp_path,
            resume=True,
        )
    with pytest.raises(ConfigError, match="n_samples"):
        pretrain(net, data()[:100], epochs=EPOCHS, batch_size=20, checkpoint_dir=tmp_path, resume=True)


# -- the learners' own training state -----------------------------------------------------------


def _fresh_learner(kind: str):
    g = np.random.default_rng(3)
    W = g.normal(0, 0.1, (16, 6))
    if kind == "rbm":
        return BernoulliRBM(W, np.zeros(6), np.zeros(16), batch_size=20, seed=4, momentum=0.9)
    if kind == "gaussian":
        return GaussianRBM(
            W, np.zeros(6), np.zeros(16), batch_size=20, seed=4, learn_variance=True, learning_rate=0.01
        )
    return AutoEncoder(
        W,
        np.zeros(6),
        np.zeros(16),
        batch_size=20,
        seed=4,
        corruption=0.2,
        optimizer="adam",
        learning_rate=0.01,
    )


@pytest.mark.parametrize("kind", ["rbm", "gaussian", "ae"])
def test_learner_state_round_trip_continues_exactly(kind):
    X = data(real=kind == "gaussian")
    straight = _fresh_learner(kind)
    straight.fit(X, epochs=4)

    first = _fresh_learner(kind)
    first.fit(X, epochs=2)
    params = [np.array(a, copy=True) for a in (first.W, first.b_hidden)]
    extras = first.extra_arrays()
    scalars, arrays = first.training_state()
    scalars = json.loads(json.dumps(scalars))  # what a checkpoint file holds

    second = _fresh_learner(kind)
    second.W[...], second.b_hidden[...] = params
    second.load_extra_arrays(extras)
    second.load_training_state(scalars, arrays)
    second.fit(X, epochs=2)
    np.testing.assert_array_equal(second.W, straight.W)
    np.testing.assert_array_equal(second.b_visible, straight.b_visible)
    assert second.n_epochs_ == straight.n_epochs_ == 4


def test_learner_state_without_momentum_would_differ():
    """The round trip above can fail: dropping the saved increments changes the result."""
    X = data()
    straight = _fresh_learner("rbm")
    straight.fit(X, epochs=4)
    first = _fresh_learner("rbm")
    first.fit(X, epochs=2)
    scalars, arrays = first.training_state()
    arrays = {k: np.zeros_like(v) for k, v in arrays.items()}
    second = _fresh_learner("rbm")
    second.W[...], second.b_hidden[...] = first.W, first.b_hidden
    second.load_extra_arrays(first.extra_arrays())
    second.load_training_state(scalars, arrays)
    second.fit(X, epochs=2)
    assert not np.array_equal(second.W, straight.W)


def test_resume_on_torch_tensors(tmp_path):
    """PyTorch stacks resume too (the on-device random stream is re-derived, so not bit for bit)."""
    torch = pytest.importorskip("torch")
    X = data().astype(np.float32)

    def torch_net() -> Network:
        return Network.create(
            [16, 10, 6, 3], "sigmoid", output_activation="softmax", seed=1, backend="torch"
        )

    with pytest.raises(KeyboardInterrupt):
        pretrain(torch_net(), X, epochs=EPOCHS, batch_size=20, seed=5, callbacks=[interrupt_at(2, 2)],
                 checkpoint_dir=tmp_path)  # fmt: skip
    net = torch_net()
    result = pretrain(net, X, epochs=EPOCHS, batch_size=20, seed=5, checkpoint_dir=tmp_path, resume=True)
    assert [h.n_epochs for h in result.histories] == EPOCHS
    assert isinstance(net.layers[0].W, torch.Tensor) and result.learners[0].W is net.layers[0].W
    assert all(bool(torch.isfinite(w).all()) for w in net.parameters())


def test_resuming_with_another_rate_batch_or_optimiser_is_refused(tmp_path):
    """Finding 3: each differing setting of the layer under way is listed."""
    spec = dict(learner="denoising", epochs=EPOCHS, seed=5, checkpoint_dir=tmp_path)
    sgd = {"optimizer": "sgd", "learning_rate": 0.1}
    with pytest.raises(KeyboardInterrupt):
        pretrain(
            network(), data(), **spec, batch_size=20, learner_params=sgd, callbacks=[interrupt_at(1, 2)]
        )
    adam = {"optimizer": "adam", "learning_rate": 0.01}
    with pytest.raises(ConfigError, match="other settings for layer 1") as info:
        pretrain(network(), data(), **spec, batch_size=10, learner_params=adam, resume=True)
    for said in (
        "batch_size 20 there, 10 here",
        "learning_rate 0.1 there, 0.01 here",
        "optimizer 'sgd' there, 'adam' here",
    ):
        assert said in str(info.value)
    pretrain(network(), data(), **spec, batch_size=20, learner_params=sgd, resume=True)


def test_resuming_with_another_seed_is_refused_and_without_one_takes_the_checkpoints(tmp_path):
    spec = dict(learner="rbm", epochs=EPOCHS, checkpoint_dir=tmp_path)
    with pytest.raises(KeyboardInterrupt):
        pretrain(network(), data(), **spec, seed=5, callbacks=[interrupt_at(1, 2)])
    with pytest.raises(ConfigError, match="written with another seed"):
        pretrain(network(), data(), **spec, seed=6, resume=True)
    pretrain(network(), data(), **spec, resume=True)  # no seed: the checkpoint's stream
