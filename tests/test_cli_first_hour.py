"""Issue 11's command-line findings ("the first hour, again"), each a test that failed before its
fix: --layers built exactly (2), one set of MNIST options (3), a sweep keyed without where its
data came from (4), progress where a command runs long (5), terminal text (6) and the library's
friendliness (7). Help at 80 columns (1) is tested in test_cli_help.py."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import invoke

import weightwise


def one_line_error(result: object) -> str:
    assert result.exit_code == 1, (result.exit_code, result.output)  # type: ignore[attr-defined]
    err = result.stderr.strip()  # type: ignore[attr-defined]
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


# --------------------------------------------------------------------------------------------------
# 2. --layers: every size, built exactly


def test_layers_without_a_hidden_layer_builds_exactly_that(tmp_path):
    out = tmp_path / "m.safetensors"
    result = invoke("train", "--layers", "64-10", "--epochs", "2", "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    assert "network 64-10 (softmax)" in result.stdout  # once 64-64-10-10


def test_layers_that_do_not_fit_are_refused_not_padded():
    err = one_line_error(invoke("train", "--layers", "100-10", "--no-progress"))
    assert "--layers 64-100-10" in err and "--hidden 100" in err  # once 64-100-10-10


# --------------------------------------------------------------------------------------------------
# 3. one set of MNIST options and variables


@pytest.mark.parametrize(
    "command",
    [["train"], ["pretrain"], ["compare"], ["study", "depth"], ["reproduce", "hinton2006"]],
)
def test_every_command_takes_mnist_and_download_and_names_them(tmp_path, command):
    out = [] if command[0] in ("train", "pretrain") else ["--out", str(tmp_path / "o")]
    data = [] if command[0] == "reproduce" else ["--data", "mnist"]
    result = invoke(*command, *data, "--mnist", tmp_path / "none", *out, "--no-progress")
    err = one_line_error(result)
    assert "none" in err and "--mnist FOLDER" in err and "--download" in err
    assert "path=" not in err  # no Python advice on the command line
    assert not (tmp_path / "o").exists()  # no sweep folder claimed without the data
    assert invoke(*command, "--help").output.count("--download") >= 1


def test_predict_takes_mnist(tmp_path):
    model = tmp_path / "m.safetensors"
    invoke("train", "--layers", "64-8-10", "--epochs", "1", "--out", model, "--no-progress")
    err = one_line_error(invoke("predict", model, "mnist", "--mnist-path", tmp_path / "none"))
    assert "--mnist FOLDER" in err


def test_weightwise_mnist_variable_is_honoured(tmp_path, monkeypatch):
    monkeypatch.setenv("WEIGHTWISE_MNIST", str(tmp_path / "from-the-variable"))
    err = one_line_error(invoke("train", "--data", "mnist", "--no-progress"))
    assert "from-the-variable" in err
    folders, missing = weightwise.datasets.find_mnist()
    assert folders[0] == tmp_path / "from-the-variable" and len(missing) == 4


# --------------------------------------------------------------------------------------------------
# 4. a sweep's identity leaves out where the data was read from


def test_sweep_resumes_whatever_folder_the_data_came_from(tmp_path):
    from weightwise.evidence.experiments import run_configs

    base = {"data": "digits", "n_train": 60, "n_test": 30, "hidden": [4], "epochs": 1}
    base.update(info_samples=0, grad_samples=20, n_features=2)
    first = run_configs([{**base, "mnist_path": "/old/place"}], tmp_path, progress=False)
    stored = list((tmp_path / "sweep" / "runs").glob("*.json"))
    # Once: "the output folder ... holds the results of a different sweep".
    again = run_configs([{**base, "mnist_path": str(tmp_path / "new")}], tmp_path, progress=False)
    assert list((tmp_path / "sweep" / "runs").glob("*.json")) == stored
    assert first == again


# --------------------------------------------------------------------------------------------------
# 5. progress and measured durations


def test_xor_over_many_seeds_shows_progress():
    result = invoke("xor", "--seeds", "3", "--epochs", "50", "--n-jobs", "1")
    assert result.exit_code == 0, result.output
    assert "seeds 3/3" in result.stderr
    assert "--seeds 100 about 40 s" in " ".join(invoke("xor", "--help").output.split())


# --------------------------------------------------------------------------------------------------
# 6. terminal text


def test_a_one_method_compare_reads_as_plain_sentences(tmp_path):
    args = ["compare", "--quick", "--methods", "bp", "--epochs", "1", "--n-train", "200"]
    result = invoke(*args, "--out", tmp_path / "c", "--no-progress")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "**" not in text and "`" not in text  # no Markdown printed literally
    assert "seed(s)" not in text and "from one seed" in text
    assert "+-" not in text and "± 0.00%" not in text  # no spread over a single run
    assert "Best:" not in text and "nothing to rank it against" in text
    assert "of the gradient of layer 5" in text  # "1/2,576 of the gradient", a sentence
    assert "reused" not in text
    again = invoke(*args, "--out", tmp_path / "c", "--no-progress")
    assert "reused 1 stored run" in " ".join(again.stdout.split())


def test_depth_text_counts_layers_right(tmp_path):
    args = ["study", "depth", "--quick", "--depths", "1", "--methods", "bp", "--epochs", "1"]
    result = invoke(*args, "--n-train", "200", "--out", tmp_path / "d", "--no-progress")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "1 layers" not in text and "layer(s)" not in text
    assert "1 hidden layer" in text


def test_train_counts_epochs_right(tmp_path):
    args = ["train", "--layers", "64-8-10", "--epochs", "1", "--no-progress"]
    result = invoke(*args, "--out", tmp_path / "m.safetensors")
    assert "1 epoch in" in result.stdout and "epoch(s)" not in result.stdout


# --------------------------------------------------------------------------------------------------
# 7. library friendliness


def test_minmax_scaled_test_data_outside_zero_one_suggests_clip():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    X = np.random.default_rng(0).normal(size=(60, 4))
    model = make_pipeline(MinMaxScaler(), weightwise.RBM(n_components=3, n_iter=1)).fit(X)
    with pytest.raises(weightwise.DataError, match=r"MinMaxScaler\(clip=True\)"):
        model.transform(X * 3)


def test_scikit_learn_names_point_to_ours():
    with pytest.raises(TypeError, match="max_epochs"):
        weightwise.BPClassifier(max_iter=50)
    with pytest.raises(TypeError, match="n_iter"):
        weightwise.DBN(max_iter=5)


def test_dir_lists_the_lazy_names():
    names = dir(weightwise)
    for name in ("BPClassifier", "pretrain", "load_digits", "to_torch", "estimators"):
        assert name in names


def test_readme_estimator_example_converges():
    """The README's estimator lines, as written there, fit without a ConvergenceWarning, and
    print the test accuracy the README shows (to its three digits on this project's machines;
    within half a point where another BLAS rounds differently)."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    block = readme.split("# scikit-learn estimators.", 1)[1].split("```", 1)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        namespace = {"ww": weightwise, "np": np}
        namespace["Xtr"], namespace["Xte"], namespace["ytr"], namespace["yte"] = weightwise.load_digits()
        exec(compile(block.replace("print(", "_ = ("), "README.md", "exec"), namespace)
    shown = float(re.search(r"print\(clf\.score\(Xte, yte\)\)\s+# (0\.\d+)", block).group(1))
    assert abs(namespace["clf"].score(namespace["Xte"], namespace["yte"]) - shown) <= 0.005


def test_predict_prints_accuracy_when_the_data_has_labels(tmp_path):
    model = tmp_path / "m.safetensors"
    invoke("train", "--layers", "64-8-10", "--epochs", "3", "--out", model, "--no-progress")
    result = invoke("predict", model, "digits")
    assert result.exit_code == 0, result.output
    assert "accuracy 0." in result.stderr and "450 labelled samples" in result.stderr
    assert len(result.stdout.splitlines()) == 450  # stdout stays the predictions alone
