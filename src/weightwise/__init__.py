"""weightwise: how should a neural network's weights be adjusted?

Two families of methods adjust the same :class:`Network`:

- back to front, error back-propagation: :func:`backprop`, :func:`fit`, the optimisers;
- front to back, greedy layer-wise pre-training (RBMs, auto-encoders), then BP fine-tuning.
"""

from ._version import __version__
from .backprop.gradcheck import gradcheck
from .backprop.gradients import Gradients, backprop, loss_value
from .backprop.optimizers import SGD, Adam, Optimizer, Schedule, get_optimizer, get_schedule
from .backprop.training import EpochInfo, History, accuracy, fit
from .errors import ConfigError, DataError, DivergenceError, ModelFileError, WeightwiseError
from .net.activations import ACTIVATIONS, get_activation
from .net.backend import Random
from .net.initializers import INITIALIZERS, get_initializer
from .net.losses import LOSSES, get_loss
from .net.network import Dense, Forward, Network
from .presets import TEXTBOOK_XOR, XorPreset, run_xor

__all__ = [
    "ACTIVATIONS",
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
    "Random",
    "Schedule",
    "WeightwiseError",
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
