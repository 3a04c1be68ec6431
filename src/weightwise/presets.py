"""The textbook's reference example, reproduced exactly: a 2-4-1 sigmoid network learns XOR.

Specification (the passage our users know): sigmoid hidden and output units; every weight and bias
drawn from N(0, 1); the full batch of the four samples; squared error, so the output delta is
``(a - y) * a * (1 - a)``; gradients *summed* over the batch; learning rate 0.1; 10,000 epochs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backpropagation.optimizers import SGD
from .backpropagation.training import EpochInfo, History, fit
from .datasets import load_xor
from .net.backend import Random, asarray, resolve_backend, resolve_dtype, to_numpy
from .net.network import Network


@dataclass(frozen=True)
class XorPreset:
    """Settings of the textbook example; each default is the passage's."""

    sizes: tuple[int, ...] = (2, 4, 1)
    activation: str = "sigmoid"  # hidden and output
    init: str = "normal"  # N(0, 1) for weights and biases
    loss: str = "squared_error"  # delta (a - y) a (1 - a)
    reduction: str = "sum"  # gradients summed over the batch, not averaged
    learning_rate: float = 0.1
    epochs: int = 10_000
    batch_size: int | None = None  # full batch of the 4 samples


TEXTBOOK_XOR = XorPreset()


@dataclass
class XorResult:
    """One run of the XOR preset."""

    seed: int | None
    network: Network
    history: History
    X: np.ndarray
    y: np.ndarray
    outputs: np.ndarray
    solved: bool
    epochs_to_solve: int | None = field(default=None)


def run_xor(
    seed: int | None = 0,
    preset: XorPreset = TEXTBOOK_XOR,
    dtype: Any = "float32",
    backend: str = "numpy",
    device: Any = None,
    epochs: int | None = None,
    learning_rate: float | None = None,
) -> XorResult:
    """Train the textbook 2-4-1 network on XOR and return its outputs.

    ``solved`` is True when all four outputs are on the right side of 0.5; ``epochs_to_solve`` is the
    number of updates after which that first held (None if never).
    """
    X, y = load_xor()
    net = Network.create(
        preset.sizes,
        preset.activation,
        preset.activation,
        preset.init,
        Random(seed),
        dtype,
        backend,
        device,
    )
    xp = resolve_backend(backend)
    dt = resolve_dtype(dtype, xp)
    Xa = asarray(X, xp, dt, device)
    Ya = asarray(y.reshape(-1, 1), xp, dt, device)
    lr = preset.learning_rate if learning_rate is None else learning_rate
    first_solved: list[int] = []

    def watch(info: EpochInfo) -> None:
        # metric[e] is the accuracy of the forward pass *before* update e + 1.
        if not first_solved and info.history.metric[-1] == 1.0:
            first_solved.append(info.epoch - 1)

    history = fit(
        net,
        Xa,
        Ya,
        loss=preset.loss,
        optimizer=SGD(lr),
        reduction=preset.reduction,
        epochs=preset.epochs if epochs is None else epochs,
        batch_size=preset.batch_size,
        metric="accuracy",
        callbacks=[watch],
        record_grad_norm=False,
    )
    out = to_numpy(net.predict(Xa)).reshape(-1).astype(float)
    solved = bool(np.all((out > 0.5) == (y > 0.5)))
    if solved and not first_solved:
        first_solved.append(history.n_epochs)
    return XorResult(seed, net, history, X, y, out, solved, first_solved[0] if first_solved else None)
