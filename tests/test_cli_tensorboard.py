"""``--tensorboard DIR`` on train, pretrain, compare and study depth, read back with TensorBoard's
own event reader (``EventAccumulator``).

Small runs on the built-in digits: a few epochs of a narrow network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import invoke

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SMALL_COMPARE = ["--quick", "--methods", "bp,rbm", "--epochs", "2", "--pretrain-epochs", "1"]
SMALL_COMPARE += ["--n-train", "200", "--n-test", "100", "--no-progress"]


def _tags(log_dir: Path) -> dict[str, Any]:
    """Every tag in the event files of ``log_dir``, by kind (scalars, histograms, images)."""
    assert list(log_dir.glob("events.out.tfevents.*")), f"no event file in {log_dir}"
    acc = event_accumulator.EventAccumulator(
        str(log_dir), size_guidance={"scalars": 0, "histograms": 0, "images": 0}
    )
    acc.Reload()
    return {kind: set(acc.Tags()[kind]) for kind in ("scalars", "histograms", "images")} | {"acc": acc}


def test_train_logs_bp_and_pretraining(tmp_path: Path) -> None:
    logs = tmp_path / "logs" / "rbm"
    args = ["--layers", "64-16-16-10", "--pretrain", "rbm", "--pretrain-epochs", "2", "--epochs", "3"]
    result = invoke(
        "train", *args, "--no-progress", "--out", tmp_path / "m.safetensors", "--tensorboard", logs
    )
    assert result.exit_code == 0, result.output
    assert f"tensorboard --logdir {logs}" in result.stdout
    tags = _tags(logs)
    for tag in ("loss/train", "metric/train", "learning_rate"):
        assert tag in tags["scalars"], tag
    for l in (1, 2, 3):
        assert f"gradient_norm/layer_{l}" in tags["scalars"]
        assert f"update_ratio/layer_{l}" in tags["scalars"]
        assert f"weights/layer_{l}" in tags["histograms"]
    for k in (1, 2):
        assert f"pretrain/layer_{k}/reconstruction_error" in tags["scalars"]
    assert {"filters/layer_1", "pretrain/layer_1/filters", "pretrain/layer_1/reconstructions"} <= tags[
        "images"
    ]
    steps = [e.step for e in tags["acc"].Scalars("gradient_norm/layer_1")]
    assert steps == [1, 2, 3]


def test_pretrain_logs_each_layer(tmp_path: Path) -> None:
    logs = tmp_path / "pre"
    args = ["--learner", "rbm,autoencoder", "--layers", "64-16-8", "--epochs", "2", "--no-progress"]
    result = invoke("pretrain", *args, "--out", tmp_path / "s.safetensors", "--tensorboard", logs)
    assert result.exit_code == 0, result.output
    tags = _tags(logs)
    assert "pretrain/layer_1/reconstruction_error" in tags["scalars"]
    assert "pretrain/layer_1/free_energy_gap" in tags["scalars"]
    assert "pretrain/layer_2/reconstruction_error" in tags["scalars"]
    assert {"pretrain/layer_1/weights", "pretrain/layer_2/activations"} <= tags["histograms"]
    assert {"pretrain/layer_1/samples", "pretrain/layer_1/reconstructions"} <= tags["images"]


def test_compare_logs_each_run_and_keeps_its_sweep_key(tmp_path: Path) -> None:
    out, logs = tmp_path / "report", tmp_path / "tb"
    # Two joblib workers: each run builds its own callback from the plain folder it is given.
    result = invoke("compare", *SMALL_COMPARE, "--n-jobs", "2", "--out", out, "--tensorboard", logs)
    assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(logs).as_posix() for p in logs.glob("*/*")) == [
        "bp/seed_0",
        "rbm/seed_0",
    ]
    assert not list(logs.glob("events.*"))  # nothing beside the runs' folders
    bp, rbm = _tags(logs / "bp" / "seed_0"), _tags(logs / "rbm" / "seed_0")
    depth = 6  # --quick: 5 hidden layers and the output layer
    for tags in (bp, rbm):
        assert {f"gradient_norm/layer_{l}" for l in range(1, depth + 1)} <= tags["scalars"]
        assert {"loss/train", "loss/validation", "metric/validation"} <= tags["scalars"]
    assert "pretrain/layer_5/reconstruction_error" in rbm["scalars"]
    assert not any(t.startswith("pretrain/") for t in bp["scalars"])
    # The log folder is no part of a run's identity: without --tensorboard the stored runs are reused.
    runs = {p.name: p.stat().st_mtime_ns for p in (out / "sweep" / "runs").iterdir()}
    assert len(runs) == 2
    result = invoke("compare", *SMALL_COMPARE, "--out", out)
    assert result.exit_code == 0, result.output
    assert {p.name: p.stat().st_mtime_ns for p in (out / "sweep" / "runs").iterdir()} == runs
    stored = json.loads((out / "sweep" / "runs" / next(iter(runs))).read_text())
    assert not any("tensorboard" in key or "log" in key for key in stored["config"])


def test_study_depth_logs_by_depth(tmp_path: Path) -> None:
    args = ["--quick", "--depths", "1,2", "--methods", "bp", "--epochs", "1", "--n-train", "100"]
    args += ["--n-test", "50", "--no-progress", "--out", tmp_path / "report"]
    result = invoke("study", "depth", *args, "--tensorboard", tmp_path / "tb")
    assert result.exit_code == 0, result.output
    for d in (1, 2):
        tags = _tags(tmp_path / "tb" / f"depth_{d}" / "bp" / "seed_0")
        assert f"gradient_norm/layer_{d + 1}" in tags["scalars"]


@pytest.mark.parametrize("command", ["train", "pretrain", "compare"])
def test_an_unwritable_log_folder_is_one_line(tmp_path: Path, command: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")
    extra = SMALL_COMPARE if command == "compare" else ["--epochs", "1", "--no-progress"]
    out = tmp_path / ("report" if command == "compare" else "m.safetensors")
    result = invoke(command, *extra, "--out", out, "--tensorboard", blocker / "logs")
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot write TensorBoard logs"), lines
    assert str(blocker / "logs") in lines[0]
    assert not out.exists()
