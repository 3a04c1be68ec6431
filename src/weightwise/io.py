"""Model files: a :class:`~weightwise.net.network.Network` in one safetensors file; never pickle.

On-disk layout
--------------
A model file is one ordinary `safetensors <https://huggingface.co/docs/safetensors>`_ file
(conventionally ``*.safetensors``), so any safetensors reader can open it and nothing in it is
ever executed or unpickled:

- tensors ``layers.{l}.W`` of shape (n_in, n_out) and ``layers.{l}.b`` of shape (n_out,) for
  layer ``l = 0, 1, ...``, in the network's dtype (float32 or float64);
- tensors ``extra.{name}`` for the caller's ``extra_arrays`` (an RBM's visible biases, say), in
  their own dtype;
- the header's ``__metadata__`` (a string-to-string map) holds ``format`` =
  ``"weightwise-model"``, ``format_version`` (an integer as text) and ``weightwise``: one JSON
  document::

      {"format": "weightwise-model", "format_version": 1, "library_version": "0.1.0",
       "architecture": {"sizes": [64, 100, 10], "activations": ["sigmoid", "softmax"]},
       "dtype": "float32", "extra_arrays": ["visible_bias"], "metadata": {...caller's...},
       "integrity": {"arrays_sha256": "...", "metadata_sha256": "..."}}

``arrays_sha256`` is the SHA-256 of every tensor (name, dtype, shape and bytes, in name order);
``metadata_sha256`` that of the rest of the JSON document in canonical form (sorted keys). Loading
recomputes both, so a file edited by hand or damaged on disk is refused rather than silently
giving different predictions. A file is written to a temporary name and moved into place, so a
crash while saving leaves any previous file whole.

Reading never trusts the file: it checks the length prefix and the header before handing the bytes
to safetensors, so a truncated file, a pickle, a zip archive (``torch.save``) or a text file each
get a :class:`~weightwise.errors.ModelFileError` that says which it is.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._util import atomic_write_bytes as _atomic_write_bytes
from ._util import loads_bounded, read_capped
from ._version import __version__
from .checkpoints import arrays_sha256
from .checks import machine_memory
from .errors import ConfigError, ModelFileError
from .net.activations import ACTIVATIONS
from .net.backend import (
    asarray,
    check_device,
    dtype_name,
    resolve_backend,
    resolve_dtype,
    to_numpy,
)
from .net.network import Dense, Network

FORMAT = "weightwise-model"
FORMAT_VERSION = 1
_HEADER_LIMIT = 100_000_000  # safetensors' own cap on the JSON header (bytes)
_EXTRA = "extra."

__all__ = ["FORMAT", "FORMAT_VERSION", "jsonable", "load", "load_network", "save", "save_network"]


# writing ----------------------------------------------------------------------------------------
def save_network(
    net: Network,
    path: str | os.PathLike[str],
    metadata: Mapping[str, Any] | None = None,
    extra_arrays: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``net`` (and the caller's metadata and extra arrays) to one safetensors file.

    Parameters
    ----------
    net : Network
        Any backend or device; the arrays are copied to the host in the network's dtype.
    path : str or path-like
        File to write (used as given; ``.safetensors`` is the usual suffix). Parent folders are
        created.
    metadata : mapping, optional
        JSON-serialisable data kept with the weights: training configuration, label classes,
        history... NumPy scalars and arrays, tuples and paths are converted to JSON numbers,
        lists and strings, so they come back as Python scalars and lists.
    extra_arrays : mapping of str to array, optional
        Further named arrays, e.g. ``{"visible_bias_0": c}`` of shape (n_visible,), so a reloaded
        DBN can still be sampled. Stored in their own dtype.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ConfigError
        For an activation that is not in the registry, metadata that is not JSON-serialisable,
        or an extra array of an unsupported type.
    """
    from safetensors.numpy import save

    path = Path(path)
    if path.is_dir():
        raise ConfigError(
            f"{path} is a folder; give a file name for the model, e.g. {path / 'model.safetensors'}"
        )
    names = net.activation_names
    for l, name in enumerate(names):
        if ACTIVATIONS.get(name) is not net.layers[l].activation:
            raise ConfigError(
                f"layer {l + 1}'s activation {name!r} is not a registered activation, so it "
                f"cannot be saved by name; register it in weightwise.ACTIVATIONS first"
            )
    tensors: dict[str, np.ndarray] = {}
    for l, layer in enumerate(net.layers):
        tensors[f"layers.{l}.W"] = np.ascontiguousarray(to_numpy(layer.W))
        tensors[f"layers.{l}.b"] = np.ascontiguousarray(to_numpy(layer.b))
    for key, value in (extra_arrays or {}).items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"extra_arrays keys must be non-empty strings, got {key!r}")
        arr = np.ascontiguousarray(to_numpy(value))
        if arr.dtype.kind not in "biuf":
            raise ConfigError(
                f"extra array {key!r} has dtype {arr.dtype}; only numeric and bool arrays can be "
                "stored (put strings in metadata)"
            )
        tensors[_EXTRA + key] = arr

    doc: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "architecture": {"sizes": net.sizes, "activations": names},
        "dtype": dtype_name(net.dtype),
        "extra_arrays": sorted(extra_arrays or {}),
        # "_file" is what load_network adds; dropping it lets loaded metadata be saved again.
        "metadata": jsonable({k: v for k, v in (metadata or {}).items() if k != "_file"}, "metadata"),
    }
    doc["integrity"] = {"arrays_sha256": arrays_sha256(tensors), "metadata_sha256": _doc_sha256(doc)}
    header = {"format": FORMAT, "format_version": str(FORMAT_VERSION), "weightwise": json.dumps(doc)}
    data = save(tensors, metadata=header)
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write_bytes(path, data)
    return path


