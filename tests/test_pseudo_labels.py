"""Pseudo-labels (Lee 2013) in fit: the schedule, clear errors, the update against a plain
PyTorch-autograd loop written from the paper, resume, and a semi-supervised problem it solves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from weightwise import (
    SGD,
    Adam,
    ConfigError,
    DataError,
    EpochInfo,
    Network,
    PseudoLabels,
    Random,
    fit,
)
from weightwise.backpropagation.pseudo_labels import pseudo_label_targets


def _net(sizes: tuple[int, ...] = (4, 6, 3), output: str = "softmax", seed: int = 0) -> Network:
    return Network.create(sizes, "tanh", output, "xavier_uniform", Random(seed), "float64")


def _data(n: int = 12, n_u: int = 40, seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)
    return X, np.eye(3)[labels], rng.normal(size=(n_u, 4))


# --------------------------------------------------------------------------------------------------
# the schedule and the settings


def test_the_weight_is_off_before_start_then_rises_linearly_to_full() -> None:
    pl = PseudoLabels(np.zeros((2, 4)), weight=3.0, start=2, full=4)
    assert [pl.alpha(t) for t in range(1, 7)] == [0.0, 0.0, 1.5, 3.0, 3.0, 3.0]
    at_once = PseudoLabels(np.zeros((2, 4)), weight=2.0, start=3, full=3)
    assert [at_once.alpha(t) for t in range(1, 5)] == [0.0, 0.0, 2.0, 2.0]
    assert repr(pl) == "PseudoLabels(X=<2x4 rows>, weight=3.0, start=2, full=4, batch_size=100)"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"weight": -1.0}, "weight must be a finite number >= 0, got -1.0"),
        ({"weight": float("nan")}, "weight must be a finite number >= 0"),
        ({"weight": "3"}, "weight must be a finite number >= 0, got '3'"),
        ({"start": 0}, "start must be a positive integer, got 0"),
        ({"start": 5, "full": 4}, r"full \(4\) must be >= start \(5\)"),
        ({"batch_size": 0}, "batch_size must be a positive integer, got 0"),
        ({"batch_size": 2.5}, "batch_size must be a positive integer, got 2.5"),
    ],
)
def test_bad_settings_name_the_problem(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PseudoLabels(np.zeros((2, 4)), **settings)


def test_bad_unlabelled_rows_and_networks_get_clear_errors() -> None:
    X, Y, U = _data()
    with pytest.raises(
        DataError, match="unlabelled X has 5 features but the network's input layer has 4"
    ):
        fit(_net(), X, Y, loss="cross_entropy", pseudo_labels=PseudoLabels(np.zeros((3, 5))))
    U[2, 1] = np.nan
    with pytest.raises(DataError, match="unlabelled X contains 1 NaN and 0 infinite values"):
        fit(_net(), X, Y, loss="cross_entropy", pseudo_labels=PseudoLabels(U))
    with pytest.raises(ConfigError, match="need a classifier's output .* the network's is identity"):
        fit(_net(output="identity"), X, Y, pseudo_labels=PseudoLabels(np.zeros((3, 4))))
    with pytest.raises(ConfigError, match="pseudo_labels must be a PseudoLabels or None, got ndarray"):
        fit(_net(), X, Y, loss="cross_entropy", pseudo_labels=U)  # type: ignore[arg-type]


def test_pseudo_labels_are_the_networks_own_classes() -> None:
    out = np.array([[0.2, 0.5, 0.3], [0.7, 0.1, 0.2]])
    np.testing.assert_array_equal(pseudo_label_targets(out, "softmax"), [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(pseudo_label_targets(out, "sigmoid"), [[0, 1, 0], [1, 0, 0]])
    assert pseudo_label_targets(out.astype(np.float32), "softmax").dtype == np.float32


# --------------------------------------------------------------------------------------------------
# the update, against a plain loop written from the paper (PyTorch autograd on Lee's loss)


def _reference(
    net: Network,
    X: np.ndarray,
    Y: np.ndarray,
    pl: PseudoLabels,
    *,
    lr: float,
    epochs: int,
    bs: int,
    seed: int,
) -> list[np.ndarray]:
    """``epochs`` of plain SGD on L(labelled batch) + alpha(t) L(unlabelled batch, arg-max or
    rounded targets), the batches in order, the unlabelled rows drawn from ``seed``'s generator
    as fit draws them (one ``integers`` call per update while alpha > 0)."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    softmax = net.layers[-1].activation.name == "softmax"
    params = [torch.tensor(p, requires_grad=True) for p in net.get_weights()]
    rng = np.random.default_rng(seed)

    def logits(x: Any) -> Any:
        for i in range(0, len(params), 2):
            x = x @ params[i] + params[i + 1]
            if i + 2 < len(params):
                x = torch.tanh(x)
        return x

    def loss(z: Any, y: Any) -> Any:
        if softmax:
            return -(y * F.log_softmax(z, dim=1)).sum() / z.shape[0]
        return F.binary_cross_entropy_with_logits(z, y, reduction="sum") / z.shape[0]

    U = torch.tensor(np.asarray(pl.X))
    for t in range(1, epochs + 1):
        alpha = pl.alpha(t)
        for lo in range(0, X.shape[0], bs):
            total = loss(logits(torch.tensor(X[lo : lo + bs])), torch.tensor(Y[lo : lo + bs]))
            if alpha > 0:
                u = U[torch.tensor(rng.integers(0, U.shape[0], pl.batch_size))]
                with torch.no_grad():
                    z = logits(u)
                    if softmax:
                        target = F.one_hot(z.argmax(1), z.shape[1]).double()
                    else:
                        target = (torch.sigmoid(z) >= 0.5).double()
                total = total + alpha * loss(logits(u), target)
            grads = torch.autograd.grad(total, params)
            with torch.no_grad():
                for p, g in zip(params, grads, strict=True):
                    p -= lr * g
    return [p.detach().numpy() for p in params]


