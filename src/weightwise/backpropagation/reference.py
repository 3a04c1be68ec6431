"""Plain reference updates of the optimisers, written from the papers for the tests to trust.

:mod:`weightwise.backpropagation.optimizers` updates arrays in place and fuses work into BLAS calls
(``axpy``, ``scal``, one ``gemm`` per layer) for speed. The functions here do the same arithmetic
the obvious way, one short update per optimiser: lists of arrays in, new arrays out, nothing
changed in place, no BLAS kernels, state in a small dataclass. They run in the namespace and dtype
of their inputs (NumPy float64 is what the tests use as the oracle; PyTorch tensors work too).
The fast paths are tested against them.

- SGD with momentum ``mu``, Nesterov's variant (Sutskever et al. 2013, in the form of
  ``torch.optim.SGD``) and L2 weight decay ``lambda``::

      g = dW + lambda * W                    (lambda = 0 for biases when decay_bias is False)
      v = mu * v + g                         (v starts at zero)
      W = W - eta * (g + mu * v)   if nesterov   else   W - eta * v

- Adam (Kingma and Ba 2015, Algorithm 1) with bias correction, L2 added to the gradient as
  ``torch.optim.Adam`` does::

      g = dW + lambda * W
      m = b1 * m + (1 - b1) * g;           v = b2 * v + (1 - b2) * g**2
      m_hat = m / (1 - b1**t);             v_hat = v / (1 - b2**t)
      W = W - eta * m_hat / (sqrt(v_hat) + eps)

References
----------
Sutskever, Martens, Dahl and Hinton (2013), "On the importance of initialization and momentum in
deep learning", ICML. Kingma and Ba (2015), "Adam: A Method for Stochastic Optimization", ICLR.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..net.backend import Array, namespace


@dataclass
class SGDState:
    """Momentum buffers ``v`` (one per parameter; empty before the first step)."""

    velocity: list[Array] = field(default_factory=list)


@dataclass
class AdamState:
    """Step count ``t`` and the moment estimates ``m``, ``v`` (empty before the first step)."""

    t: int = 0
    m: list[Array] = field(default_factory=list)
    v: list[Array] = field(default_factory=list)


def decayed(
    params: list[Array], grads: list[Array], weight_decay: float, decay_bias: bool = True
) -> list[Array]:
    """``g + lambda * W`` for each parameter; with ``decay_bias=False`` the vectors (biases,
    ``ndim < 2``) keep their plain gradient."""
    return [
        g + weight_decay * p if decay_bias or p.ndim >= 2 else g
        for p, g in zip(params, grads, strict=True)
    ]


def sgd_step(
    params: list[Array],
    grads: list[Array],
    state: SGDState,
    learning_rate: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    decay_bias: bool = True,
) -> tuple[list[Array], SGDState]:
    """One SGD step: the new parameters and the new state.

    Parameters
    ----------
    params, grads : list of arrays
        Same order and shapes, e.g. ``[W1 (n_in, n_out), b1 (n_out,), ...]``.
    state : SGDState
        From the previous step (``SGDState()`` before the first).
    learning_rate, momentum, nesterov, weight_decay, decay_bias
        As :class:`~weightwise.backpropagation.optimizers.SGD`.

    Returns
    -------
    (list of arrays, SGDState)
    """
    g = decayed(params, grads, weight_decay, decay_bias)
    v_old = state.velocity or [0.0 * p for p in params]
    v = [momentum * vi + gi for vi, gi in zip(v_old, g, strict=True)]
    if nesterov:
        # Sutskever's look-ahead, as torch.optim.SGD writes it: step along g + mu * v.
        direction = [gi + momentum * vi for gi, vi in zip(g, v, strict=True)]
    else:
        direction = v
    new = [p - learning_rate * d for p, d in zip(params, direction, strict=True)]
    return new, SGDState(v)


def adam_step(
    params: list[Array],
    grads: list[Array],
    state: AdamState,
    learning_rate: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
    weight_decay: float = 0.0,
    decay_bias: bool = True,
) -> tuple[list[Array], AdamState]:
    """One Adam step: the new parameters and the new state.

    Parameters
    ----------
    params, grads : list of arrays
        Same order and shapes.
    state : AdamState
        From the previous step (``AdamState()`` before the first).
    learning_rate, beta1, beta2, epsilon, weight_decay, decay_bias
        As :class:`~weightwise.backpropagation.optimizers.Adam`.

    Returns
    -------
    (list of arrays, AdamState)
    """
    xp = namespace(params[0])
    t = state.t + 1
    g = decayed(params, grads, weight_decay, decay_bias)
    m_old = state.m or [0.0 * p for p in params]
    v_old = state.v or [0.0 * p for p in params]
    m = [beta1 * mi + (1 - beta1) * gi for mi, gi in zip(m_old, g, strict=True)]
    v = [beta2 * vi + (1 - beta2) * gi * gi for vi, gi in zip(v_old, g, strict=True)]
    new = []
    for p, mi, vi in zip(params, m, v, strict=True):
        # The averages start at zero, so early on they are biased towards it; dividing by
        # 1 - beta**t removes that bias (Kingma and Ba, section 3).
        m_hat = mi / (1 - beta1**t)
        v_hat = vi / (1 - beta2**t)
        new.append(p - learning_rate * m_hat / (xp.sqrt(v_hat) + epsilon))
    return new, AdamState(t, m, v)
