"""``weightwise gradcheck``: back-propagation against finite differences."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
import typer
from rich.table import Table
from rich.text import Text

from ..checks import check_network_size
from ..datasets import one_hot
from ..errors import ConfigError
from .base import _user_errors_exit_1, app, console
from .options import parse_activation, parse_layers

GRADCHECK_TOLERANCE = 1e-6
# Two forward passes per parameter: 100,000 parameters take about a minute on two cores.
MAX_GRADCHECK_PARAMETERS = 100_000


def _check_gradcheck_size(sizes: list[int], spec: str) -> None:
    """Refuse a network too large to check (one line, before anything is allocated)."""
    check_network_size(sizes, "float64")
    n = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    if n > MAX_GRADCHECK_PARAMETERS:
        raise ConfigError(
            f"--layers {spec}: {n:,} parameters; gradcheck runs two forward passes per parameter, "
            f"so keep the network under {MAX_GRADCHECK_PARAMETERS:,} parameters (e.g. 4-8-3)"
        )


def _gradcheck_targets(loss: str, output_activation: str, n: int, n_out: int, rng: Any) -> np.ndarray:
    """Targets of shape (n, n_out) that fit the loss: one-hot rows, 0/1 labels, or real values."""
    if loss == "cross_entropy":
        return one_hot(rng.integers(0, n_out, size=n), n_out, dtype=np.float64)
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, size=(n, n_out)).astype(float)
    if output_activation in ("sigmoid", "softmax"):
        return rng.uniform(0.05, 0.95, size=(n, n_out))
    return rng.normal(size=(n, n_out))


@app.command()
@_user_errors_exit_1
def gradcheck(
    layers: Annotated[
        str, typer.Option(help="Full layer sizes, input to output, joined by '-' (e.g. 4-8-3).")
    ] = "4-8-3",
    activation: Annotated[
        str, typer.Option(help="Hidden activation, or one per hidden layer joined by ','.")
    ] = "tanh",
    loss: Annotated[
        str, typer.Option(help="squared_error, cross_entropy (softmax) or binary_cross_entropy.")
    ] = "cross_entropy",
    output_activation: Annotated[
        str | None,
        typer.Option(
            help="Output activation; default softmax for cross_entropy, sigmoid for "
            "binary_cross_entropy, identity for squared_error."
        ),
    ] = None,
    init: Annotated[str, typer.Option(help="Initialiser of the random network.")] = "xavier_uniform",
    reduction: Annotated[
        Literal["mean", "sum"], typer.Option(help="Average or add over the samples.")
    ] = "mean",
    samples: Annotated[int, typer.Option(min=1, help="Random samples in the batch.")] = 5,
    eps: Annotated[float, typer.Option(min=0.0, help="Finite-difference step h.")] = 1e-5,
    seed: Annotated[int, typer.Option(help="Seed of the network and the data.")] = 0,
) -> None:
    """Check back-propagation against central finite differences on a random float64 network.

    Every weight and bias is nudged by +-h and the loss difference (L(w+h) - L(w-h)) / 2h is
    compared with the back-propagated gradient. Prints the largest relative error per layer and
    PASS (exit 0) when all are below 1e-6, FAIL (exit 1) otherwise. It costs two forward passes per
    parameter: keep the network small.
    """
    from ..backpropagation.gradcheck import gradcheck as run_gradcheck
    from ..net.losses import get_loss

    sizes = parse_layers(layers)
    if len(sizes) < 2:
        raise ConfigError(
            f"--layers {layers!r}: gradcheck needs full sizes, at least input and output (e.g. 4-8-3)"
        )
    _check_gradcheck_size(sizes, layers)  # before any allocation
    loss_fn = get_loss(loss)
    if output_activation is None:
        output_activation = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(
            loss_fn.name, "identity"
        )
    net, X, Y = _random_problem(sizes, activation, output_activation, init, loss_fn, samples, seed)
    result = run_gradcheck(net, X, Y, loss_fn, reduction=reduction, eps=eps)
    title = (
        f"gradcheck {'-'.join(map(str, sizes))}, {','.join(net.activation_names)}, "
        f"{loss_fn.name} ({reduction}), {samples} samples, float64"
    )
    console.print(_error_table(net, result, title))
    worst = result.max_rel_error
    if worst < GRADCHECK_TOLERANCE:
        console.print(Text.assemble(("PASS", "bold green"), f": max relative error {worst:.2e} < 1e-6"))
        return
    hint = _kink_hint(net, X, eps)
    console.print(Text.assemble(("FAIL", "bold red"), f": max relative error {worst:.2e} >= 1e-6{hint}"))
    raise typer.Exit(1)


def _random_problem(
    sizes: list[int],
    activation: str,
    output_activation: str,
    init: str,
    loss_fn: Any,
    samples: int,
    seed: int,
) -> tuple[Any, np.ndarray, np.ndarray]:
    """A float64 network of ``sizes`` and a batch ``(X, Y)`` that fits ``loss_fn``, all from ``seed``.

    Returns
    -------
    net : Network
    X : ndarray of shape (samples, sizes[0])
    Y : ndarray of shape (samples, sizes[-1])
    """
    from ..net.backend import Random
    from ..net.network import Network

    rng = Random(seed)
    net = Network.create(
        sizes, parse_activation(activation), output_activation, init, rng, dtype="float64"
    )
    loss_fn.check_output(net.layers[-1].activation)
    # Most initialisers set biases to zero; a sample whose ReLU units are all off then gives the
    # next layer pre-activations of exactly 0, on the kink where finite differences are wrong.
    # Small random biases keep every pre-activation off the kink without changing what is checked.
    for layer in net.layers:
        layer.b[...] = rng.normal(0.1, (layer.n_out,))
    X = rng.numpy.normal(size=(samples, sizes[0]))
    Y = _gradcheck_targets(loss_fn.name, output_activation, samples, sizes[-1], rng.numpy)
    return net, X, Y


def _error_table(net: Any, result: Any, title: str) -> Table:
    """Per layer: the largest relative error of ``W`` and of ``b``, and whether both pass."""
    table = Table(title=title)
    for col in ("layer", "W shape", "max rel. error W", "max rel. error b", ""):
        table.add_column(col, justify="right")
    for l, (layer, eW, eb) in enumerate(
        zip(net.layers, result.max_rel_error_W, result.max_rel_error_b, strict=True), 1
    ):
        ok = max(eW, eb) < GRADCHECK_TOLERANCE
        table.add_row(
            str(l),
            f"{layer.n_in}x{layer.n_out}",
            f"{eW:.2e}",
            f"{eb:.2e}",
            Text("ok", "green") if ok else Text("too large", "red"),
        )
    return table


def _kink_hint(net: Any, X: np.ndarray, eps: float) -> str:
    """Why a ReLU network may fail: pre-activations within 10h of the kink at 0, if any."""
    kink = {"relu", "leaky_relu"} & set(net.activation_names)
    near_kink = sum(int(np.sum(np.abs(z) < 10 * eps)) for z in net.forward(X).zs)
    if not (kink and near_kink):
        return ""
    return (
        f"; {near_kink} pre-activations lie within 10h of a {'/'.join(sorted(kink))} kink at 0, "
        "where differences are wrong: try another --seed"
    )
