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
import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import check_fraction, check_positive, check_positive_int, is_integer
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
        Folder of the MNIST IDX files (default: ``WEIGHTWISE_MNIST``, ``WEIGHTWISE_DATA`` or
        ``~/.cache/weightwise``). Where the data is read from is not what a run computes, so a
        sweep keys its runs without it (see :func:`run_configs`).
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
            check_positive_int(getattr(self, name), name)
        for name in ("n_train", "n_test"):
            if getattr(self, name) is not None:
                check_positive_int(getattr(self, name), name)
        for name in ("info_samples", "grad_samples", "seed"):
            value = getattr(self, name)
            if not is_integer(value) or value < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
        for name in ("learning_rate", "pretrain_learning_rate", "info_noise_variance"):
            check_positive(getattr(self, name), name)
        check_fraction(self.momentum, "momentum")
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


def check_hidden(hidden: Sequence[int]) -> list[int]:
    """Hidden widths: 1 to :data:`MAX_DEPTH` layers of 1 to :data:`MAX_WIDTH` units."""
    if isinstance(hidden, str | bytes) or not isinstance(hidden, Sequence):
        raise ConfigError(f"hidden must be a list of layer widths, got {hidden!r}")
    if not 1 <= len(hidden) <= MAX_DEPTH:
        raise ConfigError(f"depth must be between 1 and {MAX_DEPTH} hidden layers, got {len(hidden)}")
    for w in hidden:
        if not is_integer(w) or not 1 <= w <= MAX_WIDTH:
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


@dataclass(frozen=True)
class RunLog:
    """Live logging of runs (TensorBoard): where, and what builds the callback inside each run.

    Plain values only (a path, field names, an importable class), so a run in a joblib or Dask
    worker builds its own callback there. It is an argument of the run, not part of its
    configuration: a run's key, and so its stored result, is the same with or without logging
    (logging never changes what a run computes). A run whose result is already stored is not
    run again, so it logs nothing.

    Attributes
    ----------
    folder : str
        The parent folder; each run logs to its own subfolder (``folder/rbm/seed_0``).
    make : callable
        ``make(log_dir, examples=X[:16])`` -> a callback for :func:`~weightwise.fit` and
        :func:`~weightwise.pretrain` with a ``close()`` (``weightwise.interop.TensorBoard``,
        passed in by the caller: the evidence floor does not import the interop floor above it).
    by : tuple of str
        The configuration fields that name a run's subfolder, in order (``"depth"`` too).
    """

    folder: str
    make: Callable[..., Any]
    by: tuple[str, ...] = ("method", "seed")

    def run_folder(self, cfg: ExperimentConfig) -> Path:
        """``folder/<method>/seed_<seed>`` (and ``depth_<d>`` where ``by`` names it)."""
        parts = [cfg.method if k == "method" else f"{k}_{getattr(cfg, k)}" for k in self.by]
        return Path(self.folder).joinpath(*parts)


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


