"""BPClassifier and BPRegressor: scikit-learn integration, training behaviour, model files, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_classification, make_multilabel_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from weightwise import backprop
from weightwise.errors import ConfigError, ModelFileError
from weightwise.estimators import BPClassifier, BPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])

# The textbook's example as estimator settings: a 2-4-1 sigmoid net, N(0, 1) weights, squared
# error, plain gradient descent on the summed full-batch gradient, learning rate 0.1, no penalty;
# stopped by an error threshold instead of a fixed 10,000 epochs to keep the test fast.
TEXTBOOK = dict(
    hidden_layer_sizes=(4,),
    activation="sigmoid",
    output_activation="sigmoid",
    loss="squared_error",
    init="normal",
    solver="sgd",
    learning_rate=0.1,
    momentum=0.0,
    alpha=0.0,
    batch_size="full",
    reduction="sum",
    shuffle=False,
    max_epochs=10_000,
    tol=None,
    threshold=0.05,
    random_state=0,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_classification(n_samples=120, n_features=6, n_informative=4, n_classes=3, random_state=0)
    return X, y


def small(cls=BPClassifier, **kw):
    params = dict(hidden_layer_sizes=(16,), learning_rate=0.01, max_epochs=30, random_state=0)
    params.update(kw)
    return cls(**params)


# textbook and accuracy --------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [BPClassifier, BPRegressor])
def test_textbook_settings_solve_xor(cls):
    est = cls(**TEXTBOOK).fit(XOR_X, XOR_Y)
    assert est.history_.stop_reason == "threshold"
    assert est.network_.sizes == [2, 4, 1]
    assert est.network_.activation_names == ["sigmoid", "sigmoid"]
    assert est.loss_curve_[-1] < 0.05 < est.loss_curve_[0]
    pred = est.predict(XOR_X)
    if cls is BPRegressor:
        pred = (pred > 0.5).astype(int)
    np.testing.assert_array_equal(pred, XOR_Y)


def test_digits_accuracy_floor(digits):
    # Measured here: 0.953 test accuracy after 50 epochs (about 0.3 s); floor 0.94.
    Xtr, Xte, ytr, yte = digits
    clf = BPClassifier(hidden_layer_sizes=(64,), max_epochs=50, random_state=0).fit(Xtr, ytr)
    assert clf.score(Xte, yte) >= 0.94
    proba = clf.predict_proba(Xte)
    assert proba.shape == (len(yte), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(Xte))


# scikit-learn integration ---------------------------------------------------------------------
def test_pipeline_with_standard_scaler(blobs):
    X, y = blobs
    pipe = make_pipeline(StandardScaler(), small(max_epochs=60, learning_rate=0.02))
    pipe.fit(X * 100.0 + 5.0, y)
    assert pipe.score(X * 100.0 + 5.0, y) > 0.8


def test_grid_search_with_two_jobs(blobs):
    X, y = blobs
    grid = GridSearchCV(
        small(max_epochs=15),
        {"hidden_layer_sizes": [(4,), (16, 8)], "alpha": [1e-4, 1e-2]},
        cv=2,
        n_jobs=2,
    )
    grid.fit(X, y)
    assert set(grid.best_params_) == {"hidden_layer_sizes", "alpha"}
    assert len(grid.cv_results_["mean_test_score"]) == 4
    assert grid.best_estimator_.network_.sizes[1:-1] in ([4], [16, 8])


def test_clone_keeps_params():
    est = BPClassifier(
        hidden_layer_sizes=(7, 5), activation=("tanh", "relu"), alpha=0.3, dtype="float64"
    )
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert copy.activation == ("tanh", "relu")
    assert not hasattr(copy, "network_")


def test_string_labels_round_trip():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.where(X[:, 0] > 0, "cat", "dog")
    clf = small(max_epochs=80, learning_rate=0.05).fit(X, y)
    assert clf.classes_.tolist() == ["cat", "dog"]
    assert clf.n_outputs_ == 1 and clf.out_activation_ == "sigmoid"  # binary: one sigmoid unit
    pred = clf.predict(X)
    assert set(pred) <= {"cat", "dog"}
    assert (pred == y).mean() > 0.9


# training behaviour -----------------------------------------------------------------------------
def test_partial_fit_improves_loss(blobs):
    X, y = blobs
    clf = small(solver="sgd", learning_rate=0.05)
    with pytest.raises(ValueError, match="classes must be passed"):
        clone(clf).partial_fit(X, y)
    for _ in range(20):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert clf.n_iter_ == 20 and len(clf.loss_curve_) == 20
    assert clf.loss_curve_[-1] < 0.8 * clf.loss_curve_[0]
    # A batch lacking a class keeps the three-unit output layer.
    clf.partial_fit(X[y != 2], y[y != 2])
    assert clf.predict_proba(X).shape == (len(y), 3)
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X, np.where(y == 2, 7, y))


def test_warm_start_continues(blobs):
    X, y = blobs
    clf = small(max_epochs=10, warm_start=True, tol=None)
    clf.fit(X, y)
    W = np.array(clf.coefs_[0], copy=True)
    last = clf.loss_curve_[-1]
    clf.fit(X, y)
    assert clf.n_iter_ == 20 and clf.history_.epoch == list(range(1, 21))
    # The second run starts where the first stopped, not from fresh weights.
    assert clf.loss_curve_[10] < 1.05 * last
    assert not np.allclose(W, clf.coefs_[0])
    cold = small(max_epochs=10, tol=None).fit(X, y)
    assert cold.loss_curve_[0] > clf.loss_curve_[10]


def test_early_stopping_records_validation_scores(digits):
    Xtr, _, ytr, _ = digits
    clf = small(
        hidden_layer_sizes=(32,),
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        max_epochs=200,
    ).fit(Xtr, ytr)
    assert clf.history_.stop_reason == "early_stopping"
    assert clf.n_iter_ < 200
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.history_.val_loss)
    assert max(clf.validation_scores_) > 0.9
    # Like scikit-learn's MLPClassifier, a classifier stops on the validation accuracy.
    assert clf.history_.best_epoch == int(np.argmax(clf.validation_scores_)) + 1


def test_tol_stops_and_none_runs_every_epoch(blobs):
    X, y = blobs
    assert small(max_epochs=50, tol=10.0, n_iter_no_change=2).fit(X, y).n_iter_ == 3
    with pytest.warns(ConvergenceWarning, match="max_epochs=5"):
        small(max_epochs=5).fit(X, y)
    assert small(max_epochs=12, tol=None).fit(X, y).n_iter_ == 12


def test_step_schedule_decays_across_partial_fit(blobs):
    X, y = blobs
    clf = small(solver="sgd", learning_rate=0.1, learning_rate_schedule="step", lr_step_size=2)
    for _ in range(5):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_allclose(clf.history_.learning_rate, [0.1, 0.1, 0.05, 0.05, 0.025])


def test_alpha_is_sklearns_l2_on_weights_only():
    # One full-batch SGD step: W -= lr * (dW_mean + alpha / n * W); b -= lr * db_mean.
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    lr, alpha = 0.1, 0.5
    est = BPRegressor(
        hidden_layer_sizes=(5,),
        activation="tanh",
        solver="sgd",
        momentum=0.0,
        learning_rate=lr,
        alpha=alpha,
        batch_size="full",
        max_epochs=1,
        tol=None,
        dtype="float64",
        random_state=3,
    )
    start = BPRegressor(**{**est.get_params(), "learning_rate": 1e-300}).fit(X, y).network_
    est.fit(X, y)
    g = backprop(start, X, y.reshape(-1, 1), "squared_error", "mean")
    for l, layer in enumerate(start.layers):
        np.testing.assert_allclose(
            est.coefs_[l], layer.W - lr * (g.dW[l] + alpha / 8 * layer.W), rtol=1e-12
        )
        np.testing.assert_allclose(est.intercepts_[l], layer.b - lr * g.db[l], rtol=1e-12)


def test_multilabel_classifier():
    X, Y = make_multilabel_classification(n_samples=80, n_features=6, n_classes=3, random_state=0)
    clf = small(max_epochs=80, learning_rate=0.02).fit(X, Y)
    assert clf.out_activation_ == "sigmoid" and clf.n_outputs_ == 3
    proba = clf.predict_proba(X)
    pred = clf.predict(X)
    assert pred.shape == Y.shape and pred.dtype.kind == "i"
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    assert (pred == Y).mean() > 0.8
    with pytest.raises(ConfigError, match="sigmoid"):
        small(output_activation="softmax").fit(X, Y)


def test_multioutput_regressor_and_sigmoid_multiclass():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    Y = np.stack([X[:, 0] - X[:, 1], 0.5 * X[:, 2]], axis=1)
    reg = small(BPRegressor, max_epochs=150, learning_rate=0.02).fit(X, Y)
    assert reg.predict(X).shape == (100, 2) and reg.score(X, Y) > 0.8
    # The textbook's output layer for several classes: one sigmoid unit per class, squared error.
    y = np.argmax(X[:, :3], axis=1)
    clf = small(output_activation="sigmoid", loss="squared_error", max_epochs=100, learning_rate=0.05)
    clf.fit(X, y)
    assert clf.n_outputs_ == 3 and clf.out_activation_ == "sigmoid"
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)
    assert clf.score(X, y) > 0.8


# PyTorch ----------------------------------------------------------------------------------------
def test_torch_tensors_in_tensors_out(blobs, tmp_path):
    torch = pytest.importorskip("torch")
    X, y = blobs
    Xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y)
    clf = small(max_epochs=20).fit(Xt, yt)
    assert clf.network_.xp.__name__.endswith("torch")  # backend="auto" followed the input
    pred, proba = clf.predict(Xt), clf.predict_proba(Xt)
    assert isinstance(pred, torch.Tensor) and isinstance(proba, torch.Tensor)
    assert pred.device == Xt.device and proba.shape == (len(y), 3)
    # The same weights give the same answers through NumPy.
    np.testing.assert_array_equal(pred.numpy(), clf.predict(X))
    np.testing.assert_allclose(proba.numpy(), clf.predict_proba(X), rtol=1e-5, atol=1e-6)
    # A NumPy network still answers a tensor with a tensor.
    reg = small(BPRegressor, max_epochs=5, backend="numpy").fit(Xt, torch.as_tensor(X[:, 0]))
    out = reg.predict(Xt)
    assert isinstance(out, torch.Tensor) and out.shape == (len(y),)
    assert isinstance(clf.score(Xt, yt), float)
    # A model trained in PyTorch saves and loads back into PyTorch with identical answers.
    back = BPClassifier.load(clf.save(tmp_path / "torch.safetensors"), backend="torch")
    assert torch.equal(back.predict_proba(Xt), proba)


def test_torch_and_numpy_backends_train_alike(blobs):
    pytest.importorskip("torch")
    X, y = blobs
    a = small(max_epochs=5, dtype="float64", backend="numpy").fit(X, y)
    b = small(max_epochs=5, dtype="float64", backend="torch").fit(X, y)
    np.testing.assert_allclose(b.loss_curve_, a.loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(b.predict_proba(X), a.predict_proba(X), rtol=1e-9)


# model files ------------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path, blobs):
    X, y = blobs
    labels = np.array(["ant", "bee", "cow"], dtype=object)[y]
    clf = small(max_epochs=10, activation=("tanh",), random_state=np.random.RandomState(2))
    clf.fit(X, labels)
    path = clf.save(tmp_path / "clf.safetensors")
    back = BPClassifier.load(path)
    np.testing.assert_array_equal(back.predict(X), clf.predict(X))
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.classes_.tolist() == ["ant", "bee", "cow"]
    assert back.n_features_in_ == 6 and back.n_iter_ == 10
    assert back.get_params()["activation"] == ("tanh",)
    assert back.loss_curve_ == pytest.approx(clf.loss_curve_)
    back.partial_fit(X, labels)  # a loaded classifier keeps learning
    assert back.n_iter_ == 11

    reg = small(BPRegressor, max_epochs=5).fit(X, X[:, :2])
    reg_path = reg.save(tmp_path / "reg.safetensors")
    np.testing.assert_array_equal(BPRegressor.load(reg_path).predict(X), reg.predict(X))
    with pytest.raises(ModelFileError, match="BPRegressor.load"):
        BPClassifier.load(reg_path)
    with pytest.raises(NotFittedError):
        BPRegressor().save(tmp_path / "unfitted.safetensors")


# bad input --------------------------------------------------------------------------------------
def test_bad_input_gives_clear_errors(blobs):
    X, y = blobs
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        small().fit(bad, y)
    clf = small(max_epochs=2).fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features, but BPClassifier is expecting 6"):
        clf.predict(X[:, :5])
    with pytest.raises(ValueError, match="one class"):
        small().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="Unknown label type"):
        small().fit(X, X[:, 0])
    scipy_sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match="[Ss]parse"):
        small().fit(scipy_sparse.csr_matrix(X), y)
    with pytest.raises(NotFittedError):
        BPClassifier().predict(X)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes"),
        ({"solver": "lbfgs"}, "solver"),
        ({"batch_size": 0}, "batch_size"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"activation": "swish"}, "valid activations"),
        ({"activation": ("relu", "tanh")}, "2 activations given for 1 hidden layers"),
        ({"output_activation": "identity"}, "BPRegressor"),
        ({"loss": "cross_entropy", "output_activation": "sigmoid"}, "softmax"),
    ],
)
def test_bad_settings_name_the_fix(blobs, params, match):
    X, y = blobs
    with pytest.raises(ConfigError, match=match):
        small(**params).fit(X, y)


def test_verbose_and_inputs_left_unmodified(blobs, capsys):
    X, y = blobs
    X0, y0 = X.copy(), y.copy()
    small(max_epochs=2, tol=None, verbose=True).fit(X, y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Iteration 1, loss = ") and lines[1].startswith("Iteration 2,")


def test_early_stopping_on_tiny_data_falls_back_to_a_plain_split():
    # 12 samples of 3 classes: a 10% stratified hold-out cannot hold every class.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 2)), np.repeat([0, 1, 2], 4)
    clf = small(early_stopping=True, max_epochs=5).fit(X, y)
    assert len(clf.history_.val_loss) == clf.n_iter_


@pytest.mark.cuda
def test_cuda_tensors_stay_on_the_gpu(blobs):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    X, y = blobs
    Xc, yc = torch.as_tensor(X, device="cuda"), torch.as_tensor(y, device="cuda")
    clf = small(max_epochs=5).fit(Xc, yc)
    assert clf.network_.device.type == "cuda"
    assert clf.predict(Xc).device.type == "cuda" and clf.predict_proba(Xc).device.type == "cuda"
    cpu = small(max_epochs=5, device="cuda").fit(X, y)  # NumPy in, trained on the GPU
    assert cpu.network_.device.type == "cuda" and isinstance(cpu.predict(X), np.ndarray)


def test_tensor_that_requires_grad_is_accepted(blobs):
    torch = pytest.importorskip("torch")
    X, y = blobs
    Xt = torch.as_tensor(X, dtype=torch.float32).requires_grad_(True)
    reg = small(BPRegressor, max_epochs=3).fit(Xt, torch.as_tensor(X[:, 0]))
    assert not any(p.requires_grad for p in reg.network_.parameters())
    assert not reg.predict(Xt).requires_grad
