"""Pre-training inside BPClassifier/BPRegressor: accuracy on digits, sharing, unlabelled data,
save/load of the learners, the public callbacks, bad input, and scikit-learn's estimator checks."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn_expected import expected_failed_checks

from weightwise.datasets import load_digits
from weightwise.errors import ConfigError, DataError, ModelFileError
from weightwise.estimators import BPClassifier, BPRegressor
from weightwise.estimators._pretrain import _saved_state
from weightwise.layerwise.autoencoder import AutoEncoder
from weightwise.layerwise.greedy import auto_batch_size, auto_epochs
from weightwise.layerwise.rbm import BernoulliRBM, GaussianRBM

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def deep_sigmoid(**kwargs):
    """The deep sigmoid network of the accuracy tests: 64-64-64-64-10, momentum SGD."""
    params = dict(
        hidden_layer_sizes=(64, 64, 64),
        activation="sigmoid",
        solver="sgd",
        learning_rate=0.1,
        momentum=0.9,
        batch_size=32,
        max_epochs=20,
        tol=None,
        pretrain_epochs=10,
        random_state=0,
    )
    params.update(kwargs)
    return BPClassifier(**params)


# Test accuracy measured with these settings and random_state=0 (and 1): rbm 0.969 (0.980),
# autoencoder 0.971 (0.982), denoising 0.978 (0.978); the same network without pre-training reaches
# only 0.893 (0.927) in these 20 epochs. Floors: the seed-0 measurement minus a 0.03 margin.
@pytest.mark.parametrize(
    ("pretrain", "measured"), [("rbm", 0.969), ("autoencoder", 0.971), ("denoising", 0.978)]
)
def test_pretrained_deep_sigmoid_network_reaches_measured_accuracy(digits, pretrain, measured):
    X_train, X_test, y_train, y_test = digits
    clf = deep_sigmoid(pretrain=pretrain).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= measured - 0.03
    assert len(clf.pretrain_learners_) == len(clf.pretrain_history_) == 3
    for history in clf.pretrain_history_:
        errors = history["reconstruction_error"]
        assert len(errors) == 10
        assert errors[-1] < errors[0]  # each layer learned to reconstruct its input


def test_learners_share_the_network_arrays_and_fine_tuning_moves_them(digits):
    X_train, _, y_train, _ = digits
    after_pretraining = {}

    def snapshot(info):
        if info.epoch == info.epochs:
            after_pretraining[info.layer] = np.array(info.learner.W, copy=True)

    clf = deep_sigmoid(pretrain="rbm", pretrain_epochs=2, max_epochs=2, pretrain_callbacks=[snapshot])
    clf.fit(X_train, y_train)
    assert sorted(after_pretraining) == [1, 2, 3]
    for k, learner in enumerate(clf.pretrain_learners_):
        layer = clf.network_.layers[k]
        assert isinstance(learner, BernoulliRBM)
        assert learner.W is layer.W and learner.b_hidden is layer.b
        assert np.abs(layer.W - after_pretraining[k + 1]).max() > 1e-4  # BP moved them
    assert clf.coefs_[0] is clf.pretrain_learners_[0].W


def test_unlabelled_data_helps_a_small_labelled_subset(digits):
    # 5 labels per class (50 samples) for BP, all 1,347 training inputs for pre-training.
    # Measured test accuracy (random_state 0, 1, 2): without unlabelled data 0.789, 0.804, 0.824;
    # with it 0.842, 0.860, 0.856.
    X_train, X_test, y_train, y_test = digits
    labelled = np.concatenate([np.flatnonzero(y_train == c)[:5] for c in range(10)])
    rest = np.setdiff1d(np.arange(len(y_train)), labelled)
    params = dict(
        hidden_layer_sizes=(64, 64),
        batch_size=10,
        max_epochs=100,
        pretrain="rbm",
        pretrain_epochs=10,
    )
    alone = deep_sigmoid(**params).fit(X_train[labelled], y_train[labelled])
    helped = deep_sigmoid(**params).fit(X_train[labelled], y_train[labelled], X_unlabelled=X_train[rest])
    assert helped.score(X_test, y_test) >= 0.82
    assert helped.score(X_test, y_test) >= alone.score(X_test, y_test) + 0.02


def test_unlabelled_rows_reach_pretraining():
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 5)), np.arange(40) % 2
    clf = BPClassifier((4,), activation="sigmoid", pretrain="rbm", pretrain_epochs=1, max_epochs=1)
    with pytest.raises(DataError, match=r"outside \[0, 1\]"):
        clf.fit(X, y, X_unlabelled=X + 2.0)  # only pre-training reads X_unlabelled
    with pytest.raises(DataError, match="X_unlabelled has 3 features but X has 5"):
        clf.fit(X, y, X_unlabelled=X[:, :3])
    with pytest.raises(DataError, match="NaN"):
        clf.fit(X, y, X_unlabelled=np.full((3, 5), np.nan))
    with pytest.raises(ConfigError, match="X_unlabelled is used by pre-training and pseudo-labels"):
        BPClassifier((4,)).fit(X, y, X_unlabelled=X)


def test_pretraining_runs_once_partial_fit_and_warm_start():
    rng = np.random.default_rng(1)
    X, y = rng.random((60, 6)), np.arange(60) % 3
    params = dict(hidden_layer_sizes=(5,), activation="sigmoid", pretrain="autoencoder")
    clf = BPClassifier(**params, pretrain_epochs=3, random_state=0)
    clf.partial_fit(X, y, classes=[0, 1, 2])
    learner = clf.pretrain_learners_[0]
    assert learner.n_epochs_ == 3
    clf.partial_fit(X, y)
    assert clf.pretrain_learners_[0] is learner and learner.n_epochs_ == 3

    warm = BPClassifier(**params, pretrain_epochs=2, max_epochs=2, warm_start=True, random_state=0)
    warm.fit(X, y)
    learner = warm.pretrain_learners_[0]
    warm.fit(X, y)
    assert warm.pretrain_learners_[0] is learner and learner.n_epochs_ == 2
    assert warm.n_iter_ == 4
    assert BPClassifier((5,), max_epochs=1).fit(X, y).pretrain_learners_ == []


def test_gaussian_rbm_for_real_valued_data_and_a_regressor():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((80, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0])
    reg = BPRegressor(
        (6, 5),
        activation="sigmoid",
        pretrain="gaussian_rbm",
        pretrain_epochs=2,
        learning_rate=0.01,
        max_epochs=300,
        tol=None,
        random_state=0,
    )
    reg.fit(X, y)
    assert [type(learner) for learner in reg.pretrain_learners_] == [GaussianRBM, BernoulliRBM]
    assert reg.score(X, y) > 0.95  # measured 0.994


def test_save_and_load_keep_the_learners(tmp_path):
    rng = np.random.default_rng(3)
    X, y = rng.random((50, 6)), np.arange(50) % 2
    for pretrain, kind in (("rbm", BernoulliRBM), ("denoising", AutoEncoder)):
        clf = BPClassifier(
            (5, 4),
            activation="sigmoid",
            pretrain=pretrain,
            pretrain_epochs=3,
            max_epochs=3,
            callbacks=[lambda info: None],
            random_state=0,
        ).fit(X, y)
        path = clf.save(tmp_path / f"{pretrain}.safetensors")
        loaded = BPClassifier.load(path)
        assert loaded.callbacks is None and loaded.pretrain == pretrain
        np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
        assert loaded.pretrain_history_ == clf.pretrain_history_
        for k, (old, new) in enumerate(
            zip(clf.pretrain_learners_, loaded.pretrain_learners_, strict=True)
        ):
            assert isinstance(new, kind)
            assert new.W is loaded.network_.layers[k].W  # still shared after loading
            np.testing.assert_array_equal(new.b_visible, old.b_visible)
            assert np.abs(new.b_visible).max() > 0  # a trained extra, not a fresh zero
        if kind is AutoEncoder:
            low = loaded.pretrain_learners_[0]
            assert low.loss == "cross_entropy" and low.corruption == 0.25
            np.testing.assert_allclose(low.reconstruct(X), clf.pretrain_learners_[0].reconstruct(X))
        else:
            top = loaded.pretrain_learners_[-1]
            assert top.sample(3, gibbs_steps=2).shape == (3, 5)


@pytest.mark.parametrize(("n", "batch"), [(5, 10), (999, 10), (1347, 13), (5000, 50), (12000, 100)])
def test_auto_batch_size_is_a_hundredth_of_the_data_within_10_to_100(n, batch):
    assert auto_batch_size(n) == batch


@pytest.mark.parametrize(
    ("n", "batch", "epochs"), [(10000, 100, 50), (60000, 100, 10), (1123, 11, 49), (50, 10, 50)]
)
def test_auto_epochs_aim_at_5000_updates_within_10_to_50(n, batch, epochs):
    assert auto_epochs(n, batch) == epochs


def test_auto_pretrain_epochs_follow_the_data():
    rng = np.random.default_rng(7)
    X, y = rng.random((3000, 6)), np.arange(3000) % 2
    clf = BPClassifier((5,), activation="sigmoid", pretrain="rbm", max_epochs=1, random_state=0)
    clf.fit(X, y)  # 3,000 rows: batches of 30, 100 a epoch, so 50 epochs for 5,000 updates
    assert clf.pretrain_epochs == "auto"
    assert len(clf.pretrain_history_[0]["reconstruction_error"]) == 50
    clf.set_params(pretrain_epochs=3).fit(X, y)
    assert len(clf.pretrain_history_[0]["reconstruction_error"]) == 3


def test_auto_pretrain_batch_size_follows_the_data_and_is_saved(tmp_path):
    rng = np.random.default_rng(6)
    X, y = rng.random((2500, 6)), np.arange(2500) % 2
    unlabelled = rng.random((1000, 6))
    clf = BPClassifier(
        (5, 4), activation="sigmoid", pretrain="rbm", pretrain_batch_size="auto",
        pretrain_epochs=1, max_epochs=1, random_state=0,
    ).fit(X, y, X_unlabelled=unlabelled)  # fmt: skip
    # Pre-training sees the labelled and the unlabelled rows: 3,500 // 100.
    assert [learner.batch_size for learner in clf.pretrain_learners_] == [35, 35]
    loaded = BPClassifier.load(clf.save(tmp_path / "auto.safetensors"))
    assert loaded.pretrain_batch_size == "auto"
    assert [learner.batch_size for learner in loaded.pretrain_learners_] == [35, 35]


def test_a_saved_learner_state_reaches_no_constructor_unchecked():
    est = BPClassifier(pretrain="rbm", pretrain_batch_size=20)
    assert _saved_state(est, {}) == {"batch_size": 20}  # a file from before the record
    assert _saved_state(est, {"batch_size": 7, "learning_rate": 9.0}) == {"batch_size": 7}
    for state in ({"batch_size": "x"}, {"batch_size": 0}, {"loss": "os.system"}):
        with pytest.raises(ModelFileError):
            _saved_state(est, state)


def test_public_callbacks_are_called_kept_by_clone_and_can_stop():
    rng = np.random.default_rng(4)
    X, y = rng.random((30, 3)), np.arange(30) % 2
    seen = []
    clf = BPClassifier((4,), max_epochs=5, tol=None, callbacks=[lambda info: seen.append(info.epoch)])
    clf.fit(X, y)
    assert seen == [1, 2, 3, 4, 5]
    clone(clf).fit(X, y)  # the clone holds the same callables
    assert seen == [1, 2, 3, 4, 5] * 2
    stopper = BPClassifier((4,), max_epochs=5, tol=None, callbacks=[lambda info: info.epoch >= 2])
    assert stopper.fit(X, y).n_iter_ == 2


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        (dict(pretrain="boltzmann"), ConfigError, "valid pretrains: 'autoencoder', 'denoising', "),
        (dict(pretrain="rbm"), ConfigError, "whose activation is 'relu'.*Which learners fit"),
        (dict(pretrain="rbm", activation="sigmoid", cd_k=0), ConfigError, "cd_k must be"),
        (dict(pretrain="denoising", corruption=1.0), ConfigError, r"corruption must be in \[0, 1\)"),
        (dict(pretrain="autoencoder", corruption=0.3), ConfigError, "pretrain='denoising'"),
        (dict(pretrain="rbm", pretrain_epochs=0), ConfigError, "pretrain_epochs must be"),
        (dict(pretrain="rbm", pretrain_epochs="many"), ConfigError, "pretrain_epochs"),
        (dict(pretrain="rbm", pretrain_batch_size="big"), ConfigError, "pretrain_batch_size"),
        (dict(pretrain="rbm", weight_cost=-1.0), ConfigError, "weight_cost must be >= 0"),
        (dict(pretrain="rbm", hidden_layer_sizes=()), ConfigError, "at least one hidden layer"),
        (dict(callbacks="print"), ConfigError, "sequence of callables"),
    ],
)
def test_bad_settings_name_the_problem(params, error, match):
    rng = np.random.default_rng(5)
    X, y = rng.random((20, 3)), np.arange(20) % 2
    with pytest.raises(error, match=match):
        BPClassifier(**{"hidden_layer_sizes": (4,), **params}).fit(X, y)


def test_rbm_refuses_data_outside_unit_interval():
    rng = np.random.default_rng(6)
    X, y = rng.standard_normal((20, 3)), np.arange(20) % 2
    clf = BPClassifier((4,), activation="sigmoid", pretrain="rbm")
    with pytest.raises(DataError, match="'gaussian_rbm'"):
        clf.fit(X, y)


def test_pretraining_on_torch_tensors():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    X, y = rng.random((40, 5)).astype(np.float32), np.arange(40) % 2
    clf = BPClassifier(
        (4, 3), activation="sigmoid", pretrain="rbm", pretrain_epochs=2, max_epochs=2, random_state=0
    )
    clf.fit(torch.as_tensor(X), y, X_unlabelled=torch.as_tensor(X[:10]))
    learner = clf.pretrain_learners_[0]
    assert isinstance(learner.W, torch.Tensor) and learner.W is clf.network_.layers[0].W


# scikit-learn's checks on pre-training estimators. The auto-encoders and the Gaussian RBM accept
# any real data, so they run every check; the Bernoulli RBM refuses data outside [0, 1] (see
# sklearn_expected). float64, but for the Bernoulli RBM: in float32, BLAS can give a row a result
# one ulp different depending on its position in the batch, which the checks' sample-order
# invariance (rtol 1e-7 on float64 outputs) may catch.
def _checked(cls, pretrain, learning_rate, max_epochs=40, dtype="float64", **params):
    return cls(
        (8,),
        learning_rate=learning_rate,
        max_epochs=max_epochs,
        pretrain=pretrain,
        pretrain_epochs=2,
        random_state=0,
        dtype=dtype,
        **params,
    )


CHECKED = [
    _checked(BPClassifier, "denoising", 0.02),
    _checked(BPRegressor, "autoencoder", 0.02, max_epochs=60),
    _checked(BPClassifier, "gaussian_rbm", 0.05, activation="sigmoid"),
    _checked(BPClassifier, "rbm", 0.05, activation="sigmoid", dtype="float32"),
]


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failed_checks)
def test_pretraining_estimators_pass_sklearn_checks(estimator, check):
    check(estimator)


def test_convergence_warning_still_reaches_the_user():
    X, y = np.random.default_rng(8).random((20, 2)), np.arange(20) % 2
    with pytest.warns(ConvergenceWarning):
        BPClassifier((3,), max_epochs=1, pretrain="autoencoder", pretrain_epochs=1).fit(X, y)


def test_verbose_reports_pretraining_then_bp(capsys):
    X, y = np.random.default_rng(9).random((20, 3)), np.arange(20) % 2
    BPClassifier(
        (3, 2),
        activation="sigmoid",
        pretrain="rbm",
        pretrain_epochs=2,
        max_epochs=1,
        tol=None,
        verbose=True,
    ).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines[:4]] == [
        "Pre-training layer 1/2 (rbm)",
        "Pre-training layer 1/2 (rbm)",
        "Pre-training layer 2/2 (rbm)",
        "Pre-training layer 2/2 (rbm)",
    ]
    assert lines[4].startswith("Iteration 1, loss = ")
