"""The backward pass: deltas from the output layer back to the input, gradients per layer.

For layer ``l`` with input ``a[l]`` (``a[0] = X``), pre-activation ``z[l] = a[l] @ W[l] + b[l]`` and
output ``a[l+1] = f_l(z[l])``, back-propagation (Rumelhart, Hinton and Williams 1986) computes

    delta[L]   = dLoss/dz[L]                                  (the loss's output delta)
    delta[l]   = f_l'(z[l]) * (delta[l+1] @ W[l+1].T)         (pushed back one layer)
    dLoss/dW[l] = a[l].T @ delta[l],   dLoss/db[l] = sum(delta[l], axis=0)

so each layer's gradient is the product of what came in from below and the error that came back
from above. The deltas are returned too: diagnostics read them to see where the error fades.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..net.backend import Array, namespace
from ..net.losses import Loss, get_loss
from ..net.network import Forward, Network
from ..net.validation import check_shapes


@dataclass
class Gradients:
    """Result of one backward pass.

    Attributes
    ----------
    dW : list of arrays (or of None)
        ``dW[l]`` has the shape of layer ``l``'s ``W``, (n_in, n_out). ``None`` when backprop was
        asked not to form it (``weight_grads=False``): it is then the outer product
        ``forward.activations[l].T @ deltas[l]``, which an optimiser can fold into its update.
    db : list of arrays
        ``db[l]`` has the shape of layer ``l``'s ``b``, (n_out,).
    deltas : list of arrays
        ``deltas[l] = dLoss/dz[l]``, shape (n_samples, n_out), with the reduction applied.
    loss : 0-d array
        The loss of the forward pass, reduced as the gradients are.
    forward : Forward
        The forward pass the gradients came from.
    """

    dW: list[Array]
    db: list[Array]
    deltas: list[Array]
    loss: Array
    forward: Forward

    def as_list(self) -> list[Array]:
        """``[dW1, db1, dW2, db2, ...]`` in the order of ``Network.parameters()``."""
        return [g for pair in zip(self.dW, self.db, strict=True) for g in pair]


def backprop(
    net: Network,
    X: Array,
    Y: Array,
    loss: str | Loss = "squared_error",
    reduction: str = "mean",
    weight_grads: bool = True,
) -> Gradients:
    """Gradients of the loss with respect to every weight and bias of ``net``.

    Parameters
    ----------
    net : Network
    X : array of shape (n_samples, n_in)
    Y : array of shape (n_samples, n_out)
        Targets (one-hot rows for softmax cross-entropy).
    loss : str or Loss
    reduction : {"sum", "mean"}
        ``"sum"`` adds the per-sample gradients (the textbook example); ``"mean"`` averages them.
    weight_grads : bool
        Form ``dW``. With ``False`` the weight gradients stay factored (activations and deltas),
        so :meth:`~weightwise.backpropagation.optimizers.Optimizer.step_factored` can apply them
        in one fused matrix product per layer.

    Returns
    -------
    Gradients
    """
    loss_fn = get_loss(loss)
    loss_fn.check_output(net.layers[-1].activation)
    check_shapes(X, Y, net.sizes[0], net.sizes[-1])
    xp = namespace(X)
    fwd = net.forward(X)
    out = net.layers[-1].activation
    z_out, a_out = fwd.zs[-1], fwd.activations[-1]
    value = loss_fn.value(z_out, a_out, Y, out, reduction)
    delta = loss_fn.delta(z_out, a_out, Y, out, reduction)

    n = len(net.layers)
    dW: list[Array] = [None] * n
    db: list[Array] = [None] * n
    deltas: list[Array] = [None] * n
    for l in range(n - 1, -1, -1):
        deltas[l] = delta
        a_in = fwd.activations[l]
        if weight_grads:
            dW[l] = a_in.T @ delta
        db[l] = xp.sum(delta, axis=0)
        if l > 0:
            # Push the error back through W[l], then through the activation of layer l - 1.
            below = net.layers[l - 1]
            delta = below.activation.backward_(fwd.zs[l - 1], a_in, delta @ net.layers[l].W.T)
    return Gradients(dW, db, deltas, value, fwd)


def loss_value(
    net: Network, X: Array, Y: Array, loss: str | Loss = "squared_error", reduction: str = "mean"
) -> float:
    """The loss of ``net`` on ``(X, Y)`` as a Python float (forward pass only)."""
    loss_fn = get_loss(loss)
    loss_fn.check_output(net.layers[-1].activation)
    check_shapes(X, Y, net.sizes[0], net.sizes[-1])
    a = X
    z = X
    for layer in net.layers:
        z = layer.preactivation(a)
        a = layer.activation.fn(z)
    return float(loss_fn.value(z, a, Y, net.layers[-1].activation, reduction))
