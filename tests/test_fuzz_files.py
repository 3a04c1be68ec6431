"""Hostile files: every reader ends in weightwise's own one-line error, never another exception.

Hypothesis builds the files here (no committed binaries) from valid ones: flipped and cut bytes,
headers replaced by arbitrary JSON, documents edited and re-signed (so only the schema can refuse
them), depth bombs, sizes far beyond the file. Each load must either succeed or raise a
:class:`~weightwise.errors.WeightwiseError` whose message is one line; memory stays bounded
(tracemalloc in-process, and ``RLIMIT_AS`` for the size bombs in a subprocess).

``WEIGHTWISE_FUZZ_EXAMPLES`` raises the examples per test (default 60) for a longer soak.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weightwise import io as wio
from weightwise.checkpoints import ARRAYS, META, load_checkpoint, save_checkpoint
from weightwise.datasets.mnist import read_idx
from weightwise.datasets.tables import load_csv, load_npz
from weightwise.errors import WeightwiseError
from weightwise.estimators import DBN, BPClassifier

EDITS = st.tuples(st.integers(0), st.integers(0, 255))  # (offset, new byte)
EXAMPLES = int(os.environ.get("WEIGHTWISE_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=os.environ.get("WEIGHTWISE_FUZZ_RANDOM") is None,
)
PEAK_BYTES = 64 * 2**20  # no reader may allocate more than this for these small files

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def one_line_or_success(load: Callable[[], Any]) -> None:
    """Run ``load``: success, or a WeightwiseError with a one-line message, in bounded memory."""
    tracemalloc.start()
    try:
        load()
    except WeightwiseError as exc:
        assert "\n" not in str(exc), str(exc)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"peak {peak:,} bytes"


# model files ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """A small saved classifier (with pre-trained RBM learners) and a DBN."""
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 5)), np.array(["a", "b"] * 20)
    folder = tmp_path_factory.mktemp("models")
    clf = BPClassifier(
        hidden_layer_sizes=(4,),
        activation="sigmoid",
        pretrain="rbm",
        pretrain_epochs=1,
        max_epochs=2,
        tol=None,
        random_state=0,
    )
    clf.fit(X, y).save(folder / "clf.safetensors")
    DBN(hidden_layer_sizes=(3,), n_iter=1, random_state=0).fit(X).save(folder / "dbn.safetensors")
    return {k: (folder / f"{k}.safetensors").read_bytes() for k in ("clf", "dbn")}


def split(data: bytes) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    return header, json.loads(header["__metadata__"]["weightwise"]), data[8 + n :]


def join(header: dict[str, Any], body: bytes) -> bytes:
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + body


def resign(data: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    """The file with its weightwise document edited and its SHA-256s recomputed."""
    from safetensors.numpy import load, save

    header, doc, _ = split(data)
    tensors = load(data)
    edit(doc)
    doc["integrity"] = {
        "arrays_sha256": wio.arrays_sha256(tensors),
        "metadata_sha256": wio._doc_sha256(doc),
    }
    meta = dict(header["__metadata__"], weightwise=json.dumps(doc))
    return save(tensors, metadata=meta)


def load_all_ways(path: Path) -> None:
    """Every reader of a model file: the network, each estimator, and a prediction."""
    for load in (wio.load_network, BPClassifier.load, DBN.load):
        try:
            est = load(path)
        except WeightwiseError as exc:
            assert "\n" not in str(exc), str(exc)
            continue
        X = np.full((2, 5), 0.5)
        if isinstance(est, tuple):
            est[0].predict(X)
        else:
            getattr(est, "predict", getattr(est, "transform", None))(X)


def _set_path(doc: Any, path: list[int], value: Any) -> None:
    """Replace the node that ``path`` (indices chosen among the keys or items) leads to."""
    node = doc
    for i, step in enumerate(path):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return
        key = keys[step % len(keys)]
        last = i == len(path) - 1 or not isinstance(node[key], (dict, list)) or not node[key]
        if last:
            node[key] = value
            return
        node = node[key]


@FUZZ
@given(
    kind=st.sampled_from(["clf", "dbn"]),
    path=st.lists(st.integers(0, 50), min_size=1, max_size=6),
    value=json_values,
)
def test_resigned_documents(tmp_path, model_bytes, kind, path, value):
    data = resign(model_bytes[kind], lambda doc: _set_path(doc, path, value))
    (tmp_path / "m.safetensors").write_bytes(data)
    one_line_or_success(lambda: load_all_ways(tmp_path / "m.safetensors"))


@FUZZ
@given(
    kind=st.sampled_from(["clf", "dbn"]),
    edits=st.lists(EDITS, min_size=1, max_size=8),
    cut=st.none() | st.integers(0),
)
def test_damaged_bytes(tmp_path, model_bytes, kind, edits, cut):
    raw = bytearray(model_bytes[kind])
    for at, byte in edits:
        raw[at % len(raw)] = byte
    if cut is not None:
        raw = raw[: cut % len(raw)]
    (tmp_path / "m.safetensors").write_bytes(bytes(raw))
    one_line_or_success(lambda: load_all_ways(tmp_path / "m.safetensors"))


@FUZZ
@given(
    kind=st.sampled_from(["clf", "dbn"]), name=st.text(max_size=10), entry=json_values, meta=json_values
)
def test_arbitrary_header_entries(tmp_path, model_bytes, kind, name, entry, meta):
    header, _, body = split(model_bytes[kind])
    header[name or "x"] = entry
    if isinstance(meta, str) or meta is None:
        header["__metadata__"] = meta
    (tmp_path / "m.safetensors").write_bytes(join(header, body))
    one_line_or_success(lambda: load_all_ways(tmp_path / "m.safetensors"))


BOMBS: dict[str, Callable[[bytes], bytes]] = {
    "data_offsets of 1e999": lambda d: _offsets(d, "1e999"),
    "shape of 2**40 x 2**40": lambda d: _shape(d, [2**40, 2**40]),
    "metadata that is a string": lambda d: _header_edit(d, lambda h: h.update(__metadata__="abc")),
    "weightwise JSON nested 200,000 deep": lambda d: _header_edit(
        d, lambda h: h["__metadata__"].update(weightwise="[" * 200_000 + "]" * 200_000)
    ),
}


def _header_edit(data: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    header, _, body = split(data)
    edit(header)
    return join(header, body)


def _offsets(data: bytes, text: str) -> bytes:
    header, _, body = split(data)
    name = next(k for k in header if k != "__metadata__")
    raw = json.dumps(header).replace(json.dumps(header[name]["data_offsets"]), f"[0, {text}]", 1)
    return len(raw).to_bytes(8, "little") + raw.encode() + body


def _shape(data: bytes, shape: list[int]) -> bytes:
    return _header_edit(data, lambda h: h[next(k for k in h if k != "__metadata__")].update(shape=shape))


def _deep_header() -> bytes:
    text = b'{"a":' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    return len(text).to_bytes(8, "little") + text


@pytest.mark.parametrize("bomb", [*BOMBS, "raw header nested 200,000 deep"])
def test_named_bombs(tmp_path, model_bytes, bomb):
    """Finding 2's examples, each a one-line ModelFileError."""
    data = _deep_header() if bomb.startswith("raw") else BOMBS[bomb](model_bytes["clf"])
    (tmp_path / "m.safetensors").write_bytes(data)
    with pytest.raises(WeightwiseError) as info:
        wio.load_network(tmp_path / "m.safetensors")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda d: d["metadata"].pop("params"), "no 'params'"),
        (lambda d: d["metadata"]["params"].update(bogus=1), r"unknown settings \['bogus'\]"),
        (lambda d: d["metadata"]["pretrain"].update(learners=["nope"]), "unknown learner"),
        (lambda d: d["metadata"].update(classes=["a", "b", "c"]), "do not match 1 output"),
        (lambda d: d["metadata"]["params"].update(learning_rate=float("inf")), "learning_rate"),
        (lambda d: d["metadata"]["params"].update(activation=None), "activation"),
    ],
)
def test_resigned_files_that_used_to_crash(tmp_path, model_bytes, edit, match):
    """Finding 2: KeyError 'params', unexpected keyword, unknown learner, IndexError in predict."""
    (tmp_path / "m.safetensors").write_bytes(resign(model_bytes["clf"], edit))
    with pytest.raises(WeightwiseError, match=match):
        BPClassifier.load(tmp_path / "m.safetensors")


