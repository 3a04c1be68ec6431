"""``weightwise reproduce hinton2006`` / ``vincent2010`` by the protocol: selection on validation
only, the chosen recipe the lowest validation error, every final seed run, stored runs reused, a
report with mean ± std. Tiny settings on the built-in digits; MNIST only with WEIGHTWISE_MNIST."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from weightwise.evidence import protocol_runs as E
from weightwise.evidence.protocol_reproductions import ProtocolRecipe, run_protocol
from weightwise.evidence.reproductions import FINETUNE_GRID, HINTON_PROTOCOL, reproduce

TINY = dict(
    data="digits",
    hidden=(16,),
    n_unlabelled=None,
    n_train=None,
    n_valid=200,
    n_test=None,
    pretrain_epochs=1,
    epoch_examples=100,
    max_examples=10**6,
    max_epochs=2,
    patience=2,
)
GRID = {k: FINETUNE_GRID[k] for k in ("adam_1e-3_x0.9", "adam_1e-3_x0.9_top", "sgd_0.1")}
TINY_RECIPE = ProtocolRecipe(("rbm", "bp"), TINY, TINY, GRID, seeds=3, quick_seeds=3)


@pytest.fixture
def test_reads(monkeypatch):
    """Every read of the test set (the configs of the runs that asked for it)."""
    reads = []
    real = E._test_error

    def spy(net, config, mnist_path):
        reads.append(dict(config))
        return real(net, config, mnist_path)

    monkeypatch.setattr(E, "_test_error", spy)
    return reads


def _run(folder: Path):
    sweep = {"progress": False}
    return run_protocol(TINY_RECIPE, folder, quick=False, seeds=None, sweep=sweep, name="t")


def test_selection_never_reads_the_test_set_and_finals_read_it_once(tmp_path, test_reads):
    study = _run(tmp_path)
    assert len(study.selection) == 2 * len(GRID)
    assert all(r["test_error"] is None for r in study.selection)
    # Only final runs read the test set, each once.
    assert len(test_reads) == len(study.results) == 2 * 3
    assert all(c["test"] and c["phase"] == "finetune" for c in test_reads)
    # Every labelled image but the last n_valid is fitted on (digits: 1,347 training images).
    assert {r["n_labelled"] for r in study.results} == {study.results[0]["n_labelled"]}
    assert study.results[0]["n_labelled"] + TINY["n_valid"] == 1347


def test_the_chosen_recipe_is_the_lowest_validation_error_and_every_seed_runs(tmp_path):
    study = _run(tmp_path)
    for method in ("rbm", "bp"):
        runs = [r for r in study.selection if r["method"] == method]
        assert {r["seed"] for r in runs} == {0} and {r["recipe"] for r in runs} == set(GRID)
        best = min(runs, key=lambda r: (r["valid_error"], list(GRID).index(r["recipe"])))
        assert study.chosen[f"{method}@all"] == best["recipe"]
        finals = [r for r in study.results if r["method"] == method]
        assert sorted(r["seed"] for r in finals) == [0, 1, 2]
        assert {r["recipe"] for r in finals} == {best["recipe"]}
        assert all(0.0 <= r["test_error"] <= 1.0 for r in finals)


def test_a_second_call_reuses_every_stored_run(tmp_path, test_reads):
    first = _run(tmp_path)
    stored = {p: p.stat().st_mtime_ns for p in (tmp_path / "sweep").glob("*/runs/*.json")}
    assert len(stored) == 1 * 3 + 2 * len(GRID) + 2 * 3  # pre-training, selection, finals
    reads = len(test_reads)
    again = _run(tmp_path)
    assert {p: p.stat().st_mtime_ns for p in stored} == stored
    assert len(test_reads) == reads  # nothing ran again
    assert [r["test_error"] for r in again.results] == [r["test_error"] for r in first.results]


def test_protocol_recipes_are_written_down():
    for recipe in (HINTON_PROTOCOL,):
        assert set(recipe.methods) >= {"bp", "relu_he"} and recipe.seeds >= 3
        assert recipe.settings["n_valid"] == 10_000 and recipe.settings["n_unlabelled"] is None
    assert HINTON_PROTOCOL.settings["hidden"] == (500, 500, 2000)


def _quick_report(tmp_path: Path, **settings):
    report, files, results = reproduce("hinton2006", tmp_path, quick=True, progress=False, **settings)
    md = (tmp_path / "report.md").read_text()
    table = json.loads(files.json.read_text())["tables"]["published"]
    rows = [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]
    return md, rows, results


def test_quick_reproduction_report_has_mean_and_std(tmp_path):
    md, rows, results = _quick_report(tmp_path, **{**TINY, "epochs": 1})
    assert sorted({r["seed"] for r in results}) == [0, 1, 2]
    by = {r["method"]: r for r in rows}
    assert by["rbm"]["published_test_error"] == pytest.approx(0.012)
    assert by["rbm"]["runs"] == 3 and " ± " in by["rbm"]["measured"]
    assert by["relu_he"]["runs"] == 3  # the modern baseline, measured here only
    assert "Selection runs (seed 0)" in md and " ± " in md


@pytest.mark.skipif(not os.environ.get("WEIGHTWISE_MNIST"), reason="needs WEIGHTWISE_MNIST")
def test_quick_reproduction_on_mnist(tmp_path):
    md, rows, _ = _quick_report(
        tmp_path,
        mnist_path=os.environ["WEIGHTWISE_MNIST"],
        hidden=(32,),
        n_unlabelled=1200,
        n_train=1200,
        n_valid=200,
        n_test=500,
        pretrain_epochs=1,
        epochs=1,
    )
    assert all(" ± " in r["measured"] for r in rows)
    assert "1000 labelled training images" in md and "next 200" in md
