"""``weightwise pretrain``: greedy layer-wise pre-training of an unsupervised stack.

An RBM (one layer), a DBN (RBMs stacked), an auto-encoder or a stacked (denoising) auto-encoder,
trained first layer first by :func:`weightwise.layerwise.greedy.pretrain`, saved with the
learners' own arrays (:mod:`.stack`), and drawn as PNG figures
(:mod:`weightwise.evidence.pretraining_figures`).
Its options are checked in :mod:`.pretrain_options` (shared with ``train --pretrain``); the
tables and the figure callback here serve both commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import typer
from rich.table import Table

from .base import _user_errors_exit_1, app, console, err_console
from .data import apply_scaling, fit_scaling, load_unlabelled
from .options import (
    BackendOption,
    CheckpointDirOption,
    DeviceOption,
    DtypeOption,
    ResumeOption,
    check_checkpoint_options,
    interrupted,
    parse_activation,
)
from .pretrain_options import (
    check_visible_range,
    learner_params,
    parse_image_shape,
    parse_learners,
    pretrain_learner_names,
    stack_sizes,
)
from .progress import LayerProgress, _fmt
from .stack import AE_LEARNERS, INPUT_OFFSET, INPUT_SCALE, stack_kind, stack_metadata

DEFAULT_STACK = "weightwise-stack.safetensors"


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


def pretraining_table(result: Any, sizes: Sequence[int], title: str) -> Table:
    """Per layer: learner, sizes, epochs, final (held-out) reconstruction error, seconds."""
    table = Table(title=title)
    for col in ("layer", "learner", "units", "epochs", "recon. error", "held-out", "seconds"):
        table.add_column(col, justify="right")
    for k, (name, h, s) in enumerate(zip(result.names, result.histories, result.seconds, strict=True)):
        held = "-"
        val = getattr(h, "val_reconstruction_error", None)
        if val:
            held = _fmt(val[-1], ".4f")
        elif h.free_energy_gap and np.isfinite(h.free_energy_gap[-1]):
            held = f"F gap {h.free_energy_gap[-1]:+.3f}"
        table.add_row(
            str(k + 1),
            name,
            f"{sizes[k]}->{sizes[k + 1]}",
            str(h.n_epochs),
            _fmt(h.reconstruction_error[-1] if h.reconstruction_error else None, ".4f"),
            held,
            f"{s:.1f}",
        )
    return table


def pretraining_table_from_histories(est: Any, sizes: Sequence[int], title: str) -> Table:
    """:func:`pretraining_table` of a fitted estimator's ``pretrain_history_``."""
    from types import SimpleNamespace

    from ..layerwise.history import LayerHistory

    histories = [LayerHistory.from_dict(h) for h in est.pretrain_history_]
    result = SimpleNamespace(
        names=pretrain_learner_names(est.pretrain, len(histories)),
        histories=histories,
        seconds=[sum(h.seconds) for h in histories],
    )
    return pretraining_table(result, sizes, title)


def report_figures(figures: Any) -> None:
    for name, path in figures.written.items():
        console.print(f"figure {name}: [bold]{path}[/bold]")
    for name, why in figures.skipped.items():
        err_console.print(
            f"note: no {name} figure: {why}", highlight=False, markup=False, soft_wrap=True
        )


# --------------------------------------------------------------------------------------------------
# the command