@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_fit_with_pseudo_labels_is_the_papers_update(output: str) -> None:
    X, Y, U = _data()
    loss = "cross_entropy" if output == "softmax" else "binary_cross_entropy"
    pl = PseudoLabels(U, weight=2.0, start=2, full=3, batch_size=7)
    net = _net(output=output)
    want = _reference(net, X, Y, pl, lr=0.1, epochs=4, bs=5, seed=3)
    fit(
        net,
        X,
        Y,
        loss=loss,
        optimizer=SGD(0.1),
        epochs=4,
        batch_size=5,
        shuffle=False,
        seed=3,
        pseudo_labels=pl,
    )
    for got, ref in zip(net.get_weights(), want, strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("weight", "same"), [(0.0, True), (1.0, False)])
def test_a_zero_weight_is_plain_fit_and_a_positive_one_is_not(weight: float, same: bool) -> None:
    """With alpha = 0 throughout, the run is fit without pseudo-labels: same weights, same
    shuffling (no unlabelled row was drawn from the shared generator). A positive weight moves
    the weights (the guard against a term that is silently dropped)."""
    X, Y, U = _data()
    plain, with_pl = _net(), _net()
    kw: dict[str, Any] = dict(loss="cross_entropy", epochs=3, batch_size=4, seed=5)
    fit(plain, X, Y, optimizer=Adam(0.01), **kw)
    pl = PseudoLabels(U, weight=weight, start=1, full=1)
    fit(with_pl, X, Y, optimizer=Adam(0.01), pseudo_labels=pl, **kw)
    equal = [
        np.array_equal(a, b) for a, b in zip(plain.get_weights(), with_pl.get_weights(), strict=True)
    ]
    assert all(equal) if same else not any(equal)


