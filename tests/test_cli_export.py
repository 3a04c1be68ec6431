"""``weightwise export``: a trained model file out to ONNX and PyTorch, and its refusals.

The model comes from ``weightwise train`` and the reference outputs from ``weightwise predict
--proba`` (its CSV), so the test checks what a user would compare: the command line's
probabilities against onnxruntime's, and against the reloaded PyTorch module's.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, invoke

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TRAIN_ARGS = ["--data", "digits", "--layers", "64-24-16-10", "--activation", "sigmoid"]
TRAIN_ARGS += ["--epochs", "3", "--lr", "0.01", "--seed", "0", "--no-progress"]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "digits.safetensors"
    result = invoke("train", *TRAIN_ARGS, "--out", path)
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def predicted(model_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """``weightwise predict MODEL digits --proba``'s CSV: labels and probabilities per column."""
    out = tmp_path_factory.mktemp("pred") / "pred.csv"
    result = invoke("predict", model_file, "digits", "--proba", "--out", out)
    assert result.exit_code == 0, result.output
    with out.open() as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], np.array(rows[1:])
    proba = body[:, [i for i, h in enumerate(header) if h.startswith("proba_")]].astype(np.float64)
    return {"label": body[:, header.index("prediction")].astype(np.int64), "proba": proba}


def _digits_test() -> np.ndarray:
    """The rows ``predict ... digits`` predicts (the digits test set), as float32."""
    from weightwise.cli import read_features

    return np.asarray(read_features("digits", None), dtype=np.float32)


# --------------------------------------------------------------------------------------------------
# ONNX


