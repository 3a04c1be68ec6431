"""weightwise: how should a neural network's weights be adjusted?

Two families of methods adjust the same :class:`Network`:

- back to front, error back-propagation: :func:`backprop`, :func:`fit`, the optimisers;
- front to back, greedy layer-wise pre-training (RBMs, auto-encoders), then BP fine-tuning.
"""

from ._version import __version__
from .backpropagation.gradcheck import gradcheck
from .backpropagation.gradients import Gradients, backprop, loss_value
from .backpropagation.optimizers import SGD, Adam, Optimizer, Schedule, get_optimizer, get_schedule
from .backpropagation.pseudo_labels import PseudoLabels
from .backpropagation.training import EpochInfo, History, accuracy, fit
from .errors import (
    ConfigError,
    DataError,
    DivergenceError,
    ModelFileError,
    TrainingFailedWarning,
    WeightwiseError,
    WeightwiseWarning,
)
from .net.activations import ACTIVATIONS, get_activation
from .net.backend import Random
from .net.initializers import INITIALIZERS, get_initializer
from .net.losses import LOSSES, get_loss
from .net.network import Dense, Forward, Network
from .presets import TEXTBOOK_XOR, XorPreset, run_xor

# The faces a user touches import scikit-learn, safetensors and matplotlib; load them on first use so
# `import weightwise` stays fast for the maths alone.
_LAZY = {
    "BPClassifier": "estimators",
    "BPRegressor": "estimators",
    "RBM": "estimators",
    "DBN": "estimators",
    "StackedAutoEncoder": "estimators",
    "load_xor": "datasets",
    "load_digits": "datasets",
    "load_mnist": "datasets",
    "load_csv": "datasets",
    "load_npz": "datasets",
    "save_network": "io",
    "load_network": "io",
    "pretrain": "layerwise.greedy",
    "pretrain_then_finetune": "layerwise.greedy",
    "BernoulliRBM": "layerwise.rbm",
    "GaussianRBM": "layerwise.rbm",
    "AutoEncoder": "layerwise.autoencoder",
    "to_torch": "interop",
    "from_torch": "interop",
    "export_torch": "interop",
    "load_torch": "interop",
    "export_onnx": "interop",
    "TensorBoard": "interop",
}


# Every subpackage is reachable by its name after `import weightwise`, loaded on first use.
_SUBMODULES = {
    "backpropagation",
    "checkpoints",
    "checks",
    "cli",
    "datasets",
    "errors",
    "estimators",
    "evidence",
    "interop",
    "io",
    "layerwise",
    "net",
    "presets",
}


def __getattr__(name: str) -> object:
    import importlib

    if name in _LAZY:
        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        return getattr(module, name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'weightwise' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The loaded names and the lazy ones, so tab completion offers ``BPClassifier``, ``pretrain``,
    ``load_digits``... before their first use."""
    return sorted({*globals(), *_LAZY, *_SUBMODULES})


__all__ = [
    "ACTIVATIONS",
    "AutoEncoder",
    "BPClassifier",
    "BPRegressor",
    "BernoulliRBM",
    "DBN",
    "GaussianRBM",
    "RBM",
    "StackedAutoEncoder",
    "load_csv",
    "load_digits",
    "load_mnist",
    "load_network",
    "load_npz",
    "load_xor",
    "pretrain",
    "pretrain_then_finetune",
    "save_network",
    "INITIALIZERS",
    "LOSSES",
    "SGD",
    "TEXTBOOK_XOR",
    "Adam",
    "ConfigError",
    "DataError",
    "Dense",
    "DivergenceError",
    "EpochInfo",
    "Forward",
    "Gradients",
    "History",
    "ModelFileError",
    "Network",
    "Optimizer",
    "PseudoLabels",
    "Random",
    "Schedule",
    "TrainingFailedWarning",
    "WeightwiseError",
    "WeightwiseWarning",
    "XorPreset",
    "__version__",
    "accuracy",
    "backprop",
    "fit",
    "get_activation",
    "get_initializer",
    "get_loss",
    "get_optimizer",
    "get_schedule",
    "gradcheck",
    "loss_value",
    "run_xor",
]