def run_one(
    config: Mapping[str, Any], *, log: RunLog | None = None, mnist_path: str | None = None
) -> dict[str, Any]:
    """Train one network as ``config`` says and measure it; JSON values only.

    BLAS runs single-threaded inside a run: runs are parallel across processes (``n_jobs``) or
    workers, and the result does not depend on the machine's thread count. Several BLAS threads
    per run would compete for the cores the other runs hold, which on a shared machine makes an
    epoch many times slower, not faster.

    Parameters
    ----------
    config : dict
        An :class:`ExperimentConfig` as a dict (see :meth:`ExperimentConfig.to_dict`).
    log : RunLog, optional
        Log the run live (pre-training and fine-tuning) to its own subfolder of ``log.folder``.
    mnist_path : str, optional
        Where to read MNIST from, in place of the configuration's ``mnist_path``.

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
    if mnist_path is not None:
        cfg = dataclasses.replace(cfg, mnist_path=mnist_path)
    with threadpool_limits(limits=1, user_api="blas"):
        return _run(cfg, log)


def _run(cfg: ExperimentConfig, log: RunLog | None = None) -> dict[str, Any]:
    """The body of :func:`run_one` for a validated configuration."""
    from ..net.network import Network
    from .diagnostics import GradientFlow, gradient_norms_at

    method = METHODS[cfg.method]
    start = time.perf_counter()
    ds = load_dataset(cfg.data, cfg.n_train, cfg.n_test, cfg.mnist_path)
    Ytr, Yte = one_hot(ds.y_train, ds.n_classes), one_hot(ds.y_test, ds.n_classes)
    sizes = [ds.X_train.shape[1], *cfg.hidden, ds.n_classes]
    activation = cfg.activation or method.activation
    init = cfg.init or method.init
    net = Network.create(sizes, activation, output_activation="softmax", init=init, seed=cfg.seed)
    # Fixed subsets (the same for every method and seed) for the gradient norms and information.
    pick = np.random.default_rng(12345).permutation(ds.X_train.shape[0])
    g_idx = np.sort(pick[: cfg.grad_samples or None])
    Xg, Yg = ds.X_train[g_idx], Ytr[g_idx]
    grad_init = gradient_norms_at(net, Xg, Yg, "cross_entropy")
    logger = None if log is None else log.make(log.run_folder(cfg), examples=ds.X_train[:16])
    live = [] if logger is None else [logger]
    try:
        pretrain_seconds = _pretrain(net, ds.X_train, cfg, method, live)
        grad_start = gradient_norms_at(net, Xg, Yg, "cross_entropy")
        flow = GradientFlow(sample_every=4)
        plane = _information_plane(cfg, ds.X_train, ds.y_train, pick)
        callbacks: list[Any] = [flow, *([] if plane is None else [plane]), *live]
        t0 = time.perf_counter()
        curves, stop_reason, diverged = _finetune(net, ds, Ytr, Yte, cfg, callbacks)
        finetune_seconds = time.perf_counter() - t0
    finally:
        if logger is not None:
            logger.close()
    grad_final = gradient_norms_at(net, Xg, Yg, "cross_entropy")

    test_acc = _accuracy(net, ds.X_test, ds.y_test)
    W1 = np.asarray(net.layers[0].W, dtype=np.float64)[:, : cfg.n_features]
    return {
        "method": cfg.method,
        "label": cfg.method_label(),
        "activation": activation,
        "init": init,
        "seed": cfg.seed,
        "depth": cfg.depth,
        "hidden": list(cfg.hidden),
        "data": ds.name,
        "n_train": int(ds.X_train.shape[0]),
        "n_test": int(ds.X_test.shape[0]),
        "test_accuracy": test_acc,
        "test_error": 1.0 - test_acc,
        "train_accuracy": _accuracy(net, ds.X_train, ds.y_train),
        "curves": curves,
        **_gradient_record(grad_init, grad_start, grad_final),
        "flow": {k: v for k, v in flow.to_dict().items() if k in _FLOW_KEYS},
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


_FLOW_KEYS = (
    "grad_norm",
    "delta_norm",
    "saturation",
    "dead_fraction",
    "update_ratio",
    "activation_std",
    "summary",
)
"""What a run keeps of its :class:`~.diagnostics.GradientFlow` record."""


def _pretrain(
    net: Any, X: np.ndarray, cfg: ExperimentConfig, method: Method, callbacks: Sequence[Any] = ()
) -> float:
    """Greedy layer-wise pre-training as the method says (none for plain BP); its seconds."""
    from ..layerwise.greedy import pretrain

    if method.learner is None:
        return 0.0
    t0 = time.perf_counter()
    pretrain(
        net,
        X,
        method.learner,
        epochs=cfg.pretrain_epochs,
        batch_size=cfg.batch_size,
        learner_params={"learning_rate": cfg.pretrain_learning_rate, **method.learner_params},
        callbacks=list(callbacks),
        seed=cfg.seed,
    )
    return time.perf_counter() - t0


def _information_plane(cfg: ExperimentConfig, X: np.ndarray, y: np.ndarray, pick: np.ndarray) -> Any:
    """The information-plane recorder on the training rows ``pick[:info_samples]``, or None.

    ``pick`` is the fixed shuffle of the training rows shared by every run.
    """
    from .information import InformationPlane

    if cfg.info_samples <= 0:
        return None
    rows = np.sort(pick[: cfg.info_samples])
    return InformationPlane(
        X[rows],
        y[rows],
        every=cfg.info_every,
        estimator="kde",
        noise_variance=cfg.info_noise_variance,
    )


def _finetune(
    net: Any, ds: Any, Ytr: np.ndarray, Yte: np.ndarray, cfg: ExperimentConfig, callbacks: list[Any]
) -> tuple[dict[str, Any], str | None, bool]:
    """BP fine-tuning by SGD with momentum: the per-epoch curves, why training stopped, and
    whether it diverged."""
    from ..backpropagation.optimizers import SGD
    from ..backpropagation.training import fit

    try:
        history = fit(
            net,
            ds.X_train,
            Ytr,
            loss="cross_entropy",
            optimizer=SGD(learning_rate=cfg.learning_rate, momentum=cfg.momentum),
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            validation_data=(ds.X_test, Yte),
            callbacks=callbacks,
            seed=cfg.seed,
        )
    except DivergenceError:
        # The network keeps its last finite weights; the run is reported, marked as diverged.
        empty: dict[str, Any] = {"loss": [], "train_accuracy": [], "test_loss": [], "test_accuracy": []}
        return empty, "diverged", True
    d = history.to_dict()
    curves = {
        "loss": d.get("loss", []),
        "train_accuracy": d.get("metric", []),
        "test_loss": d.get("val_loss", []),
        "test_accuracy": d.get("val_metric", []),
    }
    return curves, history.stop_reason, False


def _accuracy(net: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose largest output is the true class."""
    return float(np.mean(np.argmax(np.asarray(net.predict(X)), axis=1) == y))


