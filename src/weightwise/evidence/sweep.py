"""Many runs: one function over many configurations, in parallel, stored as they finish, resumable.

:func:`run_sweep` calls ``fn(config) -> dict`` for every configuration, one process per run with
joblib (``n_jobs``) or on a Dask cluster (``scheduler``). The output folder holds::

    folder/sweep.json          the manifest: which sweep this folder belongs to
    folder/runs/<key>.json     one file per finished run: its config and result

``key`` is the SHA-256 of the configuration's canonical JSON (sorted keys, no spaces, tuples as
lists), so the same configuration always maps to the same file. Each run file is written atomically
(a temporary file, then ``os.replace``) the moment its run finishes, in the calling process, so a
sweep killed at any point leaves only whole run files, and running it again computes only what is
missing. Results always come back through JSON, so a fresh run and a stored one are identical.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._util import atomic_write_bytes
from ..checks import is_integer
from ..errors import ConfigError, WeightwiseError
from ..io import jsonable

SWEEP_FORMAT = "weightwise-sweep"
SWEEP_VERSION = 1
MANIFEST = "sweep.json"
RUNS = "runs"

RunFn = Callable[[dict[str, Any]], Mapping[str, Any]]
Runs = Generator[tuple[str, Any, float], None, None]  # (key, result, seconds) as runs finish


class SweepRunError(WeightwiseError, RuntimeError):
    """One run of a sweep raised; the runs that finished before it are stored.

    Attributes
    ----------
    key : str
        The failed run's key.
    config : dict
        The failed run's configuration.
    """

    def __init__(self, message: str, key: str, config: dict[str, Any]) -> None:
        super().__init__(message)
        self.key = key
        self.config = config

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled back from joblib and Dask workers with all three arguments.
        return (type(self), (str(self), self.key, self.config))


class SchedulerError(WeightwiseError, ConnectionError):
    """The Dask scheduler could not be reached (or its address is malformed)."""


# --------------------------------------------------------------------------- keys


def canonical_json(config: Mapping[str, Any]) -> str:
    """The one JSON text of a configuration: sorted keys, no spaces, tuples as lists, ASCII."""
    if not isinstance(config, Mapping):
        raise ConfigError(f"a configuration must be a dict, got {type(config).__name__}")
    plain = jsonable(config, "config", finite=True)
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sweep_key(config: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of :func:`canonical_json`: the run's file name, stable across processes."""
    return hashlib.sha256(canonical_json(config).encode("ascii")).hexdigest()


