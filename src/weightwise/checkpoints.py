"""Checkpoints of a training run: safetensors for arrays, JSON for the rest; never pickle.

One floor below both ways of adjusting the weights: back-propagation's ``fit`` and greedy
pre-training (:func:`weightwise.layerwise.greedy.pretrain`) save and resume through it.

A checkpoint is two files in a folder, ``checkpoint.safetensors`` and ``checkpoint.json``, each
written to a temporary name and moved into place, so a crash while writing one leaves it whole.
The arrays go first and carry a copy of the JSON (with a fresh ``token``) in their safetensors
header: a crash between the two writes leaves new arrays beside the previous JSON, which the
reader notices by the token and then takes the header's copy, so no more than the epoch under way
is ever lost.

Reading trusts nothing: the files are read with a size cap, the JSON's nesting is measured
before it is parsed, and the JSON holds two SHA-256 checksums (``arrays_sha256`` over every
array's name, dtype, shape and bytes; ``meta_sha256`` over the JSON itself), so one flipped bit
in either file is refused instead of resuming with other weights. Like a model file's, the
checksums detect damage, not deliberate edits. The run's settings (optimiser, learning rate,
batch size, seed: see :mod:`weightwise.backpropagation.resume`) are recorded too, and a resume
with other settings is refused, naming each difference.

Version 1 checkpoints (weightwise before the checksums) have neither checksums nor settings:
they cannot be verified, so they are refused with a message saying so (delete the folder to
start afresh, or finish the run with the weightwise that began it). Checkpoints are scratch
files of one run, so nothing of value is lost that a finished model file would keep.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from ._util import atomic_write_bytes as _atomic_write_bytes
from ._util import loads_bounded, read_capped
from .checks import machine_memory
from .errors import ModelFileError

ARRAYS = "checkpoint.safetensors"
META = "checkpoint.json"
FORMAT = "weightwise-checkpoint"
VERSION = 2  # 2: checksums and the run's settings
_MAX_DEPTH = 64  # JSON nesting allowed
_HEADER_KEY = "weightwise.checkpoint"  # the JSON's copy in the safetensors header


def save_checkpoint(folder: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``arrays`` and ``meta`` into ``folder`` atomically, with their checksums."""
    from safetensors.numpy import save

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    contiguous = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    body = {"format": FORMAT, "version": VERSION, **meta, "token": uuid.uuid4().hex}
    body["arrays_sha256"] = arrays_sha256(contiguous)
    body["meta_sha256"] = _meta_sha256(body)
    text = json.dumps(body, indent=1)
    _atomic_write_bytes(folder / ARRAYS, save(contiguous, metadata={_HEADER_KEY: text}))
    _atomic_write_bytes(folder / META, text.encode())


def arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        arr = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{arr.dtype.str}|{arr.shape}|".encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _meta_sha256(body: dict[str, Any]) -> str:
    """SHA-256 of the JSON without its own checksum, keys sorted."""
    rest = {k: v for k, v in body.items() if k != "meta_sha256"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _read(path: Path) -> bytes:
    """A checkpoint file's bytes (a regular file, no larger than the machine's memory)."""
    try:
        return read_capped(path, machine_memory())
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ModelFileError(f"cannot read checkpoint file {path}: {exc.strerror or exc}") from exc


def _header_meta(path: Path) -> dict[str, Any] | None:
    """The JSON copy in a safetensors file's header (None if absent or unreadable)."""
    try:
        with path.open("rb") as f:
            size = int.from_bytes(f.read(8), "little")
            if size > 100_000_000 or size > path.stat().st_size:
                return None
            header = loads_bounded(f.read(size), _MAX_DEPTH)
        meta = loads_bounded(header["__metadata__"][_HEADER_KEY], _MAX_DEPTH)
    except (OSError, ValueError, KeyError, TypeError):
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
        When a file is missing, truncated, not safetensors/JSON, from another version, or does
        not match its checksums.
    """
    from safetensors.numpy import load

    folder = Path(folder)
    meta = read_checkpoint_meta(folder)
    try:
        arrays = load(_read(folder / ARRAYS))
    except FileNotFoundError as exc:
        raise ModelFileError(f"checkpoint in {folder} is incomplete: {ARRAYS} is missing") from exc
    except ModelFileError:
        raise
    except Exception as exc:  # safetensors raises its own error types
        raise ModelFileError(f"{folder / ARRAYS} is not a readable safetensors file: {exc}") from exc
    if arrays_sha256(arrays) != meta.get("arrays_sha256"):
        raise ModelFileError(
            f"the checkpoint in {folder} is damaged: its arrays do not match the SHA-256 recorded "
            "with them; delete the folder to start afresh"
        )
    return arrays, meta


def remove_checkpoint(folder: str | Path) -> None:
    """Delete the checkpoint files in ``folder``, and the folder when nothing else is left in it."""
    folder = Path(folder)
    for name in (ARRAYS, META):
        (folder / name).unlink(missing_ok=True)
        remove_stale_temporaries(folder, name)
    try:
        folder.rmdir()
    except OSError:  # not empty (the user's files, or other runs' checkpoints) or not there
        pass


def remove_stale_temporaries(folder: Path, name: str) -> None:
    """Delete what a run killed mid-write left of ``name``: its unique temporary files."""
    for stale in folder.glob(f".{name}.*.tmp"):
        stale.unlink(missing_ok=True)


def read_checkpoint_meta(folder: str | Path) -> dict[str, Any]:
    """The JSON half of the checkpoint in ``folder`` (cheap: only the arrays' header is read).

    Raises
    ------
    ModelFileError
        When the JSON is missing, not JSON, nested too deep, not a weightwise checkpoint, from
        another version, or does not match its checksum.
    """
    folder = Path(folder)
    try:
        meta = loads_bounded(_read(folder / META), _MAX_DEPTH)
    except FileNotFoundError as exc:
        raise ModelFileError(f"no checkpoint in {folder}: {META} is missing") from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too deep
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{folder / META} is not valid JSON: {str(exc).splitlines()[0]}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{folder / META} is not a weightwise checkpoint")
    newer = _header_meta(folder / ARRAYS)
    if newer is not None and newer.get("format") == FORMAT and newer.get("token") != meta.get("token"):
        meta = newer  # the run stopped between writing the arrays and the JSON: the arrays are newer
    _check_version(folder, meta)
    if meta.get("meta_sha256") != _meta_sha256(meta):
        raise ModelFileError(
            f"the checkpoint in {folder} is damaged: {META} does not match the SHA-256 recorded in "
            "it; delete the folder to start afresh"
        )
    return meta


def _check_version(folder: Path, meta: dict[str, Any]) -> None:
    version = meta.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError(f"{folder / META} has no valid checkpoint version")
    if version > VERSION:
        raise ModelFileError(
            f"{folder / META} has checkpoint version {version}, newer than this "
            f"weightwise understands ({VERSION}); upgrade weightwise"
        )
    if version < VERSION:
        raise ModelFileError(
            f"the checkpoint in {folder} is version {version}, from an older weightwise: it has no "
            "checksum and no record of the run's settings, so it cannot be checked; delete the "
            "folder to start afresh (or finish the run with the weightwise that began it)"
        )


def check_keys(folder: str | Path, meta: dict[str, Any], schema: dict[str, type]) -> None:
    """Refuse a checkpoint whose JSON lacks a key of ``schema`` or holds it in another type."""
    for key, kind in schema.items():
        value = meta.get(key)
        if key not in meta or not isinstance(value, kind) or isinstance(value, bool):
            what = "lacks" if key not in meta else "has a malformed"
            raise ModelFileError(
                f"the checkpoint in {folder} is damaged: it {what} {key!r} (a {kind.__name__}); "
                "delete the folder to start afresh"
            )


def different_settings(saved: Any, current: dict[str, Any]) -> list[str]:
    """``"name X there, Y here"`` for each setting that differs between a checkpoint and now."""
    saved = saved if isinstance(saved, dict) else {}
    return [
        f"{key} {saved.get(key)!r} there, {current.get(key)!r} here"
        for key in sorted(set(saved) | set(current))
        if saved.get(key) != current.get(key)
    ]