def _gradient_record(grad_init: Any, grad_start: Any, grad_final: Any) -> dict[str, Any]:
    """Norms per layer and the layer-1 / last-hidden ratio at the three moments, as JSON."""
    moments = {"init": grad_init, "start": grad_start, "final": grad_final}
    out: dict[str, Any] = {f"grad_norm_{m}": _finite_list(g) for m, g in moments.items()}
    out.update({f"grad_ratio_{m}": _ratio(g) for m, g in moments.items()})
    return out


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
    log: RunLog | None = None,
) -> list[dict[str, Any]]:
    """Validate every configuration first (a typo fails before any run), then run the sweep.

    ``log`` goes to every run beside its configuration (:class:`RunLog`), never into it; so does
    ``mnist_path``: where MNIST is read from does not change a run, so it is not part of the
    run's key, and the same sweep resumes whichever folder (or variable) the files come from.
    """
    from .sweep import run_sweep

    for c in configs:
        ExperimentConfig.from_dict(c)
    paths = {str(c["mnist_path"]) for c in configs if c.get("mnist_path") is not None}
    if len(paths) > 1:
        raise ConfigError(f"one sweep reads MNIST from one folder; got {sorted(paths)}")
    keyed = [{**c, "mnist_path": None} if "mnist_path" in c else dict(c) for c in configs]
    extra: dict[str, Any] = {} if log is None else {"log": log}
    if paths:
        extra["mnist_path"] = paths.pop()
    return run_sweep(
        keyed,
        functools.partial(run_one, **extra) if extra else run_one,
        Path(folder) / "sweep",
        n_jobs=n_jobs,
        scheduler=scheduler,
        progress=progress,
        overwrite=overwrite,
        name=name,
    )
