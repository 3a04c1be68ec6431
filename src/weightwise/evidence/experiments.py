"""The experiments behind ``weightwise compare`` and ``weightwise study depth``: config -> run -> result.

One run trains one network one way and measures it. :func:`run_one` takes a plain dict (an
:class:`ExperimentConfig` as JSON) and returns a plain dict, so :func:`~.sweep.run_sweep` can run
many of them in parallel, store each under a key derived from its configuration, and resume.

The four ways to adjust the same deep network (:data:`METHODS`); every one ends with the same
back-propagation fine-tuning (same loss, optimiser, learning rate, batch size and epochs):

``bp``
    Plain BP from random weights as practised before 2006: sigmoid hidden layers, Glorot and
    Bengio's "standard" init U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases, then BP.
``bp_normal``
    The textbook's worked example: sigmoid hidden layers, weights and biases from N(0, 1), then
    BP. (Wide layers with N(0, 1) weights saturate, but the large weights also keep the
    back-propagated signal from shrinking, so this variant vanishes far less than ``bp``.)
``rbm``
    Hinton, Osindero and Teh (2006): weights from N(0, 0.01^2), then each sigmoid hidden layer is
    trained as a Bernoulli RBM by CD-1 on the mean activations of the layer below (first layer
    first; momentum 0.5 then 0.9, weight cost 2e-4), then BP.
``dae``
    Vincent et al. (2010): Glorot's normalised uniform init, then each sigmoid hidden layer is
    trained as a denoising auto-encoder with tied weights, masking noise (25% of the inputs set to
    0) and the cross-entropy reconstruction loss, then BP.
``ae``
    As ``dae`` without noise (the "SAA" of Vincent et al. 2010).
``relu_he``
    Today's answer: ReLU hidden layers with He's init N(0, 2 / fan_in), no pre-training, BP.

All use a softmax output layer and the cross-entropy loss. The training loss and the per-epoch
accuracies are recorded; the test set is only *monitored* (never used to choose anything).
Gradient norms per layer are taken on a fixed subset of the training data with one full-batch
backward pass (:func:`~.diagnostics.gradient_norms_at`) at initialisation, when BP starts (after
pre-training) and after training; :class:`~.diagnostics.GradientFlow` records them per epoch.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..datasets import one_hot
from ..errors import ConfigError, DivergenceError, unknown_name
from .data import check_data_name, load_dataset

# --------------------------------------------------------------------------------------------------
# methods


@dataclass(frozen=True)
class Method:
    """One way to adjust the weights: the hidden activation, the init and the pre-training.

    Attributes
    ----------
    name : str
    label : str
        For tables and figures.
    activation : str
        Hidden-layer activation.
    init : str
        Initialiser of every layer (before any pre-training).
    learner : str or None
        Greedy pre-training learner (see :data:`weightwise.layerwise.greedy.LEARNERS`), or None.
    learner_params : dict
        Extra learner settings (the corruption level of a denoising auto-encoder).
    """

    name: str
    label: str
    activation: str
    init: str
    learner: str | None = None
    learner_params: Mapping[str, Any] = field(default_factory=dict)


METHODS: dict[str, Method] = {
    "bp": Method("bp", "plain BP (sigmoid, standard init)", "sigmoid", "standard"),
    "bp_normal": Method("bp_normal", "plain BP (sigmoid, N(0,1))", "sigmoid", "normal"),
    # Hinton's RBM initialisation: small weights, so the hidden units start unbiased.
    "rbm": Method("rbm", "RBM pre-training + BP", "sigmoid", "small_normal", "rbm"),
    "dae": Method(
        "dae",
        "denoising AE pre-training + BP",
        "sigmoid",
        "xavier_uniform",
        "autoencoder",
        {"corruption": 0.25},
    ),
    "ae": Method(
        "ae", "AE pre-training + BP", "sigmoid", "xavier_uniform", "autoencoder", {"corruption": 0.0}
    ),
    "relu_he": Method("relu_he", "ReLU + He init + BP", "relu", "he_normal"),
}
DEFAULT_METHODS = ("bp", "rbm", "dae", "relu_he")
MAX_DEPTH = 20
MAX_WIDTH = 10_000


# --------------------------------------------------------------------------------------------------
# configuration


@dataclass
class ExperimentConfig:
    """Everything one run depends on; stored as JSON, its hash is the run's key.

    Attributes
    ----------
    method : str
        A key of :data:`METHODS`.
    seed : int
        Initial weights, pre-training noise and the order of the mini-batches.
    data : str
        ``"digits"`` (scikit-learn's 8x8 digits, fixed 75/25 split), ``"mnist"`` or a ``.npz``
        file holding ``X`` and ``y`` (split 75/25, stratified, seed 0).
    mnist_path : str or None
        Folder of the MNIST IDX files (default: ``WEIGHTWISE_DATA`` or ``~/.cache/weightwise``).
    n_train, n_test : int or None
        Use the first ``n`` samples of a fixed shuffle of each split (None: all). Every method and
        seed sees the same subset.
    hidden : list of int
        Hidden-layer widths; its length is the depth. Five of 100 by default: deep enough for the
        vanishing gradient to show, small enough for digits on two cores.
    epochs, batch_size, learning_rate, momentum
        BP fine-tuning: mini-batch SGD with momentum on the mean cross-entropy.
    pretrain_epochs : int
        Epochs per hidden layer of the greedy pre-training (pre-training methods only).
    pretrain_learning_rate : float
        Learning rate of the RBMs and auto-encoders.
    activation, init : str or None
        Override the method's hidden activation and init (Glorot and Bengio's sigmoid/tanh x
        standard/normalised grid).
    label : str or None
        Override the method's label in tables.
    info_samples : int
        Size of the fixed training subset for the information plane (0 turns it off).
    info_every : int
        Record the information plane every ``info_every`` epochs (and at epoch 1).
    info_noise_variance : float
        Noise of the KDE mutual-information estimator (binning saturates in layers this wide).
    grad_samples : int
        Size of the fixed training subset for the gradient norms at init and after training.
    n_features : int
        First-layer features (columns of W1) kept in the result for the figure.
    """

    method: str = "bp"
    seed: int = 0
    data: str = "digits"
    mnist_path: str | None = None
    n_train: int | None = None
    n_test: int | None = None
    hidden: list[int] = field(default_factory=lambda: [100] * 5)
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 0.05
    momentum: float = 0.9
    pretrain_epochs: int = 10
    pretrain_learning_rate: float = 0.05
    activation: str | None = None
    init: str | None = None
    label: str | None = None
    info_samples: int = 300
    info_every: int = 3
    info_noise_variance: float = 0.1
    grad_samples: int = 500
    n_features: int = 25

    def validate(self) -> ExperimentConfig:
        """Check every field; return self. Raises :class:`ConfigError` naming the fix."""
        from ..net.activations import ACTIVATIONS
        from ..net.initializers import INITIALIZERS

        if self.method not in METHODS:
            raise unknown_name("method", self.method, METHODS)
        check_data_name(self.data)
        check_hidden(self.hidden)
        for name in ("epochs", "batch_size", "pretrain_epochs", "info_every", "n_features"):
            _positive_int(getattr(self, name), name)
        for name in ("n_train", "n_test"):
            if getattr(self, name) is not None:
                _positive_int(getattr(self, name), name)
        for name in ("info_samples", "grad_samples", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
        for name in ("learning_rate", "pretrain_learning_rate", "info_noise_variance"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number, got {value!r}")
        if not 0.0 <= self.momentum < 1.0:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if self.activation is not None and self.activation not in ACTIVATIONS:
            raise unknown_name("activation", self.activation, ACTIVATIONS)
        if self.init is not None and self.init not in INITIALIZERS:
            raise unknown_name("initializer", self.init, INITIALIZERS)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The run's JSON configuration (what :func:`run_one` takes and the sweep hashes)."""
        d = dataclasses.asdict(self)
        d["hidden"] = [int(w) for w in self.hidden]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExperimentConfig:
        """Build and validate; unknown keys are refused (a typo would silently change nothing)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"unknown experiment setting(s) {unknown}; valid: {sorted(names)}")
        kwargs = dict(d)
        if "hidden" in kwargs:
            kwargs["hidden"] = list(kwargs["hidden"])
        return cls(**kwargs).validate()

    @property
    def depth(self) -> int:
        return len(self.hidden)

    def method_label(self) -> str:
        """The label of this run's way of training, for tables and figures."""
        if self.label:
            return self.label
        m = METHODS[self.method]
        if self.activation is None and self.init is None:
            return m.label
        return f"{m.name} ({self.activation or m.activation}, {self.init or m.init})"


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_hidden(hidden: Sequence[int]) -> list[int]:
    """Hidden widths: 1 to :data:`MAX_DEPTH` layers of 1 to :data:`MAX_WIDTH` units."""
    if isinstance(hidden, str | bytes) or not isinstance(hidden, Sequence):
        raise ConfigError(f"hidden must be a list of layer widths, got {hidden!r}")
    if not 1 <= len(hidden) <= MAX_DEPTH:
        raise ConfigError(f"depth must be between 1 and {MAX_DEPTH} hidden layers, got {len(hidden)}")
    for w in hidden:
        if isinstance(w, bool) or not isinstance(w, int | np.integer) or not 1 <= w <= MAX_WIDTH:
            raise ConfigError(f"every hidden width must be an integer in 1..{MAX_WIDTH}, got {w!r}")
    return [int(w) for w in hidden]