@app.command()
@_user_errors_exit_1
def pretrain(
    data: Annotated[
        str,
        typer.Option(
            help="'digits' (built in), 'mnist' (IDX files, see --mnist-path), a .csv file (every "
            "column a feature, or drop the label column named by --target) or an .npz file with "
            "array X. Labels are never used."
        ),
    ] = "digits",
    target: Annotated[
        str | None, typer.Option(help="Label column of a CSV file, dropped before training.")
    ] = None,
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
            help="Fraction of a CSV/NPZ held out for monitoring and the reconstruction figure; "
            "digits and MNIST use their test sets."
        ),
    ] = 0.1,
    learner: Annotated[
        str,
        typer.Option(
            help="rbm (Bernoulli visible units, data in [0, 1]), gaussian_rbm (real-valued, "
            "standardised data; layer 1, with rbm above), autoencoder or denoising: one for all "
            "layers, or one per layer joined by ',' (denoising,rbm). RBMs stacked make a DBN."
        ),
    ] = "rbm",
    layers: Annotated[
        str | None,
        typer.Option(
            help="Sizes of the stack: input first (64-100-100: the first must equal the data's "
            "features) or hidden sizes only (100-100, the default)."
        ),
    ] = None,
    activation: Annotated[
        str,
        typer.Option(help="Layer activation (RBMs need sigmoid; auto-encoders take others)."),
    ] = "sigmoid",
    init: Annotated[str, typer.Option(help="Initialiser of the weights.")] = "xavier_uniform",
    epochs: Annotated[int, typer.Option(min=1, help="Epochs per layer.")] = 10,
    lr: Annotated[
        float | None,
        typer.Option("--lr", help="Learning rate (default: the learner's: 0.1; gaussian_rbm 0.01)."),
    ] = None,
    batch_size: Annotated[
        int,
        typer.Option(
            min=1,
            help="Mini-batch size (Hinton's guide: 10-100; small data such as digits needs the "
            "extra updates of small batches, MNIST trains well with 100).",
        ),
    ] = 20,
    cd_k: Annotated[
        int | None, typer.Option(help="Gibbs steps per contrastive-divergence update (RBMs; 1).")
    ] = None,
    persistent: Annotated[
        bool, typer.Option("--persistent", help="Persistent CD (RBMs): chains carry over.")
    ] = False,
    weight_cost: Annotated[
        float | None, typer.Option(help="L2 weight cost of RBMs (default 2e-4).")
    ] = None,
    corruption: Annotated[
        float | None,
        typer.Option(help="Fraction of inputs masked to 0 by the denoising auto-encoder (0.25)."),
    ] = None,
    propagate: Annotated[
        Literal["mean", "sample"],
        typer.Option(help="What the next layer trains on: mean activations or binary samples."),
    ] = "mean",
    scale: Annotated[
        Literal["none", "minmax", "standard"],
        typer.Option(
            help="Scale each feature first: minmax to [0, 1] (rbm), standard to mean 0, "
            "variance 1 (gaussian_rbm); the scaling is saved with the stack."
        ),
    ] = "none",
    seed: Annotated[int, typer.Option(help="Seed of the weights, noise and shuffling.")] = 0,
    dtype: DtypeOption = "float32",
    backend: BackendOption = "numpy",
    device: DeviceOption = None,
    out: Annotated[Path, typer.Option(help="Model file to write.")] = Path(DEFAULT_STACK),
    figures: Annotated[
        Path | None,
        typer.Option(
            help="Folder for PNG figures: first-layer filters, reconstructions, samples (RBM/DBN) "
            "and pre-training curves."
        ),
    ] = None,
    image_shape: Annotated[
        str | None,
        typer.Option(help="HEIGHTxWIDTH of one input for the figures (guessed when square)."),
    ] = None,
    gibbs_steps: Annotated[
        int, typer.Option(min=1, help="Gibbs steps of each sampling chain (samples figure).")
    ] = 500,
    progress: Annotated[
        bool, typer.Option(help="Show progress bars (layer, epoch, reconstruction error).")
    ] = True,
    checkpoint_dir: CheckpointDirOption = None,
    resume: ResumeOption = False,
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
    from ..checkpoints import remove_checkpoint
    from ..evidence.pretraining_figures import guess_image_shape, write_pretraining_figures
    from ..io import save_network
    from ..layerwise.greedy import checkpoint_progress
    from ..layerwise.greedy import pretrain as greedy_pretrain
    from ..layerwise.loop import LayerDivergenceError
    from ..net.network import Network

    parse_learners(learner)  # unknown names fail before any data is loaded
    done = checkpoint_progress(checkpoint_dir)
    note = check_checkpoint_options(checkpoint_dir, resume, done is not None, "pre-training")
    shape = parse_image_shape(image_shape)
    X, X_held, name = load_unlabelled(data, target, test_size, seed, mnist_path, download)
    scaling = fit_scaling(X, scale)
    if scaling is not None:
        X = apply_scaling(X, scaling, scale)
        X_held = None if X_held is None else apply_scaling(X_held, scaling, scale)
    sizes = stack_sizes(layers, int(X.shape[1]))
    guess_image_shape(sizes[0], shape)  # a wrong --image-shape fails before training
    n_layers = len(sizes) - 1
    names = parse_learners(learner, n_layers)
    if "," not in learner:
        # One name: a Gaussian RBM trains layer 1 only, Bernoulli RBMs the sigmoid layers above.
        names = pretrain_learner_names(names[0], n_layers)
    params = learner_params(
        names,
        learning_rate=lr,
        cd_k=cd_k,
        persistent=persistent,
        corruption=corruption,
        weight_cost=weight_cost,
    )
    check_visible_range(X, names[0], data)
    acts = parse_activation(activation)
    hidden, top = (acts[:-1], acts[-1]) if isinstance(acts, tuple) else (acts, acts)
    net = Network.create(sizes, hidden, top, init, seed, dtype=dtype, backend=backend, device=device)
    console.print(
        f"[bold]{name}[/bold]: {X.shape[0]} training samples, "
        f"{0 if X_held is None else X_held.shape[0]} held out, {X.shape[1]} features"
        + ("" if scale == "none" else f", scaled {scale}")
    )
    if note is not None:
        console.print(note)
    try:
        with LayerProgress(
            [(n, sizes[k], sizes[k + 1]) for k, n in enumerate(names)], epochs, enabled=progress
        ) as bar:
            if resume and done is not None:
                bar.restore(done)
            result = greedy_pretrain(
                net,
                X,
                names,
                n_layers=n_layers,
                epochs=epochs,
                batch_size=batch_size,
                propagate=propagate,
                learner_params=params,
                callbacks=[bar],
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
    kind = stack_kind(names)
    console.print(pretraining_table(result, sizes, f"{kind} {'-'.join(map(str, sizes))} on {name}"))
    extras = result.extra_arrays()
    if scaling is not None:
        extras[INPUT_OFFSET], extras[INPUT_SCALE] = scaling
    meta = stack_metadata(result, build_params(result, params), name, scale, seed)
    path = save_network(net, out, metadata=meta, extra_arrays=extras)
    console.print(f"stack saved to [bold]{path}[/bold]")
    if checkpoint_dir is not None:
        remove_checkpoint(checkpoint_dir)  # the run is finished and saved: no backup needed
    if figures is not None:
        shown = X if X_held is None else X_held
        report_figures(
            write_pretraining_figures(
                figures,
                result.learners,
                result.histories,
                result.names,
                shown,
                image_shape=shape,
                gibbs_steps=gibbs_steps,
            )
        )


class PretrainFigures:
    """A pre-training callback that draws the stack's figures as soon as its top layer is done.

    Inside ``fit`` of an estimator with ``pretrain`` set, back-propagation starts right after the
    top layer's last epoch and moves the weights the learners share, so the pre-training pictures
    are drawn here, at that moment, rather than after ``fit``.

    Parameters
    ----------
    out_dir : Path
    X_shown : ndarray of shape (n_samples, n_features)
        Images to reconstruct.
    image_shape : (int, int), optional
    gibbs_steps : int
    """

    def __init__(
        self, out_dir: Path, X_shown: Any, image_shape: tuple[int, int] | None, gibbs_steps: int
    ) -> None:
        self.out_dir = out_dir
        self.X_shown = X_shown
        self.image_shape = image_shape
        self.gibbs_steps = gibbs_steps
        self.layers: dict[int, tuple[Any, Any, str]] = {}
        self.figures: Any = None

    def __call__(self, info: Any) -> None:
        from ..evidence.pretraining_figures import write_pretraining_figures

        self.layers[info.layer] = (info.learner, info.history, info.learner_name)
        # A run resumed from a checkpoint skips the layers it restored: without every layer's
        # learner as pre-training left it, there is nothing faithful to draw.
        complete = sorted(self.layers) == list(range(1, info.n_layers + 1))
        if (
            info.layer == info.n_layers
            and info.epoch >= info.epochs
            and complete
            and self.figures is None
        ):
            learners, histories, names = zip(*(self.layers[k] for k in sorted(self.layers)), strict=True)
            self.figures = write_pretraining_figures(
                self.out_dir,
                learners,
                histories,
                names,
                self.X_shown,
                image_shape=self.image_shape,
                gibbs_steps=self.gibbs_steps,
            )
