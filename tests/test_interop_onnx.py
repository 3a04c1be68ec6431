"""weightwise -> ONNX -> onnxruntime: the runtime's outputs equal predict, predict_proba, transform."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import weightwise as ww
from weightwise.errors import ConfigError
from weightwise.interop import ONNX_OPSET, export_onnx, to_onnx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TOL = {"float32": 1e-5, "float64": 1e-12}


def _session(model: object) -> object:
    return ort.InferenceSession(to_onnx(model).SerializeToString(), providers=["CPUExecutionProvider"])


def _outputs(model: object, X: np.ndarray) -> dict[str, np.ndarray]:
    sess = _session(model)
    names = [o.name for o in sess.get_outputs()]  # type: ignore[attr-defined]
    return dict(zip(names, sess.run(None, {"input": X}), strict=True))  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.data[:200] / 16).astype(np.float32), d.target[:200]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("act", sorted(ww.ACTIVATIONS))
def test_every_activation(act: str, dtype: str) -> None:
    net = ww.Network.create([4, 5, 3, 2], act, seed=1, dtype=dtype)
    X = (np.random.default_rng(0).normal(size=(9, 4)) * 3).astype(dtype)
    out = _outputs(net, X)["output"]
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out, net.predict(X), atol=TOL[dtype], rtol=0)


def test_file_is_checked_named_and_batch_dynamic(tmp_path: Path) -> None:
    net = ww.Network.create([4, 3, 2], "tanh", seed=0)
    path = export_onnx(net, tmp_path / "sub" / "net.onnx")
    assert path.is_file() and not list(path.parent.glob("*.tmp"))
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == ONNX_OPSET
    (inp,) = model.graph.input
    assert inp.name == "input"
    assert inp.type.tensor_type.shape.dim[0].dim_param == "batch"
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (1, 13):
        X = np.random.default_rng(n).random((n, 4)).astype(np.float32)
        np.testing.assert_allclose(sess.run(None, {"input": X})[0], net.predict(X), atol=1e-6)


def test_softmax_classifier(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    clf = ww.BPClassifier((8,), max_epochs=3, random_state=0).fit(X, y)
    out = _outputs(clf, X)
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(out["label"], clf.predict(X))


def test_binary_classifier_with_string_labels(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    labels = np.where(y % 2 == 0, "even", "odd")
    clf = ww.BPClassifier((4,), max_epochs=3, random_state=0).fit(X, labels)
    assert clf.network_.sizes[-1] == 1
    out = _outputs(clf, X)
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(out["label"].astype(str), clf.predict(X))


def test_sigmoid_units_normalised_and_multilabel(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    clf = ww.BPClassifier((6,), output_activation="sigmoid", max_epochs=2, random_state=0).fit(X, y % 3)
    out = _outputs(clf, X)
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(out["label"], clf.predict(X))
    Y = np.stack([y % 2, (y > 4).astype(int)], axis=1)
    multi = ww.BPClassifier((6,), max_epochs=2, random_state=0).fit(X, Y)
    out = _outputs(multi, X)
    np.testing.assert_allclose(out["probabilities"], multi.predict_proba(X), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(out["label"], multi.predict(X))


def test_regressor_one_and_two_targets(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = digits
    for Y in (y.astype(float), np.stack([y, -y], axis=1).astype(float)):
        reg = ww.BPRegressor((5,), max_epochs=2, random_state=0).fit(X, Y)
        pred = _outputs(reg, X)["predictions"]
        assert pred.shape == reg.predict(X).shape
        np.testing.assert_allclose(pred, reg.predict(X), atol=1e-4, rtol=1e-6)


def test_stacks_transform(digits: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = digits
    for est in (
        ww.RBM(n_components=6, n_iter=1, random_state=0),
        ww.DBN(hidden_layer_sizes=(6, 4), n_iter=1, random_state=0),
        ww.StackedAutoEncoder(hidden_layer_sizes=(6, 4), n_iter=1, random_state=0),
    ):
        est.fit(X)
        np.testing.assert_allclose(_outputs(est, X)["features"], est.transform(X), atol=1e-5, rtol=0)


def test_saved_estimator_file(digits: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    X, y = digits
    clf = ww.BPClassifier((8,), max_epochs=2, random_state=0).fit(X, y)
    clf.save(tmp_path / "clf.safetensors")
    out = _outputs(tmp_path / "clf.safetensors", X)
    np.testing.assert_allclose(out["probabilities"], clf.predict_proba(X), atol=1e-5, rtol=0)


def test_stack_file_keeps_its_input_scaling(tmp_path: Path) -> None:
    net = ww.Network.create([3, 2], "sigmoid", seed=0)
    offset, scale = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 8.0])
    ww.save_network(
        net,
        tmp_path / "stack.safetensors",
        metadata={"pretrained": {"scale": "minmax"}},
        extra_arrays={"input.offset": offset, "input.scale": scale},
    )
    X = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32) * 10
    expected = net.predict(np.clip((X - offset) / scale, 0.0, 1.0).astype(np.float32))
    np.testing.assert_allclose(
        _outputs(tmp_path / "stack.safetensors", X)["output"], expected, atol=1e-6
    )


def test_bad_input_leaves_no_file(tmp_path: Path) -> None:
    from weightwise.net.activations import Activation

    target = tmp_path / "m.onnx"
    with pytest.raises(ConfigError, match="BPRegressor is not fitted yet"):
        export_onnx(ww.BPRegressor(), target)
    net = ww.Network.create([2, 2], "sigmoid", seed=0)
    net.layers[0].activation = Activation("swish", lambda z: z, None)
    with pytest.raises(ConfigError, match="'swish' has no ONNX operator") as info:
        export_onnx(net, target)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="cannot export a dict"):
        export_onnx({}, target)
    assert not list(tmp_path.iterdir())
