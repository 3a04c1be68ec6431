"""``weightwise pretrain``: greedy layer-wise pre-training of an unsupervised stack.

An RBM (one layer), a DBN (RBMs stacked), an auto-encoder or a stacked (denoising) auto-encoder,
trained first layer first by :func:`weightwise.layerwise.greedy.pretrain`, saved with the
learners' own arrays (:mod:`.stack`), and drawn as PNG figures
(:mod:`weightwise.evidence.pretraining_figures`).
Its options are checked in :mod:`.pretrain_options` (shared with ``train --pretrain``); its table
and figures are shown by :mod:`.pretrain_report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import typer
from rich.text import Text

from ..checks import check_network_size
from .base import _user_errors_exit_1, app, console
from .data import apply_scaling, fit_scaling, load_unlabelled
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
    parse_pretrain_batch_size,
    parse_pretrain_epochs,
    tensorboard_note,
)
from .pretrain_options import (
    check_visible_range,
    learner_params,
    parse_image_shape,
    parse_learners,
    pretrain_learner_names,
    stack_sizes,
)
from .pretrain_report import pretraining_table, report_figures
from .progress import LayerProgress
from .stack import AE_LEARNERS, INPUT_OFFSET, INPUT_SCALE, stack_kind, stack_metadata

DEFAULT_STACK = "weightwise-stack.safetensors"

# --------------------------------------------------------------------------------------------------
# the options of this command alone (the shared ones are in .options)

DataOption = Annotated[
    str,
    typer.Option(
        help="'digits' (built in), 'mnist' (IDX files, see --mnist), a .csv file (every "
        "column a feature, or drop the label column named by --target) or an .npz file with "
        "array X. Labels are never used."
    ),
]
TargetOption = Annotated[
    str | None, typer.Option(help="Label column of a CSV file, dropped before training.")
]
HeldOutOption = Annotated[
    float,
    typer.Option(
        help="Fraction of a CSV/NPZ held out for monitoring and the reconstruction figure; "
        "digits and MNIST use their test sets."
    ),
]
LearnerOption = Annotated[
    str,
    typer.Option(
        help="rbm (Bernoulli visible units, data in [0, 1]), gaussian_rbm (real-valued, "
        "standardised data; layer 1, with rbm above), autoencoder or denoising: one for all "
        "layers, or one per layer joined by ',' (denoising,rbm). RBMs stacked make a DBN."
    ),
]
LayersOption = Annotated[
    str | None,
    typer.Option(
        metavar="SIZES",
        help="Every size of the stack, input first: 64-100-100 is two layers of 100 on 64 "
        "features (the first must equal the data's features). Or use --hidden.",
    ),
]
HiddenOption = Annotated[
    str | None,
    typer.Option(
        metavar="SIZES",
        help="The layers' sizes only, stacked on the data's features (default 100-100).",
    ),
]
ActivationOption = Annotated[
    str, typer.Option(help="Layer activation (RBMs need sigmoid; auto-encoders take others).")
]
InitOption = Annotated[str, typer.Option(help="Initialiser of the weights.")]
EpochsOption = Annotated[
    str,
    typer.Option(help="Epochs per layer, or 'auto': about 5,000 updates per layer, 10 to 50."),
]
LearningRateOption = Annotated[
    float | None,
    typer.Option("--lr", help="Learning rate (default: the learner's: 0.1; gaussian_rbm 0.01)."),
]
BatchSizeOption = Annotated[
    str,
    typer.Option(
        help="Mini-batch size, or 'auto': the rows // 100, within 10 to 100 (Hinton's guide: "
        "10-100; small data such as digits needs the extra updates of small batches, MNIST "
        "trains well with 100).",
    ),
]
PropagateOption = Annotated[
    Literal["mean", "sample"],
    typer.Option(help="What the next layer trains on: mean activations or binary samples."),
]
ScaleOption = Annotated[
    Literal["none", "minmax", "standard"],
    typer.Option(
        help="Scale each feature first: minmax to [0, 1] (rbm), standard to mean 0, "
        "variance 1 (gaussian_rbm); the scaling is saved with the stack."
    ),
]
SeedOption = Annotated[int, typer.Option(help="Seed of the weights, noise and shuffling.")]
OutOption = Annotated[Path, typer.Option(help="Model file to write.")]
FiguresOption = Annotated[
    Path | None,
    typer.Option(
        help="Folder for PNG figures: first-layer filters, reconstructions, samples (RBM/DBN) "
        "and pre-training curves."
    ),
]
ImageShapeOption = Annotated[
    str | None,
    typer.Option(help="HEIGHTxWIDTH of one input for the figures (guessed when square)."),
]
ProgressOption = Annotated[
    bool, typer.Option(help="Show progress bars (layer, epoch, reconstruction error).")
]


# --------------------------------------------------------------------------------------------------
# the command


@app.command()
@_user_errors_exit_1
def pretrain(
    data: DataOption = "digits",
    target: TargetOption = None,
    mnist_path: MnistPathOption = None,
    download: DownloadOption = False,
    test_size: HeldOutOption = 0.1,
    learner: LearnerOption = "rbm",
    layers: LayersOption = None,
    hidden: HiddenOption = None,
    activation: ActivationOption = "sigmoid",
    init: InitOption = "xavier_uniform",
    epochs: EpochsOption = "auto",
    lr: LearningRateOption = None,
    batch_size: BatchSizeOption = "auto",
    cd_k: CdKOption = None,
    persistent: PersistentOption = False,
    weight_cost: WeightCostOption = None,
    corruption: CorruptionOption = None,
    propagate: PropagateOption = "mean",
    scale: ScaleOption = "none",
    seed: SeedOption = 0,
    dtype: DtypeOption = "float32",
    backend: BackendOption = "numpy",
    device: DeviceOption = None,
    out: OutOption = Path(DEFAULT_STACK),
    figures: FiguresOption = None,
    image_shape: ImageShapeOption = None,
    gibbs_steps: GibbsStepsOption = 500,
    progress: ProgressOption = True,
    checkpoint_dir: CheckpointDirOption = None,
    resume: ResumeOption = False,
    tensorboard: TensorBoardOption = None,
) -> None:
    """Pre-train an unsupervised stack greedily, first layer first, and save it.

    One RBM layer is an RBM; RBMs stacked are a Deep Belief Net (Hinton, Osindero, Teh 2006);
    auto-encoders stacked, with masking noise for 'denoising', are a stacked (denoising)
    auto-encoder (Vincent et al. 2010). The file keeps each learner's own arrays (visible
    biases), so the stack can be reloaded, sampled and reconstructed; 'weightwise info' describes
    it and 'weightwise predict' gives its top-layer features.

    Examples:

    - weightwise pretrain --data digits --learner rbm --layers 64-100-100 --epochs 10 --figures figs
    - weightwise pretrain --data digits --learner denoising --corruption 0.3 --layers 64-100
    - weightwise pretrain --data mnist --layers 784-500-500-2000 --batch-size 100 --figures figs
    - weightwise pretrain --data mnist --layers 784-500-500-2000 --checkpoint-dir ckpt (Ctrl-C, then
      the same command with --resume continues from the last finished epoch)
    """
    from ..evidence.pretraining_figures import guess_image_shape
    from ..layerwise.greedy import checkpoint_progress, resolve_epochs

    parse_learners(learner)  # unknown names fail before any data is loaded
    batch = parse_pretrain_batch_size(batch_size)
    epochs_spec = parse_pretrain_epochs(epochs)
    check_device_option(backend, device)
    done = checkpoint_progress(checkpoint_dir)
    note = check_checkpoint_options(checkpoint_dir, resume, done is not None, "pre-training")
    shape = parse_image_shape(image_shape)
    X, X_held, name = load_unlabelled(data, target, test_size, seed, mnist_path, download)
    X, X_held, scaling = _scaled(X, X_held, scale)
    sizes = stack_sizes(layers, hidden, int(X.shape[1]))
    check_network_size(sizes, dtype)  # a typo of terabytes is one line, before any allocation
    guess_image_shape(sizes[0], shape)  # a wrong --image-shape fails before training
    names = _learner_names(learner, len(sizes) - 1)
    params = learner_params(
        names,
        learning_rate=lr,
        cd_k=cd_k,
        persistent=persistent,
        corruption=corruption,
        weight_cost=weight_cost,
    )
    check_visible_range(X, names[0], data)
    net = _network(sizes, activation, init, seed, dtype, backend, device)
    _print_data(name, X, X_held, scale, note)
    n_epochs = resolve_epochs(epochs_spec, batch, int(X.shape[0]))
    bar = _layer_rows(names, sizes, n_epochs, progress, done if resume else None)
    tb = open_tensorboard(tensorboard, X if X_held is None else X_held)
    try:
        result = _pretrain(
            net, X, X_held, names, params, bar, n_epochs, batch, propagate, seed,
            checkpoint_dir, resume, live=[] if tb is None else [tb],
        )  # fmt: skip
    finally:
        if tb is not None:
            tb.close()
    console.print(
        pretraining_table(result, sizes, f"{stack_kind(names)} {'-'.join(map(str, sizes))} on {name}")
    )
    _save(net, result, params, scaling, name, scale, seed, out, checkpoint_dir)
    if figures is not None:
        _write_figures(figures, result, X if X_held is None else X_held, shape, gibbs_steps)
    tensorboard_note(tensorboard)


# --------------------------------------------------------------------------------------------------
# its steps


def _scaled(
    X: np.ndarray, X_held: np.ndarray | None, scale: str
) -> tuple[np.ndarray, np.ndarray | None, tuple[np.ndarray, np.ndarray] | None]:
    """``X`` and ``X_held`` with ``--scale`` fitted on ``X``, and the ``(offset, scale)`` or None."""
    scaling = fit_scaling(X, scale)
    if scaling is None:
        return X, X_held, None
    held = None if X_held is None else apply_scaling(X_held, scaling, scale)
    return apply_scaling(X, scaling, scale), held, scaling


def _learner_names(learner: str, n_layers: int) -> list[str]:
    """The learner of each of ``n_layers`` layers, bottom first, from ``--learner``."""
    names = parse_learners(learner, n_layers)
    if "," not in learner:
        # One name: a Gaussian RBM trains layer 1 only, Bernoulli RBMs the sigmoid layers above.
        names = pretrain_learner_names(names[0], n_layers)
    return names


def _network(
    sizes: Sequence[int],
    activation: str,
    init: str,
    seed: int,
    dtype: str,
    backend: str,
    device: str | None,
) -> Any:
    """The network whose layers the learners train, one activation or one per layer."""
    from ..net.network import Network

    acts = parse_activation(activation)
    hidden, top = (acts[:-1], acts[-1]) if isinstance(acts, tuple) else (acts, acts)
    return Network.create(sizes, hidden, top, init, seed, dtype=dtype, backend=backend, device=device)


def _print_data(
    name: str, X: np.ndarray, X_held: np.ndarray | None, scale: str, note: str | None
) -> None:
    """What is trained on (samples, held out, features, scaling), and the checkpoint note."""
    console.print(
        Text.assemble(
            (name, "bold"),
            f": {X.shape[0]} training samples, {0 if X_held is None else X_held.shape[0]} held "
            f"out, {X.shape[1]} features" + ("" if scale == "none" else f", scaled {scale}"),
        )
    )
    if note is not None:
        console.print(note)


def _layer_rows(
    names: Sequence[str],
    sizes: Sequence[int],
    epochs: int,
    enabled: bool,
    done: Sequence[int] | None,
) -> LayerProgress:
    """One progress row per layer, showing the epochs ``done`` by the run resumed, if any."""
    bar = LayerProgress(
        [(n, sizes[k], sizes[k + 1]) for k, n in enumerate(names)], epochs, enabled=enabled
    )
    if done is not None:
        bar.restore(done)
    return bar


def _pretrain(
    net: Any,
    X: np.ndarray,
    X_held: np.ndarray | None,
    names: Sequence[str],
    params: Sequence[dict[str, Any]],
    bar: LayerProgress,
    epochs: int,
    batch_size: int | str,
    propagate: str,
    seed: int,
    checkpoint_dir: Path | None,
    resume: bool,
    live: Sequence[Any] = (),
) -> Any:
    """Greedy pre-training of ``net``'s layers under ``bar`` (and the ``live`` callbacks, such as
    TensorBoard's); a Ctrl-C or a divergence ends as one line.

    Returns
    -------
    PretrainResult
    """
    from ..layerwise.greedy import pretrain as greedy_pretrain
    from ..layerwise.loop import LayerDivergenceError

    try:
        with bar:
            return greedy_pretrain(
                net,
                X,
                names,
                n_layers=len(names),
                epochs=epochs,
                batch_size=batch_size,
                propagate=propagate,
                learner_params=params,
                callbacks=[bar, *live],
                validation=X_held,
                seed=seed,
                checkpoint_dir=checkpoint_dir,
                resume=resume,
            )
    except KeyboardInterrupt:
        raise interrupted(checkpoint_dir) from None
    except LayerDivergenceError as exc:
        # One line naming this command's option; nothing is saved (the checkpoint, if any, holds
        # the last finite epoch).
        raise exc.with_setting("--lr") from None


def build_params(result: Any, params: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keyword arguments that rebuild each trained learner: the settings it actually used.

    Options left out on the command line are filled with the learner's own defaults (an
    auto-encoder's loss is chosen from its input's range), so ``weightwise info`` can show them.
    """
    out = []
    for learner, name, p in zip(result.learners, result.names, params, strict=True):
        q = dict(p)
        if name in AE_LEARNERS:
            q["loss"] = learner.loss
            q["corruption"] = float(learner.corruption)
            q["learning_rate"] = float(learner.optimizer.learning_rate)
        else:
            q["learning_rate"] = float(learner.learning_rate)
            q["cd_k"] = int(learner.cd_k)
            q["persistent"] = bool(learner.persistent)
            q["weight_cost"] = float(learner.weight_cost)
        q["batch_size"] = int(learner.batch_size)
        out.append(q)
    return out


