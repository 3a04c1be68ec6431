"""The one layer-wise epoch loop (:mod:`weightwise.layerwise.loop`): its callback rule, shared with
back-propagation's ``fit``, and its divergence check, from the learners up to the estimators and
the command line.

The first tests reproduce the findings of "Trust the engine" as they were reported: an RBM that
returned NaN weights, a ``weightwise pretrain`` that saved an all-NaN stack with exit code 0, and a
``BPClassifier`` whose pre-training divergence was blamed on the BP learning rate.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_helpers import invoke
from sklearn.datasets import load_digits

from weightwise._util import callbacks_stop
from weightwise.backpropagation.training import fit
from weightwise.errors import DivergenceError
from weightwise.estimators import DBN, RBM, BPClassifier, BPRegressor, StackedAutoEncoder
from weightwise.layerwise.autoencoder import AutoEncoder
from weightwise.layerwise.greedy import pretrain
from weightwise.layerwise.history import LayerHistory
from weightwise.layerwise.loop import LayerDivergenceError, run_epochs
from weightwise.layerwise.rbm import BernoulliRBM, GaussianRBM
from weightwise.net.network import Network

# Overflow and invalid-value warnings on the way to NaN are what these tests provoke.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    """The digits images scaled to [0, 1], float32, (1797, 64)."""
    return (load_digits().data / 16.0).astype(np.float32)


def _binary(n: int = 200, d: int = 20) -> np.ndarray:
    return (np.random.default_rng(0).random((n, d)) < 0.3).astype(np.float32)


def _real(n: int = 200, d: int = 20) -> np.ndarray:
    return np.random.default_rng(1).normal(size=(n, d)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# the findings, as reported


def test_finding_rbm_estimator_with_a_huge_learning_rate_raises_instead_of_returning_nan(
    digits: np.ndarray,
) -> None:
    rbm = RBM(learning_rate=1e8)
    with pytest.raises(DivergenceError) as caught:
        rbm.fit(digits)
    message = str(caught.value)
    assert message.startswith("BernoulliRBM on layer 1 of 1 diverged in epoch 1: ")
    assert "(now 1e+08; try 1e+07): set learning_rate=1e+07." in message
    assert caught.value.epoch == 1


def test_finding_cli_pretrain_gaussian_rbm_exits_1_and_writes_no_nan_stack(tmp_path: Path) -> None:
    out = tmp_path / "stack.safetensors"
    cwd = os.getcwd()
    os.chdir(tmp_path)  # the finding's command writes its default file in the working folder
    try:
        result = invoke(
            "pretrain", "--data", "digits", "--learner", "gaussian_rbm", "--scale", "standard",
            "--layers", "64-32", "--lr", "0.5", "--out", out,
        )  # fmt: skip
        written = sorted(p.name for p in tmp_path.iterdir())
    finally:
        os.chdir(cwd)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [result.stderr.strip().splitlines()[-1]], result.stderr
    assert "Traceback" not in result.output
    line = errors[0]
    assert "GaussianRBM on layer 1 of 1 diverged in epoch" in line
    assert "(now 0.5; try 0.05): pass --lr 0.05." in line
    assert written == [] and not out.exists()


def test_finding_bp_classifier_pretraining_divergence_names_pretrain_learning_rate(
    digits: np.ndarray,
) -> None:
    y = load_digits().target
    bp_epochs: list[int] = []
    est = BPClassifier(
        hidden_layer_sizes=(16,),
        activation="sigmoid",  # RBMs pre-train sigmoid layers only
        pretrain="rbm",
        pretrain_learning_rate=1e8,
        pretrain_epochs=2,
        max_epochs=2,
        random_state=0,
        callbacks=[lambda info: bp_epochs.append(info.epoch)],
    )
    with pytest.raises(DivergenceError) as caught:
        est.fit(digits, y)
    message = str(caught.value)
    assert message.startswith("BernoulliRBM on layer 1 of 1 diverged in epoch 1: ")
    assert "set pretrain_learning_rate=1e+07." in message
    assert bp_epochs == []  # back-propagation never started


# ---------------------------------------------------------------------------------------------
# the callback rule: every callback every epoch, only True stops (as fit)


def _rbm_fit(callbacks: list[Any], epochs: int) -> LayerHistory:
    return BernoulliRBM.create(20, 8, seed=0, batch_size=50, monitor_size=0).fit(
        _binary(), epochs=epochs, callbacks=callbacks
    )


def _ae_fit(callbacks: list[Any], epochs: int) -> LayerHistory:
    return AutoEncoder.create(20, 8, seed=0, batch_size=50, corruption=0.2).fit(
        _binary(), epochs=epochs, callbacks=callbacks
    )


def _bp_fit(callbacks: list[Any], epochs: int) -> Any:
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(30, 3)), rng.normal(size=(30, 2))
    net = Network.create((3, 4, 2), "tanh", "identity", seed=0)
    return fit(net, X, Y, loss="squared_error", epochs=epochs, seed=0, callbacks=callbacks)


LOOPS = {"BernoulliRBM.fit": _rbm_fit, "AutoEncoder.fit": _ae_fit, "backprop fit": _bp_fit}


@pytest.mark.parametrize("run", LOOPS.values(), ids=list(LOOPS))
def test_every_callback_is_called_even_when_the_first_returns_true(
    run: Callable[[list[Any], int], Any],
) -> None:
    seen: list[int] = []
    history = run([lambda info: True, lambda info: seen.append(info.epoch)], 5)
    assert seen == [1]  # the second callback saw the epoch the first one stopped
    assert history.stop_reason == "callback" and history.n_epochs == 1


@pytest.mark.parametrize("truthy", [1, "yes", [True], 1.0])
@pytest.mark.parametrize("run", LOOPS.values(), ids=list(LOOPS))
def test_a_truthy_value_other_than_true_does_not_stop(
    run: Callable[[list[Any], int], Any], truthy: object
) -> None:
    history = run([lambda info: truthy], 3)
    assert history.stop_reason == "max_epochs" and history.n_epochs == 3


def test_the_shared_rule_calls_all_and_stops_on_true_only() -> None:
    calls: list[str] = []

    def cb(name: str, value: object) -> Callable[[object], object]:
        return lambda info: calls.append(name) or value

    assert callbacks_stop([cb("a", True), cb("b", None), cb("c", True)], None) is True
    assert calls == ["a", "b", "c"]
    assert callbacks_stop([cb("d", 1), cb("e", "yes"), cb("f", np.True_)], None) is False
    assert callbacks_stop([], None) is False


def test_pretrain_callbacks_follow_the_same_rule() -> None:
    net = Network.create((20, 8, 6, 2), "sigmoid", "softmax", seed=0)
    seen: list[tuple[int, int]] = []
    result = pretrain(
        net,
        _binary(),
        "rbm",
        epochs=3,
        batch_size=50,
        learner_params={"monitor_size": 0},
        callbacks=[
            lambda info: info.epoch == 1 or "yes",
            lambda info: seen.append((info.layer, info.epoch)),
        ],
        seed=0,
    )
    assert seen == [(1, 1), (2, 1)]
    assert [h.stop_reason for h in result.histories] == ["callback", "callback"]


# ---------------------------------------------------------------------------------------------
# divergence mid-run keeps the last finite weights


def _bump_rbm(learner: Any) -> None:
    learner.learning_rate = 1e8


def _bump_ae(learner: Any) -> None:
    learner.optimizer.learning_rate0 = 1e8  # set_epoch derives each epoch's rate from it


LEARNERS: dict[str, tuple[Callable[..., Any], Callable[[], np.ndarray], Callable[[Any], None], str]] = {
    "bernoulli": (
        lambda **kw: BernoulliRBM.create(20, 8, seed=0, batch_size=20, **kw),
        _binary,
        _bump_rbm,
        "BernoulliRBM",
    ),
    "gaussian_learned_variance": (
        lambda **kw: GaussianRBM.create(20, 8, seed=0, batch_size=20, learn_variance=True, **kw),
        _real,
        _bump_rbm,
        "GaussianRBM",
    ),
    "denoising_autoencoder": (
        lambda **kw: AutoEncoder.create(
            20, 8, seed=0, batch_size=20, corruption=0.2, loss="squared_error", **kw
        ),
        _real,
        _bump_ae,
        "denoising AutoEncoder",
    ),
}


def _snapshot(learner: Any) -> dict[str, np.ndarray]:
    return {
        name: np.array(np.asarray(_host(a)), copy=True) for name, a in learner.state_arrays().items()
    }


def _host(a: Any) -> Any:
    return a.detach().cpu().numpy() if hasattr(a, "detach") else a


def _diverge_in_epoch_3(kind: str, **create: Any) -> tuple[Any, list[dict[str, np.ndarray]], Any]:
    """Train ``kind`` with a callback that records the arrays after each epoch and raises the
    learning rate to 1e8 after epoch 2, so epoch 3 diverges."""
    make, data, bump, _ = LEARNERS[kind]
    learner = make(**create)
    after_epoch = [_snapshot(learner)]  # after_epoch[e]: the arrays at the end of epoch e

    def record(info: Any) -> None:
        after_epoch.append(_snapshot(info.learner))
        if info.epoch == 2:
            bump(info.learner)

    X = data()
    if create.get("backend") == "torch":
        import torch

        X = torch.as_tensor(X)
    with pytest.raises(DivergenceError) as caught:
        learner.fit(X, epochs=10, callbacks=[record])
    return learner, after_epoch, caught.value


def _assert_keeps_epoch_2(learner: Any, after_epoch: list[dict[str, np.ndarray]], error: Any) -> None:
    assert error.epoch == 3 and learner.n_epochs_ == 2
    assert len(after_epoch) == 3  # the callbacks never saw the diverged epoch
    now = _snapshot(learner)
    assert set(now) >= {"W", "b_hidden", "b_visible"}
    for name, want in after_epoch[2].items():
        assert np.all(np.isfinite(now[name])), name
        np.testing.assert_array_equal(now[name], want, err_msg=name)
    # and they did change since epoch 1: the check compares with the right epoch
    assert not np.array_equal(now["W"], after_epoch[1]["W"])


@pytest.mark.parametrize("kind", list(LEARNERS))
def test_divergence_mid_run_keeps_the_weights_after_the_previous_epoch(kind: str) -> None:
    learner, after_epoch, error = _diverge_in_epoch_3(kind)
    _assert_keeps_epoch_2(learner, after_epoch, error)
    if kind == "gaussian_learned_variance":
        assert "log_variance" in after_epoch[2]  # the extras are checked and restored too
    name = LEARNERS[kind][3]
    assert isinstance(error, LayerDivergenceError)
    assert str(error) == (
        f"{name} diverged in epoch 3: the reconstruction error became NaN. The learner keeps its "
        "weights from the end of epoch 2. Use a smaller learning rate for this learner (now 1e+08; "
        "try 1e+07)."
    )


@pytest.mark.parametrize("kind", list(LEARNERS))
def test_after_divergence_the_momentum_is_zero_and_training_goes_on(kind: str) -> None:
    learner, _, _ = _diverge_in_epoch_3(kind)
    if isinstance(learner, AutoEncoder):
        _, slots = learner.optimizer.state_dict()
        learner.optimizer.learning_rate0 = 1e-3
    else:
        slots = {k: np.asarray(v) for k, v in learner._velocities().items()}
        learner.learning_rate = 1e-3
    assert slots and all(not np.any(v) for v in slots.values())
    history = learner.fit(LEARNERS[kind][1](), epochs=1)
    assert history.epoch == [3] and math.isfinite(history.reconstruction_error[0])


@pytest.mark.parametrize("kind", ["bernoulli", "denoising_autoencoder"])
def test_divergence_in_torch_keeps_the_last_finite_weights(kind: str, torch_one_thread: Any) -> None:
    learner, after_epoch, error = _diverge_in_epoch_3(kind, backend="torch")
    assert hasattr(learner.W, "detach")
    _assert_keeps_epoch_2(learner, after_epoch, error)


def test_weights_that_overflow_while_the_error_stays_finite_are_caught() -> None:
    """A learner whose epoch error is finite but whose W is not: the loop names the array."""

    class Toy:
        n_epochs_ = 0
        layer_label = "layer 2 of 3"
        display_name = "Toy"
        learning_rate = 0.5

        def __init__(self) -> None:
            self.W = np.ones((3, 2), dtype=np.float32)
            self.b = np.zeros(2, dtype=np.float32)
            self.reset = False

        def state_arrays(self) -> dict[str, np.ndarray]:
            return {"W": self.W, "b_hidden": self.b}

        def reset_momentum(self) -> None:
            self.reset = True

    toy = Toy()
    seen: list[int] = []

    def train() -> float:
        toy.W *= 2.0
        if toy.n_epochs_ == 1:
            toy.W[0, 0] = np.inf
            toy.b[1] = np.nan
        return 0.25

    def record(error: float, seconds: float) -> dict[str, float]:
        seen.append(toy.n_epochs_)
        return {}

    with pytest.raises(LayerDivergenceError) as caught:
        run_epochs(toy, 5, train, record, LayerHistory())
    assert seen == [1] and toy.reset
    np.testing.assert_array_equal(toy.W, np.full((3, 2), 2.0))
    np.testing.assert_array_equal(toy.b, np.zeros(2))
    assert str(caught.value) == (
        "Toy on layer 2 of 3 diverged in epoch 2: the reconstruction error stayed finite but W and "
        "b_hidden overflowed to inf/NaN. The learner keeps its weights from the end of epoch 1. Use "
        "a smaller learning rate for this learner (now 0.5; try 0.05)."
    )


def test_huge_finite_weights_are_not_divergence() -> None:
    """The sum of squares overflows for values near float32's limit; only then is each value
    looked at, and finite values pass."""

    class Big:
        n_epochs_ = 0
        layer_label = None
        display_name = "Big"
        learning_rate = 1.0
        W = np.full((4, 4), 1e30, dtype=np.float32)

        def state_arrays(self) -> dict[str, np.ndarray]:
            return {"W": self.W}

        def reset_momentum(self) -> None:  # pragma: no cover - never diverges
            raise AssertionError

    history = run_epochs(Big(), 2, lambda: 1.0, lambda e, s: {}, LayerHistory())
    assert history.stop_reason == "max_epochs"


# ---------------------------------------------------------------------------------------------
# greedy pre-training names the layer; the estimators name their parameter


def test_pretrain_names_the_layer_and_keeps_a_finite_checkpoint(tmp_path: Path) -> None:
    net = Network.create((20, 12, 8, 6, 2), "sigmoid", "softmax", seed=0)
    with pytest.raises(LayerDivergenceError) as caught:
        pretrain(
            net,
            _binary(),
            "rbm",
            n_layers=3,
            epochs=2,
            batch_size=20,
            learner_params=[{}, {"learning_rate": 1e8}, {}],
            seed=0,
            checkpoint_dir=tmp_path,
        )
    message = str(caught.value)
    assert message.startswith("BernoulliRBM on layer 2 of 3 diverged in epoch 1: ")
    assert "keeps its initial weights" in message and "(now 1e+08; try 1e+07)." in message
    assert caught.value.layer == "layer 2 of 3" and caught.value.epoch == 1
    for W in net.get_weights():
        assert np.all(np.isfinite(W))
    from weightwise.checkpoints import load_checkpoint

    arrays, meta = load_checkpoint(tmp_path)
    assert meta["layers_done"] == 1 and [len(h["epoch"]) for h in meta["histories"]] == [2]
    assert all(np.all(np.isfinite(a)) for a in arrays.values())


@pytest.mark.parametrize(
    "make",
    [
        lambda: DBN(hidden_layer_sizes=(16, 8), learning_rate=1e8, n_iter=2, random_state=0),
        lambda: StackedAutoEncoder(
            hidden_layer_sizes=(16, 8),
            activation="relu",  # unbounded codes: a linear decoder's loss overflows
            loss="squared_error",
            learning_rate=1e8,
            n_iter=2,
            random_state=0,
        ),
    ],
    ids=["DBN", "StackedAutoEncoder"],
)
def test_transformers_name_learning_rate(make: Callable[[], Any], digits: np.ndarray) -> None:
    with pytest.raises(
        DivergenceError, match=r"on layer 1 of 2 diverged in epoch 1: .*set learning_rate=1e\+07\."
    ):
        make().fit(digits)


def test_rbm_partial_fit_names_learning_rate(digits: np.ndarray) -> None:
    rbm = RBM(n_components=8, n_iter=1, random_state=0).fit(digits)
    rbm.rbm_.learning_rate = 1e8
    with pytest.raises(DivergenceError, match=r"epoch 2: .*set learning_rate=1e\+07\.$"):
        rbm.partial_fit(digits)
    assert np.all(np.isfinite(np.asarray(rbm.components_)))


def test_bp_regressor_autoencoder_pretraining_names_pretrain_learning_rate() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(100, 6)), rng.normal(size=100)
    est = BPRegressor(
        hidden_layer_sizes=(8,),
        pretrain="autoencoder",
        # Adam's steps are bounded by the rate: 1e8 leaves a loss near 1e34, still finite.
        pretrain_learning_rate=1e20,
        pretrain_epochs=2,
        max_epochs=1,
        dtype="float32",
        random_state=0,
    )
    with pytest.raises(
        DivergenceError, match=r"^AutoEncoder on layer 1 of 1 .*set pretrain_learning_rate=1e\+19\.$"
    ):
        est.fit(X, y)


# ---------------------------------------------------------------------------------------------
# the command line


def test_cli_train_pretrain_divergence_names_pretrain_lr_and_saves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "model.safetensors"
    result = invoke(
        "train", "--data", "digits", "--layers", "64-16-10", "--epochs", "1", "--pretrain", "rbm",
        "--pretrain-epochs", "1", "--pretrain-lr", "1e8", "--out", out, "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: BernoulliRBM on layer 1 of 1 diverged in epoch 1: ")
    assert last.endswith("(now 1e+08; try 1e+07): pass --pretrain-lr 1e+07.")
    assert "Traceback" not in result.output and not out.exists()
