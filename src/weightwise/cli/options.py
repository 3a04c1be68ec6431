"""Options shared by the commands, declared once, and parsing of option strings (layers, activations).

Each ``...Option`` is an ``Annotated`` type a command names as a parameter's type (with its default
beside it), so the same option reads and helps the same in every command that takes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.text import Text

from ..errors import ConfigError, DataError
from .base import cli_words

# Where the data come from (the train and pretrain commands).
MnistPathOption = Annotated[
    Path | None,
    typer.Option(
        "--mnist",
        "--mnist-path",
        metavar="FOLDER",
        help="Folder of the four MNIST IDX files, raw or .gz (default: $WEIGHTWISE_MNIST, else "
        "$WEIGHTWISE_DATA or ~/.cache/weightwise, or their mnist/ subfolder).",
    ),
]
DownloadOption = Annotated[
    bool, typer.Option("--download", help="Download missing MNIST files (about 11 MB) first.")
]

# How the arrays are held and where they train.
DtypeOption = Annotated[Literal["float32", "float64"], typer.Option(help="Float precision.")]
BackendOption = Annotated[Literal["numpy", "torch"], typer.Option(help="Array library that trains.")]
DeviceOption = Annotated[
    str | None, typer.Option(help="PyTorch device (cpu, cuda) for --backend torch.")
]
CheckpointDirOption = Annotated[
    Path | None,
    typer.Option(
        help="Folder for the run's whole state, written after every epoch: an interrupted run "
        "(Ctrl-C, a crash) loses at most the epoch under way and continues with --resume. "
        "Removed when the run finishes."
    ),
]
ResumeOption = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Continue the run saved in --checkpoint-dir (give the same options as before).",
    ),
]

# Greedy pre-training: ``pretrain`` and ``train --pretrain`` set the learners alike.
CdKOption = Annotated[
    int | None, typer.Option(help="Gibbs steps per contrastive divergence (CD) update of the RBMs (1).")
]
PersistentOption = Annotated[
    bool,
    typer.Option("--persistent", help="Persistent CD (RBMs): the Gibbs chains carry over."),
]
WeightCostOption = Annotated[float | None, typer.Option(help="L2 weight cost of the RBMs (2e-4).")]
CorruptionOption = Annotated[
    float | None,
    typer.Option(help="Fraction of inputs masked to 0 by the denoising auto-encoder, in [0, 1) (0.25)."),
]
GibbsStepsOption = Annotated[
    int, typer.Option(min=1, help="Gibbs steps of each sampling chain (samples figure).")
]

# Watching a run live: train, pretrain, compare and study depth.
TensorBoardOption = Annotated[
    Path | None,
    typer.Option(
        "--tensorboard",
        metavar="DIR",
        help="Log to TensorBoard in DIR as training goes: loss, accuracy, learning rate, "
        "per-layer gradient norms and update ratios, pre-training errors, histograms and "
        "images (compare and study: one subfolder per run). Watch with: tensorboard --logdir DIR",
    ),
]


def check_checkpoint_options(
    checkpoint_dir: Path | None, resume: bool, found: bool, what: str
) -> str | None:
    """Check ``--checkpoint-dir``/``--resume`` against what the folder holds.

    Parameters
    ----------
    checkpoint_dir : Path or None
    resume : bool
    found : bool
        Whether ``checkpoint_dir`` holds a checkpoint of this command's kind.
    what : str
        The run's name for messages ("pre-training").

    Returns
    -------
    str or None
        A line to print before training (resuming, or nothing to resume), or None.

    Raises
    ------
    ConfigError
        ``--resume`` without ``--checkpoint-dir``, or a folder that holds a checkpoint while
        ``--resume`` was not given (starting afresh would overwrite it).
    """
    if resume and checkpoint_dir is None:
        raise ConfigError("--resume needs --checkpoint-dir, the folder of the interrupted run")
    if checkpoint_dir is None:
        return None
    if found and not resume:
        raise ConfigError(
            f"{checkpoint_dir} already holds a {what} checkpoint: pass --resume to continue that "
            "run, or give another --checkpoint-dir (or delete the folder) to start afresh"
        )
    if resume and not found:
        return f"no checkpoint in {checkpoint_dir} yet: starting afresh"
    return f"resuming the {what} run saved in {checkpoint_dir}" if resume else None


def open_tensorboard(log_dir: Path | None, examples: Any = None) -> Any:
    """The :class:`weightwise.interop.TensorBoard` callback of ``--tensorboard``, or None.

    Built before training, so an unwritable folder (or a missing tensorboardX) is one line
    before any epoch. The caller closes it (``close()``) when training ends.
    """
    if log_dir is None:
        return None
    from ..interop import TensorBoard

    return TensorBoard(log_dir, examples=None if examples is None else examples[:16])


def tensorboard_note(log_dir: Path | None) -> None:
    """Say where the logs are and how to look at them."""
    if log_dir is not None:
        from .base import console

        console.print(
            Text.assemble(
                "TensorBoard logs in ", (str(log_dir), "bold"), f": tensorboard --logdir {log_dir}"
            ),
            highlight=False,
        )


def interrupted(checkpoint_dir: Path | None) -> typer.Exit:
    """Say what Ctrl-C kept; the exit (status 130, as shells report SIGINT) to raise."""
    from .base import err_console

    if checkpoint_dir is None:
        err_console.print("interrupted; nothing was saved (use --checkpoint-dir to make runs resumable)")
    else:
        err_console.print(
            f"interrupted; the state after the last finished epoch is in {checkpoint_dir}: run the "
            "same command with --resume to continue"
        )
    return typer.Exit(130)


def check_device_option(backend: str, device: str | None) -> None:
    """Refuse a ``--device`` that ``--backend`` cannot use, in one line saying what to pass or
    install (before any data is loaded)."""
    from ..net.backend import check_device

    if backend == "numpy" and device not in (None, "cpu"):
        raise ConfigError(
            f"--device {device} needs --backend torch (the NumPy backend runs on the CPU only); "
            f"add --backend torch, or leave --device out"
        )
    try:
        check_device(backend, device)
    except ConfigError as exc:
        raise ConfigError(cli_words(str(exc))) from None


def parse_layers(spec: str, option: str = "--layers") -> list[int]:
    """Layer sizes from a string such as ``"64-100-100-10"`` (``,`` also separates).

    Raises
    ------
    ConfigError
        When a part is not a positive integer; the message shows the expected form.
    """
    parts = [p.strip() for p in spec.replace(",", "-").split("-")]
    example = "e.g. 64-100-10 (input, hidden, output sizes) or 100-100 (hidden sizes only)"
    if not spec.strip() or any(p == "" for p in parts):
        raise ConfigError(
            f"{option} {spec!r} does not parse: write positive integers joined by '-', {example}"
        )
    sizes = []
    for p in parts:
        if not p.isdigit() or int(p) < 1:
            raise ConfigError(
                f"{option} {spec!r} does not parse: {p!r} is not a positive integer; write positive "
                f"integers joined by '-', {example}"
            )
        sizes.append(int(p))
    return sizes


def split_layers(
    sizes: Sequence[int], n_features: int, n_outputs: Sequence[int]
) -> tuple[tuple[int, ...], int]:
    """The hidden sizes and the output size of ``--layers``: every size of the network, in order.

    ``--layers`` lists the input size, the hidden sizes (none or more) and the output size:
    ``64-100-10`` is one hidden layer of 100, ``64-10`` none. Nothing is added or dropped; sizes
    that do not fit the data are refused with the ``--layers`` (and ``--hidden``) that would.

    Parameters
    ----------
    sizes : sequence of int
    n_features : int
        Columns of the training data.
    n_outputs : sequence of int
        Output sizes that fit the task (a binary classifier may have 1 or 2 output units).

    Returns
    -------
    hidden : tuple of int
    n_out : int

    Raises
    ------
    DataError
        Fewer than two sizes, a first size other than ``n_features``, or a last size not in
        ``n_outputs``.
    """
    sizes = [int(s) for s in sizes]
    spec = "-".join(map(str, sizes))
    outs = " or ".join(map(str, n_outputs))
    out = n_outputs[-1]
    meaning = "--layers lists every layer's size: input, hidden (if any), output"
    if len(sizes) < 2:
        raise DataError(
            f"--layers {spec}: {meaning}, so it needs at least two sizes; use --layers "
            f"{n_features}-{spec}-{out} for one hidden layer of {spec}, or --hidden {spec}"
        )
    if sizes[0] != n_features:
        # Three or more sizes read as input-...-output with a wrong input; two as hidden-output.
        fixed = [n_features, *sizes[1:]] if len(sizes) >= 3 else [n_features, *sizes]
        if fixed[-1] not in n_outputs:
            fixed.append(out)
        hidden = sizes if sizes[-1] not in n_outputs else sizes[:-1]
        raise DataError(
            f"--layers {spec}: {meaning}; the first size {sizes[0]} must equal the data's feature "
            f"count {n_features}; use --layers {'-'.join(map(str, fixed))}, or give hidden sizes "
            f"only with --hidden {'-'.join(map(str, hidden))}"
        )
    if sizes[-1] not in n_outputs:
        fixed = [*sizes[:-1], out] if len(sizes) >= 3 else [*sizes, out]
        raise DataError(
            f"--layers {spec}: {meaning}; the last size {sizes[-1]} must equal the number of "
            f"outputs {outs} (classes, or target columns); use --layers "
            f"{'-'.join(map(str, fixed))}, or give hidden sizes only with --hidden "
            f"{'-'.join(map(str, fixed[1:-1])) or '...'}"
        )
    return tuple(sizes[1:-1]), sizes[-1]


def parse_activation(spec: str) -> str | tuple[str, ...]:
    """One activation name, or one per hidden layer separated by commas (``"relu,tanh"``)."""
    names = tuple(s.strip() for s in spec.split(","))
    return names[0] if len(names) == 1 else names


def parse_batch_size(spec: str) -> int | str:
    """``"auto"``, ``"full"`` or a positive integer."""
    if spec in ("auto", "full"):
        return spec
    if spec.isdigit() and int(spec) > 0:
        return int(spec)
    raise ConfigError(f"--batch-size {spec!r}: give a positive integer, 'auto' or 'full'")


def parse_auto_count(spec: str, option: str, auto: str) -> int | str:
    """``"auto"`` or a positive integer, for ``option``; ``auto`` says what "auto" means."""
    if spec == "auto":
        return spec
    if spec.isdigit() and int(spec) > 0:
        return int(spec)
    raise ConfigError(f"{option} {spec!r}: give a positive integer or 'auto' ({auto})")


def parse_pretrain_batch_size(spec: str, option: str = "--batch-size") -> int | str:
    """A learner's mini-batch size: ``"auto"`` or a positive integer."""
    return parse_auto_count(spec, option, "the pre-training rows // 100, within 10 to 100")


def parse_pretrain_epochs(spec: str, option: str = "--epochs") -> int | str:
    """Epochs per pre-trained layer: ``"auto"`` or a positive integer."""
    return parse_auto_count(spec, option, "about 5,000 updates per layer, within 10 to 50")
