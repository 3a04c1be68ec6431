"""``weightwise train``: back-propagation through the scikit-learn estimators."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import typer
from rich.table import Table
from rich.text import Text

from ..checks import check_network_size
from ..errors import ConfigError, TrainingFailedWarning
from .base import _user_errors_exit_1, app, cli_words, console, err_console, one_line, plural
from .data import DEFAULT_MODEL, Split, _check_task, _n_outputs, load_split
from .options import (
    BackendOption,
    CdKOption,
    CheckpointDirOption,
    CorruptionOption,
    DeviceOption,
    DownloadOption,
    DtypeOption,
    GibbsStepsOption,
    MnistPathOption,
    PersistentOption,
    ResumeOption,
    TensorBoardOption,
    WeightCostOption,
    check_checkpoint_options,
    check_device_option,
    interrupted,
    open_tensorboard,
    parse_activation,
    parse_batch_size,
    parse_layers,
    parse_pretrain_batch_size,
    parse_pretrain_epochs,
    split_layers,
    tensorboard_note,
)
from .pretrain_options import pretrain_learner_names, pretrain_options
from .pretrain_report import PretrainFigures, pretraining_table_from_histories, report_figures
from .progress import EpochProgress, LayerProgress, PipelineProgress

# --------------------------------------------------------------------------------------------------
# the options of this command alone (the shared ones are in .options)

DataOption = Annotated[
    str,
    typer.Option(
        help="'digits' (built in), 'mnist' (IDX files, see --mnist), a .csv file (with "
        "--target) or an .npz file with arrays X and y."
    ),
]
TargetOption = Annotated[str | None, typer.Option(help="Label column of a CSV file.")]
TestSizeOption = Annotated[
    float,
    typer.Option(
        help="Fraction of a CSV/NPZ held out for testing (0 = none); digits and MNIST have "
        "fixed test sets."
    ),
]
TaskOption = Annotated[
    Literal["classify", "regress"],
    typer.Option(help="classify (labels) or regress (real-valued targets)."),
]
LayersOption = Annotated[
    str | None,
    typer.Option(
        metavar="SIZES",
        help="Every layer's size: input, hidden (none or more), output. 64-100-100-10 is two "
        "hidden layers of 100; 64-10 none. The first must equal the data's features, the last "
        "its classes. Default: 64-100-10 on digits (one hidden layer of 100).",
    ),
]
HiddenOption = Annotated[
    str | None,
    typer.Option(
        metavar="SIZES",
        help="Hidden sizes only, e.g. 100-50; input and output sizes come from the data.",
    ),
]
ActivationOption = Annotated[
    str | None,
    typer.Option(
        help="Hidden activation, or one per hidden layer joined by ','. Default relu; "
        "sigmoid with --pretrain (RBMs need it)."
    ),
]
OutputActivationOption = Annotated[
    str | None,
    typer.Option(
        help="Output activation; default softmax (one sigmoid unit for two classes) to "
        "classify, identity to regress. The textbook's is sigmoid."
    ),
]
LossOption = Annotated[
    str | None,
    typer.Option(
        help="squared_error, cross_entropy or binary_cross_entropy; default: the one that "
        "fits the output activation."
    ),
]
InitOption = Annotated[
    str,
    typer.Option(
        help="Initialiser: normal, small_normal, uniform, xavier_normal, xavier_uniform, "
        "he_normal, he_uniform, lecun_normal, lecun_uniform or standard."
    ),
]
SolverOption = Annotated[Literal["sgd", "adam"], typer.Option(help="The optimiser.")]
LearningRateOption = Annotated[float, typer.Option("--lr", help="Initial learning rate.")]
ScheduleOption = Annotated[
    Literal["constant", "step", "inverse_scaling", "exponential"],
    typer.Option(
        help="Learning-rate schedule: step multiplies by --lr-gamma every --lr-step-size "
        "epochs, exponential by --lr-gamma every epoch, inverse_scaling divides by "
        "epoch^--power-t."
    ),
]
BatchSizeOption = Annotated[
    str, typer.Option(help="Mini-batch size: an integer, 'auto' (min(200, n)) or 'full'.")
]
ThresholdOption = Annotated[
    float | None,
    typer.Option(help="Stop once the training loss falls below this (the textbook's rule)."),
]
TolOption = Annotated[
    float,
    typer.Option(
        help="Stop when the loss (or validation score) has not improved by tol for --patience epochs."
    ),
]
EarlyStoppingOption = Annotated[
    bool,
    typer.Option(help="Hold out --validation-fraction and stop when its score stops improving."),
]
ValidationFractionOption = Annotated[
    float, typer.Option(help="Share of the training data held out for early stopping.")
]
PretrainOption = Annotated[
    str | None,
    typer.Option(
        help="Pre-train the hidden layers greedily first, then fine-tune by BP: rbm (a DBN; "
        "data in [0, 1]), gaussian_rbm (real-valued layer 1), autoencoder or denoising."
    ),
]
PretrainLearningRateOption = Annotated[
    float | None, typer.Option(help="Learning rate of the learners (default theirs: 0.1).")
]
FiguresOption = Annotated[
    Path | None,
    typer.Option(
        help="Folder for PNG figures: training curves; with --pretrain also first-layer "
        "filters, reconstructions, samples (RBMs) and pre-training curves."
    ),
]
ProgressOption = Annotated[
    bool, typer.Option(help="Show the progress bar (epoch, loss, accuracy, time left).")
]


# --------------------------------------------------------------------------------------------------
# the command


@app.command()
@_user_errors_exit_1
def train(
    data: DataOption = "digits",
    target: TargetOption = None,
    mnist_path: MnistPathOption = None,
    download: DownloadOption = False,
    test_size: TestSizeOption = 0.25,
    task: TaskOption = "classify",
    layers: LayersOption = None,
    hidden: HiddenOption = None,
    activation: ActivationOption = None,
    output_activation: OutputActivationOption = None,
    loss: LossOption = None,
    init: InitOption = "xavier_uniform",
    solver: SolverOption = "adam",
    lr: LearningRateOption = 0.001,
    schedule: ScheduleOption = "constant",
    lr_step_size: Annotated[int, typer.Option(help="Epochs between step decays.")] = 10,
    lr_gamma: Annotated[float, typer.Option(help="Decay factor of step and exponential.")] = 0.5,
    power_t: Annotated[float, typer.Option(help="Exponent of inverse_scaling.")] = 0.5,
    momentum: Annotated[float, typer.Option(help="SGD momentum in [0, 1).")] = 0.9,
    nesterov: Annotated[bool, typer.Option(help="Nesterov momentum (SGD).")] = False,
    alpha: Annotated[float, typer.Option(help="L2 penalty (weight decay).")] = 1e-4,
    batch_size: BatchSizeOption = "auto",
    epochs: Annotated[int, typer.Option(help="Epoch limit.")] = 200,
    threshold: ThresholdOption = None,
    tol: TolOption = 1e-4,
    early_stopping: EarlyStoppingOption = False,
    patience: Annotated[int, typer.Option(help="Epochs without improvement before stopping.")] = 10,
    validation_fraction: ValidationFractionOption = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the weights, shuffling and splits.")] = 0,
    dtype: DtypeOption = "float32",
    backend: BackendOption = "numpy",
    device: DeviceOption = None,
    out: Annotated[Path, typer.Option(help="Model file to write.")] = Path(DEFAULT_MODEL),
    pretrain: PretrainOption = None,
    pretrain_epochs: Annotated[
        str,
        typer.Option(help="Pre-training epochs per layer, or 'auto' (~5,000 updates, 10 to 50)."),
    ] = "auto",
    pretrain_lr: PretrainLearningRateOption = None,
    pretrain_batch_size: Annotated[
        str,
        typer.Option(help="Mini-batch size of the learners, or 'auto' (rows // 100, 10 to 100)."),
    ] = "auto",
    cd_k: CdKOption = None,
    persistent: PersistentOption = False,
    corruption: CorruptionOption = None,
    weight_cost: WeightCostOption = None,
    figures: FiguresOption = None,
    gibbs_steps: GibbsStepsOption = 500,
    progress: ProgressOption = True,
    checkpoint_dir: CheckpointDirOption = None,
    resume: ResumeOption = False,
    tensorboard: TensorBoardOption = None,
) -> None:
    """Train a network by back-propagation, report train and test metrics and save the model.

    A progress bar shows the epochs. Measured on 2 cores: the defaults (digits, 64-100-10) take
    about 2 s; one epoch of --layers 784-500-500-10 on MNIST about 6 s with loading.

    Examples:

    - weightwise train --data digits --layers 64-100-10 --epochs 20
    - weightwise train --data table.csv --target label --hidden 32-16 --solver sgd --lr 0.1
    - weightwise train --data mnist --mnist ~/data/mnist --layers 784-500-500-10 --batch-size 128
    - weightwise train --data digits --layers 64-100-100-10 --pretrain rbm --pretrain-epochs 20
    - weightwise train --data digits --layers 64-100-100-10 --activation sigmoid --tensorboard
      logs/bp (then: tensorboard --logdir logs)
    - weightwise train --data mnist --layers 784-500-500-10 --checkpoint-dir ckpt (after Ctrl-C, the
      same command with --resume continues from the last finished epoch)
    """
    options = dict(locals())  # every option by name: nothing else is defined yet
    check_device_option(backend, device)
    note = _check_options(layers, hidden, task, checkpoint_dir, resume)
    split = load_split(data, target, test_size, seed, mnist_path, download, stratify=task == "classify")
    _check_task(split, task)
    hidden_layers, output_activation = _network_shape(split, task, layers, hidden, output_activation)
    params = _estimator_params(options, split, hidden_layers, output_activation)
    cls = _estimator_class(task)
    _print_data(split, note)
    snapshot = _pretraining_figures(figures, pretrain, split, gibbs_steps)
    bar = _progress_bar(params, split, snapshot, options)
    tb = open_tensorboard(tensorboard, split.X_train)
    live = [] if tb is None else [tb]
    if pretrain is not None:
        params["pretrain_callbacks"] = [*params["pretrain_callbacks"], *live]
    est = cls(**params, callbacks=[bar, *live])
    if checkpoint_dir is not None:
        # The backup stays until the model file is written and flushed (est.save removes it), so
        # a kill between the end of training and the save loses nothing: --resume finishes it.
        est._keep_checkpoint_until_saved()
    try:
        est = _fit(est, split, bar, checkpoint_dir)
    finally:
        if tb is not None:
            tb.close()
    _print_summary(est, split, task, loss, pretrain)
    console.print(Text.assemble("model saved to ", (str(est.save(out)), "bold")))
    tensorboard_note(tensorboard)
    if figures is not None:
        _write_figures(figures, snapshot, est.history_, pretrain)


# --------------------------------------------------------------------------------------------------
# its steps

# Estimator parameter <- the option that sets it as given (the others are worked out below).
BP_PARAMETERS = {
    "loss": "loss",
    "init": "init",
    "solver": "solver",
    "learning_rate": "lr",
    "learning_rate_schedule": "schedule",
    "lr_step_size": "lr_step_size",
    "lr_gamma": "lr_gamma",
    "power_t": "power_t",
    "momentum": "momentum",
    "nesterov": "nesterov",
    "alpha": "alpha",
    "max_epochs": "epochs",
    "threshold": "threshold",
    "tol": "tol",
    "early_stopping": "early_stopping",
    "n_iter_no_change": "patience",
    "validation_fraction": "validation_fraction",
    "random_state": "seed",
    "dtype": "dtype",
    "backend": "backend",
    "device": "device",
}


def _check_options(
    layers: str | None, hidden: str | None, task: str, checkpoint_dir: Path | None, resume: bool
) -> str | None:
    """Refuse contradictory options before any data is loaded; the checkpoint note, if any."""
    from ..checkpoints import has_checkpoint

    if layers is not None and hidden is not None:
        raise ConfigError("give either --layers or --hidden, not both")
    if task not in ("classify", "regress"):
        raise ConfigError(f"--task {task!r}: valid tasks are 'classify' and 'regress'")
    found = checkpoint_dir is not None and any(
        has_checkpoint(checkpoint_dir / part) for part in ("backprop", "pretrain")
    )
    return check_checkpoint_options(checkpoint_dir, resume, found, "training")


def _network_shape(
    split: Split, task: str, layers: str | None, hidden: str | None, output_activation: str | None
) -> tuple[tuple[int, ...], str | None]:
    """The hidden sizes from ``--hidden`` or ``--layers`` (one layer of 100 by default).

    Returns
    -------
    hidden_layers : tuple of int
    output_activation : str or None
        ``softmax`` where ``--layers`` asks for two output units of a two-class task, else as given.
    """
    if hidden is not None:
        hidden_layers = tuple(parse_layers(hidden, "--hidden"))
        outputs = _n_outputs(split, task, output_activation)
        check_network_size([int(split.X_train.shape[1]), *hidden_layers, outputs[-1]])
        return hidden_layers, output_activation
    if layers is None:
        return (100,), output_activation
    outputs = _n_outputs(split, task, output_activation)
    hidden_layers, n_out = split_layers(parse_layers(layers), int(split.X_train.shape[1]), outputs)
    check_network_size([int(split.X_train.shape[1]), *hidden_layers, n_out])
    if n_out == 2 and task == "classify" and output_activation is None:
        output_activation = "softmax"  # two output units asked for: softmax, not one sigmoid
    return hidden_layers, output_activation


def _estimator_params(
    options: dict[str, Any],
    split: Split,
    hidden_layers: tuple[int, ...],
    output_activation: str | None,
) -> dict[str, Any]:
    """The estimator's parameters from the command's ``options`` (checked with their wording)."""
    pretrain = options["pretrain"]
    activation = options["activation"] or ("relu" if pretrain is None else "sigmoid")
    pre = pretrain_options(
        pretrain,
        split.X_train,
        options["data"],
        epochs=parse_pretrain_epochs(options["pretrain_epochs"], "--pretrain-epochs"),
        learning_rate=options["pretrain_lr"],
        batch_size=parse_pretrain_batch_size(options["pretrain_batch_size"], "--pretrain-batch-size"),
        cd_k=options["cd_k"],
        persistent=options["persistent"],
        corruption=options["corruption"],
        weight_cost=options["weight_cost"],
    )
    checkpoint_dir = options["checkpoint_dir"]
    return {
        **{param: options[option] for param, option in BP_PARAMETERS.items()},
        "hidden_layer_sizes": hidden_layers,
        "activation": parse_activation(activation),
        "output_activation": output_activation,
        "batch_size": parse_batch_size(options["batch_size"]),
        "checkpoint_dir": None if checkpoint_dir is None else str(checkpoint_dir),
        **pre,
    }


def _estimator_class(task: str) -> Any:
    """BPClassifier or BPRegressor."""
    from ..estimators import BPClassifier, BPRegressor

    if task == "classify":
        return BPClassifier
    if task == "regress":
        return BPRegressor
    raise ConfigError(f"--task {task!r}: valid tasks are 'classify' and 'regress'")


def _print_data(split: Split, note: str | None) -> None:
    """What is trained and tested on, and the checkpoint note."""
    n_test = 0 if split.X_test is None else split.X_test.shape[0]
    console.print(
        Text.assemble(
            (split.name, "bold"),
            f": {split.X_train.shape[0]} training samples, {n_test} test samples, "
            f"{split.X_train.shape[1]} features",
        )
    )
    if note is not None:
        console.print(note)


def _pretraining_figures(
    folder: Path | None, pretrain: str | None, split: Split, gibbs_steps: int
) -> PretrainFigures | None:
    """The callback that draws the pre-training figures (test images shown), where asked for."""
    if folder is None or pretrain is None:
        return None
    shown = split.X_test if split.X_test is not None else split.X_train
    return PretrainFigures(folder, shown, None, gibbs_steps)


def _progress_bar(
    params: dict[str, Any],
    split: Split,
    snapshot: PretrainFigures | None,
    options: dict[str, Any],
) -> EpochProgress | PipelineProgress:
    """The bar of the run; with pre-training, its layer rows go in ``params``' callbacks too."""
    enabled = options["progress"]
    bar = EpochProgress(
        options["epochs"],
        accuracy=options["task"] == "classify",
        validation=options["early_stopping"],
        enabled=enabled,
    )
    if options["pretrain"] is None:
        return bar
    hidden_layers = params["hidden_layer_sizes"]
    names = pretrain_learner_names(options["pretrain"], len(hidden_layers))
    widths = [int(split.X_train.shape[1]), *hidden_layers]
    rows = [(n, widths[k], widths[k + 1]) for k, n in enumerate(names)]
    from ..layerwise.greedy import resolve_epochs

    epochs = resolve_epochs(
        params["pretrain_epochs"], params["pretrain_batch_size"], int(split.X_train.shape[0])
    )
    pipeline = PipelineProgress(LayerProgress(rows, epochs, enabled=enabled), bar)
    params["pretrain_callbacks"] = [pipeline.pretrain_callback, *([snapshot] if snapshot else [])]
    return pipeline


