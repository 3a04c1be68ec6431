"""One run of the protocol's engine (:mod:`.protocol_study`): its settings, the labelled subsets,
pre-training a stack (phase 1) and fine-tuning it, selection or final (phases 2 and 3).

Each run function takes one configuration dict (a sweep's run, :func:`~.sweep.run_sweep`) and
returns a result dict; :func:`~.protocol_study.run_study` builds the configurations and runs them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import check_positive_int
from ..datasets import one_hot
from ..errors import ConfigError, DataError
from .data import check_data_name, load_dataset
from .experiments import METHODS, check_hidden

SELECTION_SEED = 0


@dataclass(frozen=True)
class Recipe:
    """One way to fine-tune: the optimiser, its learning rate and weight decay, whether the
    softmax layer is trained alone (on the frozen features below it) before the whole net, the
    learning rate's factor per epoch (``lr_decay``; 1: constant), and the weight of the
    pseudo-label term (``pseudo_labels``; 0: off), which trains on the training images outside
    the labelled and validation sets too, with the network's own classes as their targets
    (:class:`~weightwise.backpropagation.pseudo_labels.PseudoLabels`: off before epoch
    ``pl_start``, full from epoch ``pl_full``)."""

    name: str
    optimizer: str  # "adam" or "sgd" (momentum 0.9)
    learning_rate: float
    top_first: bool = False
    weight_decay: float = 0.0
    lr_decay: float = 1.0
    pseudo_labels: float = 0.0
    pl_start: int = 5
    pl_full: int = 50

    def as_dict(self) -> dict[str, Any]:
        """Every field; the pseudo-label ones only when the term is on (reports and keys of the
        recipes without it read as before it existed)."""
        d = asdict(self)
        if not self.pseudo_labels:
            for name in ("pseudo_labels", "pl_start", "pl_full"):
                d.pop(name)
        return d

    def keyed(self) -> dict[str, Any]:
        """As a run's configuration: ``lr_decay`` only when it decays, so the keys of the runs
        stored before it existed stay valid."""
        d = self.as_dict()
        if d["lr_decay"] == 1.0:
            d.pop("lr_decay")
        return d


def count_key(n_labels: int | None) -> str:
    """A label count as text: ``"all"`` for every labelled training image."""
    return "all" if n_labels is None else str(int(n_labels))


@dataclass
class StudySettings:
    """What every run of one study shares (each run's configuration is a dict built from it).
    The defaults are ``study labels``'s.

    Attributes
    ----------
    data, mnist_path
        As :class:`~.experiments.ExperimentConfig` (``mnist_path`` is never part of a run's key).
    hidden : list of int
        Hidden widths. 784-500-500-10 fits the full study in 45 minutes on 2 cores.
    n_unlabelled : int or None
        Pre-train on the first ``n`` of a fixed shuffle of the training images (None: all).
    n_valid : int
        Labelled validation images per seed.
    n_test : int or None
        Test on a fixed subset (None: all 10,000).
    n_train : int or None
        Fine-tune (and validate) on the first ``n`` of a fixed shuffle of the training images
        (None: all); a run's key holds it only when set.
    pretrain_epochs : int
        Epochs per hidden layer (10 epochs of both hidden layers on 60,000 images: 80-110 s for
        an RBM or a denoising stack, one BLAS thread on a shared core).
    epoch_examples : int
        An epoch of fine-tuning shows the labelled images this many times over at least (100
        labels: 10 copies per epoch), so the validation error is measured every 1,000 examples
        rather than every 5 mini-batches.
    max_examples : int
        Fine-tuning budget: at most this many examples seen (epochs x examples per epoch), at
        most ``max_epochs`` epochs, stopped early after ``patience`` epochs without a better
        validation error. 150,000 allows 50 epochs at 3,000 labels: a first budget of 50,000 (16
        epochs at 3,000 labels) kept the last allowed epoch in most selection runs at 3,000
        labels, so it bound before early stopping did (validation scores only; no test error
        had been computed).
    """

    data: str = "mnist"
    mnist_path: str | None = None
    hidden: tuple[int, ...] = (500, 500)
    n_unlabelled: int | None = None
    n_valid: int = 1000
    n_test: int | None = None
    pretrain_epochs: int = 10
    epoch_examples: int = 1000
    max_examples: int = 150_000
    max_epochs: int = 200
    patience: int = 10
    n_train: int | None = None

    def validate(self) -> StudySettings:
        check_data_name(self.data)
        self.hidden = tuple(check_hidden(list(self.hidden)))
        for name in (
            "n_valid",
            "pretrain_epochs",
            "epoch_examples",
            "max_examples",
            "max_epochs",
            "patience",
        ):
            check_positive_int(getattr(self, name), name)
        for name in ("n_unlabelled", "n_test", "n_train"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), name)
        return self

    def keyed(self) -> dict[str, Any]:
        """The settings a run's result depends on (not where MNIST is read from)."""
        d = asdict(self)
        d.pop("mnist_path")
        d["hidden"] = [int(w) for w in self.hidden]
        if d["n_train"] is None:  # newer than the stored runs of study labels: keyed only when set
            d.pop("n_train")
        return d


# --------------------------------------------------------------------------------------------------
# the labelled subsets


def balanced_split(
    y: np.ndarray, n_labels: int, seed: int, n_valid: int = 1000
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of ``n_labels`` labelled rows, balanced per class, and of ``n_valid`` validation
    rows (also balanced), disjoint; fixed per seed, whatever ``n_labels`` is.

    One shuffle per seed orders the rows of every class; the validation rows are the first
    ``n_valid / K`` of each class, the labelled rows the next ``n_labels / K`` (the remainders go
    to the first classes), so the subsets of one seed are nested (100 within 600 ...).

    Parameters
    ----------
    y : array of shape (n_samples,)
        Integer class labels of the training split.

    Returns
    -------
    labelled, validation : arrays of int, sorted
    """
    y = np.asarray(y)
    classes = np.unique(y)
    k = classes.size
    if n_labels < k or n_valid < k:
        raise ConfigError(
            f"a balanced subset needs at least one image per class: {k} classes, got "
            f"{min(n_labels, n_valid)} images"
        )
    order = np.random.default_rng([int(seed), 7919]).permutation(y.size)
    labelled, valid = [], []
    for i, c in enumerate(classes):
        rows = order[y[order] == c]
        n_v = n_valid // k + (i < n_valid % k)
        n_l = n_labels // k + (i < n_labels % k)
        if n_v + n_l > rows.size:
            raise DataError(
                f"class {c} has {rows.size} training images; {n_l} labelled and {n_v} validation "
                "images need more; ask for fewer labels"
            )
        valid.append(rows[:n_v])
        labelled.append(rows[n_v : n_v + n_l])
    return np.sort(np.concatenate(labelled)), np.sort(np.concatenate(valid))


# --------------------------------------------------------------------------------------------------
# phase 1: pre-training


def pretrain_config(method: str, seed: int, settings: StudySettings) -> dict[str, Any]:
    """One pre-training run's configuration (its key names its stack)."""
    keep = ("data", "hidden", "n_unlabelled", "pretrain_epochs")
    return {"phase": "pretrain", "method": method, "seed": int(seed)} | {
        k: v for k, v in settings.keyed().items() if k in keep
    }


def _learner_params(method: str, X: np.ndarray, n_layers: int) -> tuple[str, list[dict[str, Any]]]:
    """The learner and its settings per layer, from the repository's MNIST recipes
    (examples/mnist_dbn.py: Hinton's; examples/mnist_sda.py: Vincent's, one corruption level)."""
    from ..layerwise.rbm import visible_bias

    m = METHODS[method]
    if m.learner == "rbm":
        rbm = dict(
            learning_rate=0.1,
            momentum=0.5,
            final_momentum=0.9,
            momentum_switch_epoch=5,
            weight_cost=2e-4,
            batch_size=100,
        )
        first = dict(rbm, b_visible=visible_bias(X))
        return "rbm", [first] + [rbm] * (n_layers - 1)
    params = dict(learning_rate=0.05, batch_size=100, **m.learner_params)
    return str(m.learner), [params] * n_layers


def _network(method: str, n_in: int, hidden: Sequence[int], n_out: int, seed: int) -> Any:
    from ..net.network import Network

    m = METHODS[method]
    sizes = [n_in, *hidden, n_out]
    return Network.create(sizes, m.activation, output_activation="softmax", init=m.init, seed=seed)


def run_pretrain(
    config: Mapping[str, Any], *, stacks: str, mnist_path: str | None = None
) -> dict[str, Any]:
    """Pre-train one network's hidden layers without labels; store it as a safetensors stack.

    The stack goes to ``stacks/<key>.safetensors`` (``key``: the run's sweep key), through a
    temporary file and :func:`os.replace`, so a killed run leaves no half-written stack.
    """
    from threadpoolctl import threadpool_limits

    from ..io import save_network
    from ..layerwise.greedy import pretrain
    from .sweep import sweep_key

    ds = load_dataset(config["data"], config["n_unlabelled"], None, mnist_path)
    X = ds.X_train  # the labels are never read
    net = _network(config["method"], X.shape[1], config["hidden"], ds.n_classes, config["seed"])
    learner, params = _learner_params(config["method"], X, len(config["hidden"]))
    t0 = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        pretrain(
            net, X, learner, epochs=config["pretrain_epochs"], learner_params=params, seed=config["seed"]
        )
    seconds = time.perf_counter() - t0
    key = sweep_key(config)
    path = Path(stacks) / f"{key}.safetensors"
    tmp = path.with_name(f".{key}.{os.getpid()}.tmp")
    save_network(net, tmp, metadata={"config": dict(config)})
    os.replace(tmp, path)
    return {"stack": path.name, "pretrain_seconds": seconds, "n_unlabelled": int(X.shape[0])}


# --------------------------------------------------------------------------------------------------
# phases 2 and 3: fine-tuning


def finetune_config(
    method: str,
    seed: int,
    n_labels: int | None,
    recipe: Recipe,
    settings: StudySettings,
    *,
    stack: str | None,
    test: bool,
) -> dict[str, Any]:
    """One fine-tuning run: ``stack`` is the key of its pre-training run (None: no pre-training);
    ``test`` says whether it reads the test set (only final runs do)."""
    keep = (
        "data",
        "hidden",
        "n_valid",
        "epoch_examples",
        "max_examples",
        "max_epochs",
        "patience",
        "n_train",
    )
    return {
        "phase": "finetune",
        "method": method,
        "seed": int(seed),
        "n_labels": None if n_labels is None else int(n_labels),
        "recipe": recipe.keyed(),
        "stack": stack,
        "test": bool(test),
        "n_test": settings.n_test,
        **{k: v for k, v in settings.keyed().items() if k in keep},
    }


def _batch_size(n_labels: int) -> int:
    """20 up to 400 labels, growing to 100 at 2,000 labels and more."""
    return int(min(100, max(20, n_labels // 20)))


def _optimizer(recipe: Mapping[str, Any]) -> Any:
    from ..backpropagation.optimizers import SGD, Adam, Schedule

    lr, decay = recipe["learning_rate"], recipe.get("lr_decay", 1.0)
    schedule = None if decay == 1.0 else Schedule("exponential", gamma=decay)
    if recipe["optimizer"] == "adam":
        return Adam(learning_rate=lr, weight_decay=recipe["weight_decay"], schedule=schedule)
    return SGD(learning_rate=lr, momentum=0.9, weight_decay=recipe["weight_decay"], schedule=schedule)


def _fit(
    net: Any,
    X: Any,
    Y: Any,
    Xv: Any,
    Yv: Any,
    cfg: Mapping[str, Any],
    optimizer: Any,
    pseudo: Any = None,
) -> Any:
    """Fit with early stopping on the validation error, the best epoch's weights restored; with
    ``pseudo`` (:class:`~weightwise.backpropagation.pseudo_labels.PseudoLabels`), on its
    unlabelled images too."""
    from ..backpropagation.training import fit

    n = X.shape[0]
    copies = -(-cfg["epoch_examples"] // n)  # ceil
    epochs = int(max(1, min(cfg["max_epochs"], cfg["max_examples"] // (n * copies))))
    return fit(
        net,
        np.tile(X, (copies, 1)),
        np.tile(Y, (copies, 1)),
        loss="cross_entropy",
        optimizer=optimizer,
        epochs=epochs,
        batch_size=_batch_size(n),
        validation_data=(Xv, Yv),
        patience=min(cfg["patience"], epochs),
        monitor="val_metric",
        seed=cfg["seed"],
        record_grad_norm=False,
        pseudo_labels=pseudo,
    )


def _load_stack(config: Mapping[str, Any], stacks: str, n_in: int, n_out: int) -> Any:
    """The stored pre-trained network, or a freshly initialised one for methods without."""
    from ..io import load_network

    if config["stack"] is None:
        return _network(config["method"], n_in, config["hidden"], n_out, config["seed"])
    path = Path(stacks) / f"{config['stack']}.safetensors"
    if not path.is_file():
        raise DataError(f"the pre-trained stack {path} is missing; run the study again to pre-train it")
    return load_network(path)[0]


def run_finetune(
    config: Mapping[str, Any],
    *,
    stacks: str,
    mnist_path: str | None = None,
    models: str | None = None,
    selected: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Fine-tune one network on ``n_labels`` labelled images (None: all but the validation
    images), choosing its epoch on validation.

    With ``models``, a selection run (``test`` false) stores its fitted network there as
    ``<key>.safetensors``, and a final run whose selection twin (the same configuration with
    ``test`` false: same seed, data and recipe) is stored there, with its result in
    ``selected`` (by key), reads the test set with that network instead of fitting it again.
    Fitting is deterministic given the configuration, so this is the same run; its validation
    error is recomputed and must equal the stored one, else the run is fitted afresh.

    Returns
    -------
    dict
        ``valid_error`` (of the epoch kept), ``best_epoch``, ``epochs``, ``top_epochs``,
        ``valid_curve`` (validation error per epoch), ``test_error`` (None in selection runs:
        :func:`_test_error` is not called), ``n_labelled``, ``seconds``; a final run that
        reused its selection run also has ``selection_run`` (the selection run's key); its
        ``seconds`` are then those of reading the test set (the fit is the selection run's).
    """
    from threadpoolctl import threadpool_limits

    from .sweep import sweep_key

    t0 = time.perf_counter()
    X, y, Xv, yv, n_classes, unlabelled = _train_valid(config, mnist_path)
    if config["test"] and models is not None and selected is not None:
        reused = _reuse_selection_run(config, Path(models), selected, Xv, yv, mnist_path)
        if reused is not None:
            return reused | {"seconds": time.perf_counter() - t0}  # this run's work: reading
    Y, Yv = one_hot(y, n_classes), one_hot(yv, n_classes)
    net = _load_stack(config, stacks, X.shape[1], n_classes)
    recipe = config["recipe"]
    top_epochs = 0
    with threadpool_limits(limits=1, user_api="blas"):
        if recipe["top_first"]:
            top_epochs = _train_top(net, X, Y, Xv, Yv, config)
        history = _fit(net, X, Y, Xv, Yv, config, _optimizer(recipe), _pseudo(recipe, unlabelled))
    valid_error = _error(net, Xv, yv)
    test_error = _test_error(net, config, mnist_path) if config["test"] else None
    if models is not None and not config["test"]:
        _store_model(net, Path(models), sweep_key(config))
    val_acc = history.to_dict().get("val_metric", [])
    return {
        "method": config["method"],
        "label": METHODS[config["method"]].label,
        "seed": config["seed"],
        "n_labels": config["n_labels"],
        "recipe": recipe["name"],
        "valid_error": valid_error,
        "test_error": test_error,
        "n_labelled": int(X.shape[0]),
        "best_epoch": history.best_epoch,
        "epochs": len(val_acc),
        "top_epochs": top_epochs,
        "valid_curve": [round(1.0 - a, 5) for a in val_acc],
        "seconds": time.perf_counter() - t0,
    }


def _pseudo(recipe: Mapping[str, Any], unlabelled: Any) -> Any:
    """The pseudo-label term of a recipe that has one (else None); the softmax-alone phase of a
    ``top_first`` recipe has none: it fits the labelled images' features only."""
    from ..backpropagation.pseudo_labels import PseudoLabels

    if not recipe.get("pseudo_labels"):
        return None
    return PseudoLabels(unlabelled, recipe["pseudo_labels"], recipe["pl_start"], recipe["pl_full"])


def _store_model(net: Any, models: Path, key: str) -> None:
    """Write a selection run's network atomically (parallel workers each write their own file)."""
    from ..io import save_network

    models.mkdir(parents=True, exist_ok=True)
    tmp = models / f".{key}.{os.getpid()}.tmp"
    save_network(net, tmp)
    os.replace(tmp, models / f"{key}.safetensors")


def _reuse_selection_run(
    config: Mapping[str, Any],
    models: Path,
    selected: Mapping[str, Mapping[str, Any]],
    Xv: np.ndarray,
    yv: np.ndarray,
    mnist_path: str | None,
) -> dict[str, Any] | None:
    """The final run as its selection twin's network read on the test set, or None when the
    twin's network is not stored or no longer gives the stored validation error."""
    from ..io import load_network
    from .sweep import sweep_key

    twin_key = sweep_key({**config, "test": False})
    path = models / f"{twin_key}.safetensors"
    if twin_key not in selected or not path.is_file():
        return None
    net = load_network(path)[0]
    twin = dict(selected[twin_key])
    if _error(net, Xv, yv) != twin["valid_error"]:
        return None
    return twin | {"test_error": _test_error(net, config, mnist_path), "selection_run": twin_key}


def _train_valid(config: Mapping[str, Any], mnist_path: str | None) -> tuple[Any, ...]:
    """The labelled and validation images and labels, the number of classes, and for a
    pseudo-label recipe the images outside both sets, their labels unread (else None). The test
    split is loaded as one image, never looked at: the loader needs a split."""
    ds = load_dataset(config["data"], config.get("n_train"), 1, mnist_path)
    if config["n_labels"] is None:
        n_fit = ds.y_train.size - config["n_valid"]
        if n_fit < 1:
            raise DataError(
                f"{ds.y_train.size} training images leave none to fit on beside "
                f"{config['n_valid']} validation images; ask for fewer validation images"
            )
        lab, val = np.arange(n_fit), np.arange(n_fit, ds.y_train.size)
    else:
        lab, val = balanced_split(ds.y_train, config["n_labels"], config["seed"], config["n_valid"])
    n_classes = int(ds.y_train.max()) + 1
    unlabelled = None
    if config["recipe"].get("pseudo_labels"):
        if config["n_labels"] is None:
            raise ConfigError(
                f"recipe {config['recipe']['name']!r} uses pseudo-labels, which need unlabelled "
                "images; with every training image labelled there are none: give label counts"
            )
        unlabelled = np.delete(ds.X_train, np.concatenate([lab, val]), axis=0)
    return ds.X_train[lab], ds.y_train[lab], ds.X_train[val], ds.y_train[val], n_classes, unlabelled


def _test_error(net: Any, config: Mapping[str, Any], mnist_path: str | None) -> float:
    """The test error: read by final runs only, once, after the weights are frozen."""
    ds = load_dataset(config["data"], None, config["n_test"], mnist_path)
    return _error(net, ds.X_test, ds.y_test)


def _train_top(net: Any, X: Any, Y: Any, Xv: Any, Yv: Any, cfg: Mapping[str, Any]) -> int:
    """Train the softmax layer alone on the features below it (Adam, 1e-3, the recipe's weight
    decay; as examples/_common.py's ``train_top_layer``); the epoch kept.

    A one-layer network holding the output layer's own arrays: fitting it moves ``net``'s weights.
    """
    from ..net.network import Network

    below = len(net.layers) - 1
    top = Network([net.layers[-1]])
    H, Hv = net.transform(X, below), net.transform(Xv, below)
    adam = {"optimizer": "adam", "learning_rate": 1e-3, "weight_decay": cfg["recipe"]["weight_decay"]}
    history = _fit(top, H, Y, Hv, Yv, cfg, _optimizer(adam))
    return int(history.best_epoch or 0)


def _error(net: Any, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(np.asarray(net.predict(X)), axis=1) != y))
