"""Model files: round trips, and a clear ModelFileError for every way a file can be bad."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save as st_save

from weightwise import ConfigError, ModelFileError, Network
from weightwise.io import FORMAT, _doc_sha256, arrays_sha256, load, load_network, save, save_network


@pytest.fixture
def net() -> Network:
    return Network.create([5, 4, 3], activation="tanh", output_activation="softmax", seed=0)


@pytest.fixture
def model_file(tmp_path: Path, net: Network) -> Path:
    return save_network(net, tmp_path / "model.safetensors", metadata={"classes": ["a", "b", "c"]})


def _write_raw(path: Path, tensors: dict[str, np.ndarray], doc: dict) -> Path:
    """Write a file the way save_network does, but with any arrays and document (checksums valid)."""
    doc = dict(doc)
    doc["integrity"] = {"arrays_sha256": arrays_sha256(tensors), "metadata_sha256": _doc_sha256(doc)}
    header = {
        "format": FORMAT,
        "format_version": str(doc["format_version"]),
        "weightwise": json.dumps(doc),
    }
    path.write_bytes(st_save(tensors, metadata=header))
    return path


def _doc(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    from safetensors import safe_open

    with safe_open(str(path), "np") as fh:
        doc = json.loads(fh.metadata()["weightwise"])
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    return tensors, doc


# round trips ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_same_predictions_and_metadata(tmp_path: Path, dtype: str) -> None:
    net = Network.create(
        [6, 5, 4, 2], activation=["relu", "sigmoid"], output_activation="identity", seed=1, dtype=dtype
    )
    meta = {"config": {"lr": 0.1, "epochs": 3}, "classes": np.array([3, 7]), "loss": np.float32(0.5)}
    visible_bias = np.arange(6, dtype=np.float64)
    path = save(
        net,
        tmp_path / "sub" / "m.safetensors",
        metadata=meta,
        extra_arrays={"visible_bias": visible_bias, "counts": np.array([1, 2], np.int64)},
    )
    assert path == tmp_path / "sub" / "m.safetensors"
    loaded, meta2, extras = load(path)
    X = np.random.default_rng(0).normal(size=(7, 6)).astype(dtype)
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    assert loaded.activation_names == ["relu", "sigmoid", "identity"]
    assert loaded.dtype == np.dtype(dtype)
    assert meta2["config"] == {"lr": 0.1, "epochs": 3}
    assert meta2["classes"] == [3, 7] and meta2["loss"] == 0.5
    assert meta2["_file"]["architecture"]["sizes"] == [6, 5, 4, 2]
    assert meta2["_file"]["format_version"] == 1 and meta2["_file"]["dtype"] == dtype
    np.testing.assert_array_equal(extras["visible_bias"], visible_bias)
    assert extras["counts"].dtype == np.int64
    # The loaded network owns its arrays: training it leaves the original alone.
    loaded.layers[0].W[...] = 0
    assert np.abs(net.layers[0].W).sum() > 0


def test_loaded_metadata_can_be_saved_again(tmp_path: Path, model_file: Path) -> None:
    net, meta, _ = load_network(model_file)
    again = save_network(net, tmp_path / "again.safetensors", metadata=meta)
    _, meta2, _ = load_network(again)
    assert meta2 == meta


def test_torch_round_trip(tmp_path: Path, net: Network) -> None:
    torch = pytest.importorskip("torch")
    tnet = net.to("torch", dtype="float64")
    path = save_network(tnet, tmp_path / "t.safetensors")
    loaded, _, _ = load_network(path, backend="torch")
    assert isinstance(loaded.layers[0].W, torch.Tensor) and loaded.dtype == torch.float64
    X = torch.ones((2, 5), dtype=torch.float64)
    torch.testing.assert_close(loaded.predict(X), tnet.predict(X))
    numpy_net, _, _ = load_network(path)
    np.testing.assert_allclose(numpy_net.predict(np.ones((2, 5))), tnet.predict(X).numpy())


def test_file_is_plain_safetensors(model_file: Path) -> None:
    tensors, doc = _doc(model_file)
    assert set(tensors) == {"layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b"}
    assert tensors["layers.0.W"].shape == (5, 4)
    assert doc["format"] == FORMAT and doc["architecture"]["activations"] == ["tanh", "softmax"]
    assert doc["metadata"] == {"classes": ["a", "b", "c"]}
    assert not list(model_file.parent.glob("*.tmp"))


# bad input when saving --------------------------------------------------------------------------
def test_save_refuses_unserialisable_metadata(tmp_path: Path, net: Network) -> None:
    with pytest.raises(ConfigError, match=r"metadata\['fn'\] holds a function"):
        save_network(net, tmp_path / "m.safetensors", metadata={"fn": lambda: 0})
    with pytest.raises(ConfigError, match="keys must be strings"):
        save_network(net, tmp_path / "m.safetensors", metadata={1: 2})
    with pytest.raises(ConfigError, match="only numeric and bool arrays"):
        save_network(net, tmp_path / "m.safetensors", extra_arrays={"s": np.array(["x"])})
    assert not (tmp_path / "m.safetensors").exists()


# bad files --------------------------------------------------------------------------------------
def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no model file at .*nope.safetensors"):
        load_network(tmp_path / "nope.safetensors")
    with pytest.raises(ModelFileError, match="is a folder"):
        load_network(tmp_path)


@pytest.mark.parametrize("keep", [0, 5, 20, -1, -7])
def test_truncated_file(tmp_path: Path, model_file: Path, keep: int) -> None:
    data = model_file.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[:keep] if keep >= 0 else data[:keep])
    with pytest.raises(ModelFileError, match="truncated|empty"):
        load_network(cut)


def test_altered_weights(tmp_path: Path, model_file: Path) -> None:
    data = bytearray(model_file.read_bytes())
    data[-3] ^= 0x01  # one bit of the last bias
    model_file.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="altered: its weights no longer match the SHA-256"):
        load_network(model_file)


def test_altered_metadata(tmp_path: Path, model_file: Path) -> None:
    tensors, doc = _doc(model_file)
    integrity = doc["integrity"]
    doc["architecture"]["activations"] = ["sigmoid", "softmax"]
    doc["integrity"] = integrity  # edited by hand: the old checksums stay
    header = {"format": FORMAT, "format_version": "1", "weightwise": json.dumps(doc)}
    model_file.write_bytes(st_save(tensors, metadata=header))
    with pytest.raises(ModelFileError, match="altered: its metadata no longer matches"):
        load_network(model_file)


def test_trailing_bytes(model_file: Path) -> None:
    model_file.write_bytes(model_file.read_bytes() + b"\x00" * 4)
    with pytest.raises(ModelFileError, match="4 unexpected bytes"):
        load_network(model_file)


def test_pickle_is_never_unpickled(tmp_path: Path, net: Network) -> None:
    path = tmp_path / "model.pkl"
    # Unpickling this would create the marker file; the loader must refuse before that.
    marker = tmp_path / "pwned"
    path.write_bytes(pickle.dumps({"weights": net.get_weights(), "x": Path(marker)}))
    with pytest.raises(ModelFileError, match="looks like a Python pickle"):
        load_network(path)


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        (b"sizes: 5-4-3\nweights: ...\n", "a text file"),
        (b"PK\x03\x04" + b"\x00" * 40, "a zip archive"),
        (b"\x93NUMPY\x01\x00" + b"\x00" * 40, "a NumPy .npy file"),
        (b"\x01\x02\x03\xff\xfe" * 10, r"no safetensors header"),
    ],
)
def test_not_safetensors(tmp_path: Path, content: bytes, kind: str) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=f"not a safetensors model file.*{kind}"):
        load_network(path)


def test_safetensors_without_weightwise_metadata(tmp_path: Path) -> None:
    path = tmp_path / "plain.safetensors"
    path.write_bytes(st_save({"w": np.zeros((2, 2), np.float32)}))
    with pytest.raises(ModelFileError, match="not a weightwise model"):
        load_network(path)


def test_future_format_version(tmp_path: Path, model_file: Path) -> None:
    tensors, doc = _doc(model_file)
    doc["format_version"] = 99
    _write_raw(model_file, tensors, doc)
    with pytest.raises(ModelFileError, match="format version 99, newer .*upgrade weightwise"):
        load_network(model_file)


def test_shapes_inconsistent_with_architecture(tmp_path: Path, model_file: Path) -> None:
    tensors, doc = _doc(model_file)
    wrong = dict(tensors, **{"layers.1.W": np.zeros((4, 2), np.float32)})
    _write_raw(model_file, wrong, doc)
    with pytest.raises(ModelFileError, match=r"'layers.1.W' has shape \(4, 2\) but .* need \(4, 3\)"):
        load_network(model_file)
    _write_raw(model_file, dict(tensors, **{"layers.0.b": np.zeros(4, np.float64)}), doc)
    with pytest.raises(
        ModelFileError, match="'layers.0.b' is float64 but the file declares dtype float32"
    ):
        load_network(model_file)
    del tensors["layers.1.b"]
    _write_raw(model_file, tensors, doc)
    with pytest.raises(ModelFileError, match="lacks array 'layers.1.b'"):
        load_network(model_file)
    tensors["stray"] = np.zeros(2, np.float32)
    _write_raw(model_file, dict(tensors, **{"layers.1.b": np.zeros(3, np.float32)}), doc)
    with pytest.raises(ModelFileError, match=r"arrays \['stray'\] do not match its metadata"):
        load_network(model_file)


def test_unknown_activation_in_file(tmp_path: Path, model_file: Path) -> None:
    tensors, doc = _doc(model_file)
    doc["architecture"]["activations"] = ["swish", "softmax"]
    _write_raw(model_file, tensors, doc)
    with pytest.raises(ModelFileError, match=r"activation\(s\) \['swish'\].*valid"):
        load_network(model_file)
