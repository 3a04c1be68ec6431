"""Sweeps: stable keys, runs stored as they finish, resume after a kill, joblib == Dask, and the
folder and scheduler errors a user can meet."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from weightwise.errors import ConfigError
from weightwise.evidence.sweep import (
    SchedulerError,
    SweepRunError,
    canonical_json,
    load_runs,
    run_sweep,
    sweep_id,
    sweep_key,
)


def noisy_mean(config: dict[str, Any]) -> dict[str, Any]:
    """A run whose result depends on its config only: seeded draws, a NumPy scalar, an array."""
    rng = np.random.default_rng(config["seed"])
    draws = rng.normal(config["x"], 1.0, size=50)
    return {"mean": np.float64(draws.mean()), "head": draws[:2], "x": config["x"]}


def _configs(n: int = 6) -> list[dict[str, Any]]:
    return [{"x": i, "seed": 100 + i, "widths": (4, 3)} for i in range(n)]


class Counter:
    """Calls ``noisy_mean`` and counts the calls per x."""

    def __init__(self) -> None:
        self.calls: dict[int, int] = {}

    def __call__(self, config: dict[str, Any]) -> dict[str, Any]:
        self.calls[config["x"]] = self.calls.get(config["x"], 0) + 1
        return noisy_mean(config)


def test_keys_are_canonical_and_stable() -> None:
    config = {"seed": 0, "method": "rbm", "widths": (64, 32), "lr": 0.1}
    assert canonical_json(config) == '{"lr":0.1,"method":"rbm","seed":0,"widths":[64,32]}'
    # Pinned: a changed key would orphan every stored run of every existing sweep folder.
    assert sweep_key(config) == "4caccb34b8c4332a781ac838bda55b37eb51ff842808663a5493ec3f5923ddf4"
    reordered = {"widths": [np.int64(64), 32], "lr": np.float64(0.1), "method": "rbm", "seed": 0}
    assert sweep_key(reordered) == sweep_key(config)
    assert sweep_key({**config, "seed": 1}) != sweep_key(config)
    assert sweep_key({**config, "widths": (32, 64)}) != sweep_key(config)
    assert sweep_id([config, {"seed": 1}]) == sweep_id([{"seed": 1}, config, config])
    assert sweep_id([config]) != sweep_id([config, {"seed": 1}])
    for bad, match in [({"lr": float("nan")}, "finite"), ({"s": {1, 2}}, "JSON"), ({1: "a"}, "string")]:
        with pytest.raises(ConfigError, match=match):
            sweep_key(bad)


def test_progress_bar_goes_to_stderr(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    run_sweep(_configs(2), noisy_mean, tmp_path, progress=True, name="demo")
    out, err = capfd.readouterr()
    assert out == "" and "2/2" in err


def test_results_in_config_order_stored_as_json(tmp_path: Path) -> None:
    configs = _configs(4)
    configs.append(dict(configs[1]))  # a repeat runs once and is returned twice
    fn = Counter()
    results = run_sweep(configs[::-1], fn, tmp_path, progress=False)
    assert [r["x"] for r in results] == [1, 3, 2, 1, 0]
    assert fn.calls == {0: 1, 1: 1, 2: 1, 3: 1}
    assert isinstance(results[0]["mean"], float) and isinstance(results[0]["head"], list)
    assert results[0] == results[3] and results[0] is not results[3]
    stored = load_runs(tmp_path)
    assert len(stored) == 4
    for r in stored.values():
        assert r["key"] == sweep_key(r["config"]) and r["seconds"] >= 0
        assert r["result"] == json.loads(json.dumps(noisy_mean(r["config"]), default=np.ndarray.tolist))
    manifest = json.loads((tmp_path / "sweep.json").read_text())
    assert manifest["sweep_id"] == sweep_id(configs) and manifest["n_runs"] == 4
    # Same sweep, other order: everything comes from the stored runs.
    again = run_sweep(configs, fn, tmp_path, progress=False)
    assert fn.calls == {0: 1, 1: 1, 2: 1, 3: 1}
    assert again == results[::-1]
    assert not list((tmp_path / "runs").glob("*.tmp"))


_SCRIPT = """
import json, sys, time, uuid
from pathlib import Path
from weightwise.evidence.sweep import run_sweep

