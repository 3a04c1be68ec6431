"""``weightwise export``: a model file as ONNX or as a PyTorch state dict.

A thin layer over :func:`weightwise.interop.export_onnx` and :func:`weightwise.interop.export_torch`,
which take the model file's path as it is (a trained classifier or regressor, a pre-trained stack,
a bare network). They build and check the whole model before anything is written and then move a
finished file into place, so a refused model or an unwritable path leaves no file behind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.text import Text

from ..errors import ConfigError
from .base import _user_errors_exit_1, app, console

FORMATS = {"onnx": ".onnx", "torch": ".safetensors"}
"""``--to`` -> the file suffix that names it (and that ``--to`` is guessed from)."""

ModelArgument = Annotated[
    Path,
    typer.Argument(
        metavar="MODEL",
        help="Model file written by weightwise train or pretrain (or an estimator's save).",
    ),
]
ToOption = Annotated[
    Literal["onnx", "torch"] | None,
    typer.Option(
        "--to",
        help="onnx (an ONNX model, opset 17, for onnxruntime and other runtimes) or torch (a "
        "safetensors file: PyTorch state dict plus the Sequential's description, no pickle). "
        "Default: from the suffix of --out.",
    ),
]
OutOption = Annotated[
    Path | None,
    typer.Option(help="File to write. Default: MODEL with the suffix .onnx or .torch.safetensors."),
]
LogitsOption = Annotated[
    bool,
    typer.Option(
        "--logits",
        help="torch only: leave out the output layer's softmax or sigmoid, for a loss that takes "
        "logits (nn.CrossEntropyLoss, nn.BCEWithLogitsLoss).",
    ),
]


@app.command()
@_user_errors_exit_1
def export(
    model: ModelArgument,
    to: ToOption = None,
    out: OutOption = None,
    logits: LogitsOption = False,
) -> None:
    """Export a model file to ONNX or PyTorch, with the same outputs as weightwise's own.

    ONNX: the input is named 'input' with a dynamic batch dimension; a classifier gives 'label'
    and 'probabilities' (equal to weightwise predict --proba), a regressor 'predictions', a
    pre-trained stack its features (after the input scaling it was trained with). PyTorch: read it
    back with weightwise.load_torch(FILE), a torch.nn.Sequential of Linear and activation modules.

    Examples:

    - weightwise export weightwise-model.safetensors --to onnx --out model.onnx
    - weightwise export weightwise-model.safetensors --to torch --out model.torch.safetensors --logits
    """
    _check_model(model)
    fmt, path = _target(model, to, out, logits)
    _check_out(path)
    try:
        if fmt == "onnx":
            from ..interop import export_onnx

            written = export_onnx(model, path)
        else:
            from ..interop import export_torch

            written = export_torch(model, path, logits=logits)
    except OSError as exc:
        # The model was read (checked above): an OSError here is the writing of --out.
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}; choose another --out") from None
    if fmt == "onnx":
        console.print(
            Text.assemble(
                "ONNX model written to ", (str(written), "bold"), f" ({_onnx_signature(written)})"
            )
        )
    else:
        from ..interop import describe

        console.print(
            Text.assemble(
                "PyTorch state dict written to ",
                (str(written), "bold"),
                f" (Sequential: {_modules(describe(model, logits))}); load it with "
                "weightwise.load_torch",
            )
        )


def _check_model(model: Path) -> None:
    """A model file that exists and can be read, said before any exporter reads it."""
    if not model.is_file():
        what = "is a folder, not a model file" if model.is_dir() else "not found"
        raise FileNotFoundError(f"model file {model} {what}; train one with weightwise train")
    try:
        with model.open("rb"):
            pass
    except OSError as exc:
        raise ConfigError(f"cannot read the model file {model}: {exc.strerror or exc}") from None


def _check_out(path: Path) -> None:
    """Refuse an ``--out`` that is a folder, or whose folder is a file, before any work."""
    if path.is_dir():
        raise ConfigError(f"--out {path} is a folder; give a file name such as {path / 'model'}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"cannot write {path}: {parent} is a file, not a folder")
            break


def _target(model: Path, to: str | None, out: Path | None, logits: bool) -> tuple[str, Path]:
    """The format and the file to write, from ``--to`` and ``--out`` (one may stand for the other)."""
    if to is None:
        if out is None:
            raise ConfigError("say what to export to: --to onnx or --to torch")
        guessed = [f for f, suffix in FORMATS.items() if out.name.endswith(suffix)]
        if not guessed:
            raise ConfigError(
                f"--out {out}: cannot tell the format from its suffix; give --to onnx or --to torch"
            )
        to = guessed[0]
    if logits and to != "torch":
        raise ConfigError(
            "--logits applies to --to torch; the ONNX model's 'probabilities' are what predict "
            "--proba gives"
        )
    if out is None:
        suffix = ".onnx" if to == "onnx" else ".torch.safetensors"
        out = model.with_name(model.name.removesuffix(".safetensors") + suffix)
    if out.resolve() == model.resolve():
        raise ConfigError(f"--out {out} is the model file itself; give another file name")
    return to, out


def _onnx_signature(path: Path) -> str:
    """``input (batch, 64) -> label, probabilities``: what a runtime feeds and gets back."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    inp = graph.input[0]
    dims = [d.dim_param or str(d.dim_value) for d in inp.type.tensor_type.shape.dim]
    outputs = ", ".join(o.name for o in graph.output)
    return f"{inp.name} ({', '.join(dims)}) -> {outputs}"


def _modules(description: list[dict[str, Any]]) -> str:
    """``Linear(64, 32), Sigmoid, Linear(32, 10), Softmax``."""
    parts = []
    for m in description:
        if m["type"] == "Linear":
            parts.append(f"Linear({m['in_features']}, {m['out_features']})")
        else:
            parts.append(str(m["type"]))
    return ", ".join(parts)
