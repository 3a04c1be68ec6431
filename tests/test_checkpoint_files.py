"""A run killed between writing a checkpoint's two files still resumes with at most one epoch lost.

``save_checkpoint`` writes the arrays, then the JSON; the arrays' header carries a copy of the JSON.
Killing the run after the arrays of epoch k are written but before the JSON (simulated by making
that write raise) leaves epoch k's arrays beside epoch k-1's JSON: the reader must take the header's
copy, so resuming gives exactly the uninterrupted run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import weightwise.checkpoints as checkpoint  # noqa: E402
from weightwise.backpropagation.training import fit
from weightwise.checkpoints import load_checkpoint, read_checkpoint_meta, save_checkpoint
from weightwise.errors import ConfigError, ModelFileError
from weightwise.layerwise.greedy import pretrain
from weightwise.net.backend import Random
from weightwise.net.network import Network


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs."""


def kill_before_json_write(monkeypatch: pytest.MonkeyPatch, nth: int) -> None:
    """Let the arrays of the ``nth`` checkpoint be written, then die before its JSON."""
    real = checkpoint._atomic_write_bytes
    count = {"json": 0}

    def write(path: Path, data: bytes) -> None:
        if path.name == checkpoint.META:
            count["json"] += 1
            if count["json"] == nth:
                raise Killed
        real(path, data)

    monkeypatch.setattr(checkpoint, "_atomic_write_bytes", write)


def net() -> Network:
    return Network.create((4, 6, 3), "tanh", "softmax", "xavier_uniform", Random(0), "float64")


def data() -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(1)
    X = g.normal(size=(40, 4))
    return X, np.eye(3)[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5).astype(int)]


def train(folder: Path | None, resume: bool = False) -> Network:
    n = net()
    X, Y = data()
    fit(n, X, Y, loss="cross_entropy", optimizer="adam", epochs=6, batch_size=8, seed=3,
        checkpoint_dir=folder, resume=resume)  # fmt: skip
    return n


def test_fit_killed_between_the_two_files_resumes_exactly(tmp_path, monkeypatch):
    straight = train(None)
    kill_before_json_write(monkeypatch, nth=4)
    with pytest.raises(Killed):
        train(tmp_path)
    monkeypatch.undo()
    # The JSON on disk is epoch 3's, the arrays epoch 4's; the reader takes the arrays' copy.
    assert json.loads((tmp_path / checkpoint.META).read_text())["epoch"] == 3
    assert read_checkpoint_meta(tmp_path)["epoch"] == 4
    resumed = train(tmp_path, resume=True)
    for a, b in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_pretrain_killed_between_the_two_files_resumes_exactly(tmp_path, monkeypatch):
    X = (np.random.default_rng(0).random((60, 4)) < 0.4).astype(np.float64)

    def run(**kwargs):
        n = Network.create((4, 5, 3, 2), "sigmoid", "softmax", "xavier_uniform", Random(0), "float64")
        pretrain(n, X, epochs=3, batch_size=10, seed=2, **kwargs)
        return n

    straight = run()
    kill_before_json_write(monkeypatch, nth=5)
    with pytest.raises(Killed):
        run(checkpoint_dir=tmp_path)
    monkeypatch.undo()
    resumed = run(checkpoint_dir=tmp_path, resume=True)
    for a, b in zip(straight.get_weights(), resumed.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_edited_json_is_refused(tmp_path):
    """Finding 3: the JSON carries its own SHA-256; an edit or a flipped bit is refused."""
    save_checkpoint(tmp_path, {"x": np.arange(3.0)}, {"epoch": 1, "note": "a"})
    meta = json.loads((tmp_path / checkpoint.META).read_text())
    meta["note"] = "edited"
    (tmp_path / checkpoint.META).write_text(json.dumps(meta))
    with pytest.raises(ModelFileError, match="damaged: checkpoint.json does not match the SHA-256"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("name", [checkpoint.ARRAYS, checkpoint.META])
def test_one_flipped_bit_is_refused(tmp_path, name):
    save_checkpoint(tmp_path, {"x": np.arange(300.0)}, {"epoch": 1, "loss": [0.5, 0.25]})
    raw = bytearray((tmp_path / name).read_bytes())
    # A bit in the last array byte, or in a digit of the JSON's loss (still valid JSON).
    at = len(raw) - 1 if name == checkpoint.ARRAYS else raw.index(b"0.25") + 3
    raw[at] ^= 0x01
    (tmp_path / name).write_bytes(bytes(raw))
    with pytest.raises(ModelFileError, match="damaged"):
        load_checkpoint(tmp_path)


def test_old_checkpoints_are_refused_with_the_reason(tmp_path):
    """Version 1 checkpoints have no checksum or settings: refused, saying why and what to do."""
    from safetensors.numpy import save

    (tmp_path / checkpoint.ARRAYS).write_bytes(save({"x": np.ones(2)}))
    body = {"format": checkpoint.FORMAT, "version": 1, "epoch": 7}
    (tmp_path / checkpoint.META).write_text(json.dumps(body))
    with pytest.raises(ModelFileError, match="older weightwise.*delete the folder"):
        load_checkpoint(tmp_path)


def test_a_depth_bomb_is_refused_without_recursion(tmp_path):
    save_checkpoint(tmp_path, {"x": np.ones(2)}, {"epoch": 1})
    (tmp_path / checkpoint.META).write_text('{"a":' + "[" * 200_000 + "]" * 200_000 + "}")
    with pytest.raises(ModelFileError, match="nested 200001 deep"):
        read_checkpoint_meta(tmp_path)


def _bp_run(tmp_path, **kw):
    net = Network.create([4, 5, 3], "sigmoid", "softmax", seed=0, dtype="float64")
    rng = np.random.default_rng(0)
    X, Y = rng.random((30, 4)), np.eye(3)[rng.integers(0, 3, 30)]
    args = dict(loss="cross_entropy", epochs=3, seed=1, checkpoint_dir=tmp_path, resume=True)
    return fit(net, X, Y, **{**args, **kw})


def test_a_checkpoint_without_best_is_one_line_error(tmp_path):
    _bp_run(tmp_path, epochs=2)
    meta = read_checkpoint_meta(tmp_path)
    arrays, _ = load_checkpoint(tmp_path)
    meta = {k: v for k, v in meta.items() if k not in ("best", "format", "version", "token")}
    meta = {k: v for k, v in meta.items() if not k.endswith("sha256")}
    save_checkpoint(tmp_path, arrays, meta)  # re-signed: only the schema can refuse it
    with pytest.raises(ModelFileError, match="lacks 'best'") as info:
        _bp_run(tmp_path)
    assert "\n" not in str(info.value)


def test_resuming_with_another_optimiser_or_learning_rate_is_refused(tmp_path):
    _bp_run(tmp_path, epochs=2, optimizer="sgd", learning_rate=0.1)
    with pytest.raises(ConfigError, match="learning_rate 0.1 there, 0.2 here; optimizer 'sgd'"):
        _bp_run(tmp_path, optimizer="adam", learning_rate=0.2)
