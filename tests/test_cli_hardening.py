"""Issue 10's command-line findings, each a test that failed before its fix: a finished run kept
until its model file is written (1), user strings printed literally (4), NaN/inf refused by
predict (5), sizes refused before allocation (6), GPU requests answered in one line (10), and
ranges and the Dask scheduler checked (11; the ranges in test_cli_evidence.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, invoke

from weightwise.cli.progress import EpochProgress
from weightwise.estimators import BPClassifier
from weightwise.io import load_network

TRAIN = ["train", "--data", "digits", "--layers", "64-16-10", "--epochs", "8", "--no-progress"]


# --------------------------------------------------------------------------------------------------
# 1. a finished run is not lost when killed before its model file is written


def test_killed_between_training_and_save_resumes_without_training(tmp_path, monkeypatch):
    ckpt, out = tmp_path / "ckpt", tmp_path / "model.safetensors"
    trained: list[BPClassifier] = []

    def killed(self: BPClassifier, path: object) -> None:
        trained.append(self)
        raise OSError("killed before the model file was written (simulated)")

    monkeypatch.setattr(BPClassifier, "save", killed)
    result = invoke(*TRAIN, "--checkpoint-dir", ckpt, "--out", out)
    assert result.exit_code == 1 and not out.exists()
    assert (ckpt / "backprop" / "checkpoint.json").is_file()  # the finished run's backup is kept
    monkeypatch.undo()

    epochs_trained = []
    original = EpochProgress.__call__

    def count(self: EpochProgress, info: object) -> None:
        epochs_trained.append(info)
        original(self, info)

    monkeypatch.setattr(EpochProgress, "__call__", count)
    result = invoke(*TRAIN, "--checkpoint-dir", ckpt, "--out", out, "--resume")
    assert result.exit_code == 0, result.output
    assert "starting afresh" not in result.output
    assert epochs_trained == []  # finished from the backup, not trained again
    net, _, _ = load_network(out)
    for a, b in zip(trained[0].network_.get_weights(), net.get_weights(), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not ckpt.exists()  # removed once the model file is on disk


# --------------------------------------------------------------------------------------------------
# 4. user strings are printed as written, never read as terminal markup


def test_labels_paths_and_out_with_brackets_print_literally(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    labels = np.where(X[:, 0] > 0, "a[/]", "[bold]dog")
    csv = tmp_path / "[red]data.csv"
    rows = [f"{x[0]:.4f},{x[1]:.4f},{x[2]:.4f},{lab}" for x, lab in zip(X, labels, strict=True)]
    csv.write_text("x0,x1,x2,label\n" + "\n".join(rows) + "\n")
    out = tmp_path / "[bold]model.safetensors"
    result = invoke(
        "train", "--data", csv, "--target", "label", "--hidden", "4", "--epochs", "2",
        "--out", out, "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "[red]data.csv" in result.stdout
    assert "[bold]model.safetensors" in " ".join(result.stdout.split())
    result = invoke("info", out)
    assert result.exit_code == 0, result.output  # once a rich MarkupError on "a[/]"
    assert "a[/]" in result.stdout and "[bold]dog" in result.stdout


# --------------------------------------------------------------------------------------------------
# 5. predict refuses NaN and infinities for a bare network and a stack


@pytest.mark.parametrize("kind", ["network", "stack"])
def test_predict_refuses_nan_and_inf(tmp_path, kind):
    model = tmp_path / f"{kind}.safetensors"
    if kind == "network":
        from weightwise.io import save_network
        from weightwise.net.network import Network

        save_network(Network.create([3, 4, 2], "sigmoid", "softmax", seed=0), model)
    else:
        rng = np.random.default_rng(0)
        np.savez(tmp_path / "u.npz", X=rng.uniform(size=(40, 3)))
        args = ["--data", tmp_path / "u.npz", "--hidden", "4", "--epochs", "1", "--no-progress"]
        assert invoke("pretrain", *args, "--out", model).exit_code == 0
    for value, word in ((np.nan, "NaN"), (np.inf, "an infinite value"), (1e39, "too large")):
        X = np.full((3, 3), 0.5)
        X[1, 2] = value
        np.savez(tmp_path / "bad.npz", X=X)
        result = invoke("predict", model, tmp_path / "bad.npz")
        assert_one_line_error(result, word, "row 2, column 3")
        assert "nan" not in result.stdout


# --------------------------------------------------------------------------------------------------
# 6. sizes refused in one line before anything is allocated


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--hidden", "1000000000000"],
        ["train", "--layers", "64-1000000000000-10"],
        ["pretrain", "--hidden", "1000000000000"],
        ["gradcheck", "--layers", "4-100000000-3"],
    ],
)
def test_huge_networks_are_one_line(args):
    result = invoke(*args, "--no-progress" if args[0] != "gradcheck" else "--seed=0")
    assert_one_line_error(result)
    assert "TiB" in result.stderr or "parameters" in result.stderr


# --------------------------------------------------------------------------------------------------
# 10. GPU requests


def test_device_cuda_without_torch_backend_is_refused():
    result = invoke("train", "--device", "cuda", "--no-progress")
    assert_one_line_error(result, "--device cuda needs --backend torch", "CPU only")
    result = invoke("pretrain", "--device", "cuda", "--no-progress")
    assert_one_line_error(result, "--device cuda needs --backend torch")


def test_device_cuda_on_a_cpu_only_torch_says_what_to_install():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this PyTorch has CUDA")
    for command in ("train", "pretrain"):
        result = invoke(command, "--backend", "torch", "--device", "cuda", "--no-progress")
        assert_one_line_error(result, "--device cuda", "CUDA", "--device cpu")
        assert "device='" not in result.stderr  # the command line's words, not Python's


# --------------------------------------------------------------------------------------------------
# 11. --scheduler without Dask's distributed package


def test_scheduler_without_dask_names_the_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    result = invoke(
        "compare", "--scheduler", "tcp://127.0.0.1:8786", "--out", tmp_path / "c", "--no-progress"
    )
    assert_one_line_error(result, 'pip install "weightwise[dask]"', "--scheduler")
    assert not (tmp_path / "c").exists()


def test_library_messages_use_the_options_names(tmp_path: Path):
    """Notes and errors from the estimators name --epochs and --lr, not max_epochs."""
    result = invoke(*TRAIN[:-3], "--epochs", "2", "--out", tmp_path / "m.safetensors", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "--epochs 2" in result.stderr and "max_epochs" not in result.stderr
    assert_one_line_error(invoke("train", "--lr", "inf", "--no-progress"), "--lr")
