"""The estimators' ``checkpoint_dir``: an interrupted ``fit``, called again, ends as if never stopped.

The interruption is a KeyboardInterrupt raised from a callback (Ctrl-C in a notebook), in the
pre-training or the back-propagation phase; the second ``fit`` of a fresh estimator with the same
settings must reach exactly the weights, history and validation scores of an uninterrupted fit.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_regression

from weightwise.errors import ConfigError
from weightwise.estimators import BPClassifier, BPRegressor


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def classifier(**params) -> BPClassifier:
    base = dict(
        hidden_layer_sizes=(24, 16),
        activation="sigmoid",
        pretrain="rbm",
        pretrain_epochs=3,
        max_epochs=12,
        early_stopping=True,
        n_iter_no_change=4,
        random_state=0,
        dtype="float64",
    )
    return BPClassifier(**{**base, **params})


def ctrl_c_at(epoch: int, layer: int | None = None):
    def callback(info):
        if info.epoch == epoch and (layer is None or info.layer == layer):
            raise KeyboardInterrupt

    return callback


def without_seconds(history) -> dict:
    return {k: v for k, v in history.to_dict().items() if k != "seconds"}


def assert_same_fit(a, b) -> None:
    for wa, wb in zip(a.network_.get_weights(), b.network_.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    assert a.n_iter_ == b.n_iter_
    assert without_seconds(a.history_) == without_seconds(b.history_)
    assert a.validation_scores_ == b.validation_scores_
    for ha, hb in zip(a.pretrain_history_, b.pretrain_history_, strict=True):
        assert {k: v for k, v in ha.items() if k != "seconds"} == {
            k: v for k, v in hb.items() if k != "seconds"
        }


@pytest.mark.parametrize(
    ("settings", "interrupt"),
    [
        ({}, {"pretrain_callbacks": [ctrl_c_at(2, layer=2)]}),
        ({}, {"callbacks": [ctrl_c_at(3)]}),
        ({"pretrain": None}, {"callbacks": [ctrl_c_at(3)]}),
    ],
    ids=["during-pretraining", "during-backprop", "no-pretraining"],
)
def test_fit_again_after_ctrl_c_equals_an_uninterrupted_fit(digits, tmp_path, settings, interrupt):
    X, y = digits
    straight = classifier(**settings).fit(X, y)
    with pytest.raises(KeyboardInterrupt):
        classifier(checkpoint_dir=tmp_path / "ckpt", **settings, **interrupt).fit(X, y)
    assert (tmp_path / "ckpt").is_dir()
    resumed = classifier(checkpoint_dir=tmp_path / "ckpt", **settings).fit(X, y)
    assert_same_fit(straight, resumed)
    assert len(resumed.validation_scores_) == resumed.n_iter_
    # A finished fit removes its backup, so the next fit starts afresh.
    assert not (tmp_path / "ckpt").exists()


def test_the_backup_holds_the_last_finished_epoch(digits, tmp_path):
    X, y = digits
    seen: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        classifier(checkpoint_dir=tmp_path, callbacks=[ctrl_c_at(5)]).fit(X, y)
    again = classifier(checkpoint_dir=tmp_path, callbacks=[lambda info: seen.append(info.epoch)])
    again.fit(X, y)
    assert seen[0] == 5  # epochs 1-4 came from the backup; epoch 5 is redone


def test_resumed_regressor_stops_on_tol_where_the_uninterrupted_one_does(tmp_path):
    X, y = make_regression(n_samples=120, n_features=5, noise=5.0, random_state=0)
    y = y / np.std(y)
    params = dict(
        hidden_layer_sizes=(8,),
        max_epochs=200,
        tol=0.01,
        learning_rate=0.01,
        n_iter_no_change=3,
        random_state=0,
    )
    straight = BPRegressor(**params).fit(X, y)
    assert 20 < straight.n_iter_ < 200  # the tol rule stopped it
    with pytest.raises(KeyboardInterrupt):
        BPRegressor(**params, checkpoint_dir=tmp_path, callbacks=[ctrl_c_at(straight.n_iter_ - 1)]).fit(
            X, y
        )
    resumed = BPRegressor(**params, checkpoint_dir=tmp_path).fit(X, y)
    assert resumed.n_iter_ == straight.n_iter_
    for wa, wb in zip(straight.network_.get_weights(), resumed.network_.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)


def test_partial_fit_writes_no_backup(digits, tmp_path):
    X, y = digits
    classifier(pretrain=None, checkpoint_dir=tmp_path / "ckpt").partial_fit(X, y, classes=np.arange(10))
    assert not (tmp_path / "ckpt").exists()


def test_a_backup_of_other_settings_is_refused(digits, tmp_path):
    X, y = digits
    with pytest.raises(KeyboardInterrupt):
        classifier(pretrain=None, checkpoint_dir=tmp_path, callbacks=[ctrl_c_at(2)]).fit(X, y)
    with pytest.raises(Exception, match="checkpoint"):
        classifier(pretrain=None, hidden_layer_sizes=(30,), checkpoint_dir=tmp_path).fit(X, y)


def test_checkpoint_dir_must_be_a_path(digits):
    X, y = digits
    with pytest.raises(ConfigError, match="checkpoint_dir must be a folder path"):
        classifier(checkpoint_dir=3).fit(X, y)


@pytest.mark.parametrize("kind", ["DBN", "StackedAutoEncoder", "RBM"])
def test_unsupervised_fit_again_after_ctrl_c(digits, tmp_path, kind):
    import weightwise.estimators as est

    X, _ = digits
    cls = getattr(est, kind)
    params = dict(n_iter=3, random_state=0, dtype="float64")
    if kind != "RBM":
        params["hidden_layer_sizes"] = (20, 12)
    else:
        params["n_components"] = 20
    straight = cls(**params).fit(X)
    last_layer = 1 if kind == "RBM" else 2
    with pytest.raises(KeyboardInterrupt):
        cls(**params, checkpoint_dir=tmp_path / "ckpt", callbacks=[ctrl_c_at(2, layer=last_layer)]).fit(
            X
        )
    resumed = cls(**params, checkpoint_dir=tmp_path / "ckpt").fit(X)
    for wa, wb in zip(straight.network_.get_weights(), resumed.network_.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(straight.transform(X), resumed.transform(X))
    assert not (tmp_path / "ckpt").exists()


@pytest.mark.parametrize("extra", [{"tol": 0.1, "n_iter_no_change": 2}, {"early_stopping": True}])
def test_a_kept_backup_survives_fit_until_the_model_is_saved(digits, tmp_path, extra):
    """Finding 1: killed between the end of fit and the model file, the run is not lost."""
    X, y = digits
    params = dict(pretrain=None, max_epochs=30, **extra)
    ckpt = tmp_path / "ckpt"
    done = classifier(**params, checkpoint_dir=ckpt)._keep_checkpoint_until_saved().fit(X, y)
    assert (ckpt / "backprop" / "checkpoint.json").is_file()  # kept: the model is not saved yet
    # The process dies here; the next run resumes the finished fit without training further.
    again = classifier(**params, checkpoint_dir=ckpt).fit(X, y)
    assert_same_fit(done, again)
    assert again.history_.stop_reason == done.history_.stop_reason
    assert not ckpt.exists()  # that fit was not told to keep it
    kept = classifier(**params, checkpoint_dir=ckpt)._keep_checkpoint_until_saved().fit(X, y)
    assert ckpt.exists()
    kept.save(tmp_path / "model.safetensors")
    assert not ckpt.exists()  # gone once the model file is on disk
    assert_same_fit(kept, BPClassifier.load(tmp_path / "model.safetensors"))


def test_discard_checkpoint_and_the_default_order(digits, tmp_path):
    X, y = digits
    ckpt = tmp_path / "ckpt"
    classifier(pretrain=None, max_epochs=3, checkpoint_dir=ckpt).fit(X, y)
    assert not ckpt.exists()  # without the flag, fit removes its backup as before
    est = classifier(pretrain=None, max_epochs=3, checkpoint_dir=ckpt)._keep_checkpoint_until_saved()
    est.fit(X, y)
    assert ckpt.exists()
    est.discard_checkpoint()
    assert not ckpt.exists()


def test_unsupervised_backup_kept_until_saved(digits, tmp_path):
    from weightwise.estimators import DBN

    X, _ = digits
    ckpt = tmp_path / "ckpt"
    dbn = DBN(hidden_layer_sizes=(8,), n_iter=2, random_state=0, checkpoint_dir=ckpt)
    dbn._keep_checkpoint_until_saved().fit(X)
    assert ckpt.exists()
    dbn.save(tmp_path / "dbn.safetensors")
    assert not ckpt.exists()


def test_resuming_with_other_solver_rate_batch_or_seed_is_refused(digits, tmp_path):
    """Finding 3: every setting that differs is listed, none is accepted silently."""
    X, y = digits
    base = dict(pretrain=None, checkpoint_dir=tmp_path, solver="sgd", learning_rate=0.1)
    with pytest.raises(KeyboardInterrupt):
        classifier(**base, batch_size=50, callbacks=[ctrl_c_at(2)]).fit(X, y)
    other = dict(base, solver="adam", learning_rate=0.01, random_state=1)
    with pytest.raises(ConfigError, match="other settings") as info:
        classifier(**other, batch_size=60).fit(X, y)
    for said in (
        "batch_size 50 there, 60 here",
        "learning_rate 0.1 there, 0.01 here",
        "optimizer 'sgd' there, 'adam' here",
        "random_state 0 there, 1 here",
    ):
        assert said in str(info.value)
    classifier(**base, batch_size=50).fit(X, y)  # the same settings resume