@pytest.mark.parametrize("output", ["softmax", "sigmoid"])
def test_torch_tensors_take_the_same_path(output: str, torch_one_thread: Any) -> None:
    """The same run on a NumPy and a PyTorch network (unlabelled rows given as a tensor)."""
    torch = torch_one_thread
    X, Y, U = _data()
    loss = "cross_entropy" if output == "softmax" else "binary_cross_entropy"
    nets = [_net(output=output), _net(output=output).to("torch")]
    for net, rows in zip(nets, (U, torch.from_numpy(U)), strict=True):
        pl = PseudoLabels(rows, weight=2.0, start=1, full=2, batch_size=6)
        fit(net, X, Y, loss=loss, optimizer=SGD(0.1), epochs=3, batch_size=5, seed=4, pseudo_labels=pl)
    assert isinstance(nets[1].layers[0].W, torch.Tensor)
    for a, b in zip(*(n.get_weights() for n in nets), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------------------------------
# resume


def _train(
    folder: Path, pl: PseudoLabels, interrupt_at: int | None = None, resume: bool = False
) -> Network:
    X, Y, _ = _data()
    net = _net(seed=99 if resume else 0)

    def stop(info: EpochInfo) -> None:
        if info.epoch == interrupt_at:
            raise KeyboardInterrupt

    fit(
        net, X, Y, loss="cross_entropy", optimizer=Adam(0.01), epochs=6, batch_size=4, seed=2,
        pseudo_labels=pl, checkpoint_dir=folder, resume=resume, callbacks=[stop],
    )  # fmt: skip
    return net


def test_a_resumed_run_draws_the_unlabelled_rows_of_an_uninterrupted_one(tmp_path: Path) -> None:
    pl = PseudoLabels(_data()[2], weight=1.0, start=2, full=4, batch_size=5)
    full = _train(tmp_path / "full", pl)
    with pytest.raises(KeyboardInterrupt):
        _train(tmp_path / "cut", pl, interrupt_at=4)
    resumed = _train(tmp_path / "cut", pl, resume=True)
    for a, b in zip(full.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    other = PseudoLabels(pl.X, weight=2.0, start=2, full=4, batch_size=5)
    with pytest.raises(ConfigError, match="other settings .*pseudo_labels .*weight.: 1.0"):
        _train(tmp_path / "cut", other, resume=True)


# --------------------------------------------------------------------------------------------------
# what it is for


def test_pseudo_labels_put_unlabelled_digits_to_use() -> None:
    """scikit-learn's digits, 3 labels per class and 1,297 rows without: the pseudo-label term
    lowers the error on 500 held-out rows for each of 3 labelled subsets (measured: 21.4 to 12.6%,
    24.2 to 20.4%, 21.6 to 15.4%)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    order = np.random.default_rng(0).permutation(y.size)
    test, pool = order[:500], order[500:]

    def error(lab: np.ndarray, pl: PseudoLabels | None) -> float:
        net = Network.create((64, 64, 10), "tanh", "softmax", "xavier_uniform", Random(0), "float64")
        Y = np.eye(10)[y[lab]]
        opt = Adam(0.003)
        fit(
            net,
            X[lab],
            Y,
            loss="cross_entropy",
            optimizer=opt,
            epochs=100,
            batch_size=10,
            seed=0,
            pseudo_labels=pl,
        )
        return float(np.mean(np.argmax(net.predict(X[test]), axis=1) != y[test]))

    pl = PseudoLabels(X[pool], weight=1.0, start=20, full=60, batch_size=50)
    gains = []
    for k in range(3):
        lab = np.concatenate([pool[y[pool] == c][3 * k : 3 * k + 3] for c in range(10)])
        gains.append(error(lab, None) - error(lab, pl))
    assert min(gains) > 0.02 and np.mean(gains) > 0.04, gains


# --------------------------------------------------------------------------------------------------
# the estimators: fit(X, y, X_unlabelled) with pseudo_labels > 0


def _digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """3 labelled digits per class, 1,267 unlabelled rows and 500 held-out ones."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    order = np.random.default_rng(0).permutation(y.size)
    test, pool = order[:500], order[500:]
    lab = np.concatenate([pool[y[pool] == c][:3] for c in range(10)])
    return X[lab], y[lab], X[np.setdiff1d(pool, lab)], X[test], y[test]


def test_bpclassifier_learns_from_unlabelled_rows_with_pseudo_labels() -> None:
    from weightwise.estimators import BPClassifier

    X, y, U, X_test, y_test = _digits()
    kw: dict[str, Any] = dict(
        hidden_layer_sizes=(64,), activation="tanh", learning_rate=0.003, batch_size=10,
        max_epochs=100, tol=None, alpha=0.0, random_state=0, dtype="float64",
    )  # fmt: skip
    alone = BPClassifier(**kw).fit(X, y).score(X_test, y_test)
    clf = BPClassifier(**kw, pseudo_labels=1.0, pseudo_label_start=20, pseudo_label_full=60)
    with_pl = clf.fit(X, y, X_unlabelled=U).score(X_test, y_test)
    assert with_pl > alone + 0.04, (alone, with_pl)
    # Without the weight, the unlabelled rows are refused rather than silently ignored.
    with pytest.raises(ConfigError, match="X_unlabelled is used by pre-training and pseudo-labels"):
        BPClassifier(**kw).fit(X, y, X_unlabelled=U)


def test_bad_pseudo_label_settings_of_an_estimator_name_the_problem() -> None:
    from weightwise.estimators import BPClassifier, BPRegressor

    X, y, U, _, _ = _digits()
    with pytest.raises(ConfigError, match="pseudo_labels=1.0 needs a classifier"):
        BPRegressor(pseudo_labels=1.0).fit(X, y.astype(float), X_unlabelled=U)
    with pytest.raises(
        ConfigError, match=r"pseudo_label_full \(5\) must be >= pseudo_label_start \(8\)"
    ):
        BPClassifier(pseudo_labels=1.0, pseudo_label_start=8, pseudo_label_full=5).fit(X, y, U)
    with pytest.raises(ConfigError, match="pseudo_labels must be a weight >= 0 .0: off., got -1"):
        BPClassifier(pseudo_labels=-1).fit(X, y, X_unlabelled=U)
    with pytest.raises(DataError, match="X_unlabelled has 3 features but X has 64"):
        BPClassifier(pseudo_labels=1.0, max_epochs=2).fit(X, y, X_unlabelled=U[:, :3])
