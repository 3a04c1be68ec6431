"""The ``weightwise`` command, driven end to end.

Most tests call the real typer app in-process (``typer.testing.CliRunner``); a few run the installed
console script in a subprocess to check exit codes and the one-line error exactly as a user sees
them. Training runs use the built-in digits data, a small network and 3 epochs.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, invoke
from rich.console import Console

from weightwise import cli
from weightwise.errors import ConfigError, DataError

# The CLI's options for a quick digits run, and the same settings as estimator parameters.
TRAIN_ARGS = ["--data", "digits", "--layers", "64-32-10", "--epochs", "3", "--lr", "0.01", "--seed", "0"]
SAME_PARAMS = {
    "hidden_layer_sizes": (32,),
    "learning_rate": 0.01,
    "max_epochs": 3,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "digits.safetensors"
    result = invoke("train", *TRAIN_ARGS, "--out", path)
    assert result.exit_code == 0, result.output
    assert path.exists()
    return path


@pytest.fixture(scope="module")
def digits_test_npz(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    from weightwise.datasets import load_digits

    _, X_test, _, y_test = load_digits()
    path = tmp_path_factory.mktemp("data") / "digits_test.npz"
    np.savez(path, X=X_test, y=y_test)
    return path, X_test, y_test


def digits_csv(path: Path, n: int = 240, labels: object = None) -> Path:
    """The first ``n`` digits as a CSV with columns p0..p63 and a ``label`` column."""
    from weightwise.datasets import load_digits

    X, _, y, _ = load_digits()
    X, y = X[:n], y[:n]
    names = labels if labels is not None else {}
    header = ",".join([f"p{j}" for j in range(64)] + ["label"])
    rows = [
        ",".join([f"{v:g}" for v in x] + [str(names.get(int(t), t))]) for x, t in zip(X, y, strict=True)
    ]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


# --------------------------------------------------------------------------------------------------
# --help of every command


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ([], ["train", "pretrain", "predict", "info", "export", "gradcheck", "xor"]),
        (["train"], ["--data", "--layers", "--hidden", "--epochs", "--early-stopping", "--out"]),
        (["train"], ["--pretrain", "--pretrain-epochs", "--cd-k", "--corruption", "--figures"]),
        (
            ["pretrain"],
            ["--learner", "--layers", "--epochs", "--lr", "--batch-size", "--cd-k", "--persistent"],
        ),
        (["pretrain"], ["--corruption", "--seed", "--out", "--figures", "--scale", "DBN"]),
        (["predict"], ["MODEL", "DATA", "--out", "--target", "--proba"]),
        (["info"], ["MODEL", "architecture"]),
        (["export"], ["MODEL", "--to", "onnx", "torch", "--out", "--logits"]),
        (["train"], ["--tensorboard", "DIR"]),
        (["pretrain"], ["--tensorboard", "DIR"]),
        (["compare"], ["--tensorboard", "DIR"]),
        (["study", "depth"], ["--tensorboard", "DIR"]),
        (["gradcheck"], ["--layers", "--activation", "--loss", "--samples", "--seed", "1e-6"]),
        (["xor"], ["--seeds", "--lr", "--epochs"]),
    ],
)
def test_help_of_every_command(command: list[str], expected: list[str]) -> None:
    result = invoke(*command, "--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    for word in expected:
        assert word in result.output, word


# --------------------------------------------------------------------------------------------------
# train, info, predict end to end


def test_train_prints_metrics_and_a_progress_bar(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    result = invoke("train", *TRAIN_ARGS, "--out", path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "1347 training samples, 450 test samples, 64 features" in out
    assert "64-32-10" in out and "accuracy" in out and "log loss" in out
    assert f"model saved to {path}" in " ".join(out.split())
    # The bar is drawn on stderr by the fit callback; its final state shows the last epoch.
    bar = result.stderr
    assert re.search(r"epoch\s+3/3", bar) and "loss " in bar and "acc " in bar
    train_row = next(line for line in out.splitlines() if line.startswith("│ train"))
    accuracy = float(train_row.split("│")[3])
    assert 0.5 < accuracy <= 1.0  # 3 epochs of adam at lr 0.01 learn digits well past chance


@pytest.mark.filterwarnings("ignore:BPClassifier reached max_epochs")
def test_cli_model_predicts_like_the_in_process_estimator(
    model_file: Path, digits_test_npz: tuple[Path, np.ndarray, np.ndarray]
) -> None:
    from weightwise.estimators import BPClassifier

    npz, X_test, y_test = digits_test_npz
    result = invoke("predict", model_file, npz)
    assert result.exit_code == 0, result.output
    cli_pred = np.array([int(line) for line in result.stdout.split()])
    assert cli_pred.shape == (450,)
    # The same settings trained in-process give the same network, hence the same predictions.
    from weightwise.datasets import load_digits

    X_train, _, y_train, _ = load_digits()
    est = BPClassifier(**SAME_PARAMS).fit(X_train, y_train)
    np.testing.assert_array_equal(cli_pred, est.predict(X_test))
    np.testing.assert_array_equal(cli_pred, BPClassifier.load(model_file).predict(X_test))
    assert np.mean(cli_pred == y_test) > 0.5


def test_predict_writes_a_csv_with_probabilities(model_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "preds" / "p.csv"
    result = invoke("predict", model_file, "digits", "--out", out, "--proba")
    assert result.exit_code == 0, result.output
    table = np.genfromtxt(out, delimiter=",", names=True)
    assert table.dtype.names[:3] == ("prediction", "proba_0", "proba_1")
    assert len(table) == 450
    proba = np.column_stack([table[f"proba_{k}"] for k in range(10)])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(table["prediction"], proba.argmax(axis=1))


def test_info_shows_architecture_parameters_and_history(model_file: Path) -> None:
    result = invoke("info", str(model_file), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "BPClassifier 64-32-10" in out
    assert "2,080" in out and "330" in out and "2,410" in out  # 64*32+32, 32*10+10, total
    assert "relu" in out and "softmax" in out and "float32" in out
    epochs_row = next(line for line in out.splitlines() if "epochs" in line)
    assert epochs_row.split("│")[2].strip() == "3"
    assert "final training loss" in out and "stop reason" in out and "the epoch limit" in out
    assert "best validation score" in out
    assert f"this weightwise {cli.__version__}" in " ".join(out.replace("│", " ").split())


def test_train_on_a_csv_with_string_labels_then_predict_it(tmp_path: Path) -> None:
    names = {k: f"digit-{k}" for k in range(10)}
    csv = digits_csv(tmp_path / "d.csv", labels=names)
    model = tmp_path / "csv.safetensors"
    result = invoke(
        "train", "--data", csv, "--target", "label", "--hidden", "16", "--epochs", "2", "--out", model
    )
    assert result.exit_code == 0, result.output
    assert "180 training samples, 60 test samples" in result.stdout  # --test-size 0.25
    result = invoke("predict", model, csv, "--target", "label")
    assert result.exit_code == 0, result.output
    predicted = result.stdout.split()
    assert len(predicted) == 240 and set(predicted) <= set(names.values())


def test_regression_on_an_npz(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1
    np.savez(tmp_path / "r.npz", X=X, y=y)
    model = tmp_path / "r.safetensors"
    result = invoke(
        "train", "--data", tmp_path / "r.npz", "--task", "regress", "--hidden", "8",
        "--epochs", "40", "--lr", "0.01", "--out", model, "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "R^2" in result.stdout and "mean squared error" in result.stdout
    result = invoke("predict", model, tmp_path / "r.npz")
    pred = np.array([float(v) for v in result.stdout.split()])
    assert pred.shape == (200,)
    assert np.corrcoef(pred, y)[0, 1] > 0.9  # 40 epochs of a linear target: well learnt


def test_a_bare_network_file_gives_its_outputs(tmp_path: Path) -> None:
    from weightwise import Network
    from weightwise.io import save_network

    net = Network.create([3, 4, 2], "tanh", "softmax", seed=0)
    save_network(net, tmp_path / "bare.safetensors")
    X = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.savez(tmp_path / "x.npz", X=X)
    result = invoke("predict", tmp_path / "bare.safetensors", tmp_path / "x.npz")
    assert result.exit_code == 0, result.output
    got = np.array([[float(v) for v in line.split(",")] for line in result.stdout.split()])
    np.testing.assert_allclose(got, net.predict(X), rtol=1e-6)
    result = invoke("info", tmp_path / "bare.safetensors")
    assert (
        result.exit_code == 0 and "Network 3-4-2" in result.stdout and "none recorded" in result.stdout
    )


# --------------------------------------------------------------------------------------------------
# gradcheck


def test_gradcheck_passes_with_a_table_per_layer() -> None:
    result = invoke("gradcheck", "--layers", "4-8-3", "--activation", "tanh", "--loss", "cross_entropy")
    assert result.exit_code == 0, result.output
    assert "PASS" in result.stdout
    rows = [line for line in result.stdout.splitlines() if "4x8" in line or "8x3" in line]
    assert len(rows) == 2
    errors = [float(cell) for row in rows for cell in row.split("│")[3:5]]
    assert max(errors) < 1e-6


def test_gradcheck_fails_when_the_differences_are_too_coarse() -> None:
    # A step of 0.5 makes central differences of a sigmoid net off by far more than 1e-6.
    result = invoke(
        "gradcheck", "--layers", "3-4-2", "--activation", "sigmoid", "--loss", "squared_error",
        "--output-activation", "sigmoid", "--eps", "0.5",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "FAIL" in result.stdout


def test_gradcheck_rejects_a_mismatched_loss() -> None:
    result = invoke("gradcheck", "--loss", "cross_entropy", "--output-activation", "sigmoid")
    assert_one_line_error(result, "cross_entropy", "softmax")


# --------------------------------------------------------------------------------------------------
# --layers


def test_parse_layers() -> None:
    assert cli.parse_layers("64-100-100-10") == [64, 100, 100, 10]
    assert cli.parse_layers("100,50") == [100, 50]
    for bad in ("", "64--10", "64-a-10", "64-0-10", "64-1.5"):
        with pytest.raises(ConfigError, match="does not parse"):
            cli.parse_layers(bad)


def test_split_layers_reads_every_size_and_adds_none() -> None:
    """Issue 11.2: --layers is input-hidden-output, built exactly or refused, never padded."""
    assert cli.split_layers([64, 100, 100, 10], 64, [10]) == ((100, 100), 10)
    assert cli.split_layers([64, 10], 64, [10]) == ((), 10)  # no hidden layer
    assert cli.split_layers([64, 30, 1], 64, [1, 2]) == ((30,), 1)  # binary: one sigmoid unit
    # Once read as hidden sizes and padded to 64-100-100-10 / 64-100-10-10 without a word:
    with pytest.raises(DataError, match="use --layers 64-100-100-10, or .* --hidden 100-100"):
        cli.split_layers([100, 100], 64, [10])
    with pytest.raises(DataError, match="use --layers 64-100-10, or .* --hidden 100$"):
        cli.split_layers([100, 10], 64, [10])
    with pytest.raises(DataError, match="at least two sizes"):
        cli.split_layers([64], 64, [10])
    with pytest.raises(DataError, match="first size 63 must equal the data's feature count 64"):
        cli.split_layers([63, 100, 10], 64, [10])
    with pytest.raises(DataError, match="last size 9 must equal the number of outputs 10"):
        cli.split_layers([64, 100, 9], 64, [10])


def test_two_output_units_give_a_softmax_binary_classifier(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 3))
    np.savez(tmp_path / "b.npz", X=X, y=(X[:, 0] > 0).astype(int))
    for layers, expected in (("3-4-2", "3-4-2 (relu, softmax)"), ("3-4-1", "3-4-1 (relu, sigmoid)")):
        result = invoke(
            "train", "--data", tmp_path / "b.npz", "--layers", layers, "--epochs", "2",
            "--out", tmp_path / "b.safetensors", "--no-progress",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert expected in result.stdout


def test_missing_mnist_files_say_how_to_get_them(tmp_path: Path) -> None:
    result = invoke("train", "--data", "mnist", "--mnist-path", tmp_path, "--epochs", "1")
    assert_one_line_error(result, "not found", "--mnist FOLDER", "--download", "WEIGHTWISE_MNIST")
    assert "path=" not in result.stderr  # no Python advice in the command line's errors


# --------------------------------------------------------------------------------------------------
# bad input: exit 1 and one line naming the problem and the fix


def test_bad_layers_string() -> None:
    result = invoke("train", "--data", "digits", "--layers", "64-x-10", "--epochs", "1")
    assert_one_line_error(result, "--layers '64-x-10' does not parse", "'x' is not a positive integer")


def test_first_size_differs_from_the_feature_count() -> None:
    result = invoke("train", "--data", "digits", "--layers", "63-32-10", "--epochs", "1")
    assert_one_line_error(result, "first size 63", "feature count 64", "use --layers 64-32-10")


def test_last_size_differs_from_the_class_count() -> None:
    result = invoke("train", "--data", "digits", "--layers", "64-32-9", "--epochs", "1")
    assert_one_line_error(result, "last size 9", "number of outputs 10", "use --layers 64-32-10")


def test_csv_missing_target_column(tmp_path: Path) -> None:
    csv = digits_csv(tmp_path / "d.csv", n=20)
    result = invoke("train", "--data", csv, "--target", "class", "--epochs", "1")
    assert_one_line_error(result, "no column 'class'", "label")


def test_csv_with_non_numeric_features(tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("a,b,label\n1,2,0\n3,four,1\n5,6,0\n7,8,1\n")
    result = invoke("train", "--data", csv, "--target", "label", "--epochs", "1")
    assert_one_line_error(result, "column 'b'", "'four' is not a", "numeric")


def test_continuous_target_for_classification(tmp_path: Path) -> None:
    csv = tmp_path / "reg.csv"
    csv.write_text("a,b,y\n" + "\n".join(f"{i},{i % 3},{i * 0.37}" for i in range(12)) + "\n")
    result = invoke("train", "--data", csv, "--target", "y", "--epochs", "1")
    assert_one_line_error(result, "non-integer", "--task regress")


def test_a_choice_outside_the_list_is_a_usage_error() -> None:
    result = invoke("train", "--solver", "rmsprop")
    assert result.exit_code == 2  # typer's usage error, listing the choices
    assert "rmsprop" in result.output and "sgd" in result.output


def test_unknown_data_source() -> None:
    result = invoke("train", "--data", "cifar", "--epochs", "1")
    assert_one_line_error(result, "'cifar'", "digits", ".csv")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"not a model at all, just some text\n", "not a safetensors"),
        (None, "model.safetensors"),  # missing file
    ],
)
def test_unreadable_model_file(tmp_path: Path, content: bytes | None, fragment: str) -> None:
    path = tmp_path / "model.safetensors"
    if content is not None:
        path.write_bytes(content)
    for command in (["info", path], ["predict", path, "digits"]):
        result = invoke(*command)
        assert_one_line_error(result, str(path))


def test_truncated_model_file(model_file: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.safetensors"
    path.write_bytes(model_file.read_bytes()[:-100])
    assert_one_line_error(invoke("info", path), str(path))


def test_predict_with_the_wrong_feature_count(model_file: Path, tmp_path: Path) -> None:
    csv = tmp_path / "few.csv"
    csv.write_text("a,b,c\n1,2,3\n4,5,6\n")
    result = invoke("predict", model_file, csv)
    assert_one_line_error(result, "3 feature columns", "expects 64")


# --------------------------------------------------------------------------------------------------
# the progress bar as a fit callback


def test_epoch_progress_shows_epoch_loss_accuracy_and_time_left() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, force_terminal=False)
    with cli.EpochProgress(10, accuracy=True, validation=True, console=console) as bar:
        for epoch in (1, 2):
            logs = {"loss": 1.0 / epoch, "metric": 0.25 * epoch, "val_metric": 0.5}
            assert bar(SimpleNamespace(epoch=epoch, epochs=10, logs=logs)) is None  # never stops
    text = buffer.getvalue()
    assert re.search(r"epoch\s+2/10", text) and "loss 0.5000" in text and "acc 0.500" in text
    assert "val 0.500" in text and "left" in text


# --------------------------------------------------------------------------------------------------
# the installed console script


def console_script() -> str:
    found = shutil.which("weightwise") or str(Path(sys.executable).with_name("weightwise"))
    if not Path(found).exists():  # pragma: no cover - only when the package is not installed
        pytest.skip("the weightwise console script is not installed")
    return found


def test_console_script_exit_codes_and_one_line_error(tmp_path: Path) -> None:
    exe = console_script()
    csv = digits_csv(tmp_path / "d.csv", n=20)
    bad = subprocess.run(
        [exe, "train", "--data", str(csv), "--target", "nope"], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert bad.stderr.count("\n") == 1 and bad.stderr.startswith("error: ")
    assert "no column 'nope'" in bad.stderr and "Traceback" not in bad.stderr
    usage = subprocess.run([exe, "train", "--no-such-option"], capture_output=True, text=True)
    assert usage.returncode == 2  # typer's usage error
    debug = subprocess.run(
        [exe, "--debug", "train", "--data", str(csv), "--target", "nope"], capture_output=True, text=True
    )
    assert debug.returncode == 1 and "Traceback" in debug.stderr  # --debug keeps the traceback


def test_console_script_messages_keep_long_paths_whole_at_80_columns(tmp_path: Path) -> None:
    # rich wrapped messages at the terminal's width, breaking the path in them across lines (and
    # the README's test command failed from a long temporary folder).
    exe = console_script()
    ckpt = tmp_path / "checkpoints-of-a-run-with-a-long-name"
    out = tmp_path / "model.npz"
    env = {**os.environ, "COLUMNS": "80"}
    args = ["train", "--data", "digits", "--epochs", "1", "--no-progress"]
    args += ["--out", str(out), "--checkpoint-dir", str(ckpt), "--resume"]
    done = subprocess.run([exe, *args], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert len(str(ckpt)) > 200
    lines = done.stdout.splitlines()
    assert f"no checkpoint in {ckpt} yet: starting afresh" in lines
    assert f"model saved to {out}" in lines


def test_messages_do_not_wrap_at_80_columns(tmp_path: Path) -> None:
    out = tmp_path / "model.npz"
    result = invoke("train", "--data", "digits", "--epochs", "1", "--no-progress", "--out", out)
    assert result.exit_code == 0, result.output
    assert f"model saved to {out}" in result.stdout.splitlines()
    assert any(
        line.startswith("network 64-100-10") and "stopped by" in line
        for line in result.stdout.splitlines()
    )
    missing = tmp_path / "no-such-model.npz"
    result = invoke("info", missing)
    assert_one_line_error(result, str(missing))


def test_train_warns_when_the_run_is_dead(tmp_path: Path) -> None:
    # lr 100 with SGD: accuracy 0.10 and the loss 60x its start, which ended with "raise max_epochs
    # or learning_rate": the wrong way.
    out = tmp_path / "m.npz"
    result = invoke(
        "train", "--data", "digits", "--lr", "100", "--solver", "sgd", "--epochs", "5", "--out", out
    )
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1, result.stderr
    assert warnings[0].startswith("warning: training failed: the loss rose from")
    assert warnings[0].endswith("the learning rate 100 is too large; try 10")
    assert "raise max_epochs" not in result.stderr