def test_non_finite_weights_are_refused(tmp_path, model_bytes):
    from safetensors.numpy import load, save

    header, doc, _ = split(model_bytes["clf"])
    tensors = load(model_bytes["clf"])
    tensors["layers.0.W"][0, 0] = np.nan
    doc["integrity"]["arrays_sha256"] = wio.arrays_sha256(tensors)
    meta = dict(header["__metadata__"], weightwise=json.dumps(doc))
    (tmp_path / "m.safetensors").write_bytes(save(tensors, metadata=meta))
    with pytest.raises(WeightwiseError, match="NaN or infinite values in 'layers.0.W'"):
        wio.load_network(tmp_path / "m.safetensors")


def test_paths_are_never_taken_from_a_file(tmp_path, model_bytes):
    """Finding 8: a checkpoint_dir in a file (an older one, or edited) is dropped on load."""
    data = resign(model_bytes["clf"], lambda d: d["metadata"]["params"].update(checkpoint_dir="../.."))
    (tmp_path / "m.safetensors").write_bytes(data)
    assert BPClassifier.load(tmp_path / "m.safetensors").checkpoint_dir is None
    clf = BPClassifier(max_epochs=1, checkpoint_dir=tmp_path / "ckpt", random_state=0)
    clf.fit(np.eye(4), [0, 1, 0, 1]).save(tmp_path / "n.safetensors")
    _, doc, _ = split((tmp_path / "n.safetensors").read_bytes())
    assert "checkpoint_dir" not in doc["metadata"]["params"]


