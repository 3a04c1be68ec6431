"""Checks of the estimators' settings, run at the start of ``fit``: each names the setting, what
it takes and what it got, before the engine meets the value later and less clearly.

The rules shared with the rest of the library (positive integers, fractions) come from
:mod:`weightwise.checks`; what is here is particular to the estimators.
"""

from __future__ import annotations

import math
import os
from typing import Any

from ..backpropagation.optimizers import SCHEDULES
from ..checks import check_fraction, check_positive, check_positive_int, is_integer, is_number
from ..errors import ConfigError, unknown_name
from ..net.backend import DTYPES, check_device
from ._pretrain import check_pretrain_params

# Parameters that hold live objects: never written to a model file.
UNSAVED_PARAMS = ("callbacks", "pretrain_callbacks")
# Parameters that name places on disk: never written to a model file, and dropped when an older
# file holds them, so a loaded model never writes where a file says.
PATH_PARAMS = ("checkpoint_dir",)

BACKENDS = ("auto", "numpy", "torch")


def check_hidden_sizes(sizes: Any, allow_empty: bool) -> list[int]:
    """``hidden_layer_sizes`` (an int, or a sequence of them, each >= 1) as a list of ints.

    ``allow_empty``: a BP network may have no hidden layer; a layer-wise stack needs one.
    """
    seq = [sizes] if is_integer(sizes) else sizes
    if (
        isinstance(seq, (str, bytes))
        or not hasattr(seq, "__len__")
        or (len(seq) == 0 and not allow_empty)
        or not all(is_integer(s) and s >= 1 for s in seq)
    ):
        what = "a tuple" if allow_empty else "a non-empty tuple"
        example = "(100,) or (64, 32)" if allow_empty else "(256, 256)"
        raise ConfigError(
            f"hidden_layer_sizes must be {what} of positive ints such as {example}, got {sizes!r}"
        )
    return [int(s) for s in seq]


def check_common(est: Any, devices: bool = True) -> None:
    """The settings every estimator here has: ``dtype``, ``backend``, callbacks and backups.

    ``devices``: also check that the ``device`` is there (not when loading a model trained on
    another machine: its arrays go where ``load`` is told).
    """
    if est.dtype not in DTYPES:
        raise unknown_name("dtype", est.dtype, DTYPES)
    if est.backend not in BACKENDS:
        raise unknown_name("backend", est.backend, BACKENDS)
    if est.backend == "torch" or est.device is not None:
        try:
            import torch  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigError("backend 'torch' needs PyTorch: pip install 'weightwise[torch]'") from exc
    # "auto" with a device means PyTorch (see _inputs.placement).
    if devices:
        check_device("torch" if est.backend == "auto" else est.backend, est.device)
    check_callbacks(est)
    check_checkpoint_dir(est)


def check_checkpoint_dir(est: Any) -> None:
    """``est.checkpoint_dir`` must be None or a folder path."""
    folder = est.checkpoint_dir
    if folder is not None and not isinstance(folder, (str, os.PathLike)):
        raise ConfigError(
            f"checkpoint_dir must be a folder path (str or pathlib.Path) or None, got {folder!r}"
        )


def check_callbacks(est: Any) -> None:
    """Each of ``est``'s callback parameters must be None or a sequence of callables."""
    for name in UNSAVED_PARAMS:
        value = getattr(est, name, None)
        if value is None:
            continue
        try:
            ok = not isinstance(value, (str, bytes)) and all(callable(cb) for cb in value)
        except TypeError:  # not iterable: a single function, say
            ok = False
        if not ok:
            raise ConfigError(
                f"{name} must be None or a sequence of callables such as [print_epoch], got {value!r}"
            )


def check_bp_params(est: Any, devices: bool = True) -> None:
    """Validate a BP estimator's settings (pre-training's included), with a fix in the message."""
    check_hidden_sizes(est.hidden_layer_sizes, allow_empty=True)
    choices: dict[str, tuple[Any, tuple[str, ...]]] = {
        "solver": (est.solver, ("adam", "sgd")),
        "learning_rate_schedule": (est.learning_rate_schedule, tuple(SCHEDULES)),
        "reduction": (est.reduction, ("mean", "sum")),
    }
    for name, (value, valid) in choices.items():
        if value not in valid:
            raise ConfigError(f"{name}={value!r} is not one of {', '.join(map(repr, valid))}")
    check_common(est, devices)
    for name in ("max_epochs", "n_iter_no_change", "lr_step_size"):
        check_positive_int(getattr(est, name), name)
    check_pseudo_label_params(est)
    if est.batch_size not in ("auto", "full"):
        check_positive_int(est.batch_size, "batch_size", 'or "auto" or "full"')
    check_positive(est.learning_rate, "learning_rate")
    check_fraction(est.momentum, "momentum")
    in_range: dict[str, tuple[Any, Any, str]] = {
        "alpha": (est.alpha, lambda v: v >= 0, ">= 0"),
        "validation_fraction": (est.validation_fraction, lambda v: 0 < v < 1, "in (0, 1)"),
        "tol": (est.tol, lambda v: v >= 0, ">= 0 or None"),
        "threshold": (est.threshold, lambda v: v > 0, "> 0 or None"),
    }
    for name, (value, ok, text) in in_range.items():
        optional = value is None and name in ("tol", "threshold")
        if not (optional or (is_number(value) and ok(value))):
            raise ConfigError(f"{name} must be {text}, got {value!r}")
    check_pretrain_params(est)


def check_pseudo_label_params(est: Any) -> None:
    """``pseudo_labels`` (a weight >= 0, for classifiers only) and its epochs (1 <= start <= full)."""
    from sklearn.base import is_classifier

    weight = est.pseudo_labels
    if not (is_number(weight) and math.isfinite(weight) and weight >= 0):
        raise ConfigError(f"pseudo_labels must be a weight >= 0 (0: off), got {weight!r}")
    if weight and not is_classifier(est):
        raise ConfigError(
            f"pseudo_labels={weight!r} needs a classifier: a regressor's output has no class to "
            "take as a label; use BPClassifier, or leave pseudo_labels=0"
        )
    start = check_positive_int(est.pseudo_label_start, "pseudo_label_start")
    full = check_positive_int(est.pseudo_label_full, "pseudo_label_full")
    if full < start:
        raise ConfigError(
            f"pseudo_label_full ({full}) must be >= pseudo_label_start ({start}): the weight rises "
            "from 0 at epoch pseudo_label_start to pseudo_labels at epoch pseudo_label_full"
        )
