"""``weightwise train``: back-propagation through the scikit-learn estimators."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import typer
from rich.table import Table

from ..errors import ConfigError, TrainingFailedWarning
from .base import _user_errors_exit_1, app, console, err_console, one_line
from .data import DEFAULT_MODEL, _check_task, _n_outputs, load_split
from .options import (
    BackendOption,
    CheckpointDirOption,
    DeviceOption,
    DtypeOption,
    ResumeOption,
    check_checkpoint_options,
    interrupted,
    parse_activation,
    parse_batch_size,
    parse_layers,
    split_layers,
)
from .pretrain import PretrainFigures, pretraining_table_from_histories, report_figures
from .pretrain_options import pretrain_learner_names, pretrain_options
from .progress import EpochProgress, PipelineProgress


def _estimator_class(task: str) -> Any:
    from ..estimators import BPClassifier, BPRegressor

    if task == "classify":
        return BPClassifier
    if task == "regress":
        return BPRegressor
    raise ConfigError(f"--task {task!r}: valid tasks are 'classify' and 'regress'")


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


@app.command()
@_user_errors_exit_1
def train(
    data: Annotated[
        str,
        typer.Option(
            help="'digits' (built in), 'mnist' (IDX files, see --mnist-path), a .csv file (with "
            "--target) or an .npz file with arrays X and y."
        ),
    ] = "digits",
    target: Annotated[str | None, typer.Option(help="Label column of a CSV file.")] = None,
    mnist_path: Annotated[
        Path | None,
        typer.Option(help="Folder of the four MNIST IDX files (default: $WEIGHTWISE_DATA)."),
    ] = None,
    download: Annotated[
        bool, typer.Option("--download", help="Download missing MNIST files first.")
    ] = False,
    test_size: Annotated[
        float,
        typer.Option(
            help="Fraction of a CSV/NPZ held out for testing (0 = none); digits and MNIST have "
            "fixed test sets."
        ),
    ] = 0.25,
    task: Annotated[
        Literal["classify", "regress"],
        typer.Option(help="classify (labels) or regress (real-valued targets)."),
    ] = "classify",
    layers: Annotated[
        str | None,
        typer.Option(
            help="Full sizes input-hidden-output (64-100-100-10: the first must equal the data's "
            "features, the last its classes) or hidden sizes only (100-100). Default: one hidden "
            "layer of 100."
        ),
    ] = None,
    hidden: Annotated[
        str | None,
        typer.Option(help="Hidden sizes only, e.g. 100-50 (never read as full sizes)."),
    ] = None,
    activation: Annotated[
        str | None,
        typer.Option(
            help="Hidden activation, or one per hidden layer joined by ','. Default relu; "
            "sigmoid with --pretrain (RBMs need it)."
        ),
    ] = None,
    output_activation: Annotated[
        str | None,
        typer.Option(
            help="Output activation; default softmax (one sigmoid unit for two classes) to "
            "classify, identity to regress. The textbook's is sigmoid."
        ),
    ] = None,
    loss: Annotated[
        str | None,
        typer.Option(
            help="squared_error, cross_entropy or binary_cross_entropy; default: the one that "
            "fits the output activation."
        ),
    ] = None,
    init: Annotated[
        str, typer.Option(help="Initialiser: normal, xavier_uniform, he_normal, lecun_normal, ...")
    ] = "xavier_uniform",
    solver: Annotated[Literal["sgd", "adam"], typer.Option(help="The optimiser.")] = "adam",
    lr: Annotated[float, typer.Option("--lr", help="Initial learning rate.")] = 0.001,
    schedule: Annotated[
        Literal["constant", "step", "inverse_scaling", "exponential"],
        typer.Option(
            help="Learning-rate schedule: step multiplies by --lr-gamma every --lr-step-size "
            "epochs, exponential by --lr-gamma every epoch, inverse_scaling divides by "
            "epoch^--power-t."
        ),
    ] = "constant",
    lr_step_size: Annotated[int, typer.Option(help="Epochs between step decays.")] = 10,
    lr_gamma: Annotated[float, typer.Option(help="Decay factor of step and exponential.")] = 0.5,
    power_t: Annotated[float, typer.Option(help="Exponent of inverse_scaling.")] = 0.5,
    momentum: Annotated[float, typer.Option(help="SGD momentum in [0, 1).")] = 0.9,
    nesterov: Annotated[bool, typer.Option(help="Nesterov momentum (SGD).")] = False,
    alpha: Annotated[float, typer.Option(help="L2 penalty (weight decay).")] = 1e-4,
    batch_size: Annotated[
        str, typer.Option(help="Mini-batch size: an integer, 'auto' (min(200, n)) or 'full'.")
    ] = "auto",
    epochs: Annotated[int, typer.Option(help="Epoch limit.")] = 200,
    threshold: Annotated[
        float | None,
        typer.Option(help="Stop once the training loss falls below this (the textbook's rule)."),
    ] = None,
    tol: Annotated[
        float,
        typer.Option(
            help="Stop when the loss (or validation score) has not improved by tol for "
            "--patience epochs."
        ),
    ] = 1e-4,
    early_stopping: Annotated[
        bool,
        typer.Option(help="Hold out --validation-fraction and stop when its score stops improving."),
    ] = False,
    patience: Annotated[int, typer.Option(help="Epochs without improvement before stopping.")] = 10,
    validation_fraction: Annotated[
        float, typer.Option(help="Share of the training data held out for early stopping.")
    ] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the weights, shuffling and splits.")] = 0,
    dtype: DtypeOption = "float32",
    backend: BackendOption = "numpy",
    device: DeviceOption = None,
    out: Annotated[Path, typer.Option(help="Model file to write.")] = Path(DEFAULT_MODEL),
    pretrain: Annotated[
        str | None,
        typer.Option(
            help="Pre-train the hidden layers greedily first, then fine-tune by BP: rbm (a DBN; "
            "data in [0, 1]), gaussian_rbm (real-valued layer 1), autoencoder or denoising."
        ),
    ] = None,
    pretrain_epochs: Annotated[int, typer.Option(min=1, help="Pre-training epochs per layer.")] = 10,
    pretrain_lr: Annotated[
        float | None, typer.Option(help="Learning rate of the learners (default theirs: 0.1).")
    ] = None,
    pretrain_batch_size: Annotated[
        int, typer.Option(min=1, help="Mini-batch size of the learners.")
    ] = 20,
    cd_k: Annotated[
        int | None, typer.Option(help="Gibbs steps per CD update (RBM pre-training; 1).")
    ] = None,
    persistent: Annotated[
        bool, typer.Option("--persistent", help="Persistent CD (RBM pre-training).")
    ] = False,
    corruption: Annotated[
        float | None,
        typer.Option(help="Masking level of --pretrain denoising, in [0, 1) (0.25)."),
    ] = None,
    weight_cost: Annotated[
        float | None,
        typer.Option(help="L2 cost of pre-training: RBM weight cost (2e-4), AE weight decay (0)."),
    ] = None,
    figures: Annotated[
        Path | None,
        typer.Option(
            help="Folder for PNG figures: training curves; with --pretrain also first-layer "
            "filters, reconstructions, samples (RBMs) and pre-training curves."
        ),
    ] = None,
    gibbs_steps: Annotated[
        int, typer.Option(min=1, help="Gibbs steps of each sampling chain (samples figure).")
    ] = 500,
    progress: Annotated[
        bool, typer.Option(help="Show the progress bar (epoch, loss, accuracy, time left).")
    ] = True,
    checkpoint_dir: CheckpointDirOption = None,
    resume: ResumeOption = False,
) -> None:
    """Train a network by back-propagation, report train and test metrics and save the model.

    Examples:

    - weightwise train --data digits --layers 64-100-10 --epochs 20
    - weightwise train --data table.csv --target label --hidden 32-16 --solver sgd --lr 0.1
    - weightwise train --data mnist --mnist-path ~/data/mnist --layers 784-500-500-10 --batch-size 128
    - weightwise train --data digits --layers 64-100-100-10 --pretrain rbm --pretrain-epochs 20
    - weightwise train --data mnist --layers 784-500-500-10 --checkpoint-dir ckpt (after Ctrl-C, the
      same command with --resume continues from the last finished epoch)
    """
    from ..checkpoints import has_checkpoint
    from ..layerwise.loop import LayerDivergenceError

    if layers is not None and hidden is not None:
        raise ConfigError("give either --layers or --hidden, not both")
    if task not in ("classify", "regress"):
        raise ConfigError(f"--task {task!r}: valid tasks are 'classify' and 'regress'")
    found = checkpoint_dir is not None and any(
        has_checkpoint(checkpoint_dir / part) for part in ("backprop", "pretrain")
    )
    note = check_checkpoint_options(checkpoint_dir, resume, found, "training")
    split = load_split(data, target, test_size, seed, mnist_path, download, stratify=task == "classify")
    _check_task(split, task)
    n_features = int(split.X_train.shape[1])
    if hidden is not None:
        hidden_layers: tuple[int, ...] = tuple(parse_layers(hidden, "--hidden"))
    elif layers is not None:
        outputs = _n_outputs(split, task, output_activation)
        hidden_layers, n_out = split_layers(parse_layers(layers), n_features, outputs)
        if n_out == 2 and task == "classify" and output_activation is None:
            output_activation = "softmax"  # two output units asked for: softmax, not one sigmoid
    else:
        hidden_layers = (100,)
    if activation is None:
        activation = "relu" if pretrain is None else "sigmoid"
    pre = pretrain_options(
        pretrain,
        split.X_train,
        data,
        epochs=pretrain_epochs,
        learning_rate=pretrain_lr,
        batch_size=pretrain_batch_size,
        cd_k=cd_k,
        persistent=persistent,
        corruption=corruption,
        weight_cost=weight_cost,
    )
    params: dict[str, Any] = {
        "hidden_layer_sizes": hidden_layers,
        "activation": parse_activation(activation),
        "output_activation": output_activation,
        "loss": loss,
        "init": init,
        "solver": solver,
        "learning_rate": lr,
        "learning_rate_schedule": schedule,
        "lr_step_size": lr_step_size,
        "lr_gamma": lr_gamma,
        "power_t": power_t,
        "momentum": momentum,
        "nesterov": nesterov,
        "alpha": alpha,
        "batch_size": parse_batch_size(batch_size),
        "max_epochs": epochs,
        "threshold": threshold,
        "tol": tol,
        "early_stopping": early_stopping,
        "n_iter_no_change": patience,
        "validation_fraction": validation_fraction,
        "random_state": seed,
        "dtype": dtype,
        "backend": backend,
        "device": device,
        "checkpoint_dir": None if checkpoint_dir is None else str(checkpoint_dir),
        **pre,
    }
    cls = _estimator_class(task)
    valid = cls().get_params()
    unknown = sorted(set(params) - set(valid))
    if unknown:  # pragma: no cover - guards against the estimator and the CLI drifting apart
        raise ConfigError(f"{cls.__name__} has no parameter(s) {unknown}")
    X_train, y_train = split.X_train, split.y_train
    console.print(
        f"[bold]{split.name}[/bold]: {X_train.shape[0]} training samples, "
        f"{0 if split.X_test is None else split.X_test.shape[0]} test samples, {n_features} features"
    )
    if note is not None:
        console.print(note)
    snapshot = None
    if figures is not None and pretrain is not None:
        shown = split.X_test if split.X_test is not None else X_train
        snapshot = PretrainFigures(figures, shown, None, gibbs_steps)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bar: EpochProgress | PipelineProgress
        if pretrain is None:
            bar = EpochProgress(
                epochs, accuracy=task == "classify", validation=early_stopping, enabled=progress
            )
        else:
            names = pretrain_learner_names(pretrain, len(hidden_layers))
            widths = [n_features, *hidden_layers]
            bar = PipelineProgress(
                [(n, widths[k], widths[k + 1]) for k, n in enumerate(names)],
                pretrain_epochs,
                epochs,
                accuracy=task == "classify",
                validation=early_stopping,
                enabled=progress,
            )
            layer_callbacks = [bar.pretrain_callback, *([snapshot] if snapshot else [])]
            params["pretrain_callbacks"] = layer_callbacks
        try:
            with bar:
                est = cls(**params, callbacks=[bar])
                est.fit(X_train, y_train)
        except KeyboardInterrupt:
            raise interrupted(checkpoint_dir) from None
        except LayerDivergenceError as exc:
            # The estimator names pretrain_learning_rate; the command line calls it --pretrain-lr.
            raise exc.with_setting("--pretrain-lr") from None
    for w in caught:
        if issubclass(w.category, (UserWarning, RuntimeWarning)):
            # A dead run (the engine's rule, weightwise.backpropagation.health) is a warning, not a note.
            kind = "warning" if issubclass(w.category, TrainingFailedWarning) else "note"
            text = f"{kind}: {one_line(Exception(w.message))}"
            err_console.print(text, highlight=False, markup=False, soft_wrap=True)

    net, hist = est.network_, est.history_
    if pretrain is not None:
        console.print(
            pretraining_table_from_histories(
                est, [n_features, *hidden_layers], f"pre-training ({pretrain}) on {split.name}"
            )
        )
    console.print(
        f"network {'-'.join(map(str, net.sizes))} ({', '.join(net.activation_names)}), "
        f"loss {_loss_name(est, loss)}: {hist.n_epochs} epoch(s) in "
        f"{sum(hist.seconds):.1f} s, stopped by {stop_reason(hist.stop_reason)}"
    )
    rows = [("train", _metrics(est, X_train, y_train, task))]
    if split.X_test is not None and split.y_test is not None:
        rows.append(("test", _metrics(est, split.X_test, split.y_test, task)))
    table = Table(title=f"{cls.__name__} on {split.name}")
    table.add_column("data")
    table.add_column("samples", justify="right")
    for name in rows[0][1]:
        table.add_column(name, justify="right")
    sizes = {"train": X_train.shape[0], "test": 0 if split.X_test is None else split.X_test.shape[0]}
    for which, values in rows:
        table.add_row(which, str(sizes[which]), *(f"{v:.4f}" for v in values.values()))
    console.print(table)
    path = est.save(out)
    console.print(f"model saved to [bold]{path}[/bold]")
    if figures is not None:
        from ..evidence.pretraining_figures import FigureSet, write_training_curves

        drawn = snapshot.figures if snapshot is not None and snapshot.figures else FigureSet()
        if snapshot is not None and not snapshot.figures:
            err_console.print(
                "note: pre-training figures not redrawn: this run resumed with pre-trained layers "
                "restored from the checkpoint (an interrupted run that had finished pre-training "
                "drew them already)"
            )
        label = "back-propagation" if pretrain is None else f"BP fine-tuning after {pretrain}"
        drawn.written["training_curves"] = write_training_curves(figures, hist, label)
        report_figures(drawn)