def test_onnx_equals_predict_proba(
    model_file: Path, predicted: dict[str, np.ndarray], tmp_path: Path
) -> None:
    out = tmp_path / "digits.onnx"
    result = invoke("export", model_file, "--to", "onnx", "--out", out)
    assert result.exit_code == 0, result.output
    assert "input (batch, 64) -> label, probabilities" in result.stdout
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    X = _digits_test()
    label, proba = session.run(["label", "probabilities"], {"input": X})
    assert proba.shape == predicted["proba"].shape == (X.shape[0], 10)
    np.testing.assert_allclose(proba, predicted["proba"], atol=1e-5, rtol=0)
    np.testing.assert_array_equal(label, predicted["label"])
    # The batch dimension is dynamic: one row runs too.
    np.testing.assert_allclose(session.run(["probabilities"], {"input": X[:1]})[0], proba[:1], atol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digits.onnx"]  # no temporary left


def test_format_from_the_suffix_and_default_name(model_file: Path, tmp_path: Path) -> None:
    import shutil

    model = shutil.copy(model_file, tmp_path / "m.safetensors")
    assert invoke("export", model, "--out", tmp_path / "a.onnx").exit_code == 0
    assert invoke("export", model, "--to", "onnx").exit_code == 0
    assert invoke("export", model, "--to", "torch").exit_code == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["a.onnx", "m.onnx", "m.safetensors", "m.torch.safetensors"]


def test_pretrained_stack_keeps_its_input_scaling(tmp_path: Path) -> None:
    stack, out = tmp_path / "stack.safetensors", tmp_path / "stack.onnx"
    args = ["--layers", "64-16", "--epochs", "1", "--scale", "minmax", "--no-progress"]
    assert invoke("pretrain", *args, "--out", stack).exit_code == 0
    result = invoke("predict", stack, "digits")
    assert result.exit_code == 0, result.output
    expected = np.loadtxt(result.stdout.splitlines(), delimiter=",")
    assert invoke("export", stack, "--to", "onnx", "--out", out).exit_code == 0
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (features,) = session.run(None, {"input": _digits_test()})
    np.testing.assert_allclose(features, expected, atol=1e-5, rtol=0)
    # A Sequential of Linear layers cannot hold the scaling: refused, nothing written.
    result = invoke("export", stack, "--to", "torch", "--out", tmp_path / "stack.torch.safetensors")
    assert_one_line_error(result, "scaled inputs", "export it to ONNX")
    assert not (tmp_path / "stack.torch.safetensors").exists()


# --------------------------------------------------------------------------------------------------
# PyTorch


def test_torch_round_trip(model_file: Path, predicted: dict[str, np.ndarray], tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    import weightwise as ww
    from weightwise.cli import load_model

    out = tmp_path / "digits.torch.safetensors"
    result = invoke("export", model_file, "--to", "torch", "--out", out)
    assert result.exit_code == 0, result.output
    assert "Linear(64, 24), Sigmoid, Linear(24, 16), Sigmoid, Linear(16, 10), Softmax" in result.stdout
    seq = ww.load_torch(out)
    X = _digits_test()
    with torch.no_grad():
        proba = seq(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(proba, predicted["proba"], atol=1e-5, rtol=0)
    # ... and back: the network from the module is the one in the model file.
    _, net, _ = load_model(model_file)
    back = ww.from_torch(seq)
    assert back.sizes == net.sizes and back.activation_names == net.activation_names
    for a, b in zip(net.layers, back.layers, strict=True):
        np.testing.assert_array_equal(np.asarray(a.W), np.asarray(b.W))
        np.testing.assert_array_equal(np.asarray(a.b), np.asarray(b.b))


def test_torch_logits(model_file: Path, predicted: dict[str, np.ndarray], tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    import weightwise as ww

    out = tmp_path / "logits.safetensors"
    result = invoke("export", model_file, "--to", "torch", "--out", out, "--logits")
    assert result.exit_code == 0, result.output
    seq = ww.load_torch(out)
    assert type(seq[-1]).__name__ == "Linear"
    with torch.no_grad():
        proba = torch.softmax(seq(torch.from_numpy(_digits_test())), dim=1).numpy()
    np.testing.assert_allclose(proba, predicted["proba"], atol=1e-5, rtol=0)


# --------------------------------------------------------------------------------------------------
# bad input: one line, exit 1, no file


def _unknown_estimator(path: Path) -> Path:
    import weightwise as ww
    from weightwise.io import save_network

    net = ww.Network.create([4, 3], "sigmoid", seed=0)
    save_network(net, path, metadata={"estimator": "FancyForest"})
    return path


@pytest.mark.parametrize(
    ("model", "args", "fragments"),
    [
        ("missing", ["--to", "onnx"], ["missing.safetensors", "not found"]),
        ("text", ["--to", "onnx"], ["text.safetensors", "not a safetensors"]),
        ("unknown", ["--to", "torch"], ["FancyForest", "cannot read"]),
        ("folder", ["--to", "onnx"], ["is a folder"]),
        ("trained", [], ["--to onnx or --to torch"]),
        ("trained", ["--out", "OUT/m.bin"], ["cannot tell the format", "m.bin"]),
        ("trained", ["--to", "onnx", "--logits"], ["--logits applies to --to torch"]),
        ("trained", ["--to", "onnx", "--out", "OUT/file/m.onnx"], ["is a file, not a folder"]),
        ("trained", ["--to", "torch", "--out", "OUT/dir"], ["is a folder"]),
        ("trained", ["--to", "onnx", "--out", "/proc/weightwise.onnx"], ["cannot write"]),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    model_file: Path, tmp_path: Path, model: str, args: list[str], fragments: list[str]
) -> None:
    out_dir = tmp_path / "out"
    (out_dir / "dir").mkdir(parents=True)
    (out_dir / "file").write_text("a file, not a folder\n")
    paths = {
        "missing": tmp_path / "missing.safetensors",
        "trained": model_file,
        "folder": tmp_path,
        "unknown": _unknown_estimator(tmp_path / "unknown.safetensors"),
    }
    if model == "text":
        paths["text"] = tmp_path / "text.safetensors"
        paths["text"].write_text("not a model\n")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    args = [a.replace("OUT", str(out_dir)) for a in args]
    result = invoke("export", paths[model], *args)
    assert_one_line_error(result, *fragments)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize(("to", "registry"), [("onnx", "ONNX_OPS"), ("torch", "TORCH_MODULES")])
def test_an_activation_the_target_cannot_express(
    model_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, to: str, registry: str
) -> None:
    from weightwise import interop

    monkeypatch.delitem(getattr(interop, registry), "sigmoid")
    result = invoke("export", model_file, "--to", to, "--out", tmp_path / "m.out")
    assert_one_line_error(result, "'sigmoid'", "layer 1")
    assert not list(tmp_path.iterdir())


def test_logits_need_a_squashing_output(tmp_path: Path) -> None:
    model = tmp_path / "reg.safetensors"
    npz = tmp_path / "reg.npz"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    np.savez(npz, X=X, y=X @ [1.0, -2.0, 0.5])
    args = ["--data", npz, "--task", "regress", "--hidden", "4", "--epochs", "2", "--no-progress"]
    assert invoke("train", *args, "--out", model).exit_code == 0
    result = invoke("export", model, "--to", "torch", "--logits", "--out", tmp_path / "r.safetensors")
    assert_one_line_error(result, "'identity'")
    assert not (tmp_path / "r.safetensors").exists()