def jsonable(value: Any, where: str, *, finite: bool = False) -> Any:
    """``value`` in the types ``json.dumps`` writes, or a ConfigError that names where it fails.

    NumPy scalars and arrays become Python numbers and lists, tuples become lists, paths become
    strings, and records with ``to_dict`` (a :class:`History`) their dicts.

    Parameters
    ----------
    value : Any
        Nested mappings (string keys only), sequences and scalars.
    where : str
        The name of ``value`` in the messages (``"metadata"``, ``"configs[3]"``).
    finite : bool
        Refuse NaN and infinities: a configuration that is hashed must have one JSON text, and
        strict JSON has none for them.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if finite and not math.isfinite(value):
            raise ConfigError(f"{where} is {value}; the values here must be finite numbers")
        return value
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist(), where, finite=finite)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(f"{where} keys must be strings for JSON, got {k!r}")
            out[k] = jsonable(v, f"{where}[{k!r}]", finite=finite)
        return out
    if isinstance(value, (list, tuple)):
        return [jsonable(v, f"{where}[{i}]", finite=finite) for i, v in enumerate(value)]
    if hasattr(value, "to_dict"):  # History and other dataclass-like records
        return jsonable(value.to_dict(), where, finite=finite)
    raise ConfigError(
        f"{where} holds a {type(value).__name__}, which is not JSON-serialisable; store numbers, "
        "strings, booleans, None, lists or dicts (NumPy arrays are converted)"
    )


def _doc_sha256(doc: Mapping[str, Any]) -> str:
    """SHA-256 of the JSON document without its ``integrity`` entry, keys sorted."""
    body = {k: v for k, v in doc.items() if k != "integrity"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# reading ----------------------------------------------------------------------------------------
def load_network(
    path: str | os.PathLike[str], backend: str = "numpy", device: Any = None
) -> tuple[Network, dict[str, Any], dict[str, np.ndarray]]:
    """Read a model file written by :func:`save_network`.

    Parameters
    ----------
    path : str or path-like
    backend : {"numpy", "torch"}
        Namespace of the returned network's arrays.
    device : str, optional
        PyTorch device (``"cpu"``, ``"cuda"``).

    Returns
    -------
    network : Network
        In the stored dtype.
    metadata : dict
        The caller's metadata as saved, plus ``"_file"``: format version, library version,
        architecture and dtype as recorded in the file.
    extra_arrays : dict of str to ndarray
        The extra arrays, as NumPy arrays in their stored dtype.

    Raises
    ------
    ModelFileError
        For a missing, truncated, altered, non-safetensors, non-weightwise or future-version file,
        a header or metadata that breaks the schema (types, nesting, sizes beyond the file's
        length), arrays whose shapes contradict the declared architecture, or non-finite weights.
    """
    from safetensors.numpy import load as st_load

    path = Path(path)
    data = _read_bytes(path)
    doc = _parse_document(path, data)
    try:
        tensors = st_load(data)
    except Exception as exc:  # safetensors raises its own error types
        raise ModelFileError(f"{path} is damaged: safetensors cannot read its arrays ({exc})") from exc

    sizes, activations = _check_architecture(path, doc, tensors)
    integrity = doc["integrity"]
    if integrity.get("metadata_sha256") != _doc_sha256(doc):
        raise ModelFileError(
            f"{path} was altered: its metadata no longer matches the SHA-256 recorded when it was "
            "saved; use the original file or save the model again"
        )
    if integrity.get("arrays_sha256") != arrays_sha256(tensors):
        raise ModelFileError(
            f"{path} was altered: its weights no longer match the SHA-256 recorded when it was "
            "saved; use the original file or save the model again"
        )
    _check_finite(path, tensors)

    check_device(backend, device)
    xp = resolve_backend(backend)
    dt = resolve_dtype(doc["dtype"], xp)
    layers = [
        Dense(
            asarray(tensors[f"layers.{l}.W"], xp, dt, device),
            asarray(tensors[f"layers.{l}.b"], xp, dt, device),
            activations[l],
        )
        for l in range(len(sizes) - 1)
    ]
    extras = {name: tensors[_EXTRA + name] for name in doc.get("extra_arrays", [])}
    meta = dict(doc.get("metadata") or {})
    meta["_file"] = {
        "format_version": doc["format_version"],
        "library_version": doc.get("library_version"),
        "architecture": doc["architecture"],
        "dtype": doc["dtype"],
    }
    return Network(layers), meta, extras


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, read with a cap: the machine's memory, and only from a regular file."""
    try:
        return read_capped(path, machine_memory())
    except FileNotFoundError as exc:
        raise ModelFileError(
            f"no model file at {path}; check the path, or train and save one first "
            "(weightwise.io.save_network or `weightwise train`)"
        ) from exc
    except IsADirectoryError as exc:
        raise ModelFileError(
            f"{path} is a folder; give the model file inside it (*.safetensors)"
        ) from exc
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path}: {exc.strerror or exc}") from exc