def _fit(
    est: Any, split: Split, bar: EpochProgress | PipelineProgress, checkpoint_dir: Path | None
) -> Any:
    """Fit ``est`` under ``bar``; a Ctrl-C or a divergence ends as one line, warnings after the bar."""
    from ..layerwise.loop import LayerDivergenceError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with bar:
                est.fit(split.X_train, split.y_train)
        except KeyboardInterrupt:
            raise interrupted(checkpoint_dir) from None
        except LayerDivergenceError as exc:
            # The estimator names pretrain_learning_rate; the command line calls it --pretrain-lr.
            raise exc.with_setting("--pretrain-lr") from None
    for w in caught:
        if issubclass(w.category, (UserWarning, RuntimeWarning)):
            # A dead run (the engine's rule, weightwise.backpropagation.health) is a warning, not a note.
            kind = "warning" if issubclass(w.category, TrainingFailedWarning) else "note"
            text = f"{kind}: {cli_words(one_line(Exception(w.message)))}"
            err_console.print(text, highlight=False, markup=False, soft_wrap=True)
    return est


def stop_reason(reason: str) -> str:
    """A History's ``stop_reason`` in words (the estimators stop on ``tol`` through a callback)."""
    return {
        "": "the epoch limit",
        "max_epochs": "the epoch limit",
        "threshold": "the loss threshold",
        "early_stopping": "early stopping (validation score)",
        "callback": "no improvement above tol for --patience epochs",
    }.get(reason, reason)


