"""Checkpoints of a training run: safetensors for arrays, JSON for the rest; never pickle.

One floor below both ways of adjusting the weights: back-propagation's ``fit`` and greedy
pre-training (:func:`weightwise.layerwise.greedy.pretrain`) save and resume through it.

A checkpoint is two files in a folder, ``checkpoint.safetensors`` and ``checkpoint.json``, each
written to a temporary name and moved into place, so a crash while writing one leaves it whole.
The arrays go first and carry a copy of the JSON (with a fresh ``token``) in their safetensors
header: a crash between the two writes leaves new arrays beside the previous JSON, which the
reader notices by the token and then takes the header's copy, so no more than the epoch under way
is ever lost.
"""

from __future__ import annotations

import json
import struct
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from ._util import atomic_write_bytes as _atomic_write_bytes
from .errors import ModelFileError

ARRAYS = "checkpoint.safetensors"
META = "checkpoint.json"
FORMAT = "weightwise-checkpoint"
VERSION = 1
_HEADER_KEY = "weightwise.checkpoint"  # the JSON's copy in the safetensors header


def save_checkpoint(folder: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``arrays`` and ``meta`` into ``folder`` atomically."""
    from safetensors.numpy import save

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    contiguous = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    body = {"format": FORMAT, "version": VERSION, **meta, "token": uuid.uuid4().hex}
    text = json.dumps(body, indent=1)
    _atomic_write_bytes(folder / ARRAYS, save(contiguous, metadata={_HEADER_KEY: text}))
    _atomic_write_bytes(folder / META, text.encode())


def _header_meta(path: Path) -> dict[str, Any] | None:
    """The JSON copy in a safetensors file's header (None if absent or unreadable)."""
    try:
        with path.open("rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            if size > 100_000_000:
                return None
            header = json.loads(f.read(size))
        meta = json.loads(header.get("__metadata__", {}).get(_HEADER_KEY, "null"))
    except (OSError, struct.error, ValueError, AttributeError):
        return None
    return meta if isinstance(meta, dict) else None


def has_checkpoint(folder: str | Path | None) -> bool:
    """True when ``folder`` holds a checkpoint."""
    return folder is not None and (Path(folder) / META).is_file() and (Path(folder) / ARRAYS).is_file()


def load_checkpoint(folder: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises
    ------
    ModelFileError
        When a file is missing, truncated, not safetensors/JSON, or from a future version.
    """
    from safetensors.numpy import load

    folder = Path(folder)
    meta = read_checkpoint_meta(folder)
    try:
        arrays = load((folder / ARRAYS).read_bytes())
    except FileNotFoundError as exc:
        raise ModelFileError(f"checkpoint in {folder} is incomplete: {ARRAYS} is missing") from exc
    except Exception as exc:  # safetensors raises its own error types
        raise ModelFileError(f"{folder / ARRAYS} is not a readable safetensors file: {exc}") from exc
    return arrays, meta


def remove_checkpoint(folder: str | Path) -> None:
    """Delete the checkpoint files in ``folder``, and the folder when nothing else is left in it."""
    folder = Path(folder)
    for name in (ARRAYS, META):
        (folder / name).unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:  # not empty (the user's files, or other runs' checkpoints) or not there
        pass


def read_checkpoint_meta(folder: str | Path) -> dict[str, Any]:
    """The JSON half of the checkpoint in ``folder`` (cheap: only the arrays' header is read).

    Raises
    ------
    ModelFileError
        When the JSON is missing, not JSON, not a weightwise checkpoint, or from a future version.
    """
    folder = Path(folder)
    try:
        meta = json.loads((folder / META).read_text())
    except FileNotFoundError as exc:
        raise ModelFileError(f"no checkpoint in {folder}: {META} is missing") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{folder / META} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{folder / META} is not a weightwise checkpoint")
    newer = _header_meta(folder / ARRAYS)
    if newer is not None and newer.get("format") == FORMAT and newer.get("token") != meta.get("token"):
        meta = newer  # the run stopped between writing the arrays and the JSON: the arrays are newer
    if int(meta.get("version", 0)) > VERSION:
        raise ModelFileError(
            f"{folder / META} has checkpoint version {meta['version']}, newer than this "
            f"weightwise understands ({VERSION}); upgrade weightwise"
        )
    return meta
