"""``--checkpoint-dir`` and ``--resume`` of ``weightwise pretrain`` and ``train``: Ctrl-C, then continue.

Ctrl-C is simulated by a KeyboardInterrupt raised from the progress callback after a chosen
epoch, before that epoch's checkpoint is written, so the resumed run must redo exactly that epoch
and end with the weights of an uninterrupted run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cli_helpers import invoke

from weightwise.cli.progress import LayerProgress
from weightwise.io import load_network

PRETRAIN = ["pretrain", "--data", "digits", "--layers", "64-24-16", "--epochs", "3", "--no-progress"]


def weights(path: Path) -> list[np.ndarray]:
    net, _, extras = load_network(path)
    return [*net.get_weights(), *(extras[k] for k in sorted(extras))]


@pytest.fixture
def ctrl_c_at(monkeypatch: pytest.MonkeyPatch):
    """Make the progress callback raise KeyboardInterrupt after (layer, epoch)."""

    def arm(layer: int, epoch: int) -> None:
        original = LayerProgress.__call__

        def callback(self: LayerProgress, info: object) -> None:
            original(self, info)
            if (info.layer, info.epoch) == (layer, epoch):  # type: ignore[attr-defined]
                raise KeyboardInterrupt

        monkeypatch.setattr(LayerProgress, "__call__", callback)

    return arm


@pytest.mark.parametrize("learner", ["rbm", "denoising"])
def test_ctrl_c_then_resume_gives_the_uninterrupted_stack(tmp_path, ctrl_c_at, monkeypatch, learner):
    straight = tmp_path / "straight.safetensors"
    assert invoke(*PRETRAIN, "--learner", learner, "--out", straight).exit_code == 0

    ckpt, out = tmp_path / "ckpt", tmp_path / "resumed.safetensors"
    ctrl_c_at(2, 2)
    result = invoke(*PRETRAIN, "--learner", learner, "--out", out, "--checkpoint-dir", ckpt)
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.stderr and "--resume" in result.stderr
    assert "Traceback" not in result.output and not out.exists()

    monkeypatch.undo()
    result = invoke(*PRETRAIN, "--learner", learner, "--out", out, "--checkpoint-dir", ckpt, "--resume")
    assert result.exit_code == 0, result.output
    assert "resuming the pre-training run saved in" in " ".join(result.stdout.split())
    for a, b in zip(weights(straight), weights(out), strict=True):
        np.testing.assert_array_equal(a, b)


def test_ctrl_c_without_a_checkpoint_dir_says_nothing_was_saved(tmp_path, ctrl_c_at):
    ctrl_c_at(1, 1)
    result = invoke(*PRETRAIN, "--out", tmp_path / "s.safetensors")
    assert result.exit_code == 130
    assert "nothing was saved" in result.stderr and "--checkpoint-dir" in result.stderr


def test_an_existing_checkpoint_is_not_overwritten_without_resume(tmp_path, ctrl_c_at):
    ckpt = tmp_path / "ckpt"
    ctrl_c_at(1, 2)
    assert (
        invoke(*PRETRAIN, "--out", tmp_path / "s.safetensors", "--checkpoint-dir", ckpt).exit_code == 130
    )
    before = (ckpt / "checkpoint.safetensors").read_bytes()
    result = invoke(*PRETRAIN, "--out", tmp_path / "s.safetensors", "--checkpoint-dir", ckpt)
    assert result.exit_code == 1
    assert "already holds a pre-training checkpoint" in result.stderr and "--resume" in result.stderr
    assert (ckpt / "checkpoint.safetensors").read_bytes() == before


def test_resume_with_other_options_is_refused(tmp_path, ctrl_c_at):
    ckpt = tmp_path / "ckpt"
    ctrl_c_at(1, 2)
    assert (
        invoke(*PRETRAIN, "--out", tmp_path / "s.safetensors", "--checkpoint-dir", ckpt).exit_code == 130
    )
    changed = [a if a != "3" else "4" for a in PRETRAIN]  # --epochs 4
    result = invoke(*changed, "--out", tmp_path / "s.safetensors", "--checkpoint-dir", ckpt, "--resume")
    assert result.exit_code == 1, result.output
    assert "different pre-training run" in result.stderr and "epochs" in result.stderr


def test_resume_needs_a_checkpoint_dir(tmp_path):
    result = invoke(*PRETRAIN, "--out", tmp_path / "s.safetensors", "--resume")
    assert result.exit_code == 1
    assert "--resume needs --checkpoint-dir" in result.stderr


def test_resume_with_nothing_saved_starts_afresh(tmp_path):
    ckpt = tmp_path / "empty"
    result = invoke(*PRETRAIN, "--out", tmp_path / "s.safetensors", "--checkpoint-dir", ckpt, "--resume")
    assert result.exit_code == 0, result.output
    # One line holding the whole (long) path, at 80 columns.
    assert f"no checkpoint in {ckpt} yet: starting afresh" in result.stdout.splitlines()
    assert not ckpt.exists()  # a finished run removes its backup


TRAIN = [
    "train", "--data", "digits", "--layers", "64-24-10", "--epochs", "6", "--no-progress",
    "--early-stopping", "--dtype", "float64",
]  # fmt: skip


@pytest.mark.parametrize("pretrain", [None, "rbm"])
def test_train_ctrl_c_then_resume_gives_the_uninterrupted_model(tmp_path, monkeypatch, pretrain):
    from weightwise.cli.progress import EpochProgress, PipelineProgress

    extra = [] if pretrain is None else ["--pretrain", pretrain, "--pretrain-epochs", "2"]
    straight = tmp_path / "straight.safetensors"
    assert invoke(*TRAIN, *extra, "--out", straight).exit_code == 0

    bar = EpochProgress if pretrain is None else PipelineProgress
    original = bar.__call__

    def ctrl_c(self, info):
        original(self, info)
        if info.epoch == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(bar, "__call__", ctrl_c)
    ckpt, out = tmp_path / "ckpt", tmp_path / "resumed.safetensors"
    result = invoke(*TRAIN, *extra, "--out", out, "--checkpoint-dir", ckpt)
    assert result.exit_code == 130, result.output
    assert "--resume" in result.stderr and not out.exists()
    refused = invoke(*TRAIN, *extra, "--out", out, "--checkpoint-dir", ckpt)
    assert refused.exit_code == 1 and "already holds a training checkpoint" in refused.stderr

    monkeypatch.undo()
    result = invoke(*TRAIN, *extra, "--out", out, "--checkpoint-dir", ckpt, "--resume")
    assert result.exit_code == 0, result.output
    for a, b in zip(weights(straight), weights(out), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not ckpt.exists()


def test_train_resumed_after_pretraining_keeps_its_pretraining_figures(tmp_path, monkeypatch):
    from weightwise.cli.progress import PipelineProgress

    original = PipelineProgress.__call__

    def ctrl_c(self, info):
        original(self, info)
        if info.epoch == 2:
            raise KeyboardInterrupt

    args = [*TRAIN, "--pretrain", "rbm", "--pretrain-epochs", "2", "--checkpoint-dir", tmp_path / "ckpt"]
    args += ["--out", tmp_path / "m.safetensors", "--figures", tmp_path / "figs"]
    monkeypatch.setattr(PipelineProgress, "__call__", ctrl_c)
    assert invoke(*args).exit_code == 130
    drawn = (tmp_path / "figs" / "filters.png").read_bytes()  # pre-training had finished
    monkeypatch.undo()
    result = invoke(*args, "--resume")
    assert result.exit_code == 0, result.output
    assert "pre-training figures not redrawn" in " ".join(result.stderr.split())
    assert (tmp_path / "figs" / "training_curves.png").is_file()
    assert (tmp_path / "figs" / "filters.png").read_bytes() == drawn  # not overwritten with BP's weights