def _loss_name(est: Any, given: Any) -> str:
    """The loss the estimator trained with (its default is chosen from the output activation)."""
    name = getattr(est, "_loss_name", None)
    return str(name()) if callable(name) else str(given)


def _print_summary(est: Any, split: Split, task: str, loss: str | None, pretrain: str | None) -> None:
    """The pre-training table (with ``--pretrain``), the network and its stop, the metrics table."""
    net, hist = est.network_, est.history_
    if pretrain is not None:
        title = f"pre-training ({pretrain}) on {split.name}"
        console.print(pretraining_table_from_histories(est, net.sizes[:-1], title))
    console.print(
        f"network {'-'.join(map(str, net.sizes))} ({', '.join(net.activation_names)}), "
        f"loss {_loss_name(est, loss)}: {plural(hist.n_epochs, 'epoch')} in "
        f"{sum(hist.seconds):.1f} s, stopped by {stop_reason(hist.stop_reason)}"
    )
    console.print(_metrics_table(est, split, task))


def _metrics_table(est: Any, split: Split, task: str) -> Table:
    """Per data set (train, and test where there is one): samples and :func:`_metrics`."""
    rows = [("train", split.X_train, _metrics(est, split.X_train, split.y_train, task))]
    if split.X_test is not None and split.y_test is not None:
        rows.append(("test", split.X_test, _metrics(est, split.X_test, split.y_test, task)))
    table = Table(title=f"{type(est).__name__} on {split.name}")
    table.add_column("data")
    table.add_column("samples", justify="right")
    for name in rows[0][2]:
        table.add_column(name, justify="right")
    for which, X, values in rows:
        table.add_row(which, str(X.shape[0]), *(f"{v:.4f}" for v in values.values()))
    return table


