"""The ``weightwise`` command line.

A thin layer over the library: it parses options, loads data, hands them to the estimators, the
layer-wise learners, the model files and the back-propagation engine, and prints rich tables and
progress bars. Nothing here does maths. One module per command (``train``, ``pretrain``,
``predict``/``info``, ``export``, ``gradcheck``, ``xor``, and :mod:`.evidence` for ``compare``,
``study depth`` and ``reproduce``); :mod:`.base` holds the typer app and the error
handling they share, :mod:`.options` the options several commands take, declared once.

Exit codes: 0 success; 2 usage errors (typer's: an unknown option, a value of the wrong type);
1 for data or model errors, printed as one line ``error: <problem>; <fix>`` with no traceback
unless ``weightwise --debug ...`` is given.
"""

from __future__ import annotations

from .. import __version__

# Importing a command module registers its command on ``app``, in the order --help lists them.
# isort: off
from . import train as _train  # noqa: F401
from . import pretrain as _pretrain  # noqa: F401
from . import model as _model  # noqa: F401
from . import export as _export  # noqa: F401
from . import gradcheck as _gradcheck  # noqa: F401
from . import xor as _xor  # noqa: F401

# isort: on
from .base import USER_ERRORS, app, console, err_console, main, one_line, reflow
from .data import DEFAULT_MODEL, Split, load_split, read_features
from .model import load_model
from .options import parse_activation, parse_batch_size, parse_layers, split_layers
from .progress import EpochProgress
from .stack import Stack, load_stack
from .train import stop_reason

__all__ = [
    "DEFAULT_MODEL",
    "USER_ERRORS",
    "EpochProgress",
    "Split",
    "Stack",
    "__version__",
    "app",
    "console",
    "err_console",
    "load_model",
    "load_split",
    "load_stack",
    "main",
    "one_line",
    "parse_activation",
    "parse_batch_size",
    "parse_layers",
    "read_features",
    "reflow",
    "split_layers",
    "stop_reason",
]

# The evidence commands (compare, study depth, reproduce), registered after the others so that
# --help lists them last.
from .evidence import register as _register_evidence  # noqa: E402

_register_evidence(app)