def _sniff(data: bytes) -> str | None:
    """Name the format of a file that is not safetensors, when it is recognisable."""
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle (weightwise never unpickles files)"
    if data[:4] == b"PK\x03\x04":
        return "a zip archive (e.g. torch.save or numpy.savez output)"
    if data[:6] == b"\x93NUMPY":
        return "a NumPy .npy file"
    if data[:2] == b"\x1f\x8b":
        return "a gzip file"
    if data[:4] == b"\x89HDF":
        return "an HDF5 file"
    head = data[:256]
    try:
        head[: len(head) - 3 if len(head) == 256 else None].decode("utf-8")  # may cut a character
    except UnicodeDecodeError:
        return None
    return "a text file" if b"\x00" not in head else None


def _parse_document(path: Path, data: bytes) -> dict[str, Any]:
    """Check the safetensors framing and header, and return the weightwise JSON document.

    A safetensors file is an 8-byte little-endian header length ``n``, ``n`` bytes of JSON, then
    the tensor data; the header's ``data_offsets`` say how long the data must be. Everything is
    checked against the schema before use: nesting depth (before parsing), types, and every
    array's bytes against its shape and the file's length.
    """
    if not data:
        raise ModelFileError(f"{path} is empty (0 bytes); it is not a model file")
    n = int.from_bytes(data[:8], "little")
    # The framing test comes first: a real length prefix can start with bytes that look like
    # another format's magic (0x80 0x02 is both "header of 640 bytes" and a pickle).
    if len(data) < 9 or data[8:9] != b"{" or n > _HEADER_LIMIT:
        kind = _sniff(data)
        if kind is not None:
            raise ModelFileError(f"{path} is not a safetensors model file: it looks like {kind}")
        if len(data) < 9:
            raise ModelFileError(
                f"{path} is truncated ({len(data)} bytes); it is not a whole model file"
            )
        raise ModelFileError(f"{path} is not a safetensors model file (no safetensors header)")
    if 8 + n > len(data):
        raise ModelFileError(
            f"{path} is truncated: its header declares {n} bytes but the file has {len(data)} in "
            "all; copy or download it again"
        )
    try:
        header = loads_bounded(data[8 : 8 + n], _MAX_DEPTH)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError included
        raise ModelFileError(
            f"{path} is damaged: its safetensors header is not valid JSON ({exc})"
        ) from exc
    if not isinstance(header, dict):
        raise ModelFileError(f"{path} is damaged: its safetensors header is not a JSON object")
    _check_tensor_entries(path, header, len(data) - 8 - n)
    meta = header.get("__metadata__") or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ModelFileError(f"{path} is damaged: its safetensors metadata is not a string map")
    if meta.get("format") != FORMAT or "weightwise" not in meta:
        raise ModelFileError(
            f"{path} is a safetensors file but not a weightwise model (no {FORMAT!r} metadata); "
            "read plain weight files with safetensors, or save models with weightwise.io.save_network"
        )
    try:
        doc = loads_bounded(meta["weightwise"], _MAX_DEPTH)
    except ValueError as exc:
        raise ModelFileError(
            f"{path} was altered: its weightwise metadata is not valid JSON ({exc})"
        ) from exc
    if not isinstance(doc, dict):
        raise ModelFileError(f"{path} was altered: its weightwise metadata is not a JSON object")
    version = doc.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ModelFileError(f"{path} was altered: its format version {version!r} is not an integer")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model format version {version}, newer than this weightwise "
            f"{__version__} reads (up to {FORMAT_VERSION}); upgrade weightwise "
            "(pip install -U weightwise)"
        )
    if version < 1:
        raise ModelFileError(f"{path} has an invalid model format version {version}")
    _check_document(path, doc)
    return doc


