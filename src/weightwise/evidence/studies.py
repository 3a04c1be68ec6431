"""The studies a user runs: ``compare`` (one deep network trained several ways over seeds) and
``study depth`` (the same against depth), each a list of configurations, a sweep and a report."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .experiments import (
    DEFAULT_METHODS,
    MAX_DEPTH,
    ExperimentConfig,
    RunLog,
    check_methods,
    run_configs,
)

QUICK = {"hidden": [32] * 5, "epochs": 8, "pretrain_epochs": 10, "info_samples": 150, "info_every": 4}
"""The ``--quick`` settings: the same deep shape, narrower, a few epochs (on digits and 2 shared
cores: compare 8 s, study depth 4 s)."""


def sweep_and_report(
    configs: list[dict[str, Any]],
    folder: str | Path,
    name: str,
    options: Mapping[str, Any],
    build: Callable[..., Any],
    **report_args: Any,
) -> tuple[Any, Any, list[dict[str, Any]]]:
    """Run ``configs`` as the sweep ``name`` in ``folder``, then write the report there.

    Parameters
    ----------
    configs : list of dict
        One :class:`ExperimentConfig` dict per run.
    folder : str or Path
        The sweep goes to ``folder/sweep``, the report's files to ``folder``.
    name : str
        The sweep's name (manifest and progress bar).
    options : mapping
        ``n_jobs``, ``scheduler``, ``overwrite``, ``progress`` and ``log`` of :func:`run_configs`.
    build : callable
        ``build(results, configs, **report_args) -> Report``.

    Returns
    -------
    report : Report
    files : ReportFiles
    results : list of dict
        One :func:`run_one` result per configuration.
    """
    results = run_configs(configs, folder, name=name, **options)
    report = build(results, configs, **report_args)
    return report, report.write(folder), results


def compare_configs(
    methods: Sequence[str] = DEFAULT_METHODS,
    seeds: int | Sequence[int] = 3,
    *,
    quick: bool = False,
    info_first_seed_only: bool = True,
    **settings: Any,
) -> list[dict[str, Any]]:
    """One configuration per method and seed, all sharing ``settings`` (see :class:`ExperimentConfig`).

    ``seeds`` is a count (seeds ``0..n-1``) or the seeds themselves. The information plane is
    estimated for the first seed only (it costs about as much as the training itself).
    """
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ConfigError("give at least one seed")
    base = {**(QUICK if quick else {}), **{k: v for k, v in settings.items() if v is not None}}
    configs = []
    for m in check_methods(methods):
        for i, s in enumerate(seed_list):
            c = ExperimentConfig.from_dict({**base, "method": m, "seed": s}).to_dict()
            if info_first_seed_only and i > 0:
                c["info_samples"] = 0
            configs.append(c)
    return configs


def compare(
    folder: str | Path,
    methods: Sequence[str] = DEFAULT_METHODS,
    seeds: int | Sequence[int] = 3,
    *,
    quick: bool = False,
    n_jobs: int = 1,
    scheduler: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    command: str | None = None,
    log: RunLog | None = None,
    **settings: Any,
) -> tuple[Any, Any, list[dict[str, Any]]]:
    """Train one deep network several ways over several seeds and write the report to ``folder``.

    ``log`` logs every run live, each to ``log.folder/<method>/seed_<seed>``.

    Returns
    -------
    report, files, results
        As :func:`sweep_and_report` returns them.
    """
    from .experiment_reports import compare_report

    configs = compare_configs(methods, seeds, quick=quick, **settings)
    log = None if log is None else dataclasses.replace(log, by=("method", "seed"))
    options = dict(n_jobs=n_jobs, scheduler=scheduler, overwrite=overwrite, progress=progress, log=log)
    return sweep_and_report(configs, folder, "compare", options, compare_report, command=command)


DEPTHS = tuple(range(1, 11))
QUICK_DEPTHS = (1, 3, 5)
QUICK_DEPTH_METHODS = ("bp", "relu_he")
QUICK_DEPTH_WIDTH = 32
QUICK_DEPTH_EPOCHS = 8


def study_depth_configs(
    depths: Sequence[int] = DEPTHS,
    methods: Sequence[str] = ("bp", "rbm", "relu_he"),
    seeds: int | Sequence[int] = 2,
    *,
    width: int = 100,
    **settings: Any,
) -> list[dict[str, Any]]:
    """Depth x method x seed configurations: ``depth`` hidden layers of ``width`` units each."""
    depth_list = [int(d) for d in depths]
    if not depth_list:
        raise ConfigError("give at least one depth")
    for d in depth_list:
        if not 1 <= d <= MAX_DEPTH:
            raise ConfigError(f"every depth must be in 1..{MAX_DEPTH} hidden layers, got {d}")
    settings = {"info_samples": 0, **settings}
    configs = []
    for d in depth_list:
        configs += compare_configs(
            methods, seeds, hidden=[int(width)] * d, info_first_seed_only=False, **settings
        )
    return configs


def study_depth(
    folder: str | Path,
    depths: Sequence[int] | None = None,
    methods: Sequence[str] | None = None,
    seeds: int | Sequence[int] = 2,
    *,
    width: int | None = None,
    quick: bool = False,
    n_jobs: int = 1,
    scheduler: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    command: str | None = None,
    log: RunLog | None = None,
    **settings: Any,
) -> tuple[Any, Any, list[dict[str, Any]]]:
    """Test error, gradient norms per layer and time against depth; the report goes to ``folder``.

    Default: depths 1-10 of 100 sigmoid (or ReLU) units, methods bp, rbm and relu_he, 2 seeds.
    ``quick``: depths 1, 3, 5 of 32 units, bp and relu_he, 8 epochs (unless given). ``log`` logs
    every run live, each to ``log.folder/depth_<d>/<method>/seed_<seed>``.
    """
    from .depth_report import depth_report

    if quick:
        depths = depths or QUICK_DEPTHS
        methods = methods or QUICK_DEPTH_METHODS
        width = width or QUICK_DEPTH_WIDTH
        settings = {"epochs": QUICK_DEPTH_EPOCHS, "pretrain_epochs": 10, **settings}
    configs = study_depth_configs(
        depths or DEPTHS, methods or ("bp", "rbm", "relu_he"), seeds, width=width or 100, **settings
    )
    log = None if log is None else dataclasses.replace(log, by=("depth", "method", "seed"))
    options = dict(n_jobs=n_jobs, scheduler=scheduler, overwrite=overwrite, progress=progress, log=log)
    return sweep_and_report(configs, folder, "study-depth", options, depth_report, command=command)