def check_methods(methods: Sequence[str]) -> list[str]:
    """Method names, each in :data:`METHODS`, at least one, no repeats."""
    out = []
    for m in methods:
        if m not in METHODS:
            raise unknown_name("method", m, METHODS)
        if m not in out:
            out.append(m)
    if not out:
        raise ConfigError(f"give at least one method; valid methods: {', '.join(METHODS)}")
    return out


# --------------------------------------------------------------------------------------------------
# one run


def _finite_list(values: Any) -> list[Any]:
    """Floats as a JSON list, NaN and infinities as None (nested lists too)."""
    out: list[Any] = []
    for v in values:
        if isinstance(v, list | tuple | np.ndarray):
            out.append(_finite_list(v))
        else:
            f = float(v)
            out.append(f if math.isfinite(f) else None)
    return out


def _ratio(norms: Any) -> float | None:
    from .diagnostics import flow_ratio

    r = flow_ratio(np.asarray(norms, dtype=float))[2]
    return r if math.isfinite(r) else None


def run_one(config: Mapping[str, Any]) -> dict[str, Any]:
    """Train one network as ``config`` says and measure it; JSON values only.

    BLAS runs single-threaded inside a run: runs are parallel across processes (``n_jobs``) or
    workers, and the result does not depend on the machine's thread count. Measured on a shared
    2-core machine, one epoch of the quick glorot2010 run (784-200x5-10, 3,000 MNIST images) took
    0.12 s with one OpenBLAS thread and 16 s with two competing for busy cores.

    Parameters
    ----------
    config : dict
        An :class:`ExperimentConfig` as a dict (see :meth:`ExperimentConfig.to_dict`).

    Returns
    -------
    dict
        ``method``, ``label``, ``seed``, ``depth``, ``hidden``; ``test_accuracy``, ``test_error``,
        ``train_accuracy``; ``curves`` (per epoch: ``loss``, ``train_accuracy``,
        ``test_accuracy``, ``test_loss``); ``grad_norm_init``, ``grad_norm_start``,
        ``grad_norm_final`` (per layer, output layer last) and ``grad_ratio_init``,
        ``grad_ratio_final`` (layer 1 over the last hidden layer); ``flow`` (per epoch x layer:
        ``grad_norm``, ``delta_norm``, ``saturation``, ``dead_fraction``, ``update_ratio``,
        ``activation_std``, and its ``summary`` sentences); ``info_plane`` (or None);
        ``features`` (n_in x n_features columns of W1) and ``image_shape``; ``seconds``,
        ``pretrain_seconds``, ``finetune_seconds``;
        ``stop_reason`` and ``diverged``.
    """
    from threadpoolctl import threadpool_limits

    cfg = ExperimentConfig.from_dict(config)
    with threadpool_limits(limits=1, user_api="blas"):
        return _run(cfg)


