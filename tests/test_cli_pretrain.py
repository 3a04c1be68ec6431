"""``weightwise pretrain`` and ``weightwise train --pretrain``, driven end to end on digits.

The real typer app runs in-process (``CliRunner``) with 1-2 epochs per layer and small layers, so
the whole file stays fast. The figures are checked as real PNG files; the saved stack is reloaded
and sampled.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, invoke

from weightwise import cli
from weightwise.layerwise.stack import can_sample, reconstruct, sample_stack

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FAST = ["--epochs", "2", "--seed", "0", "--gibbs-steps", "20"]


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, path
    assert len(data) > 2_000, (path, len(data))  # a drawn figure, not an empty canvas


@pytest.fixture(scope="module")
def dbn(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    """A 64-48-32 DBN pre-trained with CD-1 for 2 epochs per layer, with its figures."""
    tmp = tmp_path_factory.mktemp("dbn")
    out, figures = tmp / "dbn.safetensors", tmp / "figures"
    result = invoke(
        "pretrain", "--data", "digits", "--learner", "rbm", "--layers", "64-48-32", *FAST,
        "--batch-size", "20", "--out", out, "--figures", figures,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out, figures, result


def test_pretrain_rbm_stack_prints_a_table_and_per_layer_progress(dbn: tuple) -> None:
    out, _, result = dbn
    assert "DBN 64-48-32 on digits" in result.stdout
    assert "1347 training samples, 450 held out, 64 features" in result.stdout
    assert f"stack saved to {out}" in " ".join(result.stdout.split())
    rows = [line for line in result.stdout.splitlines() if re.match(r"│\s+[12] │\s+rbm", line)]
    assert len(rows) == 2  # one row per layer, each with 2 epochs and a finite error
    for row in rows:
        cells = [c.strip() for c in row.split("│")]
        assert cells[4] == "2" and 0.0 < float(cells[5]) < 0.2
    bar = result.stderr  # drawn on stderr: layer k/K, its epoch and its reconstruction error
    assert re.search(r"layer 1/2 rbm 64->48\s+epoch 2/2", bar)
    assert re.search(r"layer 2/2 rbm 48->32\s+epoch 2/2", bar) and "recon. error 0." in bar


def test_pretrain_writes_the_four_figures_as_png(dbn: tuple) -> None:
    _, figures, result = dbn
    names = ("filters", "reconstructions", "samples", "pretraining_curves")
    for name in names:
        assert_png(figures / f"{name}.png")
        assert f"figure {name}:" in result.stdout


def test_saved_dbn_reloads_with_its_visible_biases_and_can_be_sampled(dbn: tuple) -> None:
    from weightwise.datasets import load_digits
    from weightwise.io import load_network

    out, _, _ = dbn
    stack = cli.load_stack(out)
    _, _, extras = load_network(out)
    assert stack.names == ["rbm", "rbm"] and len(stack.learners) == 2
    for k, learner in enumerate(stack.learners):
        assert learner.W is stack.network.layers[k].W  # the learner shares the reloaded layer
        saved = extras[f"layer{k + 1}.b_visible"]
        assert np.abs(saved).max() > 1e-3  # trained, not the zeros a fresh RBM starts with
        np.testing.assert_array_equal(np.asarray(learner.b_visible), saved)
    assert [h.n_epochs for h in stack.histories] == [2, 2]
    assert can_sample(stack.learners)
    samples = np.asarray(sample_stack(stack.learners, 16, gibbs_steps=10))
    assert samples.shape == (16, 64) and 0.0 <= samples.min() and samples.max() <= 1.0
    # The reloaded stack reconstructs held-out digits better than their mean image does.
    X_test = load_digits()[1][:200]
    X_hat = np.asarray(reconstruct(stack.learners, X_test))
    error = float(np.mean((X_hat - X_test) ** 2))
    baseline = float(np.mean((X_test - X_test.mean(axis=0)) ** 2))
    assert error < baseline, (error, baseline)


def test_info_describes_a_pretrained_stack(dbn: tuple) -> None:
    out, _, _ = dbn
    result = invoke("info", str(out), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "pre-trained DBN 64-48-32" in text and "greedy layer-wise pre-training" in text
    assert "cd_k=1" in text and "pre-trained on │ digits" in text


def test_predict_with_a_stack_gives_its_top_layer_features(dbn: tuple, tmp_path: Path) -> None:
    out, _, _ = dbn
    result = invoke("predict", out, "digits", "--out", tmp_path / "features.csv")
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "features.csv").read_text().splitlines()
    assert rows[0].split(",")[:2] == ["output_0", "output_1"] and len(rows[0].split(",")) == 32
    values = np.array([[float(v) for v in row.split(",")] for row in rows[1:]])
    assert values.shape == (450, 32) and 0.0 < values.min() and values.max() < 1.0  # sigmoid means


def test_info_and_predict_on_an_unsupervised_estimator_file(tmp_path: Path) -> None:
    from weightwise.datasets import load_digits
    from weightwise.estimators import DBN

    X_train, X_test = load_digits()[:2]
    dbn = DBN(hidden_layer_sizes=(16, 8), n_iter=1, random_state=0).fit(X_train)
    path = dbn.save(tmp_path / "dbn.safetensors")
    info = invoke("info", str(path), env={"COLUMNS": "200"})
    assert info.exit_code == 0, info.output
    text = " ".join(info.stdout.split())
    assert "DBN 64-16-8" in text and "greedy layer-wise pre-training" in text and "n_iter=1" in text
    assert "loss" not in text  # no BP summary rows for an unsupervised model
    result = invoke("predict", path, "digits", "--out", tmp_path / "f.csv")
    assert result.exit_code == 0, result.output
    got = np.loadtxt(tmp_path / "f.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(got, np.asarray(dbn.transform(X_test)), rtol=1e-6)
    assert_one_line_error(invoke("predict", path, "digits", "--proba"), "--proba needs a classifier")


def test_pretrain_denoising_autoencoder_stack(tmp_path: Path) -> None:
    out = tmp_path / "sdae.safetensors"
    result = invoke(
        "pretrain", "--learner", "denoising", "--corruption", "0.3", "--hidden", "48-24", *FAST,
        "--out", out, "--figures", tmp_path / "figs", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "stacked denoising auto-encoder 64-48-24" in result.stdout
    for name in ("filters", "reconstructions", "pretraining_curves"):
        assert_png(tmp_path / "figs" / f"{name}.png")
    assert not (tmp_path / "figs" / "samples.png").exists()  # an auto-encoder has no samples
    assert "no samples figure" in result.stderr
    stack = cli.load_stack(out)
    assert [learner.corruption for learner in stack.learners] == [0.3, 0.3]
    assert not can_sample(stack.learners)
    assert np.asarray(reconstruct(stack.learners, np.full((3, 64), 0.5))).shape == (3, 64)


def test_gaussian_rbm_below_a_bernoulli_rbm_on_standardised_data(tmp_path: Path) -> None:
    out = tmp_path / "g.safetensors"
    result = invoke(
        "pretrain", "--learner", "gaussian_rbm", "--scale", "standard", "--layers", "64-32-16",
        *FAST, "--out", out, "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "scaled standard" in result.stdout and "DBN 64-32-16" in result.stdout
    stack = cli.load_stack(out)
    assert [type(learner).__name__ for learner in stack.learners] == ["GaussianRBM", "BernoulliRBM"]
    assert stack.offset is not None and stack.scale is not None
    X_train, X_test = cli.load_split("digits").X_train, cli.load_split("digits").X_test
    np.testing.assert_allclose(stack.offset, X_train.mean(axis=0), atol=1e-6)
    # predict applies the saved standardisation before the stack's layers.
    pred = invoke("predict", out, "digits", "--out", tmp_path / "f.csv")
    assert pred.exit_code == 0, pred.output
    got = np.loadtxt(tmp_path / "f.csv", delimiter=",", skiprows=1)
    Z = (X_test - stack.offset) / stack.scale
    np.testing.assert_allclose(got, np.asarray(stack.network.predict(Z.astype(np.float32))), atol=1e-5)


def test_mixed_stack_with_an_rbm_on_top_can_be_sampled(tmp_path: Path) -> None:
    result = invoke(
        "pretrain", "--learner", "denoising,rbm", "--hidden", "16-8", "--epochs", "1",
        "--out", tmp_path / "m.safetensors", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "stack 64-16-8 on digits" in result.stdout
    stack = cli.load_stack(tmp_path / "m.safetensors")
    assert [type(learner).__name__ for learner in stack.learners] == ["AutoEncoder", "BernoulliRBM"]
    # The top RBM's samples, decoded by the auto-encoder below: sigmoid means in [0, 1].
    assert can_sample(stack.learners)
    samples = np.asarray(sample_stack(stack.learners, 5, gibbs_steps=5))
    assert samples.shape == (5, 64) and 0.0 <= samples.min() and samples.max() <= 1.0


def test_pretrain_a_csv_without_labels(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.random((60, 6))
    csv = tmp_path / "u.csv"
    csv.write_text("a,b,c,d,e,f\n" + "\n".join(",".join(f"{v:.4f}" for v in x) for x in X) + "\n")
    out = tmp_path / "u.safetensors"
    result = invoke(
        "pretrain", "--data", csv, "--hidden", "4", "--epochs", "1", "--batch-size", "10",
        "--figures", tmp_path / "figs", "--out", out, "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "54 training samples, 6 held out, 6 features" in result.stdout
    assert "RBM 6-4" in result.stdout
    assert_png(tmp_path / "figs" / "pretraining_curves.png")  # 6 features: no image figures
    assert "not a square image" in result.stderr


def test_pretrain_on_torch_reloads_and_samples_on_torch(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    out = tmp_path / "t.safetensors"
    result = invoke(
        "pretrain", "--backend", "torch", "--layers", "64-16", "--epochs", "1", "--gibbs-steps", "5",
        "--figures", tmp_path / "figs", "--out", out, "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("filters", "reconstructions", "samples", "pretraining_curves"):
        assert_png(tmp_path / "figs" / f"{name}.png")
    stack = cli.load_stack(out, backend="torch")
    assert isinstance(stack.learners[0].b_visible, torch.Tensor)
    samples = sample_stack(stack.learners, 4, gibbs_steps=3)
    assert isinstance(samples, torch.Tensor) and tuple(samples.shape) == (4, 64)


# --------------------------------------------------------------------------------------------------
# bad input


def test_unknown_learner_lists_the_valid_ones() -> None:
    result = invoke("pretrain", "--learner", "boltzmann", "--epochs", "1")
    assert_one_line_error(result, "'boltzmann'", "rbm", "gaussian_rbm", "autoencoder", "denoising")


def test_data_outside_the_unit_interval_for_an_rbm(tmp_path: Path) -> None:
    X = np.random.default_rng(0).normal(size=(40, 4)) * 3.0
    np.savez(tmp_path / "real.npz", X=X)
    result = invoke("pretrain", "--data", tmp_path / "real.npz", "--hidden", "3", "--epochs", "1")
    assert_one_line_error(result, "values in [", "[0, 1]", "--scale minmax", "--learner gaussian_rbm")
    # The two fixes named in the message both work.
    for fix in (["--scale", "minmax"], ["--learner", "gaussian_rbm", "--scale", "standard"]):
        ok = invoke(
            "pretrain", "--data", tmp_path / "real.npz", "--hidden", "3", "--epochs", "1", *fix,
            "--out", tmp_path / "ok.safetensors", "--no-progress",
        )  # fmt: skip
        assert ok.exit_code == 0, ok.output


@pytest.mark.parametrize("corruption", ["1.0", "-0.1", "1.5"])
def test_corruption_outside_zero_one(corruption: str) -> None:
    result = invoke("pretrain", "--learner", "denoising", "--corruption", corruption, "--epochs", "1")
    assert_one_line_error(result, "--corruption must be in [0, 1)", corruption)


@pytest.mark.parametrize("size", ["0", "-5", "big", "1.5"])
def test_batch_size_and_epochs_are_a_positive_int_or_auto(size: str) -> None:
    result = invoke("pretrain", "--batch-size", size, "--epochs", "1")
    assert_one_line_error(result, f"--batch-size {size!r}", "positive integer or 'auto'")
    result = invoke("pretrain", "--epochs", size)
    assert_one_line_error(result, f"--epochs {size!r}", "positive integer or 'auto'")


def test_auto_batch_size_follows_the_data(tmp_path: Path) -> None:
    out = tmp_path / "auto.safetensors"
    result = invoke(
        "pretrain", "--layers", "64-16", "--batch-size", "auto", "--out", out, "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # digits: 1,347 training rows after the held-out tenth, so batches of 13, and 104 batches an
    # epoch, so 49 epochs for about 5,000 updates ("auto" epochs, the default).
    assert cli.load_stack(out).learners[0].batch_size == 13
    assert re.search(r"│\s+1 │\s+rbm.*│\s+49 │", result.stdout), result.stdout
    result = invoke(
        "train", "--layers", "64-16-10", "--pretrain", "rbm", "--pretrain-batch-size", "auto",
        "--pretrain-epochs", "1", "--epochs", "1", "--out", out, "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    from weightwise.estimators import BPClassifier

    assert BPClassifier.load(out).pretrain_learners_[0].batch_size == 13


def test_cd_k_below_one() -> None:
    assert_one_line_error(invoke("pretrain", "--cd-k", "0", "--epochs", "1"), "--cd-k", ">= 1", "got 0")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--learner", "autoencoder", "--cd-k", "2"], ["--cd-k", "does not apply", "RBMs"]),
        (["--learner", "rbm", "--corruption", "0.2"], ["--corruption", "denoising"]),
        (["--learner", "rbm,rbm,rbm", "--layers", "64-32-16"], ["3 learners for 2 layers"]),
        (["--learner", "rbm", "--activation", "relu"], ["'rbm'", "'relu'", "autoencoder"]),
        (["--image-shape", "7x7"], ["7x7", "49 pixels", "64 features"]),
    ],
)
def test_settings_that_do_not_fit(args: list[str], fragments: list[str], tmp_path: Path) -> None:
    result = invoke(
        "pretrain", *args, "--epochs", "1", "--figures", tmp_path, "--out", tmp_path / "s.safetensors"
    )
    assert_one_line_error(result, *fragments)


def test_a_bp_model_file_is_not_a_stack(tmp_path: Path) -> None:
    from weightwise.errors import ModelFileError

    out = tmp_path / "bp.safetensors"
    result = invoke("train", "--layers", "64-8-10", "--epochs", "1", "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    with pytest.raises(ModelFileError, match="no pre-trained stack"):
        cli.load_stack(out)


# --------------------------------------------------------------------------------------------------
# train --pretrain: the full pipeline


def test_train_with_rbm_pretraining_then_fine_tuning(tmp_path: Path) -> None:
    out, figures = tmp_path / "dbn-bp.safetensors", tmp_path / "figs"
    result = invoke(
        "train", "--data", "digits", "--layers", "64-32-32-10", "--pretrain", "rbm",
        "--pretrain-epochs", "2", "--epochs", "3", "--lr", "0.01", "--seed", "0",
        "--gibbs-steps", "20", "--figures", figures, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "pre-training (rbm) on digits" in text
    assert "network 64-32-32-10 (sigmoid, sigmoid, softmax)" in text  # sigmoid: RBMs need it
    test_row = next(line for line in result.stdout.splitlines() if line.startswith("│ test"))
    assert float(test_row.split("│")[3]) > 0.5  # far above chance (0.1) after 3 epochs
    # Progress for both phases: the layer rows, then the fine-tuning bar.
    bar = result.stderr
    assert re.search(r"layer 1/2 rbm 64->32\s+epoch 2/2", bar)
    assert re.search(r"layer 2/2 rbm 32->32\s+epoch 2/2", bar) and re.search(r"epoch\s+3/3", bar)
    for name in ("filters", "reconstructions", "samples", "pretraining_curves", "training_curves"):
        assert_png(figures / f"{name}.png")
    info = invoke("info", str(out), env={"COLUMNS": "200"})
    assert info.exit_code == 0, info.output
    assert "greedy layer-wise pre-training" in info.stdout and "cd_k=1" in info.stdout
    # The saved estimator keeps its learners, so the DBN below the classifier can be sampled.
    from weightwise.estimators import BPClassifier

    est = BPClassifier.load(out)
    samples = np.asarray(sample_stack(est.pretrain_learners_, 8, gibbs_steps=5))
    assert samples.shape == (8, 64)


def test_train_with_denoising_pretraining(tmp_path: Path) -> None:
    result = invoke(
        "train", "--layers", "64-32-10", "--pretrain", "denoising", "--corruption", "0.2",
        "--pretrain-epochs", "1", "--epochs", "2", "--out", tmp_path / "m.safetensors", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "pre-training (denoising)" in result.stdout and "denoising │ 64->32" in result.stdout


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--pretrain", "boltzmann"], ["--pretrain 'boltzmann'", "rbm", "denoising"]),
        (["--pretrain", "rbm,rbm"], ["one learner"]),
        (["--pretrain", "rbm", "--cd-k", "0"], ["--cd-k", ">= 1"]),
        (["--pretrain", "denoising", "--corruption", "1"], ["--corruption must be in [0, 1)"]),
        (["--cd-k", "3"], ["--cd-k", "add --pretrain"]),
        (["--pretrain", "rbm", "--activation", "relu"], ["'rbm'", "'relu'"]),
        (["--pretrain", "rbm", "--pretrain-batch-size", "0"], ["--pretrain-batch-size '0'", "auto"]),
    ],
)
def test_train_pretrain_bad_settings(args: list[str], fragments: list[str], tmp_path: Path) -> None:
    result = invoke(
        "train", "--layers", "64-16-10", "--epochs", "1", "--pretrain-epochs", "1", *args,
        "--out", tmp_path / "m.safetensors",
    )  # fmt: skip
    assert_one_line_error(result, *fragments)


def test_train_rbm_pretraining_refuses_data_outside_zero_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    np.savez(tmp_path / "real.npz", X=X, y=(X[:, 0] > 0).astype(int))
    result = invoke("train", "--data", tmp_path / "real.npz", "--hidden", "3", "--pretrain", "rbm")
    assert_one_line_error(result, "[0, 1]", "--pretrain gaussian_rbm")


def test_pretrain_layers_are_every_size_input_first(tmp_path: Path) -> None:
    """Issue 11.2: --layers 48-24 once became 64-48-24 without a word; now it is refused with
    both ways of saying what was meant, and --hidden stacks on the data's features."""
    result = invoke("pretrain", "--layers", "48-24", "--epochs", "1", "--no-progress")
    assert_one_line_error(result, "--layers 48-24", "64 features", "--layers 64-48-24", "--hidden 48-24")
    result = invoke(
        "pretrain", "--layers", "64-48", "--hidden", "48", "--out", tmp_path / "s.safetensors"
    )
    assert_one_line_error(result, "either --layers or --hidden")