folder, calls, pause = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])

def fn(config):
    time.sleep(pause)
    (calls / f"{config['x']}-{uuid.uuid4().hex}").touch()
    return {"y": config["x"] ** 2 + 0.5, "seed": config["seed"], "nan": float("nan")}

if __name__ == "__main__":
    configs = [{"x": i, "seed": 7} for i in range(8)]
    print(json.dumps(run_sweep(configs, fn, folder, progress=False)))
"""


def test_resume_after_kill_recomputes_no_finished_run(tmp_path: Path) -> None:
    script = tmp_path / "sweep_script.py"
    script.write_text(textwrap.dedent(_SCRIPT))
    calls = tmp_path / "calls"
    calls.mkdir()
    folder = tmp_path / "sweep"
    env = {**os.environ, "PYTHONHASHSEED": "1"}
    proc = subprocess.Popen([sys.executable, str(script), str(folder), str(calls), "0.4"], env=env)
    try:
        deadline = time.monotonic() + 60
        while len(list((folder / "runs").glob("*.json"))) < 3:
            assert proc.poll() is None, "the sweep ended before it could be interrupted"
            assert time.monotonic() < deadline, "no runs stored within 60 s"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finished = {load["config"]["x"] for load in load_runs(folder).values()}
    assert 3 <= len(finished) < 8  # stored while the sweep was still running, and it was cut short

    env["PYTHONHASHSEED"] = "2"  # another process, another hash seed: the same keys
    out = subprocess.run(
        [sys.executable, str(script), str(folder), str(calls), "0"],
        env=env,
        capture_output=True,
        check=True,
    )
    resumed = json.loads(out.stdout)
    n_calls = {x: len(list(calls.glob(f"{x}-*"))) for x in range(8)}
    assert all(n_calls[x] == 1 for x in finished), n_calls  # no finished run computed again
    assert all(n >= 1 for n in n_calls.values())

    fresh = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "fresh"), str(calls), "0"],
        env=env,
        capture_output=True,
        check=True,
    )
    assert out.stdout == fresh.stdout  # identical to an uninterrupted sweep, NaN included
    assert [r["y"] for r in resumed] == [x**2 + 0.5 for x in range(8)]


def test_dask_local_cluster_equals_joblib(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    configs = _configs(5)
    by_joblib = run_sweep(configs, noisy_mean, tmp_path / "joblib", n_jobs=2, progress=False)
    with distributed.LocalCluster(
        processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        by_dask = run_sweep(
            configs, noisy_mean, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False
        )
        with pytest.raises(SweepRunError, match=r"ValueError: diverged") as info:
            run_sweep(configs, fails_at_2, tmp_path / "fail", scheduler=cluster.scheduler_address)
        assert info.value.key == sweep_key(configs[2])
    assert by_dask == by_joblib
    assert by_joblib == run_sweep(configs, noisy_mean, tmp_path / "here", progress=False)
    assert set(load_runs(tmp_path / "dask")) == set(load_runs(tmp_path / "joblib"))


def test_unreachable_scheduler_fails_fast(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    start = time.monotonic()
    with pytest.raises(SchedulerError, match=r"tcp://127\.0\.0\.1:1.*dask scheduler"):
        run_sweep(_configs(2), noisy_mean, tmp_path, scheduler="tcp://127.0.0.1:1", connect_timeout=2)
    assert time.monotonic() - start < 10
    assert load_runs(tmp_path) == {}


def test_folder_of_another_sweep_is_refused_unless_overwrite(tmp_path: Path) -> None:
    first = run_sweep(_configs(3), noisy_mean, tmp_path, progress=False)
    other = [{**c, "seed": c["seed"] + 1} for c in _configs(2)]
    with pytest.raises(ConfigError, match="different sweep.*overwrite"):
        run_sweep(other, noisy_mean, tmp_path, progress=False)
    assert len(load_runs(tmp_path)) == 3  # refusing touched nothing
    second = run_sweep(other, noisy_mean, tmp_path, progress=False, overwrite=True)
    assert second != first[:2]
    assert {r["config"]["seed"] for r in load_runs(tmp_path).values()} == {101, 102}
    assert json.loads((tmp_path / "sweep.json").read_text())["sweep_id"] == sweep_id(other)

    orphan = tmp_path / "orphan"
    (orphan / "runs").mkdir(parents=True)
    (orphan / "runs" / "abc.json").write_text("{}")
    with pytest.raises(ConfigError, match="no sweep.json"):
        run_sweep(other, noisy_mean, orphan, progress=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        run_sweep(other, noisy_mean, tmp_path / "file", progress=False)


def fails_at_2(config: dict[str, Any]) -> dict[str, Any]:
    if config["x"] == 2:
        raise ValueError("diverged")
    return {"x": config["x"]}


def test_failing_run_keeps_finished_runs(tmp_path: Path) -> None:
    fn = fails_at_2
    with pytest.raises(SweepRunError, match=r"ValueError: diverged.*\"x\":2.*resume") as info:
        run_sweep(_configs(4), fn, tmp_path, progress=False)
    assert info.value.config["x"] == 2
    assert sorted(r["result"]["x"] for r in load_runs(tmp_path).values()) == [0, 1]
    # From a joblib worker process too, the error names the run that failed.
    with pytest.raises(SweepRunError, match=r"\"x\":2") as info:
        run_sweep(_configs(4), fn, tmp_path / "parallel", n_jobs=2, progress=False)
    assert info.value.key == sweep_key(_configs(4)[2])
    with pytest.raises(SweepRunError, match="must return a dict"):
        run_sweep([{"x": 9}], lambda c: [1], tmp_path / "b", progress=False)
    with pytest.raises(SweepRunError, match="not JSON"):
        run_sweep([{"x": 9}], lambda c: {"f": object()}, tmp_path / "c", progress=False)
    with pytest.raises(ConfigError, match="n_jobs"):
        run_sweep([{"x": 9}], fn, tmp_path / "d", n_jobs=0)
    with pytest.raises(ConfigError, match="list of dicts"):
        run_sweep({"x": 9}, fn, tmp_path / "e")  # type: ignore[arg-type]


_WORKERS_SCRIPT = """
import os, sys, time
from weightwise.evidence.sweep import run_sweep

def slow(config):
    (__import__("pathlib").Path(sys.argv[2]) / str(os.getpid())).write_text("")
    time.sleep(60)
    return {"x": config["x"]}

run_sweep([{"x": i} for i in range(4)], slow, sys.argv[1], n_jobs=2, progress=False)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:  # a zombie is dead: it only waits to be reaped
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_exit_soon_after_the_sweep_is_killed(tmp_path: Path) -> None:
    """Finding 12: a kill -9 of a --n-jobs 2 sweep must not leave its workers running."""
    script = tmp_path / "workers.py"
    script.write_text(_WORKERS_SCRIPT)
    pids = tmp_path / "pids"
    pids.mkdir()
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "sweep"), str(pids)])
    try:
        deadline = time.monotonic() + 60
        while len(list(pids.iterdir())) < 2:
            assert proc.poll() is None, "the sweep ended before its workers started"
            assert time.monotonic() < deadline, "no two workers within 60 s"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    workers = [int(p.name) for p in pids.iterdir()]
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:  # do not leave them behind even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not left, f"workers {left} still running 5 s after the sweep was killed"