def _save(
    net: Any,
    result: Any,
    params: Sequence[dict[str, Any]],
    scaling: tuple[np.ndarray, np.ndarray] | None,
    name: str,
    scale: str,
    seed: int,
    out: Path,
    checkpoint_dir: Path | None,
) -> None:
    """Write the stack (network, learners' extras, input scaling, record) and drop the backup."""
    from ..checkpoints import remove_checkpoint
    from ..io import save_network

    extras = result.extra_arrays()
    if scaling is not None:
        extras[INPUT_OFFSET], extras[INPUT_SCALE] = scaling
    meta = stack_metadata(result, build_params(result, params), name, scale, seed)
    path = save_network(net, out, metadata=meta, extra_arrays=extras)
    console.print(Text.assemble("stack saved to ", (str(path), "bold")))
    if checkpoint_dir is not None:
        remove_checkpoint(checkpoint_dir)  # the run is finished and saved: no backup needed


def _write_figures(
    folder: Path,
    result: Any,
    shown: np.ndarray,
    image_shape: tuple[int, int] | None,
    gibbs_steps: int,
) -> None:
    """Filters, reconstructions of ``shown``, samples (RBMs) and curves of the trained stack."""
    from ..evidence.pretraining_figures import write_pretraining_figures

    report_figures(
        write_pretraining_figures(
            folder,
            result.learners,
            result.histories,
            result.names,
            shown,
            image_shape=image_shape,
            gibbs_steps=gibbs_steps,
        )
    )
