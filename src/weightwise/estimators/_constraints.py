"""The estimators' ``_parameter_constraints``: scikit-learn's own parameter-validation machinery
(:mod:`sklearn.utils._param_validation`, what ``BaseEstimator._validate_params`` runs).

The estimators' own checks (``_params``) run first, because their messages name the fix; these
constraints then catch every type and range those checks do not cover (``activation=None``,
``shuffle="yes"``, ...), so no setting reaches the engine unchecked.
"""

from __future__ import annotations

import os
from numbers import Integral, Real
from typing import Any

import numpy as np
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions

from ..errors import ConfigError

_POSITIVE_INT = Interval(Integral, 1, None, closed="left")
_POSITIVE = Interval(Real, 0, np.inf, closed="neither")  # finite: inf is refused
_NON_NEGATIVE = Interval(Real, 0, np.inf, closed="left")
_FRACTION = Interval(Real, 0, 1, closed="left")
SIZES: list[Any] = [_POSITIVE_INT, list, tuple, np.ndarray]

COMMON: dict[str, list[Any] | str] = {
    "random_state": ["random_state"],
    "dtype": [StrOptions({"float32", "float64"})],
    "backend": [StrOptions({"auto", "numpy", "torch"})],
    "device": "no_validation",  # a str or a torch.device; checked by net.backend.check_device
    "callbacks": [None, list, tuple],
    "checkpoint_dir": [None, str, os.PathLike],
}

BP: dict[str, list[Any] | str] = {
    **COMMON,
    "hidden_layer_sizes": SIZES,
    "activation": [str, list, tuple],
    "output_activation": [str, None],
    "loss": [str, None],
    "init": [str, callable],
    "solver": [StrOptions({"adam", "sgd"})],
    "learning_rate": [_POSITIVE],
    "learning_rate_schedule": [str],
    "lr_step_size": [_POSITIVE_INT],
    "lr_gamma": [_POSITIVE],
    "power_t": [_NON_NEGATIVE],
    "momentum": [_FRACTION],
    "nesterov": ["boolean"],
    "beta_1": [_FRACTION],
    "beta_2": [_FRACTION],
    "epsilon": [_POSITIVE],
    "alpha": [_NON_NEGATIVE],
    "batch_size": [_POSITIVE_INT, StrOptions({"auto", "full"})],
    "reduction": [StrOptions({"mean", "sum"})],
    "shuffle": ["boolean"],
    "max_epochs": [_POSITIVE_INT],
    "tol": [_NON_NEGATIVE, None],
    "threshold": [_POSITIVE, None],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "n_iter_no_change": [_POSITIVE_INT],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "pretrain": [str, None],
    "pretrain_epochs": [_POSITIVE_INT, StrOptions({"auto"})],
    "pretrain_learning_rate": [_POSITIVE, None],
    "pretrain_batch_size": [_POSITIVE_INT, StrOptions({"auto"})],
    "cd_k": [_POSITIVE_INT],
    "persistent": ["boolean"],
    "corruption": [_FRACTION, None],
    "weight_cost": [_NON_NEGATIVE, None],
    "pretrain_callbacks": [None, list, tuple],
    "pseudo_labels": [_NON_NEGATIVE],
    "pseudo_label_start": [_POSITIVE_INT],
    "pseudo_label_full": [_POSITIVE_INT],
}

LAYERWISE: dict[str, list[Any] | str] = {
    **COMMON,
    "learning_rate": [_POSITIVE, None],
    "batch_size": [_POSITIVE_INT],
    "n_iter": [_POSITIVE_INT],
}

RBM_STACK: dict[str, list[Any] | str] = {
    **LAYERWISE,
    "cd_k": [_POSITIVE_INT],
    "persistent": ["boolean"],
    "momentum": [_FRACTION],
    "final_momentum": [_FRACTION],
    "weight_cost": [_NON_NEGATIVE],
    "visible": [str],
    "monitor_size": [Interval(Integral, 0, None, closed="left")],
}

SAE: dict[str, list[Any] | str] = {
    **LAYERWISE,
    "hidden_layer_sizes": SIZES,
    "activation": [str],
    "corruption": [_FRACTION],
    "loss": [str, None],
    "weight_decay": [_NON_NEGATIVE],
}


def validate_constraints(est: Any) -> None:
    """Run scikit-learn's ``_validate_params`` on ``est``; its message as a one-line ConfigError."""
    try:
        est._validate_params()
    except InvalidParameterError as exc:
        raise ConfigError(str(exc).splitlines()[0]) from exc