def _metrics(est: Any, X: np.ndarray, y: np.ndarray, task: str) -> dict[str, float]:
    """Accuracy and log loss (classify) or R^2 and mean squared error (regress) on ``(X, y)``."""
    from sklearn.metrics import log_loss, mean_squared_error

    if task == "classify":
        out = {"accuracy": float(est.score(X, y))}
        if y.ndim == 1:
            proba = np.asarray(est.predict_proba(X), dtype=np.float64)
            proba /= proba.sum(axis=1, keepdims=True)  # float32 rows sum to 1 only within ~1e-7
            out["log loss"] = float(log_loss(y, proba, labels=est.classes_))
        return out
    pred = np.asarray(est.predict(X), dtype=np.float64)
    return {"R^2": float(est.score(X, y)), "mean squared error": float(mean_squared_error(y, pred))}


def _write_figures(
    folder: Path, snapshot: PretrainFigures | None, history: Any, pretrain: str | None
) -> None:
    """The training curves, beside the pre-training figures ``snapshot`` drew during ``fit``."""
    from ..evidence.pretraining_figures import FigureSet, write_training_curves

    drawn = snapshot.figures if snapshot is not None and snapshot.figures else FigureSet()
    if snapshot is not None and not snapshot.figures:
        err_console.print(
            "note: pre-training figures not redrawn: this run resumed with pre-trained layers "
            "restored from the checkpoint (an interrupted run that had finished pre-training "
            "drew them already)"
        )
    label = "back-propagation" if pretrain is None else f"BP fine-tuning after {pretrain}"
    drawn.written["training_curves"] = write_training_curves(folder, history, label)
    report_figures(drawn)