# special files ----------------------------------------------------------------------------------
@pytest.mark.parametrize("reader", [wio.load_network, read_idx])
def test_dev_zero_and_folders_are_refused_at_once(tmp_path, reader):
    """Finding 6: reading /dev/zero must not run until memory is gone."""
    for path in ("/dev/zero", str(tmp_path)):
        if Path(path).exists():
            with pytest.raises(WeightwiseError) as info:
                reader(path)
            assert "\n" not in str(info.value)


_RLIMIT_SCRIPT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from weightwise import io as wio
from weightwise.datasets.mnist import read_idx
from weightwise.datasets.tables import load_npz
from weightwise.errors import WeightwiseError
for reader, path in ((wio.load_network, sys.argv[1]), (read_idx, sys.argv[2]), (load_npz, sys.argv[3]),
                     (wio.load_network, "/dev/zero")):
    try:
        reader(path)
    except WeightwiseError as exc:
        print(type(exc).__name__)
"""


def test_size_bombs_under_a_memory_limit(tmp_path, model_bytes):
    """Declared sizes of terabytes are refused under a 1 GiB address-space limit."""
    (tmp_path / "m.safetensors").write_bytes(_shape(model_bytes["clf"], [2**40, 2**40]))
    (tmp_path / "i").write_bytes(bytes([0, 0, 8, 3]) + (2**14).to_bytes(4, "big") * 3 + bytes(16))
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": "<f8", "fortran_order": False, "shape": (2**40,)}
    )
    with zipfile.ZipFile(tmp_path / "n.npz", "w") as archive:
        archive.writestr("X.npy", head.getvalue())
        archive.writestr("y.npy", head.getvalue())
    script = tmp_path / "s.py"
    script.write_text(textwrap.dedent(_RLIMIT_SCRIPT))
    out = subprocess.run(
        [
            sys.executable,
            str(script),
            str(tmp_path / "m.safetensors"),
            str(tmp_path / "i"),
            str(tmp_path / "n.npz"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ModelFileError", "DataError", "DataError", "ModelFileError"]


# checkpoints ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checkpoint_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("ckpt")
    save_checkpoint(
        folder,
        {"param.0": np.ones((3, 2)), "param.1": np.zeros(2)},
        {"epoch": 2, "history": {"loss": [0.5, 0.25]}, "best": {}},
    )
    return {name: (folder / name).read_bytes() for name in (ARRAYS, META)}


@FUZZ
@given(
    name=st.sampled_from([ARRAYS, META]),
    edits=st.lists(EDITS, max_size=4),
    cut=st.none() | st.integers(0),
    replace=st.none() | json_values,
)
def test_hostile_checkpoints(tmp_path, checkpoint_files, name, edits, cut, replace):
    for key, data in checkpoint_files.items():
        (tmp_path / key).write_bytes(data)
    raw = bytearray(checkpoint_files[name])
    if replace is not None and name == META:
        raw = bytearray(json.dumps(replace).encode())
    for at, byte in edits:
        raw[at % len(raw)] = byte
    if cut is not None:
        raw = raw[: cut % (len(raw) + 1)]
    (tmp_path / name).write_bytes(bytes(raw))
    one_line_or_success(lambda: load_checkpoint(tmp_path))
    try:
        arrays, meta = load_checkpoint(tmp_path)
    except WeightwiseError:
        return
    # Loaded despite the change (it hit the header's spare copy of the JSON): then exactly as saved.
    assert meta["epoch"] == 2 and meta["history"] == {"loss": [0.5, 0.25]}
    np.testing.assert_array_equal(arrays["param.0"], np.ones((3, 2)))
    np.testing.assert_array_equal(arrays["param.1"], np.zeros(2))


# data files -------------------------------------------------------------------------------------
@FUZZ
@given(
    code=st.sampled_from([8, 9, 11, 12, 13, 14, 0, 7]),
    dims=st.lists(st.integers(0, 2**32 - 1), max_size=4),
    body=st.binary(max_size=64),
    gz=st.booleans(),
)
def test_hostile_idx(tmp_path, code, dims, body, gz):
    import gzip

    raw = bytes([0, 0, code, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims) + body
    (tmp_path / "f").write_bytes(gzip.compress(raw) if gz else raw)
    one_line_or_success(lambda: read_idx(tmp_path / "f"))


@FUZZ
@given(
    text=st.text(alphabet=st.sampled_from(list('ab,;"\n\r 1.e-+nIf\x00é')), max_size=200),
    target=st.sampled_from(["a", "b", "y"]),
)
def test_hostile_csv(tmp_path, text, target):
    (tmp_path / "f.csv").write_text(text, encoding="utf-8")
    one_line_or_success(lambda: load_csv(tmp_path / "f.csv", target))


@FUZZ
@given(
    members=st.dictionaries(
        st.sampled_from(["X.npy", "y.npy", "z.npy", "X"]),
        st.tuples(
            st.sampled_from(["<f8", "<i4", "|u1", "<U3", "|O", "<c16"]),
            st.lists(st.integers(0, 2**40), max_size=3),
            st.binary(max_size=64),
        ),
        max_size=3,
    ),
    cut=st.none() | st.integers(0),
)
def test_hostile_npz(tmp_path, members, cut):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, (descr, shape, body) in members.items():
            head = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                head, {"descr": descr, "fortran_order": False, "shape": tuple(shape)}
            )
            archive.writestr(member, head.getvalue() + body)
    raw = buffer.getvalue()
    (tmp_path / "f.npz").write_bytes(raw if cut is None else raw[: cut % (len(raw) + 1)])
    one_line_or_success(lambda: load_npz(tmp_path / "f.npz"))
