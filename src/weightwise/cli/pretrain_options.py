"""Options of greedy pre-training, shared by ``weightwise pretrain`` and ``train --pretrain``.

They are checked here with the command line's wording (option names, the fix to type) before
any data is trained on, and turned into learner or estimator parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..checks import check_fraction
from ..errors import ConfigError, DataError
from .options import parse_layers
from .stack import RBM_LEARNERS


def parse_learners(spec: str, n_layers: int | None = None, option: str = "--learner") -> list[str]:
    """One learner name for every layer, or one per layer joined by ',' (``gaussian_rbm,rbm``).

    Raises
    ------
    ConfigError
        For an unknown name (the valid ones are listed) or a per-layer list of the wrong length.
    """
    from ..layerwise.greedy import LEARNERS

    names = [s.strip() for s in spec.split(",")]
    for name in names:
        if name not in LEARNERS:
            raise ConfigError(
                f"{option} {name!r} is not a learner; valid learners: {', '.join(LEARNERS)} "
                "(one for all layers, or one per layer joined by ',')"
            )
    if n_layers is not None and len(names) not in (1, n_layers):
        raise ConfigError(
            f"{option} {spec!r} names {len(names)} learners for {n_layers} layers to pre-train; "
            "give one for all layers or exactly one per layer"
        )
    return names * n_layers if n_layers is not None and len(names) == 1 else names


def learner_params(
    names: Sequence[str],
    *,
    learning_rate: float | None = None,
    cd_k: int | None = None,
    persistent: bool = False,
    corruption: float | None = None,
    weight_cost: float | None = None,
) -> list[dict[str, Any]]:
    """Per-layer learner keyword arguments from the command-line options.

    Only options given are passed (each learner keeps its own defaults otherwise), and only to
    the learners they mean something to: ``cd_k``, ``persistent`` and ``weight_cost`` to RBMs,
    ``corruption`` to denoising auto-encoders.

    Raises
    ------
    ConfigError
        For ``cd_k < 1``, ``corruption`` outside [0, 1), a non-positive learning rate, or an
        option no chosen learner uses.
    """
    rbm = any(n in RBM_LEARNERS for n in names)
    if learning_rate is not None and not learning_rate > 0:
        raise ConfigError(f"the learning rate must be > 0, got {learning_rate}")
    if cd_k is not None and cd_k < 1:
        raise ConfigError(
            f"--cd-k must be an integer >= 1 (Gibbs steps per contrastive-divergence update), got {cd_k}"
        )
    if corruption is not None:
        check_fraction(corruption, "--corruption", "the fraction of inputs masked to 0")
    if weight_cost is not None and weight_cost < 0:
        raise ConfigError(f"--weight-cost must be >= 0, got {weight_cost}")
    unused = [
        option
        for option, given in (
            ("--cd-k", cd_k is not None),
            ("--persistent", persistent),
            ("--weight-cost", weight_cost is not None),
        )
        if given and not rbm
    ]
    if corruption is not None and "denoising" not in names:
        unused.append("--corruption")
    if unused:
        raise ConfigError(
            f"{', '.join(unused)} {'does' if len(unused) == 1 else 'do'} not apply to learner(s) "
            f"{', '.join(dict.fromkeys(names))}: --cd-k, --persistent and --weight-cost set RBMs "
            "(rbm, gaussian_rbm), --corruption sets denoising auto-encoders (denoising)"
        )
    params = []
    for name in names:
        p: dict[str, Any] = {}
        if learning_rate is not None:
            p["learning_rate"] = float(learning_rate)
        if name in RBM_LEARNERS:
            if cd_k is not None:
                p["cd_k"] = int(cd_k)
            if persistent:
                p["persistent"] = True
            if weight_cost is not None:
                p["weight_cost"] = float(weight_cost)
        elif name == "denoising" and corruption is not None:
            p["corruption"] = float(corruption)
        params.append(p)
    return params


SCALE_FIX = (
    "add --scale minmax (scale each feature to [0, 1]), or use --learner gaussian_rbm with "
    "--scale standard for real-valued data"
)


def check_visible_range(
    X: np.ndarray, first_learner: str, data: str, option: str = "--learner", fix: str = SCALE_FIX
) -> None:
    """Refuse data outside [0, 1] for Bernoulli visible units, naming the fixes.

    Raises
    ------
    DataError
        One line: the data's range, and what to do (``fix``).
    """
    lo, hi = float(np.min(X)), float(np.max(X))
    if first_learner == "rbm" and (lo < 0.0 or hi > 1.0):
        raise DataError(
            f"--data {data} has values in [{lo:g}, {hi:g}], but {option} rbm has Bernoulli visible "
            f"units, which take values in [0, 1]: {fix}"
        )


def pretrain_learner_names(name: str, n_hidden: int) -> list[str]:
    """The learner of each hidden layer for ``train --pretrain NAME`` (the estimators' rule).

    ``gaussian_rbm`` trains layer 1 only: the layers above see sigmoid means in [0, 1], so they
    are Bernoulli RBMs (Hinton and Salakhutdinov 2006).
    """
    above = "rbm" if name == "gaussian_rbm" else name
    return [name] + [above] * (n_hidden - 1)


def pretrain_options(
    pretrain: str | None,
    X: np.ndarray,
    data: str,
    *,
    epochs: int | str,
    learning_rate: float | None,
    batch_size: int | str,
    cd_k: int | None,
    persistent: bool,
    corruption: float | None,
    weight_cost: float | None,
) -> dict[str, Any]:
    """The estimator parameters of ``train --pretrain ...``, checked with command-line wording.

    Returns an empty dict without ``--pretrain``.

    Raises
    ------
    ConfigError
        For an unknown learner (the valid ones listed), more than one, a pre-training option
        without ``--pretrain``, or a value out of range.
    DataError
        For ``--pretrain rbm`` on data outside [0, 1].
    """
    if pretrain is None:
        given = [
            option
            for option, value in (
                ("--pretrain-lr", learning_rate),
                ("--cd-k", cd_k),
                ("--persistent", persistent or None),
                ("--corruption", corruption),
                ("--weight-cost", weight_cost),
            )
            if value is not None
        ]
        if given:
            raise ConfigError(
                f"{', '.join(given)} set(s) pre-training; add --pretrain rbm, gaussian_rbm, "
                "autoencoder or denoising"
            )
        return {}
    names = parse_learners(pretrain, option="--pretrain")
    if len(names) != 1:
        raise ConfigError(
            f"--pretrain takes one learner, got {pretrain!r}; gaussian_rbm already stacks Bernoulli "
            "RBMs above layer 1 (for other per-layer choices use weightwise pretrain)"
        )
    name = names[0]
    learner_params(
        pretrain_learner_names(name, 2),
        learning_rate=learning_rate,
        cd_k=cd_k,
        persistent=persistent,
        corruption=corruption,
        weight_cost=weight_cost,
    )
    check_visible_range(
        X,
        name,
        data,
        "--pretrain",
        "use --pretrain gaussian_rbm (standardised data) or an auto-encoder, or scale the data to "
        "[0, 1] first",
    )
    return {
        "pretrain": name,
        "pretrain_epochs": epochs,
        "pretrain_learning_rate": learning_rate,
        "pretrain_batch_size": batch_size,
        "cd_k": 1 if cd_k is None else int(cd_k),
        "persistent": bool(persistent),
        "corruption": corruption,
        "weight_cost": weight_cost,
    }


def stack_sizes(layers: str | None, hidden: str | None, n_features: int) -> list[int]:
    """Full sizes of the stack, input first: ``--layers`` as given, or ``--hidden`` on the data.

    ``--layers`` lists every size with the input first (64-100-100); ``--hidden`` the hidden
    sizes only (100-100, the default). Nothing is added silently: a ``--layers`` whose first
    size is not the data's feature count is refused, naming both ways to say what was meant.
    """
    if layers is not None and hidden is not None:
        raise ConfigError("give either --layers or --hidden, not both")
    if layers is None:
        return [n_features, *parse_layers(hidden or "100-100", "--hidden")]
    sizes = parse_layers(layers)
    spec = "-".join(map(str, sizes))
    if len(sizes) < 2 or sizes[0] != n_features:
        raise ConfigError(
            f"--layers {spec}: --layers lists every size with the input first, and the data has "
            f"{n_features} features; use --layers {n_features}-{spec} to stack {spec} on the "
            f"input, or --hidden {spec}"
        )
    return sizes


def parse_image_shape(spec: str | None) -> tuple[int, int] | None:
    """``"28x28"`` -> (28, 28); None stays None."""
    if spec is None:
        return None
    parts = spec.lower().replace("*", "x").split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise ConfigError(f"--image-shape {spec!r}: write HEIGHTxWIDTH, e.g. 28x28")
    return int(parts[0]), int(parts[1])