# The safetensors dtypes and their sizes in bytes.
_ST_ITEMSIZE = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "I16": 2, "F16": 2,
    "BF16": 2, "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8,
}  # fmt: skip
_MAX_DEPTH = 64  # JSON nesting allowed in a header or in the metadata
_MAX_RANK = 8


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_tensor_entries(path: Path, header: Mapping[str, Any], body: int) -> None:
    """Each array entry: a known dtype, a shape of non-negative ints, and offsets inside the
    ``body`` bytes that hold exactly shape x itemsize bytes, the entries tiling the body."""
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise ModelFileError(f"{path} is damaged: its header entry {name!r} is malformed")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        ok = (
            dtype in _ST_ITEMSIZE
            and isinstance(shape, list)
            and len(shape) <= _MAX_RANK
            and all(_is_int(s) and s >= 0 for s in shape)
            and isinstance(offsets, list)
            and len(offsets) == 2
            and all(_is_int(o) for o in offsets)
        )
        if not ok:
            raise ModelFileError(
                f"{path} is damaged: its header entry {name!r} has a bad dtype, shape or offsets"
            )
        start, end = offsets
        if not 0 <= start <= end <= body or end - start != math.prod(shape) * _ST_ITEMSIZE[dtype]:
            raise ModelFileError(
                f"{path} is damaged or truncated: array {name!r} declares {len(shape)}-D shape "
                f"{shape} at bytes {start}..{end}, but the file holds {body} bytes of array data"
            )
        spans.append((start, end))
    spans.sort()
    covered = 0
    for start, end in spans:
        if start != covered:
            raise ModelFileError(f"{path} is damaged: its arrays overlap or leave gaps")
        covered = end
    if covered != body:
        raise ModelFileError(
            f"{path} was altered: it has {body - covered} unexpected bytes after the array data"
        )


# The weightwise document: key -> (type, required).
_DOC_SCHEMA: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "format": (str, True),
    "format_version": (int, True),
    "library_version": (str, False),
    "architecture": (dict, True),
    "dtype": (str, True),
    "extra_arrays": (list, False),
    "metadata": (dict, False),
    "integrity": (dict, True),
}
_MAX_LAYERS = 10_000