def sweep_id(configs: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 (hex) of the sweep's distinct run keys, sorted: the same set of runs in any order
    (or with repeats) is the same sweep."""
    keys = sorted({sweep_key(c) for c in configs})
    return hashlib.sha256("\n".join(keys).encode("ascii")).hexdigest()


# --------------------------------------------------------------------------- files


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` so that ``path`` is either absent, the old file, or the whole new file."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _result_json(result: Any, key: str, config: dict[str, Any]) -> Any:
    """The result as it comes back from JSON (what a stored run gives), or a clear error."""
    if not isinstance(result, Mapping):
        raise SweepRunError(
            f"run {key[:12]} returned a {type(result).__name__}; the run function must return a dict",
            key,
            config,
        )

    def default(obj: Any) -> Any:
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, np.generic):
            return obj.item()
        raise TypeError(f"{type(obj).__name__} is not JSON serialisable")

    try:
        # NaN and infinities are kept (Python's json reads them back): a diverged run's loss is NaN.
        return json.loads(json.dumps(dict(result), default=default))
    except (TypeError, ValueError) as exc:
        raise SweepRunError(
            f"run {key[:12]} returned a result that is not JSON: {exc}; return numbers, strings, "
            "lists and dicts (NumPy arrays are converted)",
            key,
            config,
        ) from exc


def _read_run(path: Path, key: str) -> dict[str, Any] | None:
    """A stored run, or None if absent or unusable (then it is simply computed again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key or not isinstance(data.get("result"), dict):
        return None
    return data


def load_runs(folder: str | Path) -> dict[str, dict[str, Any]]:
    """Every stored run of a sweep folder: ``key -> {"key", "config", "result", "seconds"}``."""
    runs = Path(folder) / RUNS
    out = {}
    for path in sorted(runs.glob("*.json")) if runs.is_dir() else []:
        data = _read_run(path, path.stem)
        if data is not None:
            out[path.stem] = data
    return out


def _manifest(identity: str, keys: list[str], name: str | None) -> dict[str, Any]:
    return {
        "format": SWEEP_FORMAT,
        "version": SWEEP_VERSION,
        "sweep_id": identity,
        "name": name,
        "n_runs": len(keys),
        "keys": keys,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _stored_run_files(runs: Path) -> list[Path]:
    return [p for p in runs.iterdir() if p.suffix in (".json", ".tmp")] if runs.is_dir() else []


def _claim_folder(
    folder: Path, identity: str, keys: list[str], name: str | None, overwrite: bool
) -> None:
    """Make ``folder`` this sweep's: refuse one holding another sweep's runs unless ``overwrite``."""
    manifest_path = folder / MANIFEST
    runs = folder / RUNS
    other: str | None = None
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
            old_id = old["sweep_id"] if old.get("format") == SWEEP_FORMAT else None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            old_id = None
        if old_id == identity:
            runs.mkdir(exist_ok=True)
            return
        other = (
            f"the results of a different sweep (id {old_id[:12]}, {old.get('n_runs', '?')} runs)"
            if old_id
            else f"a {MANIFEST} that is not a weightwise sweep manifest"
        )
    elif _stored_run_files(runs):
        other = f"stored runs in {runs} but no {MANIFEST}"
    if other is not None:
        if not overwrite:
            raise ConfigError(
                f"the output folder {folder} holds {other}; choose another folder, or pass "
                "overwrite=True (--overwrite) to discard them"
            )
        for path in _stored_run_files(runs):
            path.unlink()
    runs.mkdir(parents=True, exist_ok=True)
    _atomic_write(manifest_path, json.dumps(_manifest(identity, keys, name), indent=2) + "\n")


# --------------------------------------------------------------------------- executors


def _timed_call(fn: RunFn, key: str, config: dict[str, Any]) -> tuple[str, Any, float]:
    """Run one configuration where the executor puts it; the result is checked by the caller.

    A failure is raised as a :class:`SweepRunError` here, in the worker, because only here is it
    known which run failed (joblib re-raises a worker's exception without saying which task).
    """
    start = time.perf_counter()
    try:
        result = fn(copy.deepcopy(config))
    except Exception as exc:
        raise _failed(key, config, exc) from exc
    return key, result, time.perf_counter() - start


def _run_sequential(fn: RunFn, pending: list[tuple[str, dict[str, Any]]]) -> Runs:
    for key, config in pending:
        yield _timed_call(fn, key, config)


def _run_joblib(fn: RunFn, pending: list[tuple[str, dict[str, Any]]], n_jobs: int) -> Runs:
    from joblib import Parallel, delayed

    # Unordered: each result arrives (and is stored) the moment its run ends, not in config order.
    parallel = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
    me = os.getpid()
    yield from parallel(delayed(_worker_call)(fn, key, config, me) for key, config in pending)


def _worker_call(fn: RunFn, key: str, config: dict[str, Any], parent: int) -> tuple[str, Any, float]:
    """:func:`_timed_call` in a joblib worker that exits as soon as the sweep's process dies."""
    _exit_with_parent(parent)
    return _timed_call(fn, key, config)


_WATCHED_PARENT: int | None = None


def _exit_with_parent(parent: int) -> None:
    """In a worker process, start (once) a thread that ends the process when ``parent`` dies.

    A ``kill -9`` of the sweep gives it no chance to stop its pool, and loky's workers would
    otherwise idle for minutes (or finish a long run nobody will store). The thread polls twice a
    second: the worker's parent process id changes when its parent dies (it is re-parented), and
    for a worker that is not a direct child, the sweep's pid stops existing.
    """
    global _WATCHED_PARENT
    if parent == os.getpid() or _WATCHED_PARENT == parent:
        return
    _WATCHED_PARENT = parent
    direct = os.getppid() == parent

    def alive() -> bool:
        if direct:
            return os.getppid() == parent
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return False
        except OSError:  # e.g. EPERM: it exists
            return True
        return True

    def watch() -> None:
        while alive():
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="weightwise-sweep-parent-watch", daemon=True).start()


def _connect(scheduler: str, timeout: float) -> Any:
    try:
        from distributed import Client
    except ImportError as exc:
        raise ConfigError(
            "a Dask scheduler address was given but dask.distributed is not installed; "
            "install the extra with: pip install 'weightwise[dask]'"
        ) from exc
    try:
        return Client(scheduler, timeout=f"{timeout}s", set_as_default=False)
    except Exception as exc:  # OSError on timeout, ValueError/TypeError on a malformed address
        raise SchedulerError(
            f"cannot reach the Dask scheduler at {scheduler!r} within {timeout:g} s ({exc}); check "
            "the address (e.g. tcp://HOST:8786), start one with `dask scheduler` and workers with "
            "`dask worker ADDRESS`, or leave the scheduler out to run locally with joblib"
        ) from exc


def _run_dask(
    fn: RunFn, pending: list[tuple[str, dict[str, Any]]], scheduler: str, timeout: float
) -> Runs:
    from distributed import as_completed

    client = _connect(scheduler, timeout)
    try:
        futures = {
            client.submit(_timed_call, fn, key, config, pure=False): (key, config)
            for key, config in pending
        }
        # The loop is passed because this client is not the default one (no global state).
        for future in as_completed(list(futures), loop=client.loop):
            key, config = futures[future]
            try:
                item = future.result()
            except SweepRunError:
                client.cancel(list(futures))
                raise
            except Exception as exc:  # e.g. a worker lost while running it
                client.cancel(list(futures))
                raise _failed(key, config, exc) from exc
            yield item
    finally:
        client.close()


def _failed(key: str, config: dict[str, Any], exc: BaseException) -> SweepRunError:
    return SweepRunError(
        f"run {key[:12]} failed with {type(exc).__name__}: {exc}; config: {canonical_json(config)}. "
        "Finished runs are stored; fix the cause and run the sweep again to resume.",
        key,
        config,
    )


def _progress(enabled: bool, total: int, done: int, name: str | None) -> Any:
    """A bar over runs on stderr (stdout stays clean for the command's own output), and its task."""
    from rich import progress as rp
    from rich.console import Console

    bar = rp.Progress(
        rp.TextColumn("[bold]{task.description}"),
        rp.BarColumn(),
        rp.MofNCompleteColumn(),
        rp.TimeElapsedColumn(),
        rp.TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )
    task = bar.add_task(f"runs of {name}" if name else "runs", total=total, completed=done)
    return bar, task


# --------------------------------------------------------------------------- the sweep


def run_sweep(
    configs: Sequence[Mapping[str, Any]],
    fn: RunFn,
    folder: str | Path,
    n_jobs: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
    overwrite: bool = False,
    *,
    name: str | None = None,
    connect_timeout: float = 5.0,
) -> list[dict[str, Any]]:
    """Run ``fn`` on every configuration, storing each result as it finishes; resume what is stored.

    Parameters
    ----------
    configs : sequence of dict
        The full configuration of each run, JSON values only (tuples count as lists). Repeats are
        run once.
    fn : callable
        ``fn(config) -> dict`` of JSON values (NumPy scalars and arrays are converted). It gets a
        copy of its config. For ``n_jobs != 1`` or a scheduler it must be picklable (a module-level
        function, or anything cloudpickle handles) and should seed its own randomness from the
        config, so that where it runs does not change what it returns.
    folder : str or Path
        Where ``sweep.json`` and ``runs/<key>.json`` live; created if missing.
    n_jobs : int
        joblib processes (-1: one per core); 1 runs in this process.
    scheduler : str, optional
        A Dask scheduler address (``tcp://host:8786``); then the runs go to that cluster and
        ``n_jobs`` is ignored. Results are sent back and stored here, so the workers need no
        shared file system.
    progress : bool
        Show a progress bar over runs (on stderr).
    overwrite : bool
        If ``folder`` holds a *different* sweep's runs, discard them instead of refusing. The runs of
        this same sweep are always kept and reused; delete the folder to recompute them.
    name : str, optional
        A human name for the sweep, stored in the manifest and shown on the progress bar.
    connect_timeout : float
        Seconds to wait for the scheduler before a :class:`SchedulerError`.

    Returns
    -------
    list of dict
        The results in the order of ``configs``, exactly as stored (after a JSON round trip).

    Raises
    ------
    ConfigError
        Configurations that are not JSON, a bad ``n_jobs``, or a folder holding another sweep.
    SchedulerError
        The scheduler cannot be reached within ``connect_timeout`` seconds.
    SweepRunError
        A run raised or returned something that is not a JSON dict; finished runs stay stored.
    """
    _check_sweep_args(configs, fn, n_jobs, scheduler, connect_timeout)
    plain = [
        jsonable(c, f"configs[{i}]", finite=True) if isinstance(c, Mapping) else c
        for i, c in enumerate(configs)
    ]
    keys = [sweep_key(c) for c in plain]  # also refuses anything that is not a dict
    unique: dict[str, dict[str, Any]] = {}
    for key, config in zip(keys, plain, strict=True):
        unique.setdefault(key, config)

    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"the output folder {root} is a file; give a folder path")
    root.mkdir(parents=True, exist_ok=True)
    _claim_folder(root, sweep_id(plain), list(unique), name, overwrite)
    runs = root / RUNS

    results = _stored_results(runs, unique)
    pending = [(k, c) for k, c in unique.items() if k not in results]
    stream = _executor(fn, pending, n_jobs, scheduler, connect_timeout)
    bar, task = _progress(progress, len(unique), len(results), name)
    # closing(): a failure here still shuts the generator's pool or Dask client down at once.
    with bar, contextlib.closing(stream):
        for key, result, seconds in stream:
            results[key] = _store_run(runs, key, unique[key], result, seconds)
            bar.advance(task)

    return _in_config_order(keys, results)


def _check_sweep_args(configs: Any, fn: Any, n_jobs: Any, scheduler: Any, connect_timeout: Any) -> None:
    """Refuse arguments of :func:`run_sweep` that no run could use, before any folder is touched."""
    if isinstance(configs, Mapping) or not isinstance(configs, Sequence):
        raise ConfigError("configs must be a list of dicts, one per run")
    if not callable(fn):
        raise ConfigError(f"fn must be callable as fn(config) -> dict, got {type(fn).__name__}")
    if not is_integer(n_jobs) or n_jobs == 0:
        raise ConfigError(
            f"n_jobs must be a positive number of processes or -1 (all cores), got {n_jobs!r}"
        )
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise ConfigError(f"scheduler must be an address such as 'tcp://host:8786', got {scheduler!r}")
    if not connect_timeout > 0:
        raise ConfigError(
            f"connect_timeout must be a positive number of seconds, got {connect_timeout!r}"
        )


def _executor(
    fn: RunFn,
    pending: list[tuple[str, dict[str, Any]]],
    n_jobs: int,
    scheduler: str | None,
    connect_timeout: float,
) -> Runs:
    """The runs still to do, as they finish: here, in joblib processes, or on a Dask cluster."""
    if not pending:
        return _run_sequential(fn, [])
    if scheduler is not None:
        return _run_dask(fn, pending, scheduler.strip(), float(connect_timeout))
    if n_jobs == 1 or len(pending) == 1:
        return _run_sequential(fn, pending)
    return _run_joblib(fn, pending, int(n_jobs))


def _stored_results(runs: Path, unique: Mapping[str, Any]) -> dict[str, Any]:
    """The results already stored for these keys (a resumed sweep computes only the rest)."""
    results: dict[str, Any] = {}
    for key in unique:
        stored = _read_run(runs / f"{key}.json", key)
        if stored is not None:
            results[key] = stored["result"]
    return results


def _in_config_order(keys: Sequence[str], results: Mapping[str, Any]) -> list[Any]:
    """One result per key, in order; a repeated config gets its own copy, so that changing one
    result changes no other."""
    out, seen = [], set()
    for key in keys:
        out.append(copy.deepcopy(results[key]) if key in seen else results[key])
        seen.add(key)
    return out


def _store_run(runs: Path, key: str, config: dict[str, Any], result: Any, seconds: float) -> Any:
    """Write one finished run to ``runs/<key>.json``; return its result as read back from JSON."""
    value = _result_json(result, key, config)
    record = {"key": key, "config": config, "result": value, "seconds": seconds}
    _atomic_write(runs / f"{key}.json", json.dumps(record, indent=1) + "\n")
    return value
