"""``weightwise study labels``: the labelled subsets, pre-training once per method and seed,
resuming, the report and the command's help and errors. Tiny settings on the built-in digits."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import WIDTH, assert_one_line_error, invoke

from weightwise.errors import ConfigError
from weightwise.evidence import labels as L
from weightwise.evidence.data import load_dataset
from weightwise.evidence.labels_report import PUBLISHED
from weightwise.evidence.protocol_runs import _train_valid, finetune_config

TINY = dict(
    data="digits",
    hidden=(16,),
    n_valid=100,
    pretrain_epochs=1,
    epoch_examples=100,
    max_examples=400,
    max_epochs=4,
    patience=2,
)
COUNTS = (20, 50)


def _y(n_per_class: int = 60, k: int = 10) -> np.ndarray:
    return np.random.default_rng(0).permutation(np.repeat(np.arange(k), n_per_class))


# --------------------------------------------------------------------------------------------------
# the labelled subsets


def test_balanced_subset_is_balanced_disjoint_and_fixed_per_seed():
    y = _y()
    lab, val = L.balanced_split(y, 30, seed=3, n_valid=100)
    assert np.bincount(y[lab], minlength=10).tolist() == [3] * 10
    assert np.bincount(y[val], minlength=10).tolist() == [10] * 10
    assert not set(lab) & set(val)
    lab2, val2 = L.balanced_split(y, 30, seed=3, n_valid=100)
    assert np.array_equal(lab, lab2) and np.array_equal(val, val2)
    # Another seed, another subset; the validation set does not depend on the label count, and the
    # smaller labelled subset lies within the larger one.
    other, _ = L.balanced_split(y, 30, seed=4, n_valid=100)
    assert not np.array_equal(lab, other)
    more, val3 = L.balanced_split(y, 50, seed=3, n_valid=100)
    assert np.array_equal(val, val3) and set(lab) <= set(more)


def test_balanced_subset_refuses_what_it_cannot_balance():
    y = _y(n_per_class=5)
    with pytest.raises(Exception, match="at least one image per class"):
        L.balanced_split(y, 5, seed=0, n_valid=20)
    with pytest.raises(Exception, match="ask for fewer labels"):
        L.balanced_split(y, 40, seed=0, n_valid=20)


@pytest.mark.skipif(not os.environ.get("WEIGHTWISE_MNIST"), reason="needs WEIGHTWISE_MNIST")
def test_mnist_subsets_are_balanced():
    from weightwise.evidence.data import load_dataset

    y = load_dataset("mnist", None, 1, os.environ["WEIGHTWISE_MNIST"]).y_train
    lab, val = L.balanced_split(y, 100, seed=0)
    assert np.bincount(y[lab]).tolist() == [10] * 10 and val.size == 1000
    assert not set(lab) & set(val)


# --------------------------------------------------------------------------------------------------
# the sweeps


@pytest.fixture
def counted(monkeypatch):
    """Count the pre-training and fine-tuning runs actually computed (the sweep runs in-process)."""
    calls = {"pretrain": 0, "finetune": 0}
    real_pre, real_fine = L.run_pretrain, L.run_finetune

    def pre(*a, **k):
        calls["pretrain"] += 1
        return real_pre(*a, **k)

    def fine(*a, **k):
        calls["finetune"] += 1
        return real_fine(*a, **k)

    monkeypatch.setattr(L, "run_pretrain", pre)
    monkeypatch.setattr(L, "run_finetune", fine)
    return calls


def _study(folder: Path):
    settings = L.LabelsSettings(**TINY).validate()
    return L.run_labels_study(
        folder, ("bp", "rbm"), COUNTS, 2, 3, settings=settings, sweep={"progress": False}
    )


def test_pretraining_runs_once_per_method_and_seed_and_serves_every_label_count(tmp_path, counted):
    study = _study(tmp_path)
    # rbm pre-trains for seeds 0, 1, 2 (3 seeds at 20 labels); bp has nothing to pre-train.
    assert counted["pretrain"] == 3
    assert len(list((tmp_path / "sweep" / "stacks").glob("*.safetensors"))) == 3
    n_selection = 2 * len(COUNTS) * len(L.RECIPES)
    n_final = 2 * (3 + 2)
    assert counted["finetune"] == n_selection + n_final
    assert len(study.results) == n_final
    runs = [json.loads(p.read_text()) for p in (tmp_path / "sweep" / "finetune" / "runs").glob("*")]
    stacks = {
        (r["config"]["seed"], r["config"]["n_labels"]): r["config"]["stack"]
        for r in runs
        if r["config"]["method"] == "rbm"
    }
    assert stacks[(0, 20)] == stacks[(0, 50)] is not None  # one stack, both label counts
    assert stacks[(0, 20)] != stacks[(1, 20)]
    # Selection never reads the test set; final runs read it once.
    assert all(r["test_error"] is None for r in study.selection)
    assert all(0.0 <= r["test_error"] <= 1.0 for r in study.results)
    assert set(study.chosen) == {f"{m}@{n}" for m in ("bp", "rbm") for n in COUNTS}
    assert set(study.chosen.values()) <= set(L.RECIPES)


def test_an_interrupted_study_resumes_where_it_stopped(tmp_path, counted):
    first = _study(tmp_path)
    done = dict(counted)
    # As if killed before the last final run and one stack were written.
    final = sorted((tmp_path / "sweep" / "finetune" / "runs").glob("*.json"))
    final[0].unlink()
    next(iter((tmp_path / "sweep" / "stacks").glob("*.safetensors"))).unlink()
    again = _study(tmp_path)
    assert counted["pretrain"] - done["pretrain"] == 1  # only the missing stack
    assert counted["finetune"] - done["finetune"] == 1  # only the missing run
    assert [r["test_error"] for r in again.results] == [r["test_error"] for r in first.results]


def test_choose_recipes_reads_validation_error_only():
    sel = [
        {"method": "bp", "n_labels": 100, "recipe": "sgd_0.1", "valid_error": 0.2, "test_error": 0.0},
        {"method": "bp", "n_labels": 100, "recipe": "adam_1e-3", "valid_error": 0.3, "test_error": 0.1},
        {"method": "bp", "n_labels": 600, "recipe": "sgd_0.1", "valid_error": 0.1},
        {"method": "bp", "n_labels": 600, "recipe": "adam_1e-3", "valid_error": 0.1},
    ]
    assert L.choose_recipes(sel) == {"bp@100": "sgd_0.1", "bp@600": "adam_1e-3"}  # ties: grid order


# --------------------------------------------------------------------------------------------------
# the command and its report


def _cli(tmp_path: Path, *extra: str):
    return invoke(
        "study", "labels", "--data", "digits", "--labels", "20,50", "--methods", "bp,dae",
        "--seeds", "1", "--seeds-fewest", "2", "--widths", "16", "--pretrain-epochs", "1",
        "--n-valid", "100", "--out", tmp_path / "out", "--no-progress", *extra,
    )  # fmt: skip


def test_cli_report_holds_the_table_the_figure_and_the_anchors(tmp_path, monkeypatch):
    for key in ("epoch_examples", "max_examples", "max_epochs", "patience"):
        monkeypatch.setitem(L.QUICK, key, TINY[key])  # --quick, tinier still
    result = _cli(tmp_path, "--quick")
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    assert "labels" in result.output and "report.html" in result.output
    for name in ("report.html", "report.md", "results.json", "table_labels.csv"):
        assert (out / name).is_file(), name
    png = (out / "figure_error_vs_labels.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((out / "results.json").read_text())
    rows = data["tables"]["labels"]["rows"]
    assert len(rows) == 2 * 2  # 2 methods x 2 label counts
    md = (out / "report.md").read_text()
    for source in PUBLISHED:
        assert source.split(" (")[0] in md
    assert "25.80%" in md and "13.47%" in md and "21.74%" in md
    assert "figure_error_vs_labels.png" in md
    again = _cli(tmp_path, "--quick")  # everything stored: reused, and said so
    assert again.exit_code == 0 and "reused" in again.output


def test_help_is_plain_at_80_columns():
    result = invoke("study", "labels", "--help")
    assert result.exit_code == 0
    text = result.output
    assert not [line for line in text.splitlines() if len(line) > WIDTH]
    assert "…" not in text and "╭" not in text and "\x1b[" not in text
    for flag in ("--labels", "--quick", "--n-jobs", "--scheduler", "--seeds", "--out"):
        assert flag in text
    assert "labels" in invoke("study", "--help").output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--labels", "5"), "label count must be >= 10"),
        (("--labels", "a"), "--labels"),
        (("--methods", "bp,nope"), "nope"),
        (("--seeds", "0"), "--seeds"),
        (("--n-jobs", "0"), "--n-jobs"),
        (("--data", "digits", "--download"), "--download"),
        (("--widths", "0"), "width"),
        (("--pretrain-epochs", "0"), "--pretrain-epochs"),
    ],
)
def test_bad_options_give_one_line_errors(tmp_path, args, fragment):
    result = invoke("study", "labels", "--data", "digits", "--out", tmp_path / "o", *args)
    assert_one_line_error(result, fragment)


def test_seed_0_final_runs_are_the_chosen_selection_runs_read_on_the_test_set(tmp_path, monkeypatch):
    """A final run of seed 0 reuses its selection run's stored network: the same validation
    error, epoch and curve, and the test error that fitting it again gives."""
    study = _study(tmp_path)
    models = tmp_path / "sweep" / "models"
    assert len(list(models.glob("*.safetensors"))) == len(study.selection)
    seed0 = [r for r in study.results if r["seed"] == 0]
    assert seed0 and all("selection_run" in r for r in seed0)
    assert all("selection_run" not in r for r in study.results if r["seed"] != 0)
    for r in seed0:
        twin = next(
            s
            for s in study.selection
            if (s["method"], s["n_labels"], s["recipe"]) == (r["method"], r["n_labels"], r["recipe"])
        )
        for key in ("valid_error", "best_epoch", "valid_curve", "top_epochs"):
            assert r[key] == twin[key]
    # Fitted afresh (no stored networks), seed 0 gives the same test errors.
    fresh = tmp_path / "fresh"
    shutil.copytree(tmp_path / "sweep", fresh / "sweep")
    shutil.rmtree(fresh / "sweep" / "finetune")
    shutil.rmtree(fresh / "sweep" / "models")
    again = _study(fresh)
    refit = {(r["method"], r["n_labels"]): r for r in again.results if r["seed"] == 0}
    assert all("selection_run" not in r for r in refit.values())
    for r in seed0:
        assert refit[r["method"], r["n_labels"]]["test_error"] == r["test_error"]
        assert refit[r["method"], r["n_labels"]]["valid_error"] == r["valid_error"]


def test_a_stored_network_that_no_longer_gives_its_validation_error_is_fitted_again(tmp_path):
    study = _study(tmp_path)
    for path in (tmp_path / "sweep" / "select" / "runs").glob("*.json"):
        run = json.loads(path.read_text())
        run["result"]["valid_error"] += 0.5  # as if the stored network were another run's
        path.write_text(json.dumps(run))
    shutil.rmtree(tmp_path / "sweep" / "finetune")
    again = _study(tmp_path)
    assert all("selection_run" not in r for r in again.results)
    assert [r["test_error"] for r in again.results] == [r["test_error"] for r in study.results]


# --------------------------------------------------------------------------------------------------
# --pseudo-labels: two more recipes for every method, fine-tuning on the unlabelled images too


def test_recipes_without_pseudo_labels_keep_the_keys_of_the_stored_runs():
    """The stored studies' run keys hash these dicts: the pseudo-label fields appear only in the
    recipes that use them."""
    assert L.RECIPES["adam_1e-4_top_wd"].keyed() == {
        "name": "adam_1e-4_top_wd", "optimizer": "adam", "learning_rate": 1e-4, "top_first": True,
        "weight_decay": 1e-3,
    }  # fmt: skip
    assert "pseudo_labels" not in L.RECIPES["sgd_0.1"].as_dict()
    assert L.PSEUDO_LABEL_RECIPES["adam_1e-4_pl3"].keyed() == {
        "name": "adam_1e-4_pl3", "optimizer": "adam", "learning_rate": 1e-4, "top_first": False,
        "weight_decay": 0.0, "pseudo_labels": 3.0, "pl_start": 5, "pl_full": 50,
    }  # fmt: skip


def _pl_config(n_labels: int | None, weight: float = 3.0) -> dict:
    """A fine-tuning run whose pseudo-label term is on from the first epoch (TINY has 4)."""
    settings = L.LabelsSettings(**TINY).validate()
    recipe = L.Recipe("pl", "adam", 1e-2, pseudo_labels=weight, pl_start=1, pl_full=2)
    return finetune_config("bp", 0, n_labels, recipe, settings, stack=None, test=False)


def test_pseudo_label_runs_learn_from_the_images_outside_the_labelled_and_validation_sets():
    X, y, Xv, yv, _, unlabelled = _train_valid(_pl_config(50), None)
    assert (X.shape[0], Xv.shape[0]) == (50, 100)
    n_train = load_dataset("digits", None, 1, None).X_train.shape[0]
    assert unlabelled.shape[0] == n_train - 50 - 100
    rows = {r.tobytes() for r in unlabelled}
    assert not any(r.tobytes() in rows for r in np.concatenate([X, Xv]))
    assert _train_valid(_pl_config(50, weight=0.0), None)[-1] is None
    with_pl = L.run_finetune(_pl_config(50), stacks="")
    without = L.run_finetune(_pl_config(50, weight=0.0), stacks="")
    assert with_pl["valid_curve"] != without["valid_curve"]
    with pytest.raises(ConfigError, match="pseudo-labels, which need unlabelled images"):
        L.run_finetune(_pl_config(None), stacks="")


def test_cli_pseudo_labels_adds_its_recipes_to_every_methods_grid(tmp_path, monkeypatch):
    for key in ("epoch_examples", "max_examples", "max_epochs", "patience"):
        monkeypatch.setitem(L.QUICK, key, TINY[key])
    result = invoke(
        "study", "labels", "--data", "digits", "--labels", "20", "--methods", "bp",
        "--seeds", "1", "--seeds-fewest", "1", "--widths", "8", "--n-valid", "100", "--quick",
        "--pseudo-labels", "--out", tmp_path / "out", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert list(data["metadata"]["config"]["recipes"]) == [*L.RECIPES, *L.PSEUDO_LABEL_RECIPES]
    assert "--pseudo-labels" in data["metadata"]["command"]
    selection = list((tmp_path / "out" / "sweep" / "select" / "runs").glob("*.json"))
    assert len(selection) == len(L.RECIPES) + len(L.PSEUDO_LABEL_RECIPES)