def _check_document(path: Path, doc: Mapping[str, Any]) -> None:
    """The weightwise JSON document's keys and types (before anything in it is used)."""
    unknown = sorted(set(doc) - set(_DOC_SCHEMA))
    if unknown:
        raise ModelFileError(f"{path} was altered: its metadata has unknown entries {unknown}")
    for key, (kind, required) in _DOC_SCHEMA.items():
        if key not in doc:
            if required:
                raise ModelFileError(f"{path} was altered: its metadata lacks {key!r}")
            continue
        if not isinstance(doc[key], kind) or isinstance(doc[key], bool):
            raise ModelFileError(
                f"{path} was altered: its metadata's {key!r} is a {type(doc[key]).__name__}, not "
                f"a {getattr(kind, '__name__', kind)}"
            )
    arch = doc["architecture"]
    sizes, acts = arch.get("sizes"), arch.get("activations")
    if (
        set(arch) != {"sizes", "activations"}
        or not isinstance(sizes, list)
        or not 2 <= len(sizes) <= _MAX_LAYERS
        or not all(_is_int(s) and s >= 1 for s in sizes)
        or not isinstance(acts, list)
        or not all(isinstance(a, str) for a in acts)
    ):
        raise ModelFileError(
            f"{path} was altered: its architecture record is not {{'sizes': [int >= 1, ...], "
            "'activations': [str, ...]}"
        )
    if not all(isinstance(e, str) and e for e in doc.get("extra_arrays", [])):
        raise ModelFileError(f"{path} was altered: its extra_arrays list holds non-names")
    integrity = doc["integrity"]
    if set(integrity) != {"arrays_sha256", "metadata_sha256"} or not all(
        isinstance(v, str) for v in integrity.values()
    ):
        raise ModelFileError(f"{path} was altered: its integrity record is malformed")


def _check_architecture(
    path: Path, doc: Mapping[str, Any], tensors: Mapping[str, np.ndarray]
) -> tuple[list[int], list[str]]:
    """Check the declared sizes, activations and dtype against the stored arrays."""
    sizes = list(doc["architecture"]["sizes"])
    activations = list(doc["architecture"]["activations"])
    if len(activations) != len(sizes) - 1:
        raise ModelFileError(
            f"{path} declares sizes {sizes} with {len(activations)} activations; a network needs "
            "at least two sizes and one activation per layer"
        )
    unknown = [a for a in activations if a not in ACTIVATIONS]
    if unknown:
        raise ModelFileError(
            f"{path} uses activation(s) {unknown} that this weightwise does not know; valid: "
            f"{sorted(ACTIVATIONS)}"
        )
    if doc.get("dtype") not in ("float32", "float64"):
        raise ModelFileError(f"{path} declares dtype {doc.get('dtype')!r}; expected float32 or float64")
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        for name, shape in ((f"layers.{l}.W", (n_in, n_out)), (f"layers.{l}.b", (n_out,))):
            if name not in tensors:
                raise ModelFileError(f"{path} lacks array {name!r} for the declared sizes {sizes}")
            if tensors[name].dtype != np.dtype(doc["dtype"]):
                raise ModelFileError(
                    f"{path} is inconsistent: array {name!r} is {tensors[name].dtype} but the file "
                    f"declares dtype {doc['dtype']}"
                )
            if tuple(tensors[name].shape) != shape:
                raise ModelFileError(
                    f"{path} is inconsistent: array {name!r} has shape {tuple(tensors[name].shape)} "
                    f"but the declared sizes {sizes} need {shape}"
                )
    expected = {f"layers.{l}.{p}" for l in range(len(sizes) - 1) for p in "Wb"}
    expected |= {_EXTRA + e for e in doc.get("extra_arrays", [])}
    if set(tensors) != expected:
        odd = sorted(set(tensors) ^ expected)
        raise ModelFileError(f"{path} is inconsistent: arrays {odd} do not match its metadata")
    return sizes, activations


def _check_finite(path: Path, tensors: Mapping[str, np.ndarray]) -> None:
    """A model's meaning: every weight, bias and floating extra array is a finite number."""
    for name in sorted(tensors):
        arr = tensors[name]
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ModelFileError(
                f"{path} holds NaN or infinite values in {name!r}; a trained model has finite "
                "weights (was it saved from a diverged run?)"
            )


save = save_network
load = load_network
