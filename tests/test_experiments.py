"""The evidence experiments: one run, summaries, sweeps (resume, Dask), reproductions, bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from weightwise.errors import ConfigError, DataError
from weightwise.evidence.data import load_dataset
from weightwise.evidence.depth_report import depth_conclusion
from weightwise.evidence.diagnostics import flow_ratio
from weightwise.evidence.experiment_reports import compare_conclusion, summary_rows
from weightwise.evidence.experiments import METHODS, ExperimentConfig, run_configs, run_one
from weightwise.evidence.reproductions import REPRODUCTIONS, get_reproduction, reproduce
from weightwise.evidence.studies import compare, compare_configs

# Tiny: 2 hidden layers of 8 units, 200 training and 100 test digits, 2 epochs.
TINY: dict[str, Any] = {
    "hidden": [8, 8],
    "epochs": 2,
    "pretrain_epochs": 1,
    "n_train": 200,
    "n_test": 100,
    "info_samples": 40,
    "info_every": 1,
    "grad_samples": 100,
    "n_features": 4,
}
TIMING_KEYS = ("seconds", "pretrain_seconds", "finetune_seconds")


def tiny(method: str = "bp", seed: int = 0, **kw: Any) -> dict[str, Any]:
    return ExperimentConfig.from_dict({**TINY, "method": method, "seed": seed, **kw}).to_dict()


def without_times(result: Any) -> Any:
    if isinstance(result, dict):
        return {k: without_times(v) for k, v in result.items() if k not in TIMING_KEYS}
    if isinstance(result, list):
        return [without_times(v) for v in result]
    return result


@pytest.fixture(scope="module")
def bp_result() -> dict[str, Any]:
    return run_one(tiny("bp"))


def test_run_one_measures_what_it_says(bp_result: dict[str, Any]) -> None:
    r = bp_result
    json.dumps(r, allow_nan=False)  # plain JSON, NaN stored as None
    assert r["method"] == "bp" and r["depth"] == 2 and r["hidden"] == [8, 8]
    assert (r["n_train"], r["n_test"]) == (200, 100)
    assert r["test_error"] == pytest.approx(1.0 - r["test_accuracy"])
    assert 0.0 <= r["test_accuracy"] <= 1.0
    # per layer, the output layer last; the ratio is layer 1 over the last hidden layer
    for key in ("grad_norm_init", "grad_norm_start", "grad_norm_final"):
        assert len(r[key]) == 3 and all(v > 0 for v in r[key])
    assert r["grad_norm_start"] == r["grad_norm_init"]  # no pre-training for plain BP
    assert r["grad_ratio_init"] == pytest.approx(flow_ratio(r["grad_norm_init"])[2])
    assert r["grad_ratio_init"] == pytest.approx(r["grad_norm_init"][0] / r["grad_norm_init"][1])
    assert len(r["curves"]["loss"]) == 2 and len(r["curves"]["test_accuracy"]) == 2
    # the last monitored test accuracy is the final network's
    assert r["curves"]["test_accuracy"][-1] == pytest.approx(r["test_accuracy"], abs=1e-6)
    assert np.array(r["flow"]["grad_norm"]).shape == (2, 3)
    assert np.array(r["flow"]["saturation"]).shape == (2, 3)
    assert r["info_plane"]["epochs"] == [1, 2] and len(r["info_plane"]["I_XT"][0]) == 2
    assert np.array(r["features"]).shape == (64, 4) and r["image_shape"] == [8, 8]
    assert r["diverged"] is False and r["seconds"] > 0


def test_run_one_is_deterministic(bp_result: dict[str, Any]) -> None:
    again = json.loads(json.dumps(run_one(tiny("bp"))))
    assert without_times(again) == without_times(json.loads(json.dumps(bp_result)))


@pytest.mark.parametrize("method", ["rbm", "dae", "relu_he"])
def test_every_method_runs(method: str) -> None:
    r = run_one(tiny(method, info_samples=0))
    assert r["method"] == method and r["info_plane"] is None
    if METHODS[method].learner is None:
        assert r["grad_norm_start"] == r["grad_norm_init"] and r["pretrain_seconds"] == 0.0
    else:  # pre-training changed the weights before BP started
        assert r["grad_norm_start"] != r["grad_norm_init"] and r["pretrain_seconds"] > 0
    assert r["activation"] == METHODS[method].activation


def test_overrides_and_npz_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    X = rng.random((120, 9)).astype(np.float32)
    y = (X[:, 0] > 0.5).astype(int)
    path = tmp_path / "toy.npz"
    np.savez(path, X=X, y=y)
    cfg = tiny("bp", data=str(path), activation="tanh", init="xavier_uniform", label="Tanh N")
    cfg.update(n_train=None, n_test=None)
    r = run_one(cfg)
    assert (r["n_train"], r["n_test"]) == (90, 30) and r["label"] == "Tanh N"
    assert r["activation"] == "tanh" and r["image_shape"] == [3, 3]


def test_data_subsets_are_fixed_and_shared() -> None:
    a = load_dataset("digits", 100, 50)
    b = load_dataset("digits", 100, 50)
    assert a.X_train.shape == (100, 64) and a.X_test.shape == (50, 64)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert load_dataset("digits").X_train.shape[0] > 1000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"method": "sgd"}, "valid methods: 'ae', 'bp'"),
        ({"data": "cifar"}, "valid data sets: 'digits', 'mnist'"),
        ({"hidden": []}, "depth must be between 1 and 20"),
        ({"hidden": [8] * 21}, "depth must be between 1 and 20"),
        ({"hidden": [8, 0]}, "width must be an integer in 1..10000"),
        ({"hidden": [8, 20_000]}, "width must be an integer in 1..10000"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"learning_rate": -1.0}, "learning_rate must be a positive finite number"),
        ({"activation": "swish"}, "valid activations"),
        ({"lr": 0.1}, "unknown experiment setting(s) ['lr']"),
    ],
)
def test_bad_config(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        ExperimentConfig.from_dict({**TINY, **change})
    assert message in str(err.value)


def test_missing_npz_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        ExperimentConfig.from_dict({"data": str(tmp_path / "none.npz")})


def test_compare_configs_share_settings() -> None:
    configs = compare_configs(["bp", "relu_he"], 2, **TINY)
    assert [(c["method"], c["seed"]) for c in configs] == [
        ("bp", 0),
        ("bp", 1),
        ("relu_he", 0),
        ("relu_he", 1),
    ]
    # the information plane only for the first seed; everything else the same
    assert [c["info_samples"] for c in configs] == [40, 0, 40, 0]
    assert len({json.dumps({**c, "method": 0, "seed": 0, "info_samples": 0}) for c in configs}) == 1
    with pytest.raises(ConfigError, match="valid methods"):
        compare_configs(["bp", "xyz"], 1)


def _fake(method: str, seed: int, acc: float, r0: float, r1: float, depth: int = 5) -> dict[str, Any]:
    return {
        "method": method,
        "label": METHODS[method].label,
        "seed": seed,
        "depth": depth,
        "data": "digits",
        "n_train": 10,
        "n_test": 5,
        "test_accuracy": acc,
        "test_error": 1 - acc,
        "grad_ratio_init": r0,
        "grad_ratio_start": r0,
        "grad_ratio_final": r1,
        "seconds": 1.0,
        "diverged": False,
    }


def test_summary_rows_mean_std_and_geometric_ratio() -> None:
    results = [_fake("bp", 0, 0.8, 1e-4, 1e-2), _fake("bp", 1, 0.9, 1e-2, 1e-2)]
    results.append(_fake("relu_he", 0, 0.95, 1.0, 2.0))
    rows = summary_rows(results)
    assert [r["method"] for r in rows] == ["bp", "relu_he"]
    assert rows[0]["test_accuracy"] == pytest.approx(0.85)
    assert rows[0]["test_accuracy_std"] == pytest.approx(0.05)
    assert rows[0]["grad_ratio_init"] == pytest.approx(1e-3)  # geometric mean of 1e-4 and 1e-2
    cfg = {"hidden": [8] * 5, "epochs": 3, "batch_size": 32, "learning_rate": 0.1, "momentum": 0.9}
    text = compare_conclusion(rows, cfg, results)
    assert "85.00% +- 5.00%" in text and "1/1,000" in text and "95.00%" in text
    assert "vanishes" in text


def test_depth_conclusion_reads_the_numbers() -> None:
    results = [_fake("bp", 0, acc, 0.1, 0.1, depth=d) for d, acc in ((1, 0.9), (4, 0.89), (9, 0.5))]
    results += [_fake("relu_he", 0, acc, 1, 1, depth=d) for d, acc in ((1, 0.9), (4, 0.95), (9, 0.94))]
    # an unstable depth ends the reach even though a deeper one recovers
    results += [_fake("rbm", 0, acc, 1, 1, depth=d) for d, acc in ((1, 0.95), (4, 0.6), (9, 0.95))]
    text = depth_conclusion(summary_rows(results, by=("label", "depth")))
    assert "lowest test error 10.00% with 1 hidden layer; 50.00% with 9" in text
    assert "up to 4 hidden layers" in text and "consistent with the passage's claim" in text
    assert "relu_he up to 9 layers" in text and "rbm up to 1 layer." in text


def test_compare_resumes_without_recomputing(tmp_path: Path) -> None:
    settings = {**TINY, "info_samples": 0}
    report, files, results = compare(tmp_path, ["bp", "relu_he"], 1, progress=False, **settings)
    runs = sorted((tmp_path / "sweep" / "runs").glob("*.json"))
    assert len(runs) == 2
    mtimes = [p.stat().st_mtime_ns for p in runs]
    time.sleep(0.05)
    report2, _, results2 = compare(tmp_path, ["bp", "relu_he"], 1, progress=False, **settings)
    assert [p.stat().st_mtime_ns for p in runs] == mtimes  # nothing recomputed or rewritten
    assert results2 == results
    assert report2.tables["summary"].rows == report.tables["summary"].rows
    assert files.html.exists() and json.loads(files.json.read_text())["tables"]["summary"]
    # another sweep in the same folder is refused, unless overwrite
    with pytest.raises(ConfigError, match="different sweep"):
        compare(tmp_path, ["bp"], 1, progress=False, **settings)
    compare(tmp_path, ["bp"], 1, progress=False, overwrite=True, **settings)
    assert len(list((tmp_path / "sweep" / "runs").glob("*.json"))) == 1


def test_dask_local_cluster_equals_joblib(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    configs = [tiny("bp", info_samples=0), tiny("relu_he", info_samples=0)]
    with_joblib = run_configs(configs, tmp_path / "joblib", n_jobs=2, progress=False)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        with_dask = run_configs(
            configs, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False
        )
    assert without_times(with_dask) == without_times(with_joblib)


def test_reproduction_registry() -> None:
    assert set(REPRODUCTIONS) == {"hinton2006", "vincent2010", "erhan2010", "glorot2010"}
    assert get_reproduction("hinton2006").published[0].test_error == pytest.approx(0.012)
    assert get_reproduction("vincent2010").published[0].test_error == pytest.approx(0.0128)
    for rep in REPRODUCTIONS.values():
        assert rep.source and rep.published
        for quick in (True, False):
            configs = rep.configs(quick, 1)
            methods = {c["method"] for c in configs}
            assert all(p.method in methods for p in rep.published)
            assert all(c["data"] == "mnist" for c in configs)
        full, fast = rep.configs(False, 1), rep.configs(True, 1)
        assert fast[0]["epochs"] < full[0]["epochs"]
    hinton = get_reproduction("hinton2006").configs(False, 1)
    assert hinton[0]["hidden"] == [500, 500, 2000] and hinton[0]["n_train"] is None
    with pytest.raises(ConfigError, match="valid reproductions: 'erhan2010'"):
        get_reproduction("lecun1998")


def test_reproduce_glorot_quick_on_digits(tmp_path: Path) -> None:
    report, files, results = reproduce(
        "glorot2010",
        tmp_path,
        quick=True,
        progress=False,
        data="digits",
        hidden=[8] * 3,
        epochs=1,
        n_train=200,
        n_test=100,
    )
    assert {r["label"] for r in results} == {"Sigmoid", "Sigmoid N", "Tanh", "Tanh N"}
    table = json.loads(files.json.read_text())["tables"]["published"]
    cols = table["columns"]
    by_system = {row[cols.index("system")]: row for row in table["rows"]}
    assert by_system["Tanh N"][cols.index("published_test_error")] == pytest.approx(0.0164)
    measured = next(r for r in results if r["label"] == "Tanh N")["test_error"]
    assert by_system["Tanh N"][cols.index("measured_test_error")] == pytest.approx(measured)
