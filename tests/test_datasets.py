"""Data loaders: XOR, digits, IDX and MNIST (local files, a local server, the real files), CSV, NPZ."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import pickle
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from weightwise import DataError
from weightwise.datasets import (
    MNIST_FILES,
    MissingDataError,
    download_mnist,
    load_csv,
    load_digits,
    load_mnist,
    load_npz,
    load_xor,
    read_idx,
)

REPO = Path(__file__).resolve().parents[1]


# helpers ----------------------------------------------------------------------------------------
def idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    """An IDX file's bytes: 0x0000, type code, ndim, big-endian sizes, big-endian data."""
    dtype = {0x08: ">u1", 0x0C: ">i4", 0x0D: ">f4"}[code]
    head = bytes([0, 0, code, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return head + np.asarray(arr, dtype=dtype).tobytes()


def small_mnist(rng: np.random.Generator, n_train: int = 30, n_test: int = 12) -> dict[str, np.ndarray]:
    """Four arrays shaped like MNIST's, but tiny (6x6 images)."""
    return {
        "train_images": rng.integers(0, 256, (n_train, 6, 6), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 6, 6), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test).astype(np.uint8),
    }


def write_mnist(folder: Path, arrays: dict[str, np.ndarray], gz: bool = True) -> dict[str, str]:
    """Write the four files; return the MD5 of each uncompressed file, keyed by file name."""
    folder.mkdir(parents=True, exist_ok=True)
    md5 = {}
    for key, name in MNIST_FILES.items():
        data = idx_bytes(arrays[key])
        md5[name] = hashlib.md5(data).hexdigest()
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return md5


@pytest.fixture
def mnist_arrays() -> dict[str, np.ndarray]:
    return small_mnist(np.random.default_rng(0))


# XOR and digits ---------------------------------------------------------------------------------
def test_load_xor() -> None:
    X, y = load_xor()
    assert X.shape == (4, 2) and y.shape == (4,)
    np.testing.assert_array_equal(y, np.logical_xor(X[:, 0], X[:, 1]))


def test_load_digits_fixed_stratified_split() -> None:
    X_train, X_test, y_train, y_test = load_digits()
    assert X_train.shape == (1347, 64) and X_test.shape == (450, 64)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert X_train.min() == 0.0 and X_train.max() == 1.0
    # stratified: each digit's share of the test set is within one sample of its share overall
    counts = np.bincount(y_test, minlength=10)
    overall = np.bincount(np.concatenate([y_train, y_test]), minlength=10) * 0.25
    assert np.all(np.abs(counts - overall) <= 1)
    again = load_digits()
    np.testing.assert_array_equal(again[1], X_test)
    X64 = load_digits(test_size=0.5, dtype="float64")[0]
    assert X64.shape == (898, 64) and X64.dtype == np.float64
    with pytest.raises(DataError, match=r"test_size must be in \(0, 1\)"):
        load_digits(test_size=1.5)


# IDX --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trip(tmp_path: Path, gz: bool) -> None:
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    data = idx_bytes(arr)
    path.write_bytes(gzip.compress(data) if gz else data)
    out = read_idx(path)
    assert out.dtype == np.uint8 and out.flags.writeable
    np.testing.assert_array_equal(out, arr)


def test_read_idx_other_types(tmp_path: Path) -> None:
    ints = np.array([[-5, 70000], [3, 2**30]], dtype=np.int32)
    (tmp_path / "i").write_bytes(idx_bytes(ints, 0x0C))
    np.testing.assert_array_equal(read_idx(tmp_path / "i"), ints)
    floats = np.array([0.5, -1.25], dtype=np.float32)
    (tmp_path / "f").write_bytes(idx_bytes(floats, 0x0D))
    out = read_idx(tmp_path / "f")
    assert out.dtype.isnative
    np.testing.assert_array_equal(out, floats)


def test_read_idx_bad_magic(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 12)
    with pytest.raises(DataError, match="not an IDX file: magic number 0x12340801"):
        read_idx(tmp_path / "x")
    (tmp_path / "y").write_bytes(b"\x00\x00\x42\x01" + b"\x00" * 12)
    with pytest.raises(DataError, match="magic number 0x00004201"):
        read_idx(tmp_path / "y")


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_truncated_body(tmp_path: Path, gz: bool) -> None:
    data = idx_bytes(np.zeros((10, 4, 4), np.uint8))[:-7]
    path = tmp_path / ("t.gz" if gz else "t")
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(
        DataError, match=r"truncated: the header declares shape \(10, 4, 4\) \(160 bytes"
    ):
        read_idx(path)


def test_read_idx_truncated_header_trailing_data_and_bad_gzip(tmp_path: Path) -> None:
    (tmp_path / "h").write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(DataError, match="ends inside the IDX header"):
        read_idx(tmp_path / "h")
    (tmp_path / "long").write_bytes(idx_bytes(np.zeros(3, np.uint8)) + b"\x01")
    with pytest.raises(DataError, match="more data than its header's shape"):
        read_idx(tmp_path / "long")
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b but not gzip at all")
    with pytest.raises(DataError, match=r"cannot be read as \(gzip-compressed\) IDX"):
        read_idx(tmp_path / "bad.gz")
    with pytest.raises(MissingDataError, match="no IDX file at"):
        read_idx(tmp_path / "absent")


# MNIST from local files -------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_small_files(tmp_path: Path, mnist_arrays: dict[str, np.ndarray], gz: bool) -> None:
    md5 = write_mnist(tmp_path, mnist_arrays, gz=gz)
    X_train, X_test, y_train, y_test = load_mnist(tmp_path, checksums=md5)
    assert X_train.shape == (30, 36) and X_test.shape == (12, 36)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_allclose(X_train, mnist_arrays["train_images"].reshape(30, 36) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y_test, mnist_arrays["test_labels"])
    raw = load_mnist(tmp_path, dtype="uint8", verify=False)[0]
    np.testing.assert_array_equal(raw, mnist_arrays["train_images"].reshape(30, 36))
    unscaled = load_mnist(tmp_path, scale=False, dtype="float64", verify=False)[1]
    assert unscaled.dtype == np.float64 and unscaled.max() > 1.0
    with pytest.raises(DataError, match="dtype must be float32, float64 or uint8"):
        load_mnist(tmp_path, dtype="int32", verify=False)


def test_load_mnist_checks_published_md5_by_default(tmp_path: Path, mnist_arrays) -> None:
    write_mnist(tmp_path, mnist_arrays)
    with pytest.raises(DataError, match="has MD5 .* not the published 6bbc9ace.*verify=False"):
        load_mnist(tmp_path)
    assert load_mnist(tmp_path, verify=False)[0].shape == (30, 36)


def test_load_mnist_folder_from_env_and_mnist_subfolder(
    tmp_path: Path, mnist_arrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_mnist(tmp_path / "mnist", mnist_arrays)
    assert load_mnist(tmp_path, verify=False)[0].shape == (30, 36)
    monkeypatch.delenv("WEIGHTWISE_MNIST", raising=False)  # it comes first; a user may have it set
    monkeypatch.setenv("WEIGHTWISE_DATA", str(tmp_path))
    assert load_mnist(verify=False)[1].shape == (12, 36)


def test_load_mnist_missing_files_say_how_to_get_them(
    tmp_path: Path, mnist_arrays, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEIGHTWISE_MNIST", raising=False)
    monkeypatch.setenv("WEIGHTWISE_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(MissingDataError, match=r"train-images-idx3-ubyte\[.gz\].*nowhere") as info:
        load_mnist()
    message = str(info.value)
    for hint in ("download=True", "--download", "WEIGHTWISE_DATA", "t10k-labels-idx1-ubyte", "path="):
        assert hint in message
    write_mnist(tmp_path, mnist_arrays)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MissingDataError, match=r"file\(s\) t10k-labels-idx1-ubyte\[.gz\] not found"):
        load_mnist(tmp_path, verify=False)


def test_load_mnist_wrong_magic_and_dimensions(tmp_path: Path, mnist_arrays) -> None:
    swapped = dict(mnist_arrays, train_images=mnist_arrays["train_labels"])
    write_mnist(tmp_path, swapped)
    with pytest.raises(
        DataError, match="magic number 0x00000801, but MNIST images files have 0x00000803"
    ):
        load_mnist(tmp_path, verify=False)
    short = dict(mnist_arrays, train_labels=mnist_arrays["train_labels"][:-1])
    write_mnist(tmp_path, short)
    with pytest.raises(DataError, match="train images and labels disagree: 30 images, 29 labels"):
        load_mnist(tmp_path, verify=False)
    bad_labels = dict(mnist_arrays, test_labels=np.full(12, 12, np.uint8))
    write_mnist(tmp_path, bad_labels)
    with pytest.raises(DataError, match="labels go up to 12"):
        load_mnist(tmp_path, verify=False)


def test_load_mnist_truncated_file(tmp_path: Path, mnist_arrays) -> None:
    write_mnist(tmp_path, mnist_arrays, gz=False)
    name = tmp_path / MNIST_FILES["test_images"]
    name.write_bytes(name.read_bytes()[:-10])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte is truncated"):
        load_mnist(tmp_path, verify=False)


def test_load_mnist_scales_without_float64_copies(tmp_path: Path) -> None:
    arrays = small_mnist(np.random.default_rng(1), n_train=4000, n_test=10)
    write_mnist(tmp_path, arrays, gz=False)
    tracemalloc.start()
    try:
        X_train = load_mnist(tmp_path, verify=False)[0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    raw, f32 = 4000 * 36, 4000 * 36 * 4
    assert X_train.nbytes == f32
    # uint8 pixels plus the float32 result (and small change); a float64 copy would add 8 x raw.
    assert peak < raw + f32 + 4 * raw, peak


# MNIST download from a local server -------------------------------------------------------------
@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An http.server on 127.0.0.1 serving a folder; yields (base URL, folder)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/mnist", root
    finally:
        httpd.shutdown()
        httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base-class name
        pass


def test_download_mnist_from_local_server(tmp_path: Path, server, mnist_arrays) -> None:
    base_url, root = server
    md5 = write_mnist(root / "mnist", mnist_arrays)
    dest = tmp_path / "data"
    X_train, _, y_train, _ = load_mnist(
        dest, download=True, base_url=base_url, checksums=md5, progress=False
    )
    assert X_train.shape == (30, 36)
    np.testing.assert_array_equal(y_train, mnist_arrays["train_labels"])
    assert sorted(p.name for p in dest.iterdir()) == sorted(n + ".gz" for n in MNIST_FILES.values())
    # Files already there are kept: a second call needs no server.
    dead = "http://127.0.0.1:9/"
    X_again = load_mnist(dest, download=True, base_url=dead, checksums=md5, progress=False)
    np.testing.assert_array_equal(X_again[0], X_train)
    # download_mnist keeps good files and names a bad one it did not write.
    assert download_mnist(dest, base_url=dead, checksums=md5, progress=False) == dest
    (dest / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(12, np.uint8))))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz is already there but its MD5"):
        download_mnist(dest, base_url=dead, checksums=md5, progress=False)


def test_download_refuses_checksum_mismatch(tmp_path: Path, server, mnist_arrays) -> None:
    base_url, root = server
    md5 = write_mnist(root / "mnist", mnist_arrays)
    md5[MNIST_FILES["train_labels"]] = "0" * 32
    dest = tmp_path / "data"
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte.gz has MD5 .* refusing it"):
        load_mnist(dest, download=True, base_url=base_url, checksums=md5, progress=True)
    assert not (dest / "train-labels-idx1-ubyte.gz").exists()
    assert not list(dest.glob("*.part"))


def test_download_reports_http_errors(tmp_path: Path, server) -> None:
    base_url, _ = server  # serves nothing: every file is a 404
    with pytest.raises(DataError, match="could not download .*train-images-idx3-ubyte.gz.*404"):
        load_mnist(tmp_path / "data", download=True, base_url=base_url, verify=False, progress=False)


# the real MNIST ---------------------------------------------------------------------------------
def _real_mnist_folder() -> Path | None:
    candidates = [os.environ.get("WEIGHTWISE_MNIST"), REPO.parent / "shared" / "data" / "mnist"]
    for c in candidates:
        if c and (Path(c) / "train-images-idx3-ubyte.gz").is_file():
            return Path(c)
    return None


@pytest.mark.skipif(_real_mnist_folder() is None, reason="MNIST files not present")
def test_real_mnist_with_published_checksums() -> None:
    X_train, X_test, y_train, y_test = load_mnist(_real_mnist_folder())
    assert X_train.shape == (60000, 784) and X_test.shape == (10000, 784)
    assert X_train.dtype == np.float32 and 0.0 == X_train.min() and X_train.max() == 1.0
    np.testing.assert_array_equal(y_train[:5], [5, 0, 4, 1, 9])
    np.testing.assert_array_equal(
        np.bincount(y_test), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )


# CSV --------------------------------------------------------------------------------------------
def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_load_csv_many_rows_in_blocks(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(5000, 3))
    lines = ["f0,f1,y,f2"] + [f"{a},{b},{i % 3},{c}" for i, (a, b, c) in enumerate(values.tolist())]
    lines[4501] = "1.0,1_000,1,2.5"  # a number Python reads and NumPy may not
    path = write(tmp_path / "big.csv", "\n".join(lines) + "\n")
    X, y, names = load_csv(path, target="y", dtype="float64")
    assert X.shape == (5000, 3) and names == ["f0", "f1", "f2"]
    np.testing.assert_array_equal(X[:4500], values[:4500])
    np.testing.assert_array_equal(X[4500], [1.0, 1000.0, 2.5])
    np.testing.assert_array_equal(X[4501:], values[4501:])
    np.testing.assert_array_equal(y[:4500], np.arange(4500) % 3)
    lines[4800] = "1.0,inf,1,2.5"
    path = write(tmp_path / "inf.csv", "\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 4801, column 'f1': 'inf' is not a finite number"):
        load_csv(path, target="y")


def test_load_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "\ufeffa,label,b\n1,3,2.5\n\n-1e-3,7,0\n")
    X, y, names = load_csv(path, target="label")
    assert names == ["a", "b"] and X.dtype == np.float32
    np.testing.assert_allclose(X, [[1, 2.5], [-1e-3, 0]], rtol=1e-6)
    assert y.dtype == np.int64 and y.tolist() == [3, 7]
    _, y_str, _ = load_csv(write(tmp_path / "s.csv", "x;kind\n0;cat\n1;dog\n"), "kind", delimiter=";")
    assert y_str.tolist() == ["cat", "dog"]
    _, y_float, _ = load_csv(write(tmp_path / "f.csv", "x,t\n0,0.5\n1,2\n"), "t")
    assert y_float.dtype == np.float64


def test_load_csv_missing_target_lists_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,b,c\n1,2,3\n")
    with pytest.raises(DataError, match=r"no column 'label'; its columns are \['a', 'b', 'c'\]"):
        load_csv(path, target="label")


def test_load_csv_non_numeric_names_column_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,b,y\n1,2,0\n3,high,1\n")
    with pytest.raises(DataError, match=r"line 3, column 'b': 'high' is not a finite number"):
        load_csv(path, target="y")
    path = write(tmp_path / "e.csv", "a,b,y\n1,,0\n")
    with pytest.raises(DataError, match=r"line 2, column 'b': 'an empty value' is not a finite"):
        load_csv(path, target="y")


def test_load_csv_ragged_row_names_line(tmp_path: Path) -> None:
    path = write(tmp_path / "d.csv", "a,b,y\n1,2,0\n3,4\n")
    with pytest.raises(DataError, match="line 3 has 2 fields but the header has 3"):
        load_csv(path, target="y")


def test_load_csv_empty_and_missing(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is empty; a CSV needs a header row"):
        load_csv(write(tmp_path / "e.csv", "\n  \n"), target="y")
    with pytest.raises(DataError, match="has a header but no data rows"):
        load_csv(write(tmp_path / "h.csv", "a,y\n"), target="y")
    with pytest.raises(DataError, match="only the target column 'y'"):
        load_csv(write(tmp_path / "o.csv", "y\n1\n"), target="y")
    with pytest.raises(MissingDataError, match="no CSV file at"):
        load_csv(tmp_path / "absent.csv", target="y")


# NPZ --------------------------------------------------------------------------------------------
def test_load_npz(tmp_path: Path) -> None:
    X, y = np.ones((3, 2), np.float32), np.array([0, 1, 0])
    np.savez(tmp_path / "d.npz", X=X, y=y)
    X2, y2 = load_npz(tmp_path / "d.npz")
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)


def test_load_npz_errors(tmp_path: Path) -> None:
    np.savez(tmp_path / "k.npz", data=np.ones((2, 2)), target=np.ones(2))
    with pytest.raises(DataError, match=r"lacks array\(s\) \['X', 'y'\]; it holds \['data', 'target'\]"):
        load_npz(tmp_path / "k.npz")
    np.savez(tmp_path / "o.npz", X=np.ones((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(DataError, match="object arrays, which need pickle; weightwise never unpickles"):
        load_npz(tmp_path / "o.npz")
    (tmp_path / "p.npz").write_bytes(pickle.dumps({"X": [[1.0]], "y": [1]}))
    with pytest.raises(DataError, match="is a Python pickle; weightwise never unpickles"):
        load_npz(tmp_path / "p.npz")
    (tmp_path / "t.npz").write_text("X,y\n1,2\n")
    with pytest.raises(DataError, match="not a NumPy .npz file"):
        load_npz(tmp_path / "t.npz")
    np.savez(tmp_path / "n.npz", X=np.ones((3, 2)), y=np.ones(2))
    with pytest.raises(DataError, match="X has 3 rows but y has 2"):
        load_npz(tmp_path / "n.npz")
    np.savez(tmp_path / "r.npz", X=np.ones(3), y=np.ones(3))
    with pytest.raises(DataError, match=r"X must be 2-D .* got shape \(3,\)"):
        load_npz(tmp_path / "r.npz")
    np.save(tmp_path / "single.npy", np.ones(2))
    with pytest.raises(DataError, match="single .npy array"):
        load_npz(tmp_path / "single.npy")
    with pytest.raises(MissingDataError, match="no NPZ file at"):
        load_npz(tmp_path / "absent.npz")


def test_one_hot_rows_and_bad_labels():
    from weightwise.datasets import one_hot

    Y = one_hot(np.array([2, 0, 1]), 3)
    assert Y.dtype == np.float32
    np.testing.assert_array_equal(Y, np.eye(3, dtype=np.float32)[[2, 0, 1]])
    assert one_hot(np.array([1]), 2, dtype=np.float64).dtype == np.float64
    with pytest.raises(DataError, match=r"labels in 0\.\.2"):
        one_hot(np.array([3]), 3)


def test_idx_header_declaring_terabytes_is_refused_before_allocation(tmp_path: Path) -> None:
    """Finding 6: a 32-byte file whose header declares 2**42 pixels (4 TiB)."""
    import tracemalloc

    from weightwise.datasets.mnist import read_idx

    path = tmp_path / "bomb-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 3]) + (2**14).to_bytes(4, "big") * 3 + bytes(16))
    assert path.stat().st_size == 32
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"declares shape \(16384, 16384, 16384\)"):
            read_idx(path)
        assert tracemalloc.get_traced_memory()[1] < 10_000_000
    finally:
        tracemalloc.stop()


def test_empty_and_lying_npz_files_are_one_line_data_errors(tmp_path: Path) -> None:
    import io
    import zipfile

    from weightwise.datasets.tables import load_npz

    np.savez(tmp_path / "empty.npz", X=np.zeros((0, 3)), y=np.zeros(0))
    with pytest.raises(DataError, match="X is empty"):
        load_npz(tmp_path / "empty.npz")
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": "<f8", "fortran_order": False, "shape": (2**20, 2**20)}
    )
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w") as archive:
        archive.writestr("X.npy", head.getvalue() + bytes(16))
        archive.writestr("y.npy", head.getvalue())
    with pytest.raises(DataError, match="declares shape"):
        load_npz(tmp_path / "bomb.npz")