def _run(cfg: ExperimentConfig) -> dict[str, Any]:
    """The body of :func:`run_one` for a validated configuration."""
    from ..backpropagation.optimizers import SGD
    from ..backpropagation.training import fit
    from ..layerwise.greedy import pretrain
    from ..net.network import Network
    from .diagnostics import GradientFlow, gradient_norms_at
    from .information import InformationPlane

    method = METHODS[cfg.method]
    start = time.perf_counter()
    ds = load_dataset(cfg.data, cfg.n_train, cfg.n_test, cfg.mnist_path)
    n_classes = ds.n_classes
    Ytr, Yte = one_hot(ds.y_train, n_classes), one_hot(ds.y_test, n_classes)
    sizes = [ds.X_train.shape[1], *cfg.hidden, n_classes]
    activation = cfg.activation or method.activation
    net = Network.create(
        sizes, activation, output_activation="softmax", init=cfg.init or method.init, seed=cfg.seed
    )
    # Fixed subsets (the same for every method and seed) for the gradient norms and information.
    pick = np.random.default_rng(12345).permutation(ds.X_train.shape[0])
    g_idx = np.sort(pick[: min(cfg.grad_samples or ds.X_train.shape[0], ds.X_train.shape[0])])
    Xg, Yg = ds.X_train[g_idx], Ytr[g_idx]
    grad_init = gradient_norms_at(net, Xg, Yg, "cross_entropy")

    pretrain_seconds = 0.0
    if method.learner is not None:
        t0 = time.perf_counter()
        params = {"learning_rate": cfg.pretrain_learning_rate, **method.learner_params}
        pretrain(
            net,
            ds.X_train,
            method.learner,
            epochs=cfg.pretrain_epochs,
            batch_size=cfg.batch_size,
            learner_params=params,
            seed=cfg.seed,
        )
        pretrain_seconds = time.perf_counter() - t0
    grad_start = gradient_norms_at(net, Xg, Yg, "cross_entropy")

    flow = GradientFlow(sample_every=4)
    callbacks: list[Any] = [flow]
    plane = None
    if cfg.info_samples > 0:
        i_idx = np.sort(pick[: min(cfg.info_samples, ds.X_train.shape[0])])
        plane = InformationPlane(
            ds.X_train[i_idx],
            ds.y_train[i_idx],
            every=cfg.info_every,
            estimator="kde",
            noise_variance=cfg.info_noise_variance,
        )
        callbacks.append(plane)
    optimizer = SGD(learning_rate=cfg.learning_rate, momentum=cfg.momentum)
    t0 = time.perf_counter()
    diverged = False
    try:
        history = fit(
            net,
            ds.X_train,
            Ytr,
            loss="cross_entropy",
            optimizer=optimizer,
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            validation_data=(ds.X_test, Yte),
            callbacks=callbacks,
            seed=cfg.seed,
        )
        curves = history.to_dict()
        stop_reason = history.stop_reason
    except DivergenceError:
        # The network keeps its last finite weights; the run is reported, marked as diverged.
        diverged, curves, stop_reason = True, {}, "diverged"
    finetune_seconds = time.perf_counter() - t0
    grad_final = gradient_norms_at(net, Xg, Yg, "cross_entropy")

    test_acc = float(np.mean(np.argmax(np.asarray(net.predict(ds.X_test)), axis=1) == ds.y_test))
    train_acc = float(np.mean(np.argmax(np.asarray(net.predict(ds.X_train)), axis=1) == ds.y_train))
    W1 = np.asarray(net.layers[0].W, dtype=np.float64)[:, : cfg.n_features]
    flow_d = flow.to_dict()
    return {
        "method": cfg.method,
        "label": cfg.method_label(),
        "activation": activation,
        "init": cfg.init or method.init,
        "seed": cfg.seed,
        "depth": cfg.depth,
        "hidden": list(cfg.hidden),
        "data": ds.name,
        "n_train": int(ds.X_train.shape[0]),
        "n_test": int(ds.X_test.shape[0]),
        "test_accuracy": test_acc,
        "test_error": 1.0 - test_acc,
        "train_accuracy": train_acc,
        "curves": {
            "loss": curves.get("loss", []),
            "train_accuracy": curves.get("metric", []),
            "test_loss": curves.get("val_loss", []),
            "test_accuracy": curves.get("val_metric", []),
        },
        "grad_norm_init": _finite_list(grad_init),
        "grad_norm_start": _finite_list(grad_start),
        "grad_norm_final": _finite_list(grad_final),
        "grad_ratio_init": _ratio(grad_init),
        "grad_ratio_start": _ratio(grad_start),
        "grad_ratio_final": _ratio(grad_final),
        "flow": {
            k: flow_d[k]
            for k in (
                "grad_norm",
                "delta_norm",
                "saturation",
                "dead_fraction",
                "update_ratio",
                "activation_std",
                "summary",
            )
        },
        "info_plane": plane.to_dict() if plane is not None else None,
        # Rounded: the figure needs 3 digits, and the stored run stays small for MNIST's 784 inputs.
        "features": np.round(W1, 4).tolist(),
        "image_shape": list(ds.image_shape) if ds.image_shape else None,
        "seconds": time.perf_counter() - start,
        "pretrain_seconds": pretrain_seconds,
        "finetune_seconds": finetune_seconds,
        "stop_reason": stop_reason,
        "diverged": diverged,
    }


# --------------------------------------------------------------------------------------------------
# sweeps


def run_configs(
    configs: Sequence[Mapping[str, Any]],
    folder: str | Path,
    *,
    n_jobs: int = 1,
    scheduler: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    name: str | None = None,
) -> list[dict[str, Any]]:
    """Validate every configuration first (a typo fails before any run), then run the sweep."""
    from .sweep import run_sweep

    for c in configs:
        ExperimentConfig.from_dict(c)
    return run_sweep(
        list(configs),
        run_one,
        Path(folder) / "sweep",
        n_jobs=n_jobs,
        scheduler=scheduler,
        progress=progress,
        overwrite=overwrite,
        name=name,
    )
